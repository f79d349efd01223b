# carlo_add_simulation(<name> <sources>...)
#
# Builds a carlo simulation plugin: a MODULE library lib<name>.so that `carlo run --plugin
# lib<name>.so --sim ...` loads with dlopen. The sources register their simulations with the
# CARLO_PLUGIN macro of <carlo/simulation.h>.
#
# The plugin links carlo::carlo, the same libcarlo the `carlo` executable uses: the Registry,
# Task and Stream it sees must be carlo's own, not a second copy. Symbols are hidden except the
# two entry points CARLO_PLUGIN exports, so plugins never clash with each other or with carlo.
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
endfunction()
