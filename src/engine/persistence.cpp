#include "engine/persistence.h"

#include "core/tally_words.h"
#include "engine/run_options.h"
#include "sched/crash_policy.h"

#include <carlo/error.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>

namespace carlo::engine {
namespace {

namespace fs = std::filesystem;

/// name=value lines in the order they were recorded.
std::vector<std::pair<std::string, std::string>> parse_fingerprint(const std::string& f) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(f);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) out.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  return out;
}

/// "seed: the checkpoint has '4', this run has '5'" for the first difference, in option order.
std::string first_difference(const std::string& saved, const std::string& now) {
  const auto a = parse_fingerprint(saved), b = parse_fingerprint(now);
  auto find = [](const auto& list, const std::string& k) -> const std::string* {
    for (const auto& [name, value] : list)
      if (name == k) return &value;
    return nullptr;
  };
  for (const auto& [k, v] : b) {
    const std::string* old = find(a, k);
    if (!old || *old != v)
      return k + ": the checkpoint has '" + (old ? *old : "(none)") + "', this run has '" + v + "'";
  }
  for (const auto& [k, v] : a)
    if (!find(b, k)) return k + ": the checkpoint has '" + v + "', this run has none";
  return "";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string run_fingerprint(const RunConfig& c, const std::string& data_checksum) {
  std::string f;
  for (const auto& [k, v] : c.provenance)
    if (must_agree_on_resume(k)) f += k + "=" + v + "\n";
  f += "data-checksum=" + data_checksum + "\n";
  return f;
}

bool RunPersistence::has_resume_files(const std::string& output) {
  std::error_code ec;
  return fs::exists(output + ".ckpt", ec) || fs::exists(output + ".ckpt.prev", ec) ||
         fs::exists(output + ".journal", ec);
}

RunPersistence::Start RunPersistence::decide(const RunConfig& c) {
  std::error_code ec;
  const bool have_ckpt = has_resume_files(c.output);
  const bool have_out = fs::exists(c.output, ec);
  if (!c.resume) {
    if ((have_out || have_ckpt) && !c.force)
      throw InputError(c.output +
                       ": output exists (use --resume to continue it, or --force to overwrite)");
    return Start::fresh;
  }
  if (have_ckpt) return Start::resume;
  if (!have_out) return Start::fresh;  // nothing yet: a requeued job's first start
  if (io::is_results_file(c.output) && io::read_results_info(c.output).state == "complete")
    return Start::already_complete;
  if (c.force) return Start::fresh;
  throw InputError(c.output + ": --resume: not a finished results file and no checkpoint (" +
                   c.output + ".ckpt) to continue from (use --force to start over)");
}

RunPersistence::RunPersistence(const RunConfig& c, std::string fingerprint, std::size_t n_obs,
                               std::vector<TallySpec> specs)
    : c_(c), fingerprint_(std::move(fingerprint)), n_obs_(n_obs), specs_(std::move(specs)) {
  ck_.fingerprint = fingerprint_;
}

std::vector<std::vector<std::uint64_t>> RunPersistence::zero_tallies() const {
  return carlo::zero_tallies(specs_);
}

void RunPersistence::add_base_tallies(std::vector<std::vector<std::uint64_t>>& t) const {
  add_tallies(t, base_, specs_);
}

void RunPersistence::add_base_tallies(const std::vector<std::span<std::uint64_t>>& t) const {
  for (std::size_t k = 0; k < t.size() && k < base_.size(); ++k)
    add_tally(t[k], base_[k], k < specs_.size() ? specs_[k].kind : TallyKind::count);
}

void RunPersistence::start_fresh() {
  std::error_code ec;
  fs::remove(checkpoint_path(), ec);
  fs::remove(previous_checkpoint_path(), ec);
  journal_ = std::make_unique<sched::JournalWriter>(journal_path(), fingerprint_,
                                                    static_cast<std::uint32_t>(n_obs_));
  ck_.runs = 1;
  ck_.journal_offset = journal_->offset();
  // Empty tallies, as holes from no memory: materialising 32 MiB of zeros (a 4 M-bin tally) only
  // to skip them cost tens of ms of page faults in a VM (docs/benchmarks.md, "walk end to end").
  std::vector<sched::TallyWords> zeros;
  for (const auto& s : specs_) zeros.push_back({nullptr, tally_words(s)});
  write(ck_, zeros);  // so even a crash before the first snapshot counts its runs
}

bool RunPersistence::have_checkpoint() const {
  std::error_code ec;
  return fs::exists(checkpoint_path(), ec) || fs::exists(previous_checkpoint_path(), ec);
}

sched::Checkpoint RunPersistence::read_matching_checkpoint(std::string* fallback) const {
  std::string path = checkpoint_path();
  sched::Checkpoint ck;
  try {
    ck = sched::read_checkpoint(path);
  } catch (const InputError& e) {  // missing (a crash between generations) or damaged
    std::error_code ec;
    const std::string previous = previous_checkpoint_path();
    if (!fs::exists(previous, ec)) throw;
    if (fallback)
      *fallback = std::string(e.what()) + "; continuing from the previous checkpoint " + previous +
                  " and the journal";
    path = previous;
    ck = sched::read_checkpoint(path);
  }
  if (ck.fingerprint != fingerprint_)
    throw InputError(path + ": cannot resume, the run differs: " +
                     first_difference(ck.fingerprint, fingerprint_));
  if (ck.tallies.size() != specs_.size())
    throw InputError(path + ": cannot resume, the simulation's tallies differ");
  for (std::size_t k = 0; k < specs_.size(); ++k)
    if (ck.tallies[k].size() != tally_words(specs_[k]))
      throw InputError(path + ": cannot resume, tally " + specs_[k].name + " changed length");
  return ck;
}

void RunPersistence::check_resumable() const {
  if (have_checkpoint()) read_matching_checkpoint(nullptr);
}

std::string RunPersistence::resume(sched::Master& m, io::ResultsWriter& w) {
  std::error_code ec;
  sched::Checkpoint ck;
  ck.fingerprint = fingerprint_;
  const bool have_ckpt = have_checkpoint();
  if (have_ckpt) ck = read_matching_checkpoint(&fallback_);
  else ck.tallies = zero_tallies();  // a journal alone: its results run again
  // The new journal holds exactly the restored results; this run appends to it.
  auto next = std::make_unique<sched::JournalWriter>(journal_path() + ".new", fingerprint_,
                                                     static_cast<std::uint32_t>(n_obs_));
  Restored restored = restore_journal(m, w, *next, have_ckpt ? &ck : nullptr);
  const auto in_flight = tasks_in_flight(restored.contents, m);
  const auto verdict = sched::judge_crashes(
      ck.crash_counts, in_flight, [&m](std::uint64_t t) { return m.is_resolved(t); },
      c_.max_crashes);
  quarantine(m, *next, verdict.quarantined);
  m.set_suspects(verdict.suspects);
  m.set_next_batch_id(restored.contents.max_batch_id + 1);
  m.end_restore();

  // The previous generation counts offsets in the journal being replaced: it goes first, and the
  // checkpoint below replaces the current one instead of becoming the previous one.
  fs::remove(previous_checkpoint_path(), ec);
  next->rename_to(journal_path());
  journal_ = std::move(next);
  if (!specs_.empty()) base_ = ck.tallies;
  ck.runs += 1;
  ck.fingerprint = fingerprint_;
  ck.journal_offset = journal_->offset();
  ck.horizon = m.horizon();
  write(std::move(ck), /*keep_previous=*/false);  // at once: crash counts must survive a crash
  std::ostringstream s;
  s << "resumed (run " << ck_.runs << "): " << restored.tasks << " tasks restored";
  if (!in_flight.empty()) s << ", " << in_flight.size() << " were in flight when the last run died";
  if (!verdict.quarantined.empty())
    s << ", " << verdict.quarantined.size() << " quarantined after " << c_.max_crashes
      << " crashes";
  if (!verdict.suspects.empty())
    s << ", " << verdict.suspects.size() << " suspects run first, one at a time";
  return s.str();
}

RunPersistence::Restored RunPersistence::restore_journal(sched::Master& m, io::ResultsWriter& w,
                                                         sched::JournalWriter& next,
                                                         const sched::Checkpoint* ck) const {
  Restored restored;
  std::error_code ec;
  if (!fs::exists(journal_path(), ec)) return restored;
  // Without tallies every journalled result stands on its own; with them only those the last
  // checkpoint's tally snapshot covers (later ones run again, identically).
  const bool all_count = specs_.empty();
  restored.contents =
      sched::read_journal(journal_path(), [&](const sched::JournalResult& r, std::uint64_t end) {
        if (!all_count && !(ck && end <= ck->journal_offset && r.batch_end <= ck->horizon)) return;
        for (const auto& p : r.pieces) {
          m.restore(p.first, p.count, p.values, n_obs_);
          w.write_observations(p.first, p.count, p.values);
          restored.tasks += p.count;
        }
        for (const auto& [t, a] : r.attempts) m.restore_attempts(t, a);
        for (const auto& f : r.failures) m.restore_failure(f.task, f.attempts, f.message);
        next.result(r);
      });
  if (restored.contents.fingerprint != fingerprint_)
    throw InputError(journal_path() + ": cannot resume, the run differs: " +
                     first_difference(restored.contents.fingerprint, fingerprint_));
  return restored;
}

std::set<std::uint64_t> RunPersistence::tasks_in_flight(const sched::JournalContents& contents,
                                                        const sched::Master& m) {
  // Every task a worker held when the previous run died, not only the batch it was computing as
  // the journal saw it: a worker starts its next batch before the master has journalled the
  // previous result.
  std::set<std::uint64_t> in_flight;
  for (const auto& [worker, held] : contents.in_flight)
    for (const auto& b : held)
      for (const auto& rg : b.ranges)
        for (std::uint64_t t = rg.first; t < rg.first + rg.count; ++t)
          if (!m.is_resolved(t)) in_flight.insert(t);
  return in_flight;
}

void RunPersistence::quarantine(
    sched::Master& m, sched::JournalWriter& next,
    const std::vector<std::pair<std::uint64_t, std::uint32_t>>& tasks) const {
  for (const auto& [task, crashes] : tasks) {
    m.quarantine(task, crashes);
    // Journalled like any final failure, so later resumes keep it quarantined.
    sched::JournalResult q;
    q.worker = -1;
    q.batch_end = task + 1;
    q.pieces.push_back(
        {task, 1, std::vector<double>(n_obs_, std::numeric_limits<double>::quiet_NaN())});
    q.failures.push_back({task, crashes, m.failures().at(task).message});
    next.result(q);
  }
}

void RunPersistence::install(sched::MasterHooks& hooks, const sched::Master& master) {
  hooks.assigned = [this](int w, const sched::Batch& b) { journal_->assign(w, b); };
  hooks.released = [this](int w, std::uint64_t id) { journal_->release(w, id); };
  hooks.accepted = [this, &master](int w, const sched::BatchResult& r,
                                   const sched::Master::Outcome& out) {
    sched::JournalResult jr;
    jr.worker = w;
    jr.batch_id = r.batch_id;
    jr.batch_end = out.batch_end;
    for (const auto& p : out.resolved) {
      sched::JournalResult::Piece piece;
      piece.first = p.first;
      piece.count = p.count;
      piece.values.resize(n_obs_ * static_cast<std::size_t>(p.count));
      for (std::size_t k = 0; k < n_obs_; ++k)
        std::copy_n(r.observations.begin() + static_cast<std::ptrdiff_t>(k * r.n_tasks + p.offset),
                    p.count, piece.values.begin() + static_cast<std::ptrdiff_t>(k * p.count));
      jr.pieces.push_back(std::move(piece));
    }
    jr.attempts = out.retried_done;
    for (const auto& [t, a] : out.final_failures)
      jr.failures.push_back({t, a, master.failures().at(t).message});
    journal_->result(jr);
  };
  hooks.snapshot_every = c_.checkpoint_every;
  hooks.tally_specs = specs_;
  hooks.snapshot_begin = [this](const sched::Master& m) {
    pending_offset_ = journal_->offset();
    pending_horizon_ = m.horizon();
  };
  hooks.snapshot_done = [this](std::vector<std::vector<std::uint64_t>>&& sum) {
    sched::Checkpoint ck = ck_;
    ck.journal_offset = pending_offset_;
    ck.horizon = pending_horizon_;
    // The workers' sum becomes the checkpoint's tallies in place: rank 0 holds one copy.
    ck.tallies = sum.size() == specs_.size() ? std::move(sum) : zero_tallies();
    add_base_tallies(ck.tallies);
    write(std::move(ck));
  };
}

void RunPersistence::write(sched::Checkpoint ck, bool keep_previous) {
  std::vector<sched::TallyWords> tallies;
  for (const auto& t : ck.tallies) tallies.push_back({t.data(), t.size()});
  write(std::move(ck), tallies, keep_previous);
}

void RunPersistence::write(sched::Checkpoint ck, const std::vector<sched::TallyWords>& tallies,
                           bool keep_previous) {
  const auto t0 = std::chrono::steady_clock::now();
  // Two generations. The new checkpoint is written whole beside the current one first (a full
  // disk fails here and changes nothing); then the current one becomes the previous one and the
  // new one the current one. A crash between the two renames leaves the previous generation,
  // which read_matching_checkpoint falls back to.
  const std::string next = checkpoint_path() + ".next";
  sched::write_checkpoint(next, ck, tallies);
  std::error_code ec;
  if (keep_previous && fs::exists(checkpoint_path(), ec) &&
      std::rename(checkpoint_path().c_str(), previous_checkpoint_path().c_str()) != 0)
    throw SystemError(checkpoint_path() + ": cannot keep it as " + previous_checkpoint_path() +
                      ": " + std::strerror(errno));
  if (std::rename(next.c_str(), checkpoint_path().c_str()) != 0)
    throw SystemError(next + ": cannot rename to " + checkpoint_path() + ": " +
                      std::strerror(errno));
  sched::sync_directory_of(checkpoint_path());  // both renames survive a crash of the node
  ck_ = std::move(ck);
  ck_.tallies = {};  // written; ck_ keeps the counts and positions, not a copy of the tallies
  checkpoint_seconds_ += seconds_since(t0);
  ++checkpoints_;
}

void RunPersistence::final_checkpoint(const sched::Master& m,
                                      const std::vector<std::span<std::uint64_t>>& totals) {
  sched::Checkpoint ck = ck_;
  ck.journal_offset = journal_->offset();
  ck.horizon = m.horizon();
  std::vector<sched::TallyWords> tallies;
  for (const auto& t : totals) tallies.push_back({t.data(), t.size()});
  journal_->clean_stop();
  write(std::move(ck), tallies);
}

void RunPersistence::remove_files() {
  journal_.reset();
  std::error_code ec;
  fs::remove(journal_path(), ec);
  fs::remove(checkpoint_path(), ec);
  fs::remove(previous_checkpoint_path(), ec);
  fs::remove(checkpoint_path() + ".next", ec);
  fs::remove(checkpoint_path() + ".next.tmp", ec);  // left by a write that failed (disk full)
}

}  // namespace carlo::engine
