// Journal and checkpoint files: what survives a crash at any moment.
#include "sched/bytes.h"
#include "sched/checkpoint.h"

#include <carlo/error.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace carlo::sched {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("carlo-ckpt-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

JournalResult result(std::uint64_t id, std::uint64_t first, std::uint64_t count, int worker = 0) {
  JournalResult r;
  r.worker = worker;
  r.batch_id = id;
  r.batch_end = first + count;
  r.pieces.push_back({first, count, std::vector<double>(count, 0.5 + static_cast<double>(id))});
  r.failures.push_back({first, 4, "boom"});
  return r;
}

TEST(Journal, ReadsBackResultsAndWhoHeldWhatWhenItEnded) {
  const auto path = temp_path("j1");
  {
    JournalWriter w(path, "fp", 1);
    w.assign(0, Batch{1, {{0, 10, 0}}});
    w.assign(0, Batch{2, {{10, 10, 0}}});
    w.assign(1, Batch{3, {{20, 10, 0}}});
    w.result(result(1, 0, 10));
  }
  std::vector<JournalResult> seen;
  auto c = read_journal(path, [&](const JournalResult& r, std::uint64_t) { seen.push_back(r); });
  EXPECT_EQ(c.fingerprint, "fp");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].pieces[0].values, std::vector<double>(10, 1.5));
  EXPECT_EQ(seen[0].failures[0].message, "boom");
  EXPECT_FALSE(c.clean_stop);
  ASSERT_EQ(c.in_flight.size(), 2u);
  EXPECT_EQ(c.in_flight.at(0).front().id, 2u);  // worker 0 was computing batch 2
  EXPECT_EQ(c.in_flight.at(1).front().id, 3u);
  EXPECT_EQ(c.max_batch_id, 3u);
}

TEST(Journal, ATornLastRecordIsIgnoredAndEverythingBeforeItStands) {
  const auto path = temp_path("j2");
  std::uint64_t good = 0;
  {
    JournalWriter w(path, "fp", 1);
    w.result(result(1, 0, 10));
    good = w.offset();
    w.result(result(2, 10, 10));
  }
  for (std::uint64_t cut : {good + 3, good + 20, fs::file_size(path) - 1}) {
    fs::resize_file(path, cut);
    int n = 0;
    auto c = read_journal(path, [&](const JournalResult&, std::uint64_t) { ++n; });
    EXPECT_EQ(n, 1) << "cut at " << cut;
    EXPECT_EQ(c.valid_bytes, good);
  }
}

TEST(Journal, AGarbledRecordEndsTheValidPrefix) {
  const auto path = temp_path("j3");
  std::uint64_t good = 0;
  {
    JournalWriter w(path, "fp", 1);
    w.result(result(1, 0, 10));
    good = w.offset();
    w.result(result(2, 10, 10));
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(good + 40));
    f.put('\x7f');
  }
  int n = 0;
  read_journal(path, [&](const JournalResult&, std::uint64_t) { ++n; });
  EXPECT_EQ(n, 1);
}

TEST(Journal, ACleanStopLeavesNothingInFlight) {
  const auto path = temp_path("j4");
  {
    JournalWriter w(path, "fp", 1);
    w.assign(0, Batch{1, {{0, 10, 0}}});
    w.clean_stop();
  }
  auto c = read_journal(path, nullptr);
  EXPECT_TRUE(c.clean_stop);
  EXPECT_TRUE(c.in_flight.empty());
}

TEST(Journal, ANonJournalFileIsRefusedByName) {
  const auto path = temp_path("j5");
  std::ofstream(path) << "hello";
  try {
    read_journal(path, nullptr);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

// Appends a journal record (magic, type, length, payload, checksum) whose checksum is right for
// `payload` but whose length field says `len`.
void append_record(const std::string& path, std::uint32_t type, const std::string& payload,
                   std::uint64_t len) {
  std::ofstream f(path, std::ios::binary | std::ios::app);
  const std::uint32_t magic = 0x4a4c5243;
  const std::uint64_t sum = fnv1a(std::as_bytes(std::span(payload.data(), payload.size())));
  f.write(reinterpret_cast<const char*>(&magic), 4).write(reinterpret_cast<const char*>(&type), 4);
  f.write(reinterpret_cast<const char*>(&len), 8).write(payload.data(), std::ssize(payload));
  f.write(reinterpret_cast<const char*>(&sum), 8);
}

// A garbled length was allocated before the read failed, up to 1 TiB (fuzz_journal: ASan out of
// memory on tests/fuzz/corpus/journal/torn-huge-length).
TEST(Journal, ARecordLongerThanTheRestOfTheFileIsTornAndNeverAllocated) {
  const auto path = temp_path("j6");
  std::uint64_t good = 0;
  {
    JournalWriter w(path, "fp", 1);
    w.result(result(1, 0, 10));
    good = w.offset();
  }
  append_record(path, 3, "abc", std::uint64_t{1} << 39);
  int n = 0;
  auto c = read_journal(path, [&](const JournalResult&, std::uint64_t) { ++n; });
  EXPECT_EQ(n, 1);
  EXPECT_EQ(c.valid_bytes, good);
}

// Found by fuzz_journal: a record whose checksum holds but whose contents do not parse threw
// SystemError (carlo's bug) instead of InputError naming the file.
TEST(Journal, ARecordWithARightChecksumThatDoesNotParseIsRefusedByName) {
  const auto path = temp_path("j7");
  { JournalWriter w(path, "fp", 1); }
  append_record(path, 2, "abc", 3);  // `assigned` needs a worker and a batch: 3 bytes are short
  try {
    read_journal(path, nullptr);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": journal record at byte"), std::string::npos)
        << e.what();
  }
}

// Writes a checkpoint file: magic, length field `len`, `payload` and its right checksum.
void write_raw_checkpoint(const std::string& path, const std::string& payload, std::uint64_t len) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  const std::uint64_t sum = fnv1a(std::as_bytes(std::span(payload.data(), payload.size())));
  f.write("CARLOCK1", 8).write(reinterpret_cast<const char*>(&len), 8);
  f.write(payload.data(), std::ssize(payload)).write(reinterpret_cast<const char*>(&sum), 8);
}

// The checkpoint twin of the journal's garbled length.
TEST(Checkpoint, APayloadLongerThanTheFileIsRefusedWithoutAllocatingIt) {
  const auto path = temp_path("c4");
  write_raw_checkpoint(path, "abc", std::uint64_t{1} << 39);
  EXPECT_THROW(read_checkpoint(path), InputError);
}

// Found by fuzz_checkpoint: a payload with a right checksum that does not parse threw SystemError.
TEST(Checkpoint, APayloadWithARightChecksumThatDoesNotParseIsAnInputError) {
  const auto path = temp_path("c5");
  const std::string payload(20, '\x9f');  // a fingerprint length of 0x9f9f... bytes
  write_raw_checkpoint(path, payload, payload.size());
  try {
    read_checkpoint(path);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": checkpoint"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, RoundTrips) {
  const auto path = temp_path("c1");
  Checkpoint c;
  c.fingerprint = "sim=pi\nseed=1\n";
  c.journal_offset = 12345;
  c.horizon = 1000;
  c.tallies = {{1, 2, 3}, {}};
  c.crash_counts = {{7, 1}, {99, 2}};
  c.runs = 3;
  write_checkpoint(path, c);
  auto r = read_checkpoint(path);
  EXPECT_EQ(r.fingerprint, c.fingerprint);
  EXPECT_EQ(r.journal_offset, 12345u);
  EXPECT_EQ(r.horizon, 1000u);
  EXPECT_EQ(r.tallies, c.tallies);
  EXPECT_EQ(r.crash_counts, c.crash_counts);
  EXPECT_EQ(r.runs, 3u);
}

// Blocks of zero bins are written as holes (a fresh run's checkpoint is all zeros): the file must
// still hold exactly the bytes of the documented layout, magic, length, payload, FNV-1a.
TEST(Checkpoint, TalliesWithBlocksOfZerosAreWrittenByteForByte) {
  const auto path = temp_path("c_zeros");
  Checkpoint c;
  c.fingerprint = "sim=walk\n";
  c.runs = 1;
  std::vector<std::uint64_t> sparse(100000, 0);  // 800 KB: twelve whole 64 KiB blocks of zeros
  sparse[5] = 1;
  sparse[50000] = 7;
  sparse[99999] = 3;
  c.tallies = {sparse, std::vector<std::uint64_t>(70000, 0)};  // the last one ends in a hole
  write_checkpoint(path, c);

  ByteWriter w;
  w.put_string(c.fingerprint);
  w.put(c.journal_offset);
  w.put(c.horizon);
  w.put(c.runs);
  w.put<std::uint64_t>(c.tallies.size());
  for (const auto& t : c.tallies) w.put_array(std::span<const std::uint64_t>(t));
  w.put<std::uint64_t>(0);  // no crash counts
  const auto payload = w.take();
  std::string expected = "CARLOCK1";
  const std::uint64_t len = payload.size();
  const std::uint64_t sum = fnv1a(payload);
  expected.append(reinterpret_cast<const char*>(&len), sizeof len);
  expected.append(reinterpret_cast<const char*>(payload.data()), payload.size());
  expected.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_TRUE(bytes == expected) << "file of " << bytes.size() << " bytes, expected "
                                 << expected.size();
  EXPECT_EQ(read_checkpoint(path).tallies, c.tallies);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh run's first checkpoint names its empty tallies without materialising them (TallyWords
// without data): the file must be the one written from zeros in memory, checksum included.
TEST(Checkpoint, ZeroTalliesWithoutMemoryAreTheSameFileAsZerosInMemory) {
  const auto from_memory = temp_path("c_zero_mem"), from_nothing = temp_path("c_zero_none");
  Checkpoint c;
  c.fingerprint = "sim=walk\n";
  c.runs = 1;
  c.crash_counts = {{3, 1}};
  // Not whole 64 KiB blocks: 100,001 words end in a partial block, and 5 words are all partial.
  c.tallies = {std::vector<std::uint64_t>(100001, 0), std::vector<std::uint64_t>(5, 0), {}};
  write_checkpoint(from_memory, c);
  Checkpoint header = c;
  header.tallies = {{9}};  // ignored: the list below stands in its place
  write_checkpoint(from_nothing, header, {{nullptr, 100001}, {nullptr, 5}, {nullptr, 0}});
  const std::string expected = file_bytes(from_memory), bytes = file_bytes(from_nothing);
  EXPECT_TRUE(bytes == expected) << "file of " << bytes.size() << " bytes, expected "
                                 << expected.size();
  EXPECT_EQ(read_checkpoint(from_nothing).tallies, c.tallies);
}

TEST(Checkpoint, ACrashWhileWritingLeavesThePreviousOneIntact) {
  const auto path = temp_path("c2");
  Checkpoint c;
  c.fingerprint = "first";
  write_checkpoint(path, c);
  // A writer killed mid-way leaves only a partial temporary file behind.
  std::ofstream(path + ".tmp", std::ios::binary) << "CARLOCK1\x10";
  EXPECT_EQ(read_checkpoint(path).fingerprint, "first");
  c.fingerprint = "second";
  write_checkpoint(path, c);  // and the next write replaces the debris
  EXPECT_EQ(read_checkpoint(path).fingerprint, "second");
}

TEST(Checkpoint, ADamagedFileIsDetected) {
  const auto path = temp_path("c3");
  Checkpoint c;
  c.fingerprint = "x";
  c.tallies = {{1, 2, 3}};
  write_checkpoint(path, c);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x55');
  }
  EXPECT_THROW(read_checkpoint(path), InputError);
}

}  // namespace
}  // namespace carlo::sched
