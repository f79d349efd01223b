// The `carlo` module a script imports (DESIGN §7): the `simulation` decorator, Ragged and Task.
#include "python/objects.h"

#include <pybind11/embed.h>
#include <pybind11/stl.h>

#include <set>

namespace carlo::python {

namespace {

// Every declaration ever made, never destroyed (see Declared); `pending` is what the script
// being imported declared so far.
std::deque<Declared>& declarations() {
  static auto* all = new std::deque<Declared>;
  return *all;
}
std::vector<Declared*> g_pending;

DataNeed parse_data(const std::string& data) {
  if (data == "none") return DataNeed::none;
  if (data == "required") return DataNeed::required;
  if (data == "optional") return DataNeed::optional;
  throw py::value_error("data='" + data + "': expected \"none\", \"required\" or \"optional\"");
}

/// A list of scalar names, or a dict name -> k (a vector of k values per task).
std::vector<ObservationSpec> parse_observations(const py::handle& obs) {
  std::vector<ObservationSpec> specs;
  if (py::isinstance<py::dict>(obs)) {
    for (const auto& [name, k] : py::reinterpret_borrow<py::dict>(obs)) {
      if (!py::isinstance<py::str>(name)) throw py::type_error("observations: names must be str");
      const auto n = name.cast<std::string>();
      if (PyFloat_Check(k.ptr()) || !PyIndex_Check(k.ptr()) || py::cast<long long>(k) < 0)
        throw py::value_error(
            "observations: '" + n +
            "' must give its number of components, an integer >= 1 (0: a scalar)");
      specs.push_back({n, static_cast<std::uint64_t>(py::cast<long long>(k))});
    }
    return specs;
  }
  if (py::isinstance<py::str>(obs))
    throw py::type_error("observations: give a list of names, e.g. [\"" + obs.cast<std::string>() +
                         "\"], or a dict name -> components");
  for (const auto& o : obs) {
    if (!py::isinstance<py::str>(o)) throw py::type_error("observations: every name must be a str");
    specs.push_back({o.cast<std::string>(), 0});
  }
  return specs;
}

/// A tally's size: a positive int, or "rows" (one bin per data row, sized when the data is known).
std::uint64_t parse_bins(const std::string& n, const py::handle& bins) {
  if (py::isinstance<py::str>(bins) && bins.cast<std::string>() == "rows") return 0;
  if (PyBool_Check(bins.ptr()) || !PyLong_Check(bins.ptr()) || bins.cast<long long>() < 1)
    throw py::value_error("tallies: '" + n +
                          "' needs a positive int number of bins (or \"rows\": one per row)");
  return static_cast<std::uint64_t>(bins.cast<long long>());
}

/// name -> bins (counts), or name -> (bins, "real") / (bins, "count").
std::vector<TallySpec> parse_tallies(const py::dict& tallies) {
  std::vector<TallySpec> specs;
  for (const auto& [name, spec] : tallies) {
    if (!py::isinstance<py::str>(name)) throw py::type_error("tallies: names must be str");
    const auto n = name.cast<std::string>();
    if (!py::isinstance<py::tuple>(spec)) {
      specs.push_back({n, parse_bins(n, spec)});
      continue;
    }
    const auto kind = py::len(spec) == 2 && py::isinstance<py::str>(spec[py::int_(1)])
                          ? spec[py::int_(1)].cast<std::string>()
                          : std::string();
    if (kind != "real" && kind != "count")
      throw py::value_error("tallies: '" + n + "' is bins or (bins, \"real\" or \"count\")");
    specs.push_back(
        {n, parse_bins(n, spec[py::int_(0)]), kind == "real" ? TallyKind::real : TallyKind::count});
  }
  return specs;
}

/// name -> (default, help): the option's type is the default's (bool is a flag, default False).
DeclaredOption parse_option(const std::string& name, const py::handle& spec) {
  DeclaredOption o;
  o.name = name;
  if (!py::isinstance<py::tuple>(spec) || py::len(spec) != 2 ||
      !py::isinstance<py::str>(spec[py::int_(1)]))
    throw py::type_error("option '" + name + "': give (default, \"help text\")");
  const py::object def = spec[py::int_(0)];
  o.help = spec[py::int_(1)].cast<std::string>();
  if (PyBool_Check(def.ptr())) {
    if (def.cast<bool>())
      throw py::value_error("option '" + name +
                            "': a flag (bool) is off unless given, so its default must be False");
    o.kind = OptionSet::Kind::flag;
  } else if (PyLong_Check(def.ptr())) {
    o.kind = OptionSet::Kind::integer;
    o.int_default = def.cast<std::int64_t>();
  } else if (PyFloat_Check(def.ptr())) {
    o.kind = OptionSet::Kind::real;
    o.real_default = def.cast<double>();
  } else if (py::isinstance<py::str>(def)) {
    o.kind = OptionSet::Kind::text;
    o.text_default = def.cast<std::string>();
  } else {
    throw py::type_error("option '" + name + "': the default must be an int, float, str or bool");
  }
  return o;
}

/// The first line of the class's docstring, else a generic summary.
std::string summary_of(const py::object& cls) {
  py::object doc = cls.attr("__doc__");
  if (doc.is_none()) return "Python simulation";
  std::string text = doc.cast<std::string>();
  const auto start = text.find_first_not_of(" \n\t");
  if (start == std::string::npos) return "Python simulation";
  text = text.substr(start);
  return text.substr(0, text.find('\n'));
}

py::cpp_function simulation(const std::string& name, const std::string& data,
                            const py::object& observations, const py::object& tallies,
                            const py::object& options) {
  Declared d;
  d.name = name;
  d.data = parse_data(data);
  d.observations = parse_observations(observations);
  if (!tallies.is_none()) d.tallies = parse_tallies(tallies.cast<py::dict>());
  if (!options.is_none())
    for (const auto& [k, v] : options.cast<py::dict>()) {
      if (!py::isinstance<py::str>(k)) throw py::type_error("options: names must be str");
      d.options.push_back(parse_option(k.cast<std::string>(), v));
    }
  return py::cpp_function([d](py::object cls) mutable -> py::object {
    if (!PyType_Check(cls.ptr()))
      throw py::type_error(
          "@carlo.simulation decorates a class (with __init__(self, options, "
          "data) and run(self, task))");
    if (!py::hasattr(cls, "run"))
      throw py::type_error("@carlo.simulation: class " +
                           py::str(cls.attr("__name__")).cast<std::string>() +
                           " has no run(self, task) method");
    d.cls = cls;
    d.summary = summary_of(cls);
    declarations().push_back(d);
    g_pending.push_back(&declarations().back());
    return cls;
  });
}

}  // namespace

std::vector<Declared*> take_declared() {
  std::vector<Declared*> out;
  out.swap(g_pending);
  return out;
}

}  // namespace carlo::python

PYBIND11_EMBEDDED_MODULE(carlo, m) {
  namespace py = pybind11;
  using namespace carlo::python;
  m.doc() = "carlo: Monte Carlo simulations written in Python (DESIGN section 7)";
  m.def("simulation", &simulation, py::arg("name"), py::arg("data") = "none",
        py::arg("observations") = py::list(), py::arg("tallies") = py::none(),
        py::arg("options") = py::none(),
        "Class decorator declaring a carlo simulation: its name, data need, observations, "
        "tallies and options.");
  py::class_<Ragged>(m, "Ragged",
                     "The node's read-only ragged data: row i is "
                     "values[offsets[i]:offsets[i+1]]")
      .def_readonly("values", &Ragged::values)
      .def_readonly("offsets", &Ragged::offsets)
      .def("__len__", &Ragged::rows)
      .def("__getitem__", &Ragged::row, py::arg("i"));
  py::class_<PyTask>(m, "Task", "One task: its id, random stream, observations and tallies")
      .def_property_readonly("id", &PyTask::id)
      .def_property_readonly("attempt", &PyTask::attempt)
      .def_property_readonly("rng", &PyTask::rng)
      .def("observe", &PyTask::observe, py::arg("name"), py::arg("value"))
      .def("tally", &PyTask::tally, py::arg("name"), py::arg("bins"))
      .def("score", &PyTask::score, py::arg("name"), py::arg("bins"), py::arg("values"),
           "Adds float values to bins of a real tally (an int or integer array of bins; a float "
           "or a float array of the same length)");
  m.def(
      "task_rng",
      [](std::uint64_t seed, std::uint64_t task) {
        std::uint64_t key[2];
        PyTask::rng_key(carlo::Stream(seed, task), key);
        auto random = py::module_::import("numpy.random");
        py::array_t<std::uint64_t> k(2);
        k.mutable_at(0) = key[0];
        k.mutable_at(1) = key[1];
        return random.attr("Generator")(random.attr("Philox")(py::arg("key") = k));
      },
      py::arg("seed"), py::arg("task"),
      "A new Generator equal to task.rng of task `task` under `seed`, for checking one task "
      "outside a run.");
}
