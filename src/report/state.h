#pragma once
/// \file
/// What a results file's `state` attribute means to a reader (DESIGN §3: a file never poses as
/// complete when it is not). Every phrasing of it, in every output, is made here from one
/// classification.
#include "io/results_file.h"

#include <string>

namespace carlo::report {

enum class RunState {
  complete,  ///< every task done or failed for good
  partial,   ///< stopped early (signal, target, --task-range); `carlo run --resume` continues
  running,   ///< still being written, or its run died before finishing
  unknown,   ///< a state this carlo does not know: treated as not complete
};

RunState run_state(const std::string& state);

/// The state in the words of each output.
struct StateText {
  RunState state = RunState::complete;
  bool complete = true;
  /// "complete", "PARTIAL" or "RUNNING" (an unknown state reads PARTIAL): `carlo report`'s first
  /// line.
  std::string word;
  /// `word`, naming an unknown state ("PARTIAL (state weird)"): the plot's title.
  std::string title_word;
  /// `carlo info`'s first line: the word and what it means.
  std::string info_line;
  /// Lines (each ending in a newline) above `carlo report`'s text when not complete; "" if
  /// complete.
  std::string banner;
  /// One line under the plot's title when not complete; "" if complete.
  std::string plot_note;
};

/// Uses the state, the done count and the task count of `info`.
StateText describe_state(const io::ResultsInfo& info);

/// `carlo info --state`: one word and the exit status the run would have had (DESIGN §8), so
/// job scripts decide from the file, not from a launcher's status.
struct ScriptState {
  std::string word;   ///< "complete", "failed" or "partial"; "" when none applies
  int exit_code = 1;  ///< 0, 2, 3; 1 with `word` empty
  std::string why;    ///< with `word` empty: what the file is instead, for the error line
};

/// complete (0): finished, no task failed; failed (2): finished, some tasks failed for good;
/// partial (3): `--resume` continues it (stopped by a signal, or its run died: state running
/// with a checkpoint or journal beside it, which `resume_files` says).
ScriptState script_state(const io::ResultsInfo& info, bool resume_files);

}  // namespace carlo::report
