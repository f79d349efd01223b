// Which recorded options a --resume and a merge compare (src/engine/run_options.h): the contract
// of docs/running.md and docs/split-merge.md, in one table.
#include "engine/run_options.h"

#include <gtest/gtest.h>

namespace carlo::engine {
namespace {

TEST(OptionRole, WhatShapesResultsMustAgreeEverywhere) {
  for (const char* name :
       {"sim", "data", "group", "tasks", "seed", "target-stderr", "sim.alpha", "plugin-checksum"}) {
    EXPECT_TRUE(must_agree_on_resume(name)) << name;
    EXPECT_TRUE(must_agree_on_merge(name)) << name;
  }
}

TEST(OptionRole, ThePartOfARunMustAgreeOnResumeOnly) {
  for (const char* name : {"task-range", "check-every"}) {
    EXPECT_TRUE(must_agree_on_resume(name)) << name;
    EXPECT_FALSE(must_agree_on_merge(name)) << name;
  }
}

TEST(OptionRole, HowARunWasExecutedIsNeverCompared) {
  for (const char* name : {"batch", "max-retries", "task-timeout", "share", "ranks", "plugin"}) {
    EXPECT_FALSE(must_agree_on_resume(name)) << name;
    EXPECT_FALSE(must_agree_on_merge(name)) << name;
  }
}

TEST(RecordedOptions, RunOptionsThenSimulationOptionsInAFixedOrder) {
  RunConfig c;
  c.sim = "pi";
  c.tasks = 10;
  c.end_task = 10;
  c.seed = 3;
  c.task_timeout = 0.25;
  c.target = TargetSpec{"pi", 0.001, false, "pi=1e-3"};
  c.sim_options.set("samples-per-task", std::int64_t{100});
  const PluginSet plugins;
  const auto o = recorded_options(c, plugins);
  std::vector<std::string> names;
  for (const auto& [k, v] : o) names.push_back(k);
  EXPECT_EQ(names,
            (std::vector<std::string>{"sim", "data", "group", "tasks", "task-range", "seed",
                                      "batch", "max-retries", "task-timeout", "target-stderr",
                                      "check-every", "share", "sim.samples-per-task"}));
  EXPECT_EQ(o[4].second, "0:10");
  EXPECT_EQ(o[6].second, "auto");
  EXPECT_EQ(o[8].second, "0.25");
  EXPECT_EQ(o[9].second, "pi=1e-3");
  EXPECT_EQ(o[12].second, "100");
}

}  // namespace
}  // namespace carlo::engine
