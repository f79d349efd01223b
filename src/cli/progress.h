#pragma once
/// \file
/// Rank 0's progress display: a live bar on a terminal, a line every N seconds elsewhere (a Slurm
/// log), and a final summary line. Writes to stderr.
#include "engine/run.h"

#include <cstdint>
#include <string>

namespace carlo::cli {

using ProgressState = engine::RunProgress;

class Progress {
 public:
  /// `quiet`: print nothing. `every`: seconds between lines when stderr is not a terminal.
  Progress(bool quiet, double every);
  void update(const ProgressState& s);
  /// Ends a live bar's line, so that an error message starts on its own.
  void end_bar();
  /// Ends the bar and prints the final line.
  void finish(const ProgressState& s, const std::string& closing);

 private:
  std::string line(const ProgressState& s) const;
  bool quiet_;
  bool tty_;
  double every_;
  double last_ = -1;
  bool drawn_ = false;
};

/// Memory in use on this node (MemTotal - MemAvailable), bytes; 0 if unknown.
std::uint64_t node_memory_used();

}  // namespace carlo::cli
