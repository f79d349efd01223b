
#include "sched/task_runner.h"

#include "core/observations.h"

#include <chrono>
#include <cmath>
#include <limits>

namespace carlo::sched {

TaskRunner::TaskRunner(Simulation& sim, std::uint64_t seed)
    : sim_(sim), seed_(seed), obs_specs_(sim.observation_specs()),
      width_(observation_width(obs_specs_)), specs_(sim.tally_specs()) {}

BatchResult TaskRunner::run(const Batch& b, TallyLog& tallies,
                            const std::function<bool()>& should_stop) {
  tallies.tallies.resize(specs_.size());
  auto append = [&](const TallyLog& task) {
    for (std::size_t k = 0; k < specs_.size(); ++k) {
      const auto& from = task.tallies[k];
      auto& to = tallies.tallies[k];
      to.ones.insert(to.ones.end(), from.ones.begin(), from.ones.end());
      to.adds.insert(to.adds.end(), from.adds.begin(), from.adds.end());
      to.scores.insert(to.scores.end(), from.scores.begin(), from.scores.end());
    }
  };
  return run(b, task_log_, append, should_stop);
}

BatchResult TaskRunner::run(const Batch& b, TallyLog& task_log,
                            const std::function<void(const TallyLog&)>& keep,
                            const std::function<bool()>& should_stop) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  BatchResult r;
  r.batch_id = b.id;
  r.n_tasks = b.size();
  r.n_observations = width_;
  const std::size_t n_obs = width_;
  const auto n = static_cast<std::size_t>(r.n_tasks);
  r.observations.assign(n_obs * n, std::numeric_limits<double>::quiet_NaN());
  scratch_.resize(n_obs);

  auto last_poll = t0;
  std::size_t idx = 0;
  for (const auto& rg : b.ranges) {
    for (std::uint64_t t = rg.first; t < rg.first + rg.count; ++t, ++idx) {
      // Poll for cancel/stop every 32 tasks, but only look at messages every 2 ms.
      if ((idx & 31u) == 31u) {
        const auto now = clock::now();
        if (now - last_poll > std::chrono::milliseconds(2)) {
          last_poll = now;
          if (should_stop && should_stop()) {
            r.cancelled = true;
            r.observations.clear();
            r.failures.clear();
            r.n_tasks = 0;
            return r;
          }
        }
      }
      std::fill(scratch_.begin(), scratch_.end(), std::numeric_limits<double>::quiet_NaN());
      task_log.clear();  // a failed task's counts and scores go with it
      task_log.tallies.resize(specs_.size());
      Task task(t, seed_, rg.attempt, scratch_.data(), n_obs, &task_log, &specs_, &obs_specs_);
      try {
        sim_.run(task);
      } catch (const std::exception& e) {
        r.failures.push_back({idx, e.what()});
        continue;
      } catch (...) {
        r.failures.push_back({idx, "unknown exception"});
        continue;
      }
      keep(task_log);
      for (std::size_t k = 0; k < n_obs; ++k) r.observations[k * n + idx] = scratch_[k];
    }
  }
  r.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  return r;
}

}  // namespace carlo::sched
