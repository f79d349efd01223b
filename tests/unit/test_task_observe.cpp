// Task::observe with ObservationSpecs (include/carlo/simulation.h): scalars and vectors share the
// task's flat slots, and a wrong shape fails the task with a message naming the observation.
#include <carlo/simulation.h>

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <vector>

namespace carlo {
namespace {

struct Slots {
  std::vector<ObservationSpec> specs{{"x", 0}, {"fate", 3}, {"y", 0}};
  std::vector<double> values = std::vector<double>(5, std::numeric_limits<double>::quiet_NaN());
  TallyLog log;
  std::vector<TallySpec> tallies;
  Task task{4, 1, 0, values.data(), values.size(), &log, &tallies, &specs};
};

TEST(TaskObserve, ScalarsAndVectorsFillTheirOwnSlotsInOrder) {
  Slots s;
  s.task.observe(0, 1.5);
  const std::array<double, 3> fate = {0.1, 0.2, 0.7};
  s.task.observe(1, std::span<const double>(fate));
  s.task.observe(2, -2.0);
  EXPECT_EQ(s.values, (std::vector<double>{1.5, 0.1, 0.2, 0.7, -2.0}));
}

TEST(TaskObserve, AVectorOfTheWrongLengthFailsTheTask) {
  Slots s;
  const std::array<double, 2> two = {1, 2};
  try {
    s.task.observe(1, std::span<const double>(two));
    FAIL() << "no TaskError";
  } catch (const TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("fate takes 3 values, not 2"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(std::isnan(s.values[1]));  // nothing written
}

TEST(TaskObserve, AScalarObservedAsAVectorOrAVectorAsAScalarFailsTheTask) {
  Slots s;
  const std::array<double, 1> one = {1};
  EXPECT_THROW(s.task.observe(0, std::span<const double>(one)), TaskError);
  EXPECT_THROW(s.task.observe(1, 1.0), TaskError);
  EXPECT_THROW(s.task.observe(3, 1.0), TaskError);  // out of range
}

TEST(TaskObserve, WithoutSpecsEveryObservationIsAScalar) {
  std::vector<double> values(2, 0.0);
  TallyLog log;
  std::vector<TallySpec> tallies;
  Task task(0, 1, 0, values.data(), values.size(), &log, &tallies);
  task.observe(1, 3.0);
  EXPECT_EQ(values[1], 3.0);
  const std::array<double, 1> one = {1};
  EXPECT_THROW(task.observe(0, std::span<const double>(one)), TaskError);
}

}  // namespace
}  // namespace carlo
