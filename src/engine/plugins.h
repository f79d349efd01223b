#pragma once
/// \file
/// Users' simulations from shared libraries (`--plugin lib.so`).
#include <carlo/simulation.h>

#include <functional>
#include <string>
#include <vector>

namespace carlo::engine {

/// Shared libraries holding users' simulations, loaded with dlopen and kept open for the
/// process's life (the registry refers to their code).
class PluginSet {
 public:
  PluginSet() = default;
  PluginSet(const PluginSet&) = delete;
  PluginSet& operator=(const PluginSet&) = delete;
  ~PluginSet();
  /// Loads `path` and registers its simulations. A `.py` file is a Python script (DESIGN §7):
  /// libcarlo_python, next to libcarlo, imports it and registers the classes it declares. A file
  /// loaded already, under this or another name (a link, a relative path), is skipped. Refuses a
  /// library without carlo's entry points or built against another plugin ABI, naming the file and
  /// both versions, and a simulation name carlo or an earlier plugin has, naming the plugin that
  /// registered it first.
  /// Its options are checked against `registry.reserved_options()` (carlo run's own names).
  void load(const std::string& path, Registry& registry);
  /// The absolute path of the library that registered simulation `sim`; nullptr for carlo's own.
  const std::string* file_of(const std::string& sim) const;
  /// "fnv1a64:<hex>" of a plugin file's bytes, to tell two builds apart. Throws InputError if
  /// the file cannot be read.
  static std::string checksum(const std::string& file);

 private:
  /// Calls `reg` on a scratch registry, then adds what it registered unless a name clashes.
  void register_checked(const std::string& path, const std::string& file,
                        const std::function<void(Registry&)>& reg, Registry& registry);
  struct Loaded {
    std::string file;  ///< absolute path, as first given
    std::vector<std::string> sims;
  };
  std::vector<void*> handles_;
  std::vector<Loaded> loaded_;
};

}  // namespace carlo::engine
