// The interpreter itself: start once, hold the GIL from any thread, describe exceptions.
#include "python/host.h"

#include <carlo/error.h>

#include <Python.h>

#include <cstdlib>
#include <filesystem>

namespace carlo::python {

namespace {

thread_local int t_depth = 0;                   // Gil scopes open on this thread
thread_local PyThreadState* t_state = nullptr;  // this thread's state, once it has one

/// numpy's BLAS starts one thread per core in every rank: with a rank per core that is cores^2
/// threads fighting. Unless the user chose, one thread per rank (docs/python.md).
void default_blas_threads() {
  for (const char* name :
       {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"})
    setenv(name, "1", /*overwrite=*/0);
}

}  // namespace

Gil::Gil() {
  if (t_depth++ > 0) return;
  if (!t_state) t_state = PyGILState_GetThisThreadState();
  if (t_state) {
    PyEval_RestoreThread(t_state);
    return;
  }
  // First time on this thread: PyGILState_Ensure creates the thread state and registers it, so
  // pybind11's own GIL guards find it. It is never released, so the state is never deleted.
  PyGILState_Ensure();
  t_state = PyThreadState_Get();
}

Gil::~Gil() {
  if (--t_depth > 0) return;
  PyEval_SaveThread();
}

void ensure_interpreter() {
  if (Py_IsInitialized()) return;
  default_blas_threads();
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  // SIGINT, SIGTERM and SIGUSR1 stay carlo's: they checkpoint even while Python code runs.
  config.install_signal_handlers = 0;
  config.parse_argv = 0;
  PyStatus status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status))
    throw InputError(std::string("cannot start the Python interpreter: ") +
                     (status.err_msg ? status.err_msg : "unknown error"));
  // Released here; every call into Python takes it back with Gil (rank 0 calls from two threads).
  PyEval_SaveThread();
}

namespace {

std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

/// "file.py:LINE" of the innermost frame of `trace`, or of a SyntaxError itself.
std::string where(const py::handle& type, const py::handle& value, const py::handle& trace) {
  py::object file, line;
  if (PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(type.ptr()),
                       reinterpret_cast<PyTypeObject*>(PyExc_SyntaxError))) {
    file = value.attr("filename");
    line = value.attr("lineno");
  } else if (trace && !trace.is_none()) {
    py::object tb = py::reinterpret_borrow<py::object>(trace);
    while (!tb.attr("tb_next").is_none()) tb = tb.attr("tb_next");
    file = tb.attr("tb_frame").attr("f_code").attr("co_filename");
    line = tb.attr("tb_lineno");
  }
  if (!file || file.is_none()) return "";
  const auto name = std::filesystem::path(py::str(file).cast<std::string>()).filename().string();
  return name + ":" + py::str(line).cast<std::string>();
}

}  // namespace

std::string describe(const py::error_already_set& e) {
  try {
    py::list lines =
        py::module_::import("traceback").attr("format_exception_only")(e.type(), e.value());
    std::string last =
        lines.empty() ? std::string(e.what()) : lines[lines.size() - 1].cast<std::string>();
    const std::string at = where(e.type(), e.value(), e.trace());
    return one_line(last) + (at.empty() ? "" : " (" + at + ")");
  } catch (const std::exception&) {
    return one_line(e.what());
  }
}

}  // namespace carlo::python
