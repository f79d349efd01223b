#include <carlo/error.h>
#include <carlo/sched/batch.h>

#include <cstring>
#include <type_traits>

namespace carlo::sched {
namespace {

class ByteWriter {
 public:
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    out_.insert(out_.end(), p, p + sizeof(T));
  }
  template <class T>
  void put_array(std::span<const T> v) {
    put<std::uint64_t>(v.size());
    const auto* p = reinterpret_cast<const std::byte*>(v.data());
    out_.insert(out_.end(), p, p + v.size_bytes());
  }
  void put_string(const std::string& s) { put_array(std::span<const char>(s.data(), s.size())); }
  std::vector<std::byte> take() { return std::move(out_); }

 private:
  std::vector<std::byte> out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> in) : in_(in) {}
  template <class T>
  T get() {
    T v;
    need(sizeof(T));
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> get_array() {
    const auto n = get<std::uint64_t>();
    if (n > (in_.size() - pos_) / sizeof(T)) throw SystemError("scheduler message: array length past the end");
    std::vector<T> v(static_cast<std::size_t>(n));
    std::memcpy(v.data(), in_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  std::string get_string() {
    auto v = get_array<char>();
    return std::string(v.begin(), v.end());
  }
  void done() const {
    if (pos_ != in_.size()) throw SystemError("scheduler message: trailing bytes");
  }

 private:
  void need(std::size_t n) const {
    if (in_.size() - pos_ < n) throw SystemError("scheduler message: truncated");
  }
  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<std::byte> encode(const AssignMessage& m) {
  ByteWriter w;
  w.put_array(std::span<const Ack>(m.acks));
  w.put<std::uint64_t>(m.batches.size());
  for (const auto& b : m.batches) {
    w.put(b.id);
    w.put_array(std::span<const TaskRange>(b.ranges));
  }
  return w.take();
}

AssignMessage decode_assign(std::span<const std::byte> bytes) {
  ByteReader r(bytes);
  AssignMessage m;
  m.acks = r.get_array<Ack>();
  const auto n = r.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < n; ++i) {
    Batch b;
    b.id = r.get<std::uint64_t>();
    b.ranges = r.get_array<TaskRange>();
    m.batches.push_back(std::move(b));
  }
  r.done();
  return m;
}

std::vector<std::byte> encode(const BatchResult& res) {
  ByteWriter w;
  w.put(res.batch_id);
  w.put<std::uint8_t>(res.cancelled ? 1 : 0);
  w.put(res.seconds);
  w.put(res.n_tasks);
  w.put(res.n_observations);
  w.put_array(std::span<const double>(res.observations));
  w.put<std::uint64_t>(res.failures.size());
  for (const auto& f : res.failures) {
    w.put(f.index);
    w.put_string(f.message);
  }
  return w.take();
}

BatchResult decode_result(std::span<const std::byte> bytes) {
  ByteReader r(bytes);
  BatchResult res;
  res.batch_id = r.get<std::uint64_t>();
  res.cancelled = r.get<std::uint8_t>() != 0;
  res.seconds = r.get<double>();
  res.n_tasks = r.get<std::uint64_t>();
  res.n_observations = r.get<std::uint32_t>();
  res.observations = r.get_array<double>();
  const auto nf = r.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < nf; ++i) {
    TaskFailure f;
    f.index = r.get<std::uint64_t>();
    f.message = r.get_string();
    res.failures.push_back(std::move(f));
  }
  r.done();
  return res;
}

std::vector<std::byte> encode_id(std::uint64_t id) {
  ByteWriter w;
  w.put(id);
  return w.take();
}

std::uint64_t decode_id(std::span<const std::byte> bytes) {
  ByteReader r(bytes);
  auto id = r.get<std::uint64_t>();
  r.done();
  return id;
}

}  // namespace carlo::sched
