#include "sched/batch.h"
#include "sched/bytes.h"

#include <carlo/error.h>

namespace carlo::sched {

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
  res.n_observations = r.get<std::uint64_t>();
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

std::vector<std::byte> encode_tallies(const std::vector<std::vector<std::uint64_t>>& tallies) {
  ByteWriter w;
  w.put<std::uint64_t>(tallies.size());
  for (const auto& t : tallies) w.put_array(std::span<const std::uint64_t>(t));
  return w.take();
}

std::vector<std::vector<std::uint64_t>> decode_tallies(std::span<const std::byte> bytes) {
  ByteReader r(bytes);
  std::vector<std::vector<std::uint64_t>> out(static_cast<std::size_t>(r.get<std::uint64_t>()));
  for (auto& t : out) t = r.get_array<std::uint64_t>();
  r.done();
  return out;
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
