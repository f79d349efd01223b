#pragma once
/// \file
/// Batches of tasks and what workers send back, plus their wire encoding. No MPI here: the bytes
/// travel over any sched::Channel.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace carlo::sched {

/// Message tags of the scheduler protocol.
enum class Tag : int {
  assign = 1,  ///< master -> worker: acks of earlier results, then zero or more batches
  result = 2,  ///< worker -> master: the outcome of one batch
  cancel = 3,  ///< master -> worker: drop this batch (another rank finished it first)
  stop = 4,    ///< master -> worker: no more work; final acks
  /// master -> worker: acks, then "snapshot your tallies". A worker with a private store answers
  /// with its tallies; one sharing a node store flushes, stops applying acks and answers `paused`.
  snapshot = 5,
  collect = 6,  ///< master -> collector: "send the node store"; collector -> master: the tallies
  resume = 7,   ///< master -> paused worker: apply acks again
  paused = 8,   ///< worker -> master: flushed and paused; payload: 1 byte, 1 if a collector
};

/// Tasks first..first+count-1, all at the same attempt number (0 = first try).
struct TaskRange {
  std::uint64_t first = 0;
  std::uint64_t count = 0;
  std::uint32_t attempt = 0;
};

struct Batch {
  std::uint64_t id = 0;
  std::vector<TaskRange> ranges;
  std::uint64_t size() const noexcept {
    std::uint64_t n = 0;
    for (const auto& r : ranges) n += r.count;
    return n;
  }
};

/// A task of a batch that threw: its position in the batch and the exception's message.
struct TaskFailure {
  std::uint64_t index = 0;
  std::string message;
};

struct BatchResult {
  std::uint64_t batch_id = 0;
  bool cancelled = false;  ///< dropped before completion; no data
  double seconds = 0;      ///< compute time on the worker
  std::uint64_t n_tasks = 0;
  std::uint64_t n_observations = 0;  ///< observation columns per task (core/observations.h)
  /// Column-major: observations[k * n_tasks + i] is column k of the batch's i-th task.
  /// NaN for failed tasks.
  std::vector<double> observations;
  std::vector<TaskFailure> failures;
};

/// Acknowledgement of a result: accepted results' tallies are kept, rejected ones dropped.
struct Ack {
  std::uint64_t batch_id = 0;
  bool accepted = false;
};

struct AssignMessage {
  std::vector<Ack> acks;
  std::vector<Batch> batches;
};

std::vector<std::byte> encode(const AssignMessage& m);
AssignMessage decode_assign(std::span<const std::byte> bytes);
std::vector<std::byte> encode(const BatchResult& r);
BatchResult decode_result(std::span<const std::byte> bytes);
std::vector<std::byte> encode_tallies(const std::vector<std::vector<std::uint64_t>>& tallies);
std::vector<std::vector<std::uint64_t>> decode_tallies(std::span<const std::byte> bytes);
std::vector<std::byte> encode_id(std::uint64_t id);
std::uint64_t decode_id(std::span<const std::byte> bytes);

}  // namespace carlo::sched
