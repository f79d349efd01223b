#pragma once
/// \file
/// Error types shared by every layer. Library code throws; `main` catches once, prints one
/// line and chooses the exit status (DESIGN §2): InputError -> 1, anything else -> 1 as well but
/// reported as an internal error.
#include <stdexcept>
#include <string>

namespace carlo {

/// Bad input from the user: a file, object, option or value that carlo refuses. The message names
/// the file, the object and the problem, and fits on one line.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A failure of the system or of a library carlo calls (MPI, HDF5, the OS).
class SystemError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace carlo
