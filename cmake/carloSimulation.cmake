# carlo_add_simulation(<name> <sources>...)
#
# Builds a carlo simulation plugin: a MODULE library lib<name>.so that `carlo run --plugin
# lib<name>.so --sim ...` loads with dlopen. The sources register their simulations with the
# CARLO_PLUGIN macro of <carlo/simulation.h>.
#
# The plugin links carlo::carlo, the same libcarlo the `carlo` executable uses: the Registry,
# Task and Stream it sees must be carlo's own, not a second copy. Symbols are hidden except the
# two entry points CARLO_PLUGIN exports, so plugins never clash with each other or with carlo.
#
# A plugin is the hot loop of every run, so it is built optimised (-O2 -DNDEBUG, like Release)
# when no build type is chosen (CMAKE_BUILD_TYPE empty with a single-config generator, as after
# a plain `cmake -S . -B build`) and CMAKE_CXX_FLAGS sets no -O level; an unoptimised plugin runs
# about 10x slower. A chosen build type (-DCMAKE_BUILD_TYPE=Debug) is left alone.
# Shipped in carlo's CMake package (find_package(carlo)) and usable inside carlo's own build.
function(carlo_add_simulation name)
  if(NOT ARGN)
    message(FATAL_ERROR "carlo_add_simulation(${name}): no source files given")
  endif()
  if(NOT TARGET carlo::carlo)
    message(FATAL_ERROR "carlo_add_simulation(${name}): carlo::carlo is not defined (find_package(carlo) first)")
  endif()
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE carlo::carlo)
  target_compile_features(${name} PRIVATE cxx_std_20)
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    CXX_EXTENSIONS OFF
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  get_property(_carlo_multi_config GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  if(NOT _carlo_multi_config AND NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CXX_FLAGS MATCHES "(^| )-O")
    target_compile_options(${name} PRIVATE -O2)
    target_compile_definitions(${name} PRIVATE NDEBUG)
    message(STATUS "carlo_add_simulation(${name}): no CMAKE_BUILD_TYPE, building optimised "
                   "(-O2 -DNDEBUG); -DCMAKE_BUILD_TYPE=Debug for a debug build")
  endif()
endfunction()
