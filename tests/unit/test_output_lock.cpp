// One run owns its output set (src/engine/output_lock.h): a second lock on the same output is
// refused naming the holder; the lock file goes with the lock; a stale one is taken over.
#include "engine/output_lock.h"

#include <carlo/error.h>

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace carlo::engine {
namespace {

std::string scratch(const char* name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("carlo-lock-" + std::to_string(getpid()) + "-" + name);
  std::filesystem::create_directories(dir);
  return (dir / "out.h5").string();
}

TEST(OutputLock, ASecondLockIsRefusedNamingTheHolder) {
  const auto out = scratch("second");
  OutputLock first(out);
  try {
    OutputLock second(out);
    FAIL() << "a second lock was granted";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(out + " is in use by carlo run pid " + std::to_string(getpid())),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("on host "), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << "one line: " << m;
  }
}

TEST(OutputLock, ReleasingRemovesTheLockFileAndFreesTheOutput) {
  const auto out = scratch("release");
  std::optional<OutputLock> lock(std::in_place, out);
  EXPECT_TRUE(std::filesystem::exists(out + ".lock"));
  lock.reset();
  EXPECT_FALSE(std::filesystem::exists(out + ".lock"));
  EXPECT_NO_THROW(OutputLock again(out));
}

TEST(OutputLock, AStaleLockFileOfADeadRunIsTakenOver) {
  const auto out = scratch("stale");
  std::ofstream(out + ".lock") << "carlo run pid 1 on host gone since 2000-01-01T00:00:00Z\n";
  EXPECT_NO_THROW(OutputLock lock(out));
}

TEST(OutputLock, AnUncreatableLockFileIsAnInputErrorNamingIt) {
  const std::string out = "/nonexistent-dir-carlo/out.h5";
  try {
    OutputLock lock(out);
    FAIL() << "locked in a missing directory";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(out + ".lock"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace carlo::engine
