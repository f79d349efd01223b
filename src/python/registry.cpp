// The one entry point of libcarlo_python: import a script and register what it declares.
#include "python/host.h"

#include <carlo/error.h>

#include <filesystem>

namespace carlo::python {

namespace {

/// A module name for the script: its stem, unless a module of that name is loaded already.
std::string module_name(const std::filesystem::path& file) {
  std::string name = file.stem().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  auto modules = py::module_::import("sys").attr("modules");
  if (name.empty() || modules.contains(name.c_str())) name = "carlo_script_" + name;
  return name;
}

/// Imports `file` once as a module (its folder first on sys.path, so it can import its
/// neighbours), running its decorators. Throws InputError on any error.
void import_script(const std::filesystem::path& file) {
  try {
    auto sys = py::module_::import("sys");
    const std::string dir = file.parent_path().string();
    py::list path = sys.attr("path");
    if (!path.contains(dir)) path.insert(0, dir);
    py::list argv;  // as `python3 script.py` would have it
    argv.append(file.string());
    sys.attr("argv") = argv;
    auto util = py::module_::import("importlib.util");
    const std::string name = module_name(file);
    py::object spec = util.attr("spec_from_file_location")(name, file.string());
    py::object module = util.attr("module_from_spec")(spec);
    sys.attr("modules")[name.c_str()] = module;
    spec.attr("loader").attr("exec_module")(module);
  } catch (py::error_already_set& e) {
    throw InputError("cannot import the script: " + describe(e));
  }
}

}  // namespace

}  // namespace carlo::python

/// Called by carlo's PluginSet for a `.py` plugin: starts the interpreter if needed, imports
/// `script` (an absolute path) and adds every class it decorated with @carlo.simulation to
/// `registry`. Throws InputError (one line, without the path: the caller adds it) for a script
/// that cannot be imported, declares nothing, or declares a bad simulation.
extern "C" __attribute__((visibility("default"))) void carlo_python_register(
    carlo::Registry& registry, const char* script) {
  using namespace carlo::python;
  ensure_interpreter();
  const std::filesystem::path file(script);
  std::vector<Declared*> declared;
  {
    Gil gil;
    take_declared();  // nothing left from an earlier script that failed half-way
    import_script(file);
    declared = take_declared();
  }
  if (declared.empty())
    throw carlo::InputError("declares no simulation (decorate a class with @carlo.simulation)");
  for (Declared* d : declared) {
    d->script = file.filename().string();
    registry.add(make_info(d));
  }
}
