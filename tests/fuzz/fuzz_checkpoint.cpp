/// \file
/// Fuzzes sched::read_checkpoint (OUT.h5.ckpt). Contract: a file either reads back as a
/// Checkpoint or the reader throws InputError naming it. A checkpoint that reads must survive a
/// write_checkpoint/read_checkpoint round trip unchanged.
///
/// Input: byte 0 picks the mode. Odd: the rest is a payload, wrapped in a correct magic, length
/// and checksum, so mutations reach the decoder behind the checksum. Even: the rest is the file.
#include "fuzz_util.h"
#include "sched/bytes.h"
#include "sched/checkpoint.h"

#include <cstring>
#include <vector>

namespace {

using carlo::fuzz::finding;

std::vector<std::uint8_t> wrap(const std::uint8_t* payload, std::size_t size) {
  static constexpr char kMagic[8] = {'C', 'A', 'R', 'L', 'O', 'C', 'K', '1'};
  std::vector<std::uint8_t> file(kMagic, kMagic + 8);
  const std::uint64_t len = size;
  const std::uint64_t sum = carlo::sched::fnv1a(std::as_bytes(std::span(payload, size)));
  file.insert(file.end(), reinterpret_cast<const std::uint8_t*>(&len),
              reinterpret_cast<const std::uint8_t*>(&len) + 8);
  file.insert(file.end(), payload, payload + size);
  file.insert(file.end(), reinterpret_cast<const std::uint8_t*>(&sum),
              reinterpret_cast<const std::uint8_t*>(&sum) + 8);
  return file;
}

void check_round_trip(const carlo::sched::Checkpoint& c) {
  const std::string again = carlo::fuzz::scratch_path(".again.ckpt");
  carlo::sched::write_checkpoint(again, c);
  const carlo::sched::Checkpoint d = carlo::sched::read_checkpoint(again);
  if (d.fingerprint != c.fingerprint || d.journal_offset != c.journal_offset ||
      d.horizon != c.horizon || d.runs != c.runs || d.tallies != c.tallies ||
      d.crash_counts != c.crash_counts)
    finding("checkpoint changed in a write/read round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string& path = carlo::fuzz::scratch_path(".ckpt");
  if (data[0] & 1) {
    const auto file = wrap(data + 1, size - 1);
    carlo::fuzz::write_file(path, file.data(), file.size());
  } else {
    carlo::fuzz::write_file(path, data + 1, size - 1);
  }
  carlo::fuzz::expect_input_error_or_success("read_checkpoint", [&] {
    const carlo::sched::Checkpoint c = carlo::sched::read_checkpoint(path);
    check_round_trip(c);
  });
  return 0;
}
