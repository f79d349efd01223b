#include "sched/master.h"

#include <carlo/error.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace carlo::sched {

Master::Master(MasterConfig cfg)
    : cfg_(std::move(cfg)), next_fresh_(cfg_.first), prefix_(cfg_.first), horizon_(cfg_.first),
      final_end_(cfg_.end) {
  if (cfg_.workers < 1) throw InputError("scheduler needs at least one worker");
  if (cfg_.end < cfg_.first) throw InputError("scheduler: task range ends before it starts");
  if (cfg_.check_every == 0) throw InputError("--check-every must be at least 1");
  if (cfg_.prefetch == 0) cfg_.prefetch = 1;
  const auto n = static_cast<std::size_t>(cfg_.workers);
  queue_of_.resize(n);
  last_size_.assign(n, 0);
  held_acks_.resize(n);
  ready_acks_.resize(n);
  check_finished();
}

std::vector<Batch> Master::fill(int w, double now) {
  std::vector<Batch> out;
  auto& q = queue_of_.at(static_cast<std::size_t>(w));
  while (!finished_ && q.size() < cfg_.prefetch) {
    auto b = next_batch(w, now);
    if (!b) break;
    if (q.empty() && !started_at_.count(b->id)) started_at_[b->id] = now;
    q.push_back(b->id);
    out.push_back(std::move(*b));
  }
  return out;
}

std::uint64_t Master::auto_batch_size(int w) const {
  if (cfg_.fixed_batch) return cfg_.fixed_batch;
  const double est = sec_per_task_ > 0 ? cfg_.target_batch_seconds / sec_per_task_ : 1.0;
  const std::uint64_t grown =
      std::max<std::uint64_t>(1, 4 * last_size_[static_cast<std::size_t>(w)]);
  auto size = static_cast<std::uint64_t>(std::clamp(est, 1.0, 16.0 * 1024 * 1024));
  size = std::min(size, grown);
  // Guided self-scheduling: never take more than a share of what is left, so every worker has
  // work until the end and all finish together.
  const std::uint64_t remaining = cfg_.end - next_fresh_;
  const std::uint64_t share =
      std::max<std::uint64_t>(1, remaining / (2 * static_cast<std::uint64_t>(cfg_.workers)));
  return std::max<std::uint64_t>(1, std::min(size, share));
}

std::optional<Batch> Master::next_batch(int w, double now) {
  // 0. Probation after a crash: suspects alone, one at a time, before anything else.
  while (!suspects_.empty()) {
    if (suspect_out_) return std::nullopt;
    const std::uint64_t t = *suspects_.begin();
    suspects_.erase(suspects_.begin());
    if (is_resolved(t)) continue;
    Batch b;
    b.id = next_batch_id_++;
    auto a = attempts_.find(t);
    b.ranges.push_back({t, 1, a == attempts_.end() ? 0u : a->second});
    outstanding_[b.id] = Outstanding{b, {w}, -1, now, false, true};
    suspect_out_ = true;
    return b;
  }
  // 1. Retries first, on a worker other than the one that failed them (if there is another).
  if (!retry_queue_.empty()) {
    Batch b;
    const std::uint64_t limit =
        cfg_.fixed_batch ? cfg_.fixed_batch : std::max<std::uint64_t>(1, auto_batch_size(w));
    for (auto it = retry_queue_.begin(); it != retry_queue_.end() && b.ranges.size() < limit;) {
      if (it->avoid == w && cfg_.workers > 1) {
        ++it;
        continue;
      }
      b.ranges.push_back({it->task, 1, it->attempt});
      it = retry_queue_.erase(it);
    }
    if (!b.ranges.empty()) {
      b.id = next_batch_id_++;
      outstanding_[b.id] = Outstanding{b, {w}, -1, now, false, false};
      return b;
    }
  }
  // 2. Fresh tasks.
  if (next_fresh_ < cfg_.end) {
    std::uint64_t size = std::min(auto_batch_size(w), cfg_.end - next_fresh_);
    if (cfg_.target) {  // never straddle a check point: a batch is wholly kept or wholly dropped
      const std::uint64_t into = (next_fresh_ - cfg_.first) % cfg_.check_every;
      size = std::min(size, cfg_.check_every - into);
    }
    Batch b;
    b.id = next_batch_id_++;
    b.ranges.push_back({next_fresh_, size, 0});
    next_fresh_ += size;
    last_size_[static_cast<std::size_t>(w)] = size;
    outstanding_[b.id] = Outstanding{b, {w}, -1, now, false, false};
    return b;
  }
  // 3. Stragglers: a batch overdue by task_timeout goes to this idle worker as well.
  if (cfg_.task_timeout > 0) {
    for (auto& [id, o] : outstanding_) {
      auto st = started_at_.find(id);
      if (o.duplicated || st == started_at_.end()) continue;
      if (std::find(o.holders.begin(), o.holders.end(), w) != o.holders.end()) continue;
      const double expected = sec_per_task_ * static_cast<double>(o.batch.size());
      if (now - st->second > expected + cfg_.task_timeout) {
        o.duplicated = true;
        o.holders.push_back(w);
        ++reissued_;
        return o.batch;
      }
    }
  }
  return std::nullopt;
}

Master::Outcome Master::on_result(int w, const BatchResult& r, double now) {
  Outcome out;
  dequeue(w, r.batch_id, now);
  auto it = outstanding_.find(r.batch_id);
  if (it == outstanding_.end() || r.cancelled) {
    // A duplicate that lost the race, or a batch this worker dropped on our request.
    if (it != outstanding_.end()) drop_holder(w, it);
    if (!r.cancelled) ready_acks_[static_cast<std::size_t>(w)].push_back({r.batch_id, false});
    return out;
  }

  Outstanding o = std::move(it->second);
  outstanding_.erase(it);
  if (o.probation) suspect_out_ = false;
  const double began = started_at_.count(r.batch_id) ? started_at_[r.batch_id] : o.issued;
  started_at_.erase(r.batch_id);
  for (int h : o.holders)
    if (h != w) out.cancel_on.push_back(h);
  out.accepted = true;

  const std::uint64_t n = o.batch.size();
  if (r.n_tasks != n)
    throw SystemError("scheduler: result of batch " + std::to_string(r.batch_id) + " has " +
                      std::to_string(r.n_tasks) + " tasks, expected " + std::to_string(n));
  timeline_.push_back({w, n, began, now});
  measured_seconds_ += r.seconds;
  measured_tasks_ += n;
  sec_per_task_ =
      measured_seconds_ / static_cast<double>(std::max<std::uint64_t>(1, measured_tasks_));

  const std::vector<bool> retry_mask = resolve_tasks(w, r, o.batch, out);
  for (const auto& rg : o.batch.ranges)
    out.batch_end = std::max(out.batch_end, rg.first + rg.count);
  if (cfg_.target) {
    feed_target(r, o.batch, retry_mask);
    held_acks_[static_cast<std::size_t>(w)].push_back({r.batch_id, out.batch_end});
    release_acks();
  } else {
    ready_acks_[static_cast<std::size_t>(w)].push_back({r.batch_id, true});
  }
  check_finished();
  return out;
}

void Master::dequeue(int w, std::uint64_t batch_id, double now) {
  auto& q = queue_of_.at(static_cast<std::size_t>(w));
  auto qit = std::find(q.begin(), q.end(), batch_id);
  const bool was_front = qit == q.begin();
  if (qit != q.end()) q.erase(qit);
  // The next batch in w's queue starts computing now.
  if (was_front && !q.empty() && !started_at_.count(q.front())) started_at_[q.front()] = now;
}

void Master::drop_holder(int w, std::map<std::uint64_t, Outstanding>::iterator it) {
  auto& h = it->second.holders;
  h.erase(std::remove(h.begin(), h.end(), w), h.end());
  if (!h.empty()) return;
  // Nobody computes it any more: its tasks go back in line.
  if (it->second.probation) suspect_out_ = false;
  for (const auto& rg : it->second.batch.ranges)
    for (std::uint64_t t = rg.first; t < rg.first + rg.count; ++t)
      retry_queue_.push_front({t, rg.attempt, -1});
  started_at_.erase(it->first);
  outstanding_.erase(it);
}

std::vector<bool> Master::resolve_tasks(int w, const BatchResult& r, const Batch& b, Outcome& out) {
  // Which tasks failed, and which of those get another attempt.
  std::vector<bool> retry_mask(static_cast<std::size_t>(b.size()), false);
  std::map<std::uint64_t, const std::string*> failed_at;
  for (const auto& f : r.failures) failed_at[f.index] = &f.message;
  std::uint64_t idx = 0;
  for (const auto& rg : b.ranges) {
    std::uint64_t piece_first = rg.first, piece_offset = idx;
    auto close_piece = [&](std::uint64_t task_end) {
      if (task_end > piece_first) {
        out.resolved.push_back({piece_first, task_end - piece_first, piece_offset});
        mark_resolved(piece_first, task_end - piece_first);
      }
    };
    for (std::uint64_t t = rg.first; t < rg.first + rg.count; ++t, ++idx) {
      const std::uint32_t used = rg.attempt + 1;
      auto fit = failed_at.find(idx);
      if (fit == failed_at.end()) {
        ++done_;
        if (rg.attempt > 0) {
          attempts_[t] = used;
          out.retried_done.emplace_back(t, used);
        }
        continue;
      }
      if (used < 1 + cfg_.max_retries) {
        retry_mask[static_cast<std::size_t>(idx)] = true;
        retry_queue_.push_back({t, used, w});
        ++retries_issued_;
        close_piece(t);
        piece_first = t + 1;
        piece_offset = idx + 1;
      } else {
        failed_[t] = FinalFailure{used, *fit->second};
        attempts_.erase(t);
        out.final_failures.emplace_back(t, used);
      }
    }
    close_piece(rg.first + rg.count);
  }
  return retry_mask;
}

void Master::mark_resolved(std::uint64_t first, std::uint64_t count) {
  if (count == 0) return;
  std::uint64_t a = first, b = first + count;
  auto it = resolved_.upper_bound(a);
  if (it != resolved_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= a) {  // touches or overlaps the previous interval
      a = prev->first;
      b = std::max(b, prev->second);
      it = resolved_.erase(prev);
    }
  }
  while (it != resolved_.end() && it->first <= b) {
    b = std::max(b, it->second);
    it = resolved_.erase(it);
  }
  resolved_[a] = b;
}

bool Master::is_resolved(std::uint64_t t) const {
  auto it = resolved_.upper_bound(t);
  if (it == resolved_.begin()) return false;
  --it;
  return t >= it->first && t < it->second;
}

void Master::feed_target(const BatchResult& r, const Batch& b,
                         const std::vector<bool>& retry_mask) {
  const std::size_t k = cfg_.target->observation;
  const std::size_t m = cfg_.target->columns;
  if (k + m > r.n_observations)
    throw SystemError("scheduler: target observation index out of range");
  const auto n_tasks = static_cast<std::size_t>(r.n_tasks);
  std::uint64_t idx = 0;
  for (const auto& rg : b.ranges) {
    std::vector<double> run;
    std::uint64_t run_first = rg.first;
    for (std::uint64_t t = rg.first; t < rg.first + rg.count; ++t, ++idx) {
      if (retry_mask[static_cast<std::size_t>(idx)]) {
        if (!run.empty()) target_values_[run_first] = std::move(run);
        run.clear();
        run_first = t + 1;
        continue;
      }
      // NaN for a task that finally failed: skipped when folded
      for (std::size_t j = 0; j < m; ++j)
        run.push_back(r.observations[(k + j) * n_tasks + static_cast<std::size_t>(idx)]);
    }
    if (!run.empty()) target_values_[run_first] = std::move(run);
  }
  advance_prefix();
}

bool Master::target_reached() const {
  for (const auto& c : running_) {
    if (c.n < 2) return false;
    const double sd = std::sqrt(c.sumsq / static_cast<double>(c.n - 1));
    const double se = sd / std::sqrt(static_cast<double>(c.n));
    const bool met = cfg_.target->relative ? se <= cfg_.target->value * std::fabs(c.mean)
                                           : se <= cfg_.target->value;
    if (!met) return false;
  }
  return true;
}

void Master::advance_prefix() {
  // Without a target nothing is ever queued in target_values_.
  const std::size_t m = cfg_.target ? std::max<std::size_t>(cfg_.target->columns, 1) : 1;
  running_.resize(m);
  while (!finished_ && !target_values_.empty() && target_values_.begin()->first == prefix_) {
    std::vector<double> values = std::move(target_values_.begin()->second);
    target_values_.erase(target_values_.begin());
    for (std::size_t i = 0; i < values.size() / m; ++i) {
      for (std::size_t j = 0; j < m; ++j) {
        const double x = values[i * m + j];
        if (std::isnan(x)) continue;
        // Welford, in task order: the same bits whatever the arrival order
        Running& c = running_[j];
        ++c.n;
        const double delta = x - c.mean;
        c.mean += delta / static_cast<double>(c.n);
        c.sumsq += delta * (x - c.mean);
      }
      ++prefix_;
      const bool at_check = (prefix_ - cfg_.first) % cfg_.check_every == 0 || prefix_ == cfg_.end;
      if (!at_check) continue;
      if (target_reached()) {
        target_met_ = true;
        finished_ = true;
        final_end_ = prefix_;
        retry_queue_.clear();
        break;
      }
      horizon_ = prefix_;
    }
  }
  release_acks();
}

void Master::release_acks() {
  for (std::size_t w = 0; w < held_acks_.size(); ++w) {
    auto& held = held_acks_[w];
    for (auto it = held.begin(); it != held.end();) {
      const bool decided_in = it->second <= horizon_ || (finished_ && it->second <= final_end_);
      const bool decided_out = finished_ && it->second > final_end_;
      if (decided_in || decided_out) {
        ready_acks_[w].push_back({it->first, decided_in});
        it = held.erase(it);
      } else {
        ++it;
      }
    }
  }
}

bool Master::first_tasks_all_failed() const {
  const std::uint64_t k = cfg_.abort_after_failures;
  if (k == 0 || cfg_.end - cfg_.first <= k || failed_.size() < k) return false;
  const auto from = failed_.lower_bound(cfg_.first);
  const auto to = failed_.lower_bound(cfg_.first + k);
  return static_cast<std::uint64_t>(std::distance(from, to)) == k;
}

void Master::check_finished() {
  if (!finished_) {
    const bool all = cfg_.first == cfg_.end ||
                     (resolved_.size() == 1 && resolved_.begin()->first <= cfg_.first &&
                      resolved_.begin()->second >= cfg_.end);
    if (all) {
      finished_ = true;
      final_end_ = cfg_.end;
    } else if (first_tasks_all_failed()) {
      finished_ = aborted_ = true;
      final_end_ = cfg_.end;
    }
  }
  if (finished_) release_acks();
}

void Master::restore(std::uint64_t first, std::uint64_t count, const std::vector<double>& values,
                     std::size_t n_obs) {
  if (count == 0) return;
  if (first < cfg_.first || first + count > cfg_.end)
    throw InputError("resume: restored tasks " + std::to_string(first) + ".." +
                     std::to_string(first + count) + " lie outside this run's tasks");
  mark_resolved(first, count);
  done_ += count;
  if (cfg_.target) {
    const std::size_t k = cfg_.target->observation;
    const std::size_t m = cfg_.target->columns;
    if (values.size() != n_obs * count || k + m > n_obs)
      throw SystemError("resume: observation count mismatch");
    const auto n = static_cast<std::size_t>(count);
    std::vector<double> run(n * m);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < m; ++j) run[i * m + j] = values[(k + j) * n + i];
    target_values_[first] = std::move(run);
  }
}

void Master::restore_failure(std::uint64_t task, std::uint32_t attempts,
                             const std::string& message) {
  if (!failed_.count(task) && done_ > 0) --done_;  // restore() counted it as done
  failed_[task] = FinalFailure{attempts, message};
  attempts_.erase(task);
}

void Master::restore_attempts(std::uint64_t task, std::uint32_t attempts) {
  attempts_[task] = attempts;
}

void Master::quarantine(std::uint64_t task, std::uint32_t crashes) {
  if (task < cfg_.first || task >= cfg_.end || is_resolved(task)) return;
  failed_[task] = FinalFailure{crashes, "crashed its worker (in flight when the job died in " +
                                            std::to_string(crashes) + " runs); quarantined"};
  mark_resolved(task, 1);
  if (cfg_.target)
    target_values_[task].assign(cfg_.target->columns, std::numeric_limits<double>::quiet_NaN());
}

void Master::set_suspects(const std::set<std::uint64_t>& tasks) {
  for (auto t : tasks)
    if (t >= cfg_.first && t < cfg_.end && !is_resolved(t)) suspects_.insert(t);
}

void Master::end_restore() {
  // Fresh tasks start above everything an earlier run touched: the last restored task and the
  // last suspect. Below that, every task neither resolved nor a suspect is queued once, in task
  // order, with its recorded attempt number; suspects run on probation only.
  std::uint64_t limit = cfg_.first;
  if (!resolved_.empty()) limit = std::max(limit, std::prev(resolved_.end())->second);
  if (!suspects_.empty()) limit = std::max(limit, *suspects_.rbegin() + 1);
  limit = std::min(limit, cfg_.end);
  std::uint64_t cursor = cfg_.first;
  auto queue_gap = [&](std::uint64_t a, std::uint64_t b) {
    for (std::uint64_t h = a; h < b; ++h) {
      if (suspects_.count(h)) continue;
      auto at = attempts_.find(h);
      retry_queue_.push_back({h, at == attempts_.end() ? 0u : at->second, -1});
    }
  };
  for (const auto& [a, b] : resolved_) {
    if (a >= limit) break;
    if (a > cursor) queue_gap(cursor, a);
    cursor = std::max(cursor, b);
  }
  if (cursor < limit) queue_gap(cursor, limit);
  next_fresh_ = limit;
  advance_prefix();
  check_finished();
}

std::vector<Ack> Master::take_acks(int w) {
  std::vector<Ack> out;
  out.swap(ready_acks_.at(static_cast<std::size_t>(w)));
  return out;
}

}  // namespace carlo::sched
