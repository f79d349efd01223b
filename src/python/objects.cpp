// carlo.Ragged and carlo.Task.
#include "python/objects.h"

#include <algorithm>

namespace carlo::python {

namespace {

/// A read-only 1-D array over `count` elements at `data`, owned by nobody (`base` keeps no
/// memory alive: the shared segment outlives the simulation).
py::array read_only(const py::dtype& dtype, const void* data, std::uint64_t count) {
  py::capsule base(data, [](void*) {});
  py::array a(dtype, {static_cast<py::ssize_t>(count)}, {dtype.itemsize()}, data, base);
  a.attr("setflags")(py::arg("write") = false);
  return a;
}

/// numpy's `philox_state` (numpy/random/src/philox/philox.h, the same from numpy 1.17 to 2.x),
/// behind `Philox.ctypes.state_address`. Written directly only after PyTask checked, on this
/// numpy, that doing so gives exactly the draws of a new Philox(key=...).
struct NumpyPhiloxState {
  std::uint64_t* ctr;  // philox4x64_ctr_t*: 4 words
  std::uint64_t* key;  // philox4x64_key_t*: 2 words
  int buffer_pos;
  std::uint64_t buffer[4];
  int has_uint32;
  std::uint32_t uinteger;
};

}  // namespace

Ragged::Ragged(const RaggedView& view) : view_(view) {
  const py::dtype dtype(std::string(dtype_name(view.dtype)));
  values = read_only(dtype, view.values, view.n_values);
  offsets = read_only(py::dtype::of<std::uint64_t>(), view.offsets, view.rows + 1);
}

py::array Ragged::row(std::int64_t i) const {
  const auto rows = static_cast<std::int64_t>(view_.rows);
  const std::int64_t r = i < 0 ? i + rows : i;
  if (r < 0 || r >= rows)
    throw py::index_error("row " + std::to_string(i) + " out of range (" + std::to_string(rows) +
                          " rows)");
  const auto u = static_cast<std::uint64_t>(r);
  const std::uint64_t first = view_.offsets[u];
  const auto* base = static_cast<const std::byte*>(view_.values);
  const py::dtype dtype = values.dtype();
  // Based on `values`: numpy copies its flags, so the row is read-only too.
  return py::array(dtype, {static_cast<py::ssize_t>(view_.row_length(u))}, {dtype.itemsize()},
                   base + first * static_cast<std::uint64_t>(dtype.itemsize()), values);
}

PyTask::PyTask(const Declared& d, std::vector<TallySpec> tallies)
    : decl_(d), tallies_(std::move(tallies)) {
  for (std::size_t k = 0; k < d.observations.size(); ++k)
    observation_index_[d.observations[k].name] = k;
  for (std::size_t k = 0; k < tallies_.size(); ++k) tally_index_[tallies_[k].name] = k;
  auto random = py::module_::import("numpy.random");
  key_ = py::array_t<std::uint64_t>(2);
  key_.mutable_at(0) = 0;
  key_.mutable_at(1) = 0;
  bitgen_ = random.attr("Philox")(py::arg("key") = key_);
  generator_ = random.attr("Generator")(bitgen_);
  // Exactly the state of a new Philox(key=...): counter 0, empty buffer.
  py::dict inner;
  inner["counter"] = py::array_t<std::uint64_t>(4);
  inner["counter"].cast<py::array_t<std::uint64_t>>().attr("fill")(0);
  inner["key"] = key_;
  state_["bit_generator"] = "Philox";
  state_["state"] = inner;
  py::array_t<std::uint64_t> buffer(4);
  buffer.attr("fill")(0);
  state_["buffer"] = buffer;
  state_["buffer_pos"] = 4;
  state_["has_uint32"] = 0;
  state_["uinteger"] = 0;
  check_direct_reset(random);
}

void PyTask::reset_rng(const std::uint64_t key[2]) {
  if (direct_) {
    auto* s = static_cast<NumpyPhiloxState*>(direct_);
    for (int i = 0; i < 4; ++i) s->ctr[i] = s->buffer[i] = 0;
    s->key[0] = key[0];
    s->key[1] = key[1];
    s->buffer_pos = 4;  // empty: the next draw computes block 0
    s->has_uint32 = 0;
    s->uinteger = 0;
    return;
  }
  key_.mutable_at(0) = key[0];
  key_.mutable_at(1) = key[1];
  bitgen_.attr("state") = state_;  // numpy's own setter: about 2 us
}

void PyTask::check_direct_reset(const py::module_& random) {
  const std::uint64_t key[2] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  py::array_t<std::uint64_t> k(2);
  k.mutable_at(0) = key[0];
  k.mutable_at(1) = key[1];
  try {
    direct_ = reinterpret_cast<void*>(
        bitgen_.attr("ctypes").attr("state_address").cast<std::uintptr_t>());
    generator_.attr("random")(3);  // some state to overwrite
    reset_rng(key);
    py::object mine = bitgen_.attr("random_raw")(7);
    py::object fresh = random.attr("Philox")(py::arg("key") = k).attr("random_raw")(7);
    if (!py::module_::import("numpy").attr("array_equal")(mine, fresh).cast<bool>())
      direct_ = nullptr;
  } catch (py::error_already_set&) {
    direct_ = nullptr;  // no ctypes interface: keep the setter
  }
}

Task& PyTask::current() const {
  if (!task_)
    throw py::value_error("carlo.Task used outside run(): it is valid only during the call");
  return *task_;
}

void PyTask::rng_key(Stream stream, std::uint64_t key[2]) noexcept {
  key[0] = stream.next_u64();
  key[1] = stream.next_u64();
}

py::object PyTask::rng() {
  Task& t = current();
  if (!rng_fresh_) {
    std::uint64_t key[2];
    rng_key(t.rng(), key);  // a copy of the stream: the task's own stays untouched
    reset_rng(key);
    rng_fresh_ = true;
  }
  return generator_;
}

std::size_t PyTask::index_of(const std::unordered_map<std::string, std::size_t>& names,
                             const std::string& name, const char* kind) const {
  auto it = names.find(name);
  if (it != names.end()) return it->second;
  std::vector<std::string> declared;
  for (const auto& entry : names) declared.push_back(entry.first);
  std::sort(declared.begin(), declared.end());
  std::string have;
  for (const auto& n : declared) have += (have.empty() ? "" : ", ") + n;
  throw py::key_error("simulation '" + decl_.name + "' declares no " + kind + " '" + name +
                      "' (it has: " + (have.empty() ? "none" : have) + ")");
}

void PyTask::observe(const std::string& name, const py::handle& value) {
  Task& t = current();
  const std::size_t k = index_of(observation_index_, name, "observation");
  const std::uint64_t components = decl_.observations[k].components;
  if (components == 0) {
    double x = 0;
    try {
      x = py::cast<double>(value);
    } catch (const py::cast_error&) {
      throw py::type_error("observation '" + name + "' is a scalar: observe it with one float");
    }
    t.observe(k, x);
    return;
  }
  // (A numpy array has __index__ too, so test for a sequence rather than against a number.)
  if (!py::isinstance<py::array>(value) &&
      (!PySequence_Check(value.ptr()) || py::isinstance<py::str>(value)))
    throw py::type_error("observation '" + name + "' is a vector of " + std::to_string(components) +
                         ": observe it with " + std::to_string(components) + " floats");
  auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(value);
  if (!a || a.ndim() != 1 || static_cast<std::uint64_t>(a.size()) != components)
    throw py::value_error(
        "observation '" + name + "' takes " + std::to_string(components) + " floats, got " +
        (a ? std::to_string(a.size()) + " in " + std::to_string(a.ndim()) + " dimension(s)"
           : std::string("no sequence of numbers")));
  t.observe(k, std::span<const double>(a.data(), static_cast<std::size_t>(a.size())));
}

void PyTask::tally(const std::string& name, const py::handle& bins) {
  Task& t = current();
  const std::size_t k = index_of(tally_index_, name, "tally");
  const std::uint64_t length = tallies_[k].length;
  auto out_of_range = [&](const std::string& bin) {
    return py::index_error("tally '" + name + "': bin " + bin + " out of range [0, " +
                           std::to_string(length) + ")");
  };
  if (py::isinstance<py::array>(bins)) {
    auto a = py::reinterpret_borrow<py::array>(bins);
    const char kind = a.dtype().kind();
    if (kind != 'i' && kind != 'u')
      throw py::type_error("tally '" + name + "': bins must be integers, got an array of " +
                           py::str(a.dtype()).cast<std::string>());
    if (kind == 'i' && a.size() > 0) {
      const auto lowest = a.attr("min")().cast<std::int64_t>();
      if (lowest < 0) throw out_of_range(std::to_string(lowest));
    }
    auto u = py::array_t<std::uint64_t, py::array::c_style | py::array::forcecast>::ensure(a);
    const std::uint64_t* p = u.data();
    const auto n = static_cast<std::size_t>(u.size());
    for (std::size_t j = 0; j < n; ++j)
      if (p[j] >= length) throw out_of_range(std::to_string(p[j]));
    t.tally_ones(k, {p, n});
    return;
  }
  if (PyFloat_Check(bins.ptr()) || !PyIndex_Check(bins.ptr()))
    throw py::type_error("tally '" + name + "': a bin is an integer or an integer numpy array");
  const auto bin = py::cast<long long>(bins);
  if (bin < 0 || static_cast<std::uint64_t>(bin) >= length) throw out_of_range(std::to_string(bin));
  t.tally(k, static_cast<std::uint64_t>(bin));
}

void PyTask::score(const std::string& name, const py::handle& bins, const py::handle& values) {
  Task& t = current();
  const std::size_t k = index_of(tally_index_, name, "tally");
  const bool float_array = py::isinstance<py::array>(bins) &&
                           py::reinterpret_borrow<py::array>(bins).dtype().kind() == 'f';
  if (PyFloat_Check(bins.ptr()) || float_array)
    throw py::type_error("tally '" + name + "': a bin is an integer or an integer numpy array");
  auto b = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(bins);
  auto v = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(values);
  if (!b || !v) throw py::type_error("tally '" + name + "': bins are integers, values floats");
  const auto nb = static_cast<std::size_t>(b.size());
  const auto nv = static_cast<std::size_t>(v.size());
  if (nb != nv && nv != 1)
    throw py::value_error("tally '" + name + "': " + std::to_string(nb) + " bins but " +
                          std::to_string(nv) + " values");
  const std::uint64_t length = tallies_[k].length;
  for (std::size_t i = 0; i < nb; ++i) {
    const std::int64_t bin = b.data()[i];
    if (bin < 0 || static_cast<std::uint64_t>(bin) >= length)
      throw py::index_error("tally '" + name + "': bin " + std::to_string(bin) +
                            " out of range [0, " + std::to_string(length) + ")");
    t.score(k, static_cast<std::uint64_t>(bin), v.data()[nv == 1 ? 0 : i]);
  }
}

}  // namespace carlo::python
