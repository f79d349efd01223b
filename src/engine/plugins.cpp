#include "engine/plugins.h"

#include "sched/bytes.h"

#include <carlo/error.h>

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <system_error>

namespace carlo::engine {

namespace {

/// dlerror() text without the leading "PATH: " it usually repeats.
std::string load_error(const std::string& path) {
  const char* why = dlerror();
  std::string text = why ? why : "unknown error";
  if (text.rfind(path + ": ", 0) == 0) text.erase(0, path.size() + 2);
  return text;
}

/// A `.py` file is a Python plugin: libcarlo_python (next to libcarlo, so the one of this build)
/// embeds the interpreter and registers the script's simulations. Loaded on first use only, so a
/// run without Python starts no interpreter; RTLD_GLOBAL so that numpy's extension modules find
/// libpython's symbols.
std::function<void(Registry&)> python_registrar(const std::string& path, const std::string& file) {
  Dl_info self{};
  dladdr(reinterpret_cast<void*>(&load_error), &self);
  const auto lib = std::filesystem::path(self.dli_fname ? self.dli_fname : "").parent_path() /
                   "libcarlo_python.so";
  void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle)
    throw InputError(path + ": cannot run a Python plugin: this carlo has no Python support (" +
                     load_error(lib.string()) + "; build it with python3-dev and pybind11-dev)");
  using PythonFn = void (*)(Registry&, const char*);
  auto fn = reinterpret_cast<PythonFn>(dlsym(handle, "carlo_python_register"));
  if (!fn) throw InputError(lib.string() + ": missing entry point carlo_python_register");
  return [fn, file](Registry& r) { fn(r, file.c_str()); };
}

}  // namespace

PluginSet::~PluginSet() {
  // Plugins stay loaded until exit: static destructors of their code may still run at exit, and
  // unloading earlier would leave the registry pointing at unmapped code.
  handles_.clear();
}

void PluginSet::load(const std::string& path, Registry& registry) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(path + ": cannot load plugin (" +
                     (std::filesystem::exists(path, ec) ? "not a regular file" : "no such file") +
                     ")");
  // dlopen searches the library path for a name without a slash; a user means the file named.
  const std::string file = std::filesystem::absolute(path, ec).string();
  // The same plugin named twice (--plugin P --plugin P, or in the config file and on the command
  // line) is one plugin: registering it again would clash with itself. Compared by file identity,
  // so a symlink or another spelling of the path counts as the same file.
  for (const auto& l : loaded_)
    if (std::filesystem::equivalent(file, l.file, ec)) return;
  if (std::filesystem::path(file).extension() == ".py") {
    register_checked(path, file, python_registrar(path, file), registry);
    return;
  }
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const std::string why = load_error(file);
    // A plugin built against another carlo usually fails here, on a libcarlo soname or symbol.
    const bool other_carlo = why.find("libcarlo") != std::string::npos ||
                             why.find("undefined symbol") != std::string::npos;
    throw InputError(path + ": cannot load plugin (" + why + ")" +
                     (other_carlo ? "; was it built against another carlo? rebuild it against "
                                    "carlo " CARLO_VERSION
                                  : ""));
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
  const char* abi_text = abi();
  const std::string theirs = abi_text ? abi_text : "(null)";
  if (theirs != CARLO_PLUGIN_ABI)
    throw InputError(path + ": plugin built against " + theirs + ", but this carlo is " +
                     CARLO_PLUGIN_ABI + " (rebuild the plugin against this carlo)");
  register_checked(path, file, reg, registry);
}

void PluginSet::register_checked(const std::string& path, const std::string& file,
                                 const std::function<void(Registry&)>& reg, Registry& registry) {
  // Register into a scratch registry first: a refused plugin adds nothing, and a name clash is
  // reported against the plugin's file rather than as a bare duplicate. Its options are checked
  // against carlo run's own there.
  Registry own(registry.reserved_options());
  try {
    reg(own);
  } catch (const InputError& e) {
    throw InputError(path + ": " + e.what());
  } catch (const std::exception& e) {
    throw InputError(path + ": plugin registration failed: " + e.what());
  }
  const auto names = own.names();
  if (names.empty()) throw InputError(path + ": plugin registers no simulation");
  for (const auto& name : names) {
    if (!registry.find(name)) continue;
    for (const auto& l : loaded_)
      if (std::find(l.sims.begin(), l.sims.end(), name) != l.sims.end())
        throw InputError(path + ": plugin simulation '" + name + "' clashes with the one plugin " +
                         l.file + " registered first (rename it in one of them)");
    throw InputError(path + ": plugin simulation '" + name +
                     "' clashes with a simulation carlo already has (rename it in the plugin)");
  }
  for (const auto& name : names) registry.add(*own.find(name));
  loaded_.push_back({file, names});
}

const std::string* PluginSet::file_of(const std::string& sim) const {
  for (const auto& l : loaded_)
    if (std::find(l.sims.begin(), l.sims.end(), sim) != l.sims.end()) return &l.file;
  return nullptr;
}

std::string PluginSet::checksum(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in.is_open()) throw InputError(file + ": cannot read plugin");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  char text[40];
  std::snprintf(text, sizeof text, "fnv1a64:%016llx",
                static_cast<unsigned long long>(sched::fnv1a(std::as_bytes(std::span(bytes)))));
  return text;
}

}  // namespace carlo::engine
