// A Python class as a carlo Simulation: one instance per rank, run(task) per task under the GIL.
#include "python/objects.h"

#include <carlo/error.h>

namespace carlo::python {

namespace {

class PySimulation final : public Simulation {
 public:
  PySimulation(const Declared& d, std::vector<TallySpec> tallies, py::object instance)
      : decl_(d), tallies_(std::move(tallies)), instance_(std::move(instance)),
        run_(instance_.attr("run")) {
    auto task = std::make_unique<PyTask>(d, tallies_);
    task_ = task.get();
    task_object_ = py::cast(std::move(task));
  }
  ~PySimulation() override {
    Gil gil;
    task_object_ = py::object();
    run_ = py::object();
    instance_ = py::object();
    flush_output();
  }
  std::vector<ObservationSpec> observation_specs() const override { return decl_.observations; }
  std::vector<TallySpec> tally_specs() const override { return tallies_; }
  void run(Task& task) override {
    Gil gil;
    task_->begin(task);
    try {
      run_(task_object_);
    } catch (py::error_already_set& e) {
      task_->end();
      throw TaskError(describe(e));
    } catch (...) {
      task_->end();  // a task object kept by the script must not point at a finished task
      throw;
    }
    task_->end();
  }

  /// Python's own buffers: the interpreter is never finalised, so nothing else flushes them.
  static void flush_output() {
    try {
      auto sys = py::module_::import("sys");
      for (const char* stream : {"stdout", "stderr"})
        if (!sys.attr(stream).is_none()) sys.attr(stream).attr("flush")();
    } catch (py::error_already_set&) {
    }
  }

 private:
  const Declared& decl_;
  std::vector<TallySpec> tallies_;
  py::object instance_;
  py::object run_;
  py::object task_object_;
  PyTask* task_ = nullptr;  // owned by task_object_
};

py::dict options_dict(const Declared& d, const OptionValues& opts) {
  py::dict out;
  for (const auto& o : d.options) {
    switch (o.kind) {
      case OptionSet::Kind::integer: out[o.name.c_str()] = opts.get_int(o.name); break;
      case OptionSet::Kind::real: out[o.name.c_str()] = opts.get_real(o.name); break;
      case OptionSet::Kind::text: out[o.name.c_str()] = opts.get_text(o.name); break;
      case OptionSet::Kind::flag: out[o.name.c_str()] = opts.get_flag(o.name); break;
    }
  }
  return out;
}

std::unique_ptr<Simulation> create(const Declared& d, const OptionValues& opts,
                                   const RaggedView& view) {
  std::vector<TallySpec> tallies = d.tallies;
  for (auto& t : tallies)
    if (t.length == 0) {
      if (view.empty() || view.rows == 0)
        throw InputError("simulation '" + d.name + "': tally '" + t.name +
                         "' has one bin per data row (\"rows\"), but the run has no data rows");
      t.length = view.rows;
    }
  Gil gil;
  try {
    py::object data = view.empty() ? py::none() : py::cast(Ragged(view));
    py::object instance = d.cls(options_dict(d, opts), data);
    auto sim = std::make_unique<PySimulation>(d, std::move(tallies), std::move(instance));
    PySimulation::flush_output();
    return sim;
  } catch (py::error_already_set& e) {
    PySimulation::flush_output();
    throw InputError("simulation '" + d.name + "' (" + d.script +
                     "): __init__ refused the run: " + describe(e));
  }
}

}  // namespace

SimulationInfo make_info(const Declared* d) {
  SimulationInfo info;
  info.name = d->name;
  info.summary = d->summary + " (" + d->script + ")";
  info.data = d->data;
  info.declare_options = [d](OptionSet& set) {
    for (const auto& o : d->options) {
      switch (o.kind) {
        case OptionSet::Kind::integer: set.add_int(o.name, o.int_default, o.help); break;
        case OptionSet::Kind::real: set.add_real(o.name, o.real_default, o.help); break;
        case OptionSet::Kind::text: set.add_text(o.name, o.text_default, o.help); break;
        case OptionSet::Kind::flag: set.add_flag(o.name, o.help); break;
      }
    }
  };
  info.create = [d](const OptionValues& opts, const RaggedView& view) {
    return create(*d, opts, view);
  };
  return info;
}

}  // namespace carlo::python
