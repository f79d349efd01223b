#pragma once
/// \file
/// The C++ side of `carlo.Ragged` and `carlo.Task` (module.cpp binds them).
#include "python/host.h"

#include <pybind11/numpy.h>

#include <unordered_map>

namespace carlo::python {

/// `carlo.Ragged`: the node-shared ragged data as read-only numpy arrays, without a copy.
/// `values` and `offsets` point into the shared memory (their base is a capsule that owns
/// nothing, so numpy also refuses to make them writeable again); a row is a view of `values`,
/// read-only like it. The memory outlives every run() call: carlo unmaps it only after the
/// simulation is destroyed.
class Ragged {
 public:
  explicit Ragged(const RaggedView& view);
  std::uint64_t rows() const noexcept { return view_.rows; }
  /// Row i (negative i counts from the end, as in Python); IndexError outside.
  py::array row(std::int64_t i) const;
  py::array values;
  py::array offsets;

 private:
  RaggedView view_;
};

/// `carlo.Task`: one object per simulation instance, pointed at the current C++ Task for the
/// duration of each run() call (outside it, every use raises).
class PyTask {
 public:
  /// `tallies`: the declared tallies with their sizes resolved for this run's data.
  PyTask(const Declared& d, std::vector<TallySpec> tallies);
  void begin(Task& task) noexcept {
    task_ = &task;
    rng_fresh_ = false;
  }
  void end() noexcept { task_ = nullptr; }

  std::uint64_t id() const { return current().id(); }
  std::uint32_t attempt() const { return current().attempt(); }
  /// The task's numpy Generator (see rng_key), reset on first use in each task.
  py::object rng();
  /// A float for a scalar observation; a sequence or 1-D numpy array of exactly k floats for a
  /// vector of k.
  void observe(const std::string& name, const py::handle& value);
  /// Adds 1 to bin `bins` (an integer) or to each of `bins` (an integer array; a bin may repeat).
  void tally(const std::string& name, const py::handle& bins);
  /// Real tally `name`: values[i] (or the one value) into bins[i] (or the one bin). A non-finite
  /// value fails the task (TaskError from Task::score).
  void score(const std::string& name, const py::handle& bins, const py::handle& values);

  /// The 128-bit Philox key of task `id` under `seed`: the first two 64-bit words of the task's
  /// carlo stream, Stream(seed, id) (rng.h), so a pure function of (seed, task id).
  static void rng_key(Stream stream, std::uint64_t key[2]) noexcept;

 private:
  Task& current() const;
  /// Puts the bit generator in the state of a new Philox(key=key).
  void reset_rng(const std::uint64_t key[2]);
  /// Sets direct_ if writing numpy's Philox state in place works on this numpy (checked by draws).
  void check_direct_reset(const py::module_& random);
  std::size_t index_of(const std::unordered_map<std::string, std::size_t>& names,
                       const std::string& name, const char* kind) const;
  Task* task_ = nullptr;
  const Declared& decl_;
  std::vector<TallySpec> tallies_;
  std::unordered_map<std::string, std::size_t> observation_index_;
  std::unordered_map<std::string, std::size_t> tally_index_;
  // One Philox bit generator and Generator for the instance's life: building them costs ~40 us,
  // resetting the state with numpy's setter ~2 us, in place ~10 ns. `state_` is the setter's
  // dict, `key_` its key array.
  py::object bitgen_;
  py::object generator_;
  py::dict state_;
  py::array_t<std::uint64_t> key_;
  bool rng_fresh_ = false;
  void* direct_ = nullptr;  ///< numpy's Philox state, written in place (~10 ns) when checked safe
};

}  // namespace carlo::python
