// The phrasings of a results file's state (src/report/state.h). The wording of the first lines is
// what scripts and people look for ("PARTIAL", "RUNNING"); tests check it.
#include "report/state.h"

namespace carlo::report {

RunState run_state(const std::string& state) {
  if (state == "complete") return RunState::complete;
  if (state == "partial") return RunState::partial;
  if (state == "running") return RunState::running;
  return RunState::unknown;
}

ScriptState script_state(const io::ResultsInfo& info, bool resume_files) {
  ScriptState s;
  switch (run_state(info.state)) {
    case RunState::complete:
      s.word = info.failed > 0 ? "failed" : "complete";
      s.exit_code = info.failed > 0 ? 2 : 0;
      return s;
    case RunState::partial:
      s.word = "partial";
      s.exit_code = 3;
      return s;
    case RunState::running:
      if (resume_files) {
        s.word = "partial";
        s.exit_code = 3;
      } else {
        s.why = "still being written, or its run died before its first checkpoint";
      }
      return s;
    case RunState::unknown: s.why = "state '" + info.state + "' is not one carlo knows"; return s;
  }
  return s;
}

namespace {

std::string banner(const io::ResultsInfo& info, RunState state) {
  const std::string done =
      std::to_string(info.done) + " of " + std::to_string(info.meta.tasks) + " tasks done";
  switch (state) {
    case RunState::complete: return "";
    case RunState::partial:
      return "*** PARTIAL RESULTS: the run stopped before every task was done (" + done +
             ").\n*** Estimates cover the done tasks only; `carlo run --resume` continues the "
             "run.\n";
    case RunState::running:
      return "*** RUNNING: this file is still being written, or its run died before finishing.\n"
             "*** Estimates are provisional, computed from the observations written so far.\n";
    case RunState::unknown: break;
  }
  return "*** PARTIAL RESULTS: unknown state '" + info.state + "', not a complete result.\n";
}

std::string info_line(const std::string& name, RunState state) {
  switch (state) {
    case RunState::complete: return "complete";
    case RunState::partial:
      return "PARTIAL - the run stopped before every task was done (carlo run --resume continues "
             "it)";
    case RunState::running:
      return "RUNNING - still being written, or the run died before finishing; not a complete "
             "result";
    case RunState::unknown: break;
  }
  return "UNKNOWN STATE '" + name + "' - not a complete result";
}

std::string plot_note(RunState state) {
  switch (state) {
    case RunState::complete: return "";
    case RunState::running:
      return "RUNNING: the run is in progress or died before finishing; figures cover the "
             "observations written so far";
    case RunState::partial:
    case RunState::unknown: break;
  }
  return "PARTIAL: the run stopped before every task was done; figures cover the done tasks only";
}

}  // namespace

StateText describe_state(const io::ResultsInfo& info) {
  StateText t;
  t.state = run_state(info.state);
  t.complete = t.state == RunState::complete;
  t.word = t.complete ? "complete" : t.state == RunState::running ? "RUNNING" : "PARTIAL";
  t.title_word = t.state == RunState::unknown ? "PARTIAL (state " + info.state + ")" : t.word;
  t.info_line = info_line(info.state, t.state);
  t.banner = banner(info, t.state);
  t.plot_note = plot_note(t.state);
  return t;
}

}  // namespace carlo::report
