#include "cli/run_config.h"

#include <carlo/error.h>

#include <dlfcn.h>

namespace carlo::cli {

PluginSet::~PluginSet() {
  // Plugins stay loaded until exit: static destructors of their code may still run at exit, and
  // unloading earlier would leave the registry pointing at unmapped code.
  handles_.clear();
}

void PluginSet::load(const std::string& path, Registry& registry) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw InputError(path + ": cannot load plugin (" + std::string(why ? why : "unknown error") +
                     ")");
  }
  handles_.push_back(handle);
  using AbiFn = const char* (*)();
  using RegisterFn = void (*)(Registry&);
  auto abi = reinterpret_cast<AbiFn>(dlsym(handle, "carlo_plugin_abi"));
  auto reg = reinterpret_cast<RegisterFn>(dlsym(handle, "carlo_plugin_register"));
  if (!abi || !reg)
    throw InputError(path + ": not a carlo plugin (missing entry point " +
                     std::string(!abi ? "carlo_plugin_abi" : "carlo_plugin_register") +
                     "; define the simulations with CARLO_PLUGIN)");
  const std::string theirs = abi();
  if (theirs != CARLO_PLUGIN_ABI)
    throw InputError(path + ": plugin built against " + theirs + ", but this carlo is " +
                     CARLO_PLUGIN_ABI + " (rebuild the plugin against this carlo)");
  reg(registry);
}

}  // namespace carlo::cli
