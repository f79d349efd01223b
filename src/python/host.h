#pragma once
/// \file
/// The embedded CPython host (issue 10, DESIGN §7): one interpreter per process, started by the
/// first `.py` plugin and never finalised or restarted. Everything here is internal to
/// libcarlo_python; the engine sees only `carlo_python_register` (registry.cpp).
#include <carlo/simulation.h>

#include <pybind11/pybind11.h>

#include <deque>
#include <string>
#include <vector>

namespace carlo::python {

namespace py = pybind11;

/// Holds the GIL for its scope, from any thread, and may nest. Each thread gets one thread state
/// the first time and keeps it for the process's life: creating and deleting one per task would
/// cost microseconds. The interpreter must be running.
class Gil {
 public:
  Gil();
  ~Gil();
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;
};

/// Starts the interpreter once (signal handlers left to carlo; BLAS thread pools default to one
/// thread per rank), then releases the GIL. Main thread only. Throws InputError if it cannot start.
void ensure_interpreter();

/// One line for the Python exception in `e`: the last line of its traceback ("ValueError: bad")
/// and where it was raised ("(mysim.py:12)"). Call with the GIL held.
std::string describe(const py::error_already_set& e);

/// One option a Python simulation declares; its kind comes from the type of the default.
struct DeclaredOption {
  std::string name;
  OptionSet::Kind kind = OptionSet::Kind::integer;
  std::int64_t int_default = 0;
  double real_default = 0;
  std::string text_default;
  std::string help;
};

/// What `@carlo.simulation` recorded about one class. Kept for the process's life (never
/// destroyed: its Python class must not be released after the interpreter stops being used).
struct Declared {
  std::string name;
  std::string summary;
  std::string script;  ///< the file, for messages
  DataNeed data = DataNeed::none;
  std::vector<ObservationSpec> observations;  ///< components 0: a scalar
  std::vector<TallySpec> tallies;             ///< length 0: one bin per row of the data ("rows")
  std::vector<DeclaredOption> options;
  py::object cls;
};

/// Simulations declared by decorators since the last `take_declared` (the script being imported).
std::vector<Declared*> take_declared();

/// The SimulationInfo that builds instances of `d` (calls its class with options and data).
SimulationInfo make_info(const Declared* d);

}  // namespace carlo::python
