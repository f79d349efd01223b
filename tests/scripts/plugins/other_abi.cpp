// A plugin built against another carlo: its ABI tag names a version this carlo is not. carlo
// must refuse it before calling its register function (which would then see a Registry of
// another layout), so that function aborts if it is ever called.
#include <cstdlib>

extern "C" __attribute__((visibility("default"))) const char* carlo_plugin_abi() {
  return "carlo-plugin-1/0.0.0-other";
}
extern "C" __attribute__((visibility("default"))) void carlo_plugin_register(void*) {
  std::abort();
}
