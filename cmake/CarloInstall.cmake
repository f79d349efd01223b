# Installation: the `carlo` program, libcarlo, the plugin API headers and a CMake package, so that
# plugins build out of tree with
#   find_package(carlo REQUIRED)
#   carlo_add_simulation(mysim mysim.cpp)
# Included from the top-level CMakeLists.txt after carlo_lib and carlo are defined.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# <carlo/version.h>: the version for headers that need it (the plugin ABI tag), so an installed
# header compiles on its own.
configure_file(${CMAKE_CURRENT_LIST_DIR}/version.h.in ${PROJECT_BINARY_DIR}/include/carlo/version.h @ONLY)
target_include_directories(carlo_lib PUBLIC $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>)

# The headers use C++20 (std::span): consumers get the standard from the target.
target_compile_features(carlo_lib PUBLIC cxx_std_20)
# A plugin links this exact library file name; the ABI of 0.x releases changes with the minor.
set_target_properties(carlo_lib PROPERTIES
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
  EXPORT_NAME carlo)

# An installed `carlo` finds its libcarlo relative to itself, under any --prefix; libraries
# outside the system directories (an MPI or HDF5 in a module tree) stay on the path too.
file(RELATIVE_PATH _carlo_bin_to_lib "/${CMAKE_INSTALL_BINDIR}" "/${CMAKE_INSTALL_LIBDIR}")
set_target_properties(carlo PROPERTIES
  INSTALL_RPATH "$ORIGIN/${_carlo_bin_to_lib}" INSTALL_RPATH_USE_LINK_PATH ON)
set_target_properties(carlo_lib PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)

# Plugins in carlo's own build tree (tests) use the same helper as out-of-tree ones.
include(${CMAKE_CURRENT_LIST_DIR}/carloSimulation.cmake)

if(CARLO_INSTALL)
  set(_carlo_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/carlo)
  # The include directory comes from carlo_lib's INSTALL_INTERFACE (an INCLUDES DESTINATION here
  # would list it twice in carloTargets.cmake).
  install(TARGETS carlo_lib EXPORT carloTargets
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  # The Python host goes next to libcarlo, where `carlo` looks for it; not exported (no one links it).
  if(TARGET carlo_python)
    install(TARGETS carlo_python LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  endif()
  # The executable is not exported: its target name would clash with carlo::carlo.
  install(TARGETS carlo RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  # include/carlo/ holds the plugin API and nothing else (internal headers live next to their
  # sources in src/, which is never installed); plugin.installed_headers_compile_alone checks the
  # installed list is exactly the API.
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/carlo
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
  install(FILES ${PROJECT_BINARY_DIR}/include/carlo/version.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/carlo)
  install(EXPORT carloTargets NAMESPACE carlo:: DESTINATION ${_carlo_cmake_dir})
  # The package files are for the install prefix only. Generated at the top of the build tree,
  # they were what find_package found when a user pointed CMAKE_PREFIX_PATH at the build tree,
  # and then failed three confusing ways (no carloTargets.cmake, no carloSimulation.cmake, no
  # //bin/carlo). A subfolder find_package does not search leaves CMake's standard "could not
  # find carlo" instead; the files earlier configurations left at the top are removed.
  set(_carlo_package_dir ${PROJECT_BINARY_DIR}/cmake/install)
  file(REMOVE ${PROJECT_BINARY_DIR}/carloConfig.cmake ${PROJECT_BINARY_DIR}/carloConfigVersion.cmake)
  configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/carloConfig.cmake.in
    ${_carlo_package_dir}/carloConfig.cmake
    INSTALL_DESTINATION ${_carlo_cmake_dir}
    PATH_VARS CMAKE_INSTALL_BINDIR)
  write_basic_package_version_file(${_carlo_package_dir}/carloConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
  install(FILES ${_carlo_package_dir}/carloConfig.cmake ${_carlo_package_dir}/carloConfigVersion.cmake
                ${CMAKE_CURRENT_LIST_DIR}/carloSimulation.cmake
          DESTINATION ${_carlo_cmake_dir})
endif()
