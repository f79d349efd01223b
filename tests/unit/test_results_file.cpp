// Results files (DESIGN §3): what the runner writes is what readers, `carlo info` and users' h5py
// scripts get back, a file is never complete before finish(), and the stored summaries are the
// exact definitions of summarize().
#include "io/ragged_file.h"
#include "io/results_file.h"
#include "io/results_internal.h"
#include "io/results_merge.h"

#include <carlo/error.h>

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace carlo::io {
namespace {

namespace fs = std::filesystem;

class ResultsFile : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("carlo_results_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

/// Status source for a run where every task in `done` is done with one attempt, the rest pending.
ResultsWriter::StatusSource all_done(std::uint8_t attempts = 1) {
  return [attempts](std::uint64_t, std::uint64_t count, TaskState* status, std::uint8_t* att) {
    std::fill_n(status, count, TaskState::done);
    std::fill_n(att, count, attempts);
  };
}

RunMeta sample_meta() {
  RunMeta meta;
  meta.simulation = "pi";
  meta.seed = 42;
  meta.tasks = 10;
  meta.data_path = "data/groups.h5";
  meta.data_size = 123456789012ULL;
  meta.data_mtime = 1700000000;
  meta.data_checksum = "size+mtime";
  meta.ranks = 8;
  meta.nodes = 2;
  meta.start_time = "2026-11-21T06:00:00Z";
  meta.end_time = "2026-11-21T06:00:05Z";
  meta.wall_seconds = 5.25;
  meta.tasks_per_second = 10 / 5.25;
  meta.options = {{"tasks", "10"}, {"seed", "42"}, {"samples-per-task", "1000"}, {"batch", "auto"}};
  return meta;
}

std::vector<double> task_values(std::uint64_t tasks, std::uint64_t salt) {
  std::vector<double> v(tasks);
  for (std::uint64_t t = 0; t < tasks; ++t)
    v[t] = std::sin(static_cast<double>(t * 7 + salt)) * 100.0 + static_cast<double>(salt);
  return v;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](double x, double y) {
           return std::bit_cast<std::uint64_t>(x) == std::bit_cast<std::uint64_t>(y);
         });
}

TEST_F(ResultsFile, RoundtripsObservationsTalliesStatusAndProvenance) {
  const std::string path = file("r.h5");
  const auto a = task_values(10, 0), b = task_values(10, 1);
  {
    ResultsWriter w(path, std::vector<std::string>{"a", "b"}, {{"visits", 5}, {"empty", 0}}, 10,
                    false);
    std::vector<double> batch(a);  // observation-major: all of a, then all of b
    batch.insert(batch.end(), b.begin(), b.end());
    w.write_observations(0, 10, batch);
    w.finish(all_done(3), {{1, 2, 3, 4, 5}, {}}, {}, sample_meta());
  }
  EXPECT_TRUE(same_bits(read_observation(path, "a"), a));
  EXPECT_TRUE(same_bits(read_observation(path, "b"), b));
  EXPECT_EQ(read_tally(path, "visits"), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(read_tally(path, "empty").empty());
  const auto [status, attempts] = read_task_status(path);
  EXPECT_EQ(status, std::vector<TaskState>(10, TaskState::done));
  EXPECT_EQ(attempts, std::vector<std::uint8_t>(10, 3));

  const ResultsInfo info = read_results_info(path);
  const RunMeta expected = sample_meta();
  EXPECT_EQ(info.path, path);
  EXPECT_EQ(info.state, "complete");
  EXPECT_EQ(info.meta.carlo_version, CARLO_VERSION);
  EXPECT_EQ(info.meta.simulation, "pi");
  EXPECT_EQ(info.meta.seed, 42u);
  EXPECT_EQ(info.meta.tasks, 10u);
  EXPECT_EQ(info.meta.data_path, expected.data_path);
  EXPECT_EQ(info.meta.data_size, expected.data_size);
  EXPECT_EQ(info.meta.data_mtime, expected.data_mtime);
  EXPECT_EQ(info.meta.data_checksum, expected.data_checksum);
  EXPECT_EQ(info.meta.ranks, 8);
  EXPECT_EQ(info.meta.nodes, 2);
  EXPECT_EQ(info.meta.start_time, expected.start_time);
  EXPECT_EQ(info.meta.end_time, expected.end_time);
  EXPECT_EQ(info.meta.wall_seconds, expected.wall_seconds);
  EXPECT_EQ(info.meta.tasks_per_second, expected.tasks_per_second);
  EXPECT_EQ(info.meta.options, expected.options);  // in the order given, not sorted
  EXPECT_EQ(info.observation_names, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(info.tallies.size(), 2u);
  EXPECT_EQ(info.tallies[0].name, "visits");
  EXPECT_EQ(info.tallies[0].length, 5u);
  EXPECT_EQ(info.tallies[1].name, "empty");
  EXPECT_EQ(info.done, 10u);
  EXPECT_EQ(info.failed, 0u);
  EXPECT_EQ(info.pending, 0u);
  EXPECT_TRUE(info.failures.empty());
}

TEST_F(ResultsFile, AVectorObservationIsOneTwoDimensionalDatasetSummarisedPerComponent) {
  const std::string path = file("v.h5");
  ResultsWriter w(path, std::vector<ObservationSpec>{{"s", 0}, {"v", 2}}, {}, 4, false);
  // Column-major: s, then v[0], then v[1], for tasks 0..3.
  const std::vector<double> values = {1, 2, 3, 4, 10, 20, 30, 40, -1, -2, -3, -4};
  w.write_observations(0, 4, values);
  w.finish(all_done(), {}, {}, sample_meta());
  ASSERT_EQ(w.summaries().size(), 3u);
  EXPECT_EQ(w.summaries()[1].mean, 25.0);
  EXPECT_EQ(w.summaries()[2].max, -1.0);

  const ResultsInfo info = read_results_info(path);
  ASSERT_EQ(info.observation_specs.size(), 2u);
  EXPECT_EQ(info.observation_specs[1].name, "v");
  EXPECT_EQ(info.observation_specs[1].components, 2u);
  EXPECT_EQ(info.observation_names, (std::vector<std::string>{"s", "v[0]", "v[1]"}));
  ASSERT_EQ(info.summaries.size(), 3u);
  EXPECT_EQ(info.summaries[1].mean, 25.0);
  EXPECT_EQ(info.summaries[2].min, -4.0);
  EXPECT_EQ(info.summaries[2].count, 4u);
  EXPECT_EQ(read_observation(path, "v[1]"), (std::vector<double>{-1, -2, -3, -4}));
  EXPECT_EQ(read_observation(path, "s"), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_THROW(read_observation(path, "v[2]"), InputError);
  EXPECT_THROW(read_observation(path, "v"), InputError);
}

TEST_F(ResultsFile, AScanHandsOverAColumnInPiecesOfAtMostThePieceSize) {
  const std::string path = file("v.h5");
  constexpr std::uint64_t kTasks = 1000;
  ResultsWriter w(path, std::vector<ObservationSpec>{{"s", 0}, {"v", 3}}, {}, kTasks, false);
  std::vector<double> values(4 * kTasks);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i);
  w.write_observations(0, kTasks, values);
  w.finish(all_done(), {}, {}, sample_meta());
  for (const char* name : {"s", "v[0]", "v[2]"}) {
    for (const std::uint64_t piece : {1, 2, 7, 100, 5000}) {
      std::vector<double> got;
      std::size_t largest = 0;
      scan_observation(
          path, name,
          [&](std::span<const double> p) {
            largest = std::max(largest, p.size());
            got.insert(got.end(), p.begin(), p.end());
          },
          piece);
      EXPECT_TRUE(same_bits(got, read_observation(path, name))) << name << " piece " << piece;
      EXPECT_LE(largest, std::max<std::uint64_t>(piece, 1)) << name << " piece " << piece;
      EXPECT_GE(largest, 1u);
    }
  }
  EXPECT_THROW(scan_observation(path, "v[3]", [](std::span<const double>) {}), InputError);
}

TEST_F(ResultsFile, AVectorObservationOfAFailedTaskIsNaNInEveryComponent) {
  const std::string path = file("f.h5");
  ResultsWriter w(path, std::vector<ObservationSpec>{{"v", 3}}, {}, 2, false);
  w.write_observations(0, 2, std::vector<double>{1, 2, 3, 4, 5, 6});
  w.finish(
      [](std::uint64_t, std::uint64_t, TaskState* status, std::uint8_t* att) {
        status[0] = TaskState::done;
        status[1] = TaskState::failed;
        att[0] = att[1] = 1;
      },
      {}, {}, sample_meta());
  for (const char* c : {"v[0]", "v[1]", "v[2]"})
    EXPECT_TRUE(std::isnan(read_observation(path, c)[1]));
  EXPECT_EQ(read_observation(path, "v[2]")[0], 5.0);
  EXPECT_EQ(read_results_info(path).summaries[2].count, 1u);
}

TEST_F(ResultsFile, ObservationNamesKeepTheSimulationsOrder) {
  const std::string path = file("r.h5");
  ResultsWriter w(path, {"zeta", "alpha", "mid"}, {}, 3, false);
  w.finish(all_done(), {}, {}, sample_meta());
  EXPECT_EQ(read_results_info(path).observation_names,
            (std::vector<std::string>{"zeta", "alpha", "mid"}));
}

TEST_F(ResultsFile, BatchesWrittenOutOfOrderEqualInOrder) {
  // Several chunks' worth of tasks, batches of random sizes straddling chunk boundaries.
  const std::uint64_t tasks = 300007;
  const auto a = task_values(tasks, 2), b = task_values(tasks, 3);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> batches;
  std::mt19937_64 gen(1);
  for (std::uint64_t first = 0; first < tasks;) {
    const std::uint64_t n = std::min<std::uint64_t>(1 + gen() % 20000, tasks - first);
    batches.emplace_back(first, n);
    first += n;
  }
  const auto write = [&](const std::string& path) {
    ResultsWriter w(path, std::vector<std::string>{"a", "b"}, {}, tasks, false);
    for (const auto& [first, n] : batches) {
      std::vector<double> batch(a.begin() + static_cast<std::ptrdiff_t>(first),
                                a.begin() + static_cast<std::ptrdiff_t>(first + n));
      batch.insert(batch.end(), b.begin() + static_cast<std::ptrdiff_t>(first),
                   b.begin() + static_cast<std::ptrdiff_t>(first + n));
      w.write_observations(first, n, batch);
    }
    w.finish(all_done(), {}, {}, sample_meta());
  };
  write(file("in_order.h5"));
  std::shuffle(batches.begin(), batches.end(), gen);
  write(file("shuffled.h5"));
  EXPECT_TRUE(same_bits(read_observation(file("shuffled.h5"), "a"), a));
  EXPECT_TRUE(same_bits(read_observation(file("shuffled.h5"), "b"), b));
  EXPECT_TRUE(same_bits(read_observation(file("in_order.h5"), "a"), a));
  const auto s1 = read_results_info(file("in_order.h5")).summaries;
  const auto s2 = read_results_info(file("shuffled.h5")).summaries;
  ASSERT_EQ(s1.size(), 2u);
  ASSERT_EQ(s2.size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(std::bit_cast<std::uint64_t>(s1[k].mean), std::bit_cast<std::uint64_t>(s2[k].mean));
    EXPECT_EQ(std::bit_cast<std::uint64_t>(s1[k].sd), std::bit_cast<std::uint64_t>(s2[k].sd));
    EXPECT_EQ(s1[k].p50, s2[k].p50);
  }
}

TEST_F(ResultsFile, UnwrittenTasksReadAsNaNAndPendingWhileRunning) {
  const std::string path = file("r.h5");
  {
    ResultsWriter w(path, {"x"}, {{"t", 3}}, 100000, false);
    w.write_observations(70000, 2, std::vector<double>{1.5, 2.5});
  }  // destroyed without finish, as by an exception in the runner
  const auto x = read_observation(path, "x");
  ASSERT_EQ(x.size(), 100000u);
  EXPECT_EQ(x[70000], 1.5);
  EXPECT_EQ(x[70001], 2.5);
  EXPECT_EQ(std::count_if(x.begin(), x.end(), [](double v) { return std::isnan(v); }), 99998);
  const auto [status, attempts] = read_task_status(path);
  EXPECT_EQ(status, std::vector<TaskState>(100000, TaskState::pending));
  EXPECT_EQ(attempts, std::vector<std::uint8_t>(100000, 0));
  const ResultsInfo info = read_results_info(path);
  EXPECT_EQ(info.state, "running");
  EXPECT_EQ(info.pending, 100000u);
  EXPECT_TRUE(info.summaries.empty());
  EXPECT_EQ(read_tally(path, "t"), (std::vector<std::uint64_t>{0, 0, 0}));
}

TEST_F(ResultsFile, FinishMarksTheFileComplete) {
  const std::string path = file("r.h5");
  ResultsWriter w(path, {"x"}, {}, 2, false);
  EXPECT_EQ(read_results_info(path).state, "running");
  w.write_observations(0, 2, std::vector<double>{1, 2});
  w.finish(all_done(), {}, {}, sample_meta());
  EXPECT_EQ(read_results_info(path).state, "complete");
}

TEST_F(ResultsFile, FinishCanMarkTheFilePartial) {
  const std::string path = file("r.h5");
  {
    ResultsWriter w(path, {"x"}, {}, 4, false);
    w.write_observations(0, 1, std::vector<double>{1});
    w.finish(
        [](std::uint64_t first, std::uint64_t count, TaskState* s, std::uint8_t* a) {
          for (std::uint64_t i = 0; i < count; ++i) {
            s[i] = first + i == 0 ? TaskState::done : TaskState::pending;
            a[i] = first + i == 0 ? 1 : 0;
          }
        },
        {}, {}, sample_meta(), "partial");
  }
  const ResultsInfo info = read_results_info(path);
  EXPECT_EQ(info.state, "partial");
  EXPECT_EQ(info.done, 1u);
  EXPECT_EQ(info.pending, 3u);
  ASSERT_EQ(info.summaries.size(), 1u);
  EXPECT_EQ(info.summaries[0].count, 1u);
}

TEST_F(ResultsFile, FinishClearsObservationsOfTasksThatAreNotDone) {
  // E.g. tasks computed past a stderr target, reported pending by the runner.
  const std::string path = file("r.h5");
  const auto x = task_values(200000, 4);
  {
    ResultsWriter w(path, {"x"}, {}, 200000, false);
    w.write_observations(0, 200000, x);
    w.finish(
        [](std::uint64_t first, std::uint64_t count, TaskState* s, std::uint8_t* a) {
          for (std::uint64_t i = 0; i < count; ++i) {
            const std::uint64_t t = first + i;
            s[i] = t == 10 ? TaskState::failed : t < 150000 ? TaskState::done : TaskState::pending;
            a[i] = t < 150000 ? 1 : 0;
          }
        },
        {}, {}, sample_meta(), "partial");
  }
  auto expected = x;
  expected[10] = std::nan("");
  std::fill(expected.begin() + 150000, expected.end(), std::nan(""));
  const auto got = read_observation(path, "x");
  EXPECT_TRUE(same_bits(got, expected));
  const ResultsInfo info = read_results_info(path);
  ASSERT_EQ(info.summaries.size(), 1u);
  EXPECT_EQ(info.summaries[0].count, 149999u);
  EXPECT_EQ(info.summaries[0].mean, summarize(expected).mean);
}

TEST_F(ResultsFile, FailuresRoundtripWithLongAndNonAsciiMessages) {
  const std::string path = file("r.h5");
  const std::string long_message = "bad row: " + std::string(100000, 'x') + " (end)";
  const std::vector<Failure> failures = {{3, 4, "simulation threw: row 17 is empty"},
                                         {5, 255, long_message},
                                         {9, 1, "température ≠ 0"}};
  {
    ResultsWriter w(path, {"x"}, {}, 10, false);
    w.finish(
        [](std::uint64_t first, std::uint64_t count, TaskState* s, std::uint8_t* a) {
          for (std::uint64_t i = 0; i < count; ++i) {
            const std::uint64_t t = first + i;
            const bool failed = t == 3 || t == 5 || t == 9;
            s[i] = failed ? TaskState::failed : TaskState::done;
            a[i] = failed ? 4 : 1;
          }
        },
        {}, failures, sample_meta());
  }
  const ResultsInfo info = read_results_info(path);
  ASSERT_EQ(info.failures.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(info.failures[i].task, failures[i].task);
    EXPECT_EQ(info.failures[i].attempts, failures[i].attempts);
    EXPECT_EQ(info.failures[i].message, failures[i].message);
  }
  EXPECT_EQ(info.failed, 3u);
  EXPECT_EQ(info.done, 7u);
}

TEST_F(ResultsFile, StoredSummariesAreSummarizeOfTheObservations) {
  const std::string path = file("r.h5");
  const std::uint64_t tasks = 100003;
  auto x = task_values(tasks, 5);
  for (std::uint64_t t = 0; t < tasks; t += 13) x[t] = std::nan("");  // failed tasks
  {
    ResultsWriter w(path, {"x"}, {}, tasks, false);
    w.write_observations(0, tasks, x);
    w.finish(all_done(), {}, {}, sample_meta());
  }
  const ResultsInfo info = read_results_info(path);
  ASSERT_EQ(info.summaries.size(), 1u);
  const Summary stored = info.summaries[0];
  const Summary expected = summarize(read_observation(path, "x"));
  EXPECT_EQ(stored.count, expected.count);
  for (const auto& [got, want] : {std::pair{stored.mean, expected.mean},
                                  {stored.sd, expected.sd},
                                  {stored.stderr_, expected.stderr_},
                                  {stored.min, expected.min},
                                  {stored.max, expected.max},
                                  {stored.p2_5, expected.p2_5},
                                  {stored.p50, expected.p50},
                                  {stored.p97_5, expected.p97_5}})
    EXPECT_EQ(std::bit_cast<std::uint64_t>(got), std::bit_cast<std::uint64_t>(want))
        << got << " " << want;
}

TEST_F(ResultsFile, MultiPassSummaryOfAFileEqualsTheInMemoryOne) {
  const std::string path = file("r.h5");
  const std::uint64_t tasks = 250000;
  auto x = task_values(tasks, 9);
  for (std::uint64_t t = 0; t < tasks; t += 7) x[t] = std::nan("");
  {
    ResultsWriter w(path, {"x"}, {}, tasks, false);
    w.write_observations(0, tasks, x);
  }
  const Summary in_memory = summarize(x);
  // A budget of 1,000 keys forces the radix selection, reading the file in 4,096-value pieces.
  const Summary multi_pass = detail::summarize_observation(path, "x", 1000, 4096);
  EXPECT_EQ(multi_pass.count, in_memory.count);
  EXPECT_EQ(multi_pass.mean, in_memory.mean);
  EXPECT_EQ(multi_pass.sd, in_memory.sd);
  EXPECT_EQ(multi_pass.min, in_memory.min);
  EXPECT_EQ(multi_pass.max, in_memory.max);
  EXPECT_EQ(multi_pass.p2_5, in_memory.p2_5);
  EXPECT_EQ(multi_pass.p50, in_memory.p50);
  EXPECT_EQ(multi_pass.p97_5, in_memory.p97_5);
}

TEST_F(ResultsFile, ExistingOutputIsRefusedUnlessOverwrite) {
  const std::string path = file("r.h5");
  std::ofstream(path) << "precious";
  try {
    ResultsWriter w(path, {"x"}, {}, 1, false);
    FAIL() << "an existing output was overwritten";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": output exists (use --force to overwrite)");
  }
  EXPECT_EQ(fs::file_size(path), 8u);
  ResultsWriter w(path, {"x"}, {}, 1, true);
  EXPECT_TRUE(is_results_file(path));
}

TEST_F(ResultsFile, ZeroTasksMakeAValidFile) {
  const std::string path = file("r.h5");
  {
    ResultsWriter w(path, {"x"}, {}, 0, false);
    w.finish(all_done(), {}, {}, sample_meta());
  }
  const ResultsInfo info = read_results_info(path);
  EXPECT_EQ(info.state, "complete");
  ASSERT_EQ(info.summaries.size(), 1u);
  EXPECT_EQ(info.summaries[0].count, 0u);
  EXPECT_TRUE(read_observation(path, "x").empty());
}

TEST_F(ResultsFile, WritesOutsideTheTaskRangeAreRefused) {
  ResultsWriter w(file("r.h5"), std::vector<std::string>{"x", "y"}, {}, 10, false);
  EXPECT_THROW(w.write_observations(9, 2, std::vector<double>(4)), std::invalid_argument);
  EXPECT_THROW(w.write_observations(0, 2, std::vector<double>(3)), std::invalid_argument);
}

TEST_F(ResultsFile, ReadingARaggedDataFileNamesTheFile) {
  const std::string path = file("data.h5");
  {
    RaggedWriter rw(path, DType::float64, 3, {});
    const double row[] = {1, 2, 3};
    rw.append_row(row, 3);
    rw.finish();
  }
  try {
    read_results_info(path);
    FAIL() << "a ragged data file was read as results";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a carlo results file"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(is_results_file(path));
}

TEST_F(ResultsFile, MissingObservationIsAnInputErrorNamingIt) {
  const std::string path = file("r.h5");
  { ResultsWriter w(path, {"x"}, {}, 1, false); }
  try {
    read_observation(path, "nope");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":/observations/nope: no such observation");
  }
}

TEST_F(ResultsFile, IsResultsFileIsFalseForTextAndMissingFiles) {
  const std::string text = file("notes.txt");
  std::ofstream(text) << "not hdf5\n";
  EXPECT_FALSE(is_results_file(text));
  EXPECT_FALSE(is_results_file(file("missing.h5")));
  EXPECT_FALSE(is_results_file(dir_.string()));
  EXPECT_THROW(read_results_info(text), InputError);
  const std::string path = file("r.h5");
  { ResultsWriter w(path, {"x"}, {}, 1, false); }
  EXPECT_TRUE(is_results_file(path));
}

TEST_F(ResultsFile, TimelineRoundtripsAndIsEmptyWhenNotRecorded) {
  const std::string path = file("r.h5");
  {
    ResultsWriter w(path, {"x"}, {}, 1, false);
    w.finish(all_done(), {}, {}, sample_meta());
  }
  EXPECT_TRUE(read_timeline(path).empty());
  const std::vector<TimelineEntry> entries = {
      {1, 1000, 0.0, 0.25}, {2, 4096, 0.01, 0.5}, {1, 7, 0.25, 0.3}};
  write_timeline(path, entries);
  write_timeline(path, entries);  // replaces, does not fail or append
  const auto got = read_timeline(path);
  ASSERT_EQ(got.size(), entries.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].rank, entries[i].rank);
    EXPECT_EQ(got[i].tasks, entries[i].tasks);
    EXPECT_EQ(got[i].start, entries[i].start);
    EXPECT_EQ(got[i].end, entries[i].end);
  }
  EXPECT_EQ(read_results_info(path).state, "complete");
}

// --- Merging parts: which options must agree is the caller's rule ------------------------------

/// A complete part of a 10-task run split by task range: tasks [first, end) done, recorded
/// options those of sample_meta() plus task-range and `batch`.
void write_part(const std::string& path, std::uint64_t first, std::uint64_t end,
                const std::string& batch) {
  ResultsWriter w(path, {"x"}, {}, 10, false);
  const auto values = task_values(end - first, first);
  w.write_observations(first, end - first, values);
  RunMeta meta = sample_meta();
  meta.options = {{"tasks", "10"},
                  {"seed", "42"},
                  {"task-range", std::to_string(first) + ":" + std::to_string(end)},
                  {"batch", batch}};
  w.finish(
      [first, end](std::uint64_t from, std::uint64_t count, TaskState* status, std::uint8_t* att) {
        for (std::uint64_t i = 0; i < count; ++i) {
          const bool mine = from + i >= first && from + i < end;
          status[i] = mine ? TaskState::done : TaskState::pending;
          att[i] = mine ? 1 : 0;
        }
      },
      {}, {}, meta);
}

bool all_but_range_and_batch(std::string_view name) {
  return name != "task-range" && name != "batch";
}

TEST_F(ResultsFile, MergeAcceptsPartsDifferingOnlyInOptionsTheCallerFrees) {
  write_part(file("a.h5"), 0, 4, "3");
  write_part(file("b.h5"), 4, 10, "7");
  const auto s =
      merge_results({file("b.h5"), file("a.h5")}, file("all.h5"), false, all_but_range_and_batch);
  EXPECT_EQ(s.tasks, 10u);
  EXPECT_EQ(s.done, 10u);
  EXPECT_EQ(read_results_info(file("all.h5")).state, "complete");
}

TEST_F(ResultsFile, MergeRefusesPartsDifferingInAnOptionTheCallerBinds) {
  write_part(file("a.h5"), 0, 4, "3");
  write_part(file("b.h5"), 4, 10, "7");
  const auto only_range_free = [](std::string_view name) { return name != "task-range"; };
  try {
    merge_results({file("a.h5"), file("b.h5")}, file("all.h5"), false, only_range_free);
    FAIL() << "parts with different batch options were merged";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              file("b.h5") + ": batch 7 differs from " + file("a.h5") + ": batch 3");
  }
  EXPECT_FALSE(fs::exists(file("all.h5")));
}

}  // namespace
}  // namespace carlo::io
