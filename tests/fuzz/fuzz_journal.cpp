/// \file
/// Fuzzes sched::read_journal (OUT.h5.journal). Contract: the reader either returns what the
/// journal says up to its first torn or corrupt record, or throws InputError naming the file. What
/// it returns must hold together: results handed over in journal order, ending within the valid
/// bytes, valid bytes within the file, nothing in flight after a clean stop.
///
/// Input: byte 0 picks the mode. Odd: the rest is read as records (magic, type, length, payload,
/// checksum) and every whole record gets its correct checksum, so mutations reach the decoder
/// behind the checksum. Even: the rest is the file as it is.
#include "fuzz_util.h"
#include "sched/bytes.h"
#include "sched/checkpoint.h"

#include <cstring>
#include <vector>

namespace {

using carlo::fuzz::finding;

// The input with the checksum of every record whose length fits recomputed.
std::vector<std::uint8_t> fix_checksums(const std::uint8_t* in, std::size_t size) {
  std::vector<std::uint8_t> out;
  std::size_t pos = 0;
  while (size - pos >= 16) {
    std::uint64_t len = 0;
    std::memcpy(&len, in + pos + 8, 8);
    if (len > size - pos - 16) break;
    const std::uint8_t* payload = in + pos + 16;
    const std::uint64_t sum = carlo::sched::fnv1a(std::as_bytes(std::span(payload, len)));
    out.insert(out.end(), in + pos, payload + len);
    out.insert(out.end(), reinterpret_cast<const std::uint8_t*>(&sum),
               reinterpret_cast<const std::uint8_t*>(&sum) + 8);
    pos += 16 + len + std::min<std::size_t>(8, size - pos - 16 - len);  // skip the input's sum
  }
  out.insert(out.end(), in + pos, in + size);
  return out;
}

void check(const carlo::sched::JournalContents& c, std::uint64_t file_size, std::uint64_t last_end,
           std::uint64_t results) {
  if (c.valid_bytes > file_size) finding("journal: valid_bytes past the end of the file");
  if (results > 0 && last_end > c.valid_bytes) finding("journal: a result ends past valid_bytes");
  if (c.clean_stop && !c.in_flight.empty())
    finding("journal: batches in flight after a clean stop");
  for (const auto& [worker, batches] : c.in_flight) {
    if (batches.empty()) finding("journal: a worker listed in flight with no batch");
    for (const auto& b : batches)
      if (b.id > c.max_batch_id) finding("journal: a batch in flight above max_batch_id");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::vector<std::uint8_t> file =
      data[0] & 1 ? fix_checksums(data + 1, size - 1) : std::vector(data + 1, data + size);
  const std::string& path = carlo::fuzz::scratch_path(".journal");
  carlo::fuzz::write_file(path, file.data(), file.size());
  carlo::fuzz::expect_input_error_or_success("read_journal", [&] {
    std::uint64_t last_end = 0, results = 0;
    const auto c = carlo::sched::read_journal(
        path, [&](const carlo::sched::JournalResult&, std::uint64_t end) {
          if (end <= last_end) finding("journal: results not in increasing offset order");
          last_end = end;
          ++results;
        });
    check(c, file.size(), last_end, results);
  });
  return 0;
}
