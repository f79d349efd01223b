#pragma once
/// \file
/// Errors that every rank agrees on. A step that may fail on some ranks only (rank 0 checks a
/// file, a node leader reads it) runs inside `agreed`, so either every rank goes on or every rank
/// throws the same AgreedError: no rank is left waiting in a collective the others never reach,
/// and rank 0 alone prints the one line.
#include "transport/runtime.h"

#include <carlo/error.h>

#include <string>

namespace carlo::engine {

/// Thrown by `agreed` on every rank at once, with the message of the lowest failing rank (an
/// error that was not an InputError reads "internal error: ..."). An InputError: bad input ends
/// with exit 1.
class AgreedError : public InputError {
 public:
  using InputError::InputError;
};

/// Collective (world): runs `step` (which may do nothing on some ranks); if it threw on any
/// rank, every rank throws AgreedError. An AgreedError from a nested `agreed` passes through (all
/// ranks threw it already).
template <class F>
void agreed(const transport::Runtime& rt, F&& step) {
  std::string message;
  try {
    step();
  } catch (const AgreedError&) {
    throw;
  } catch (const InputError& e) {
    message = e.what();
  } catch (const std::exception& e) {
    message = std::string("internal error: ") + e.what();
  }
  message = rt.first_error(message);
  if (!message.empty()) throw AgreedError(message);
}

}  // namespace carlo::engine
