// Runtime: MPI start and stop, the world / node / leader communicators, and the world
// collectives, all with 64-bit sizes split into pieces MPI's int counts can carry.

#include "transport/large_count.h"
#include "transport/mpi_defaults.h"
#include "transport/mpi_detail.h"

#include <carlo/error.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace carlo::transport {

namespace detail {

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  throw SystemError(std::string(call) + ": " +
                    (length > 0 ? std::string(text, static_cast<std::size_t>(length))
                                : "MPI error " + std::to_string(rc)));
}

int to_int(std::uint64_t count, const char* what) {
  if (count > static_cast<std::uint64_t>(INT_MAX))
    throw SystemError(std::string(what) + ": count " + std::to_string(count) +
                      " does not fit in MPI's int (internal error: it should have been split)");
  return static_cast<int>(count);
}

std::uint64_t max_piece_count(std::uint64_t element_size) {
  return element_size == 0 ? kMaxPieceBytes
                           : std::max<std::uint64_t>(1, kMaxPieceBytes / element_size);
}

std::uint64_t broadcast_pieces(void* data, std::uint64_t count, MPI_Datatype type,
                               std::uint64_t element_size, int root, MPI_Comm comm) {
  const std::uint64_t piece = max_piece_count(element_size);
  auto* bytes = static_cast<unsigned char*>(data);
  const bool large = count * element_size > kSleepingCollectiveBytes;
  // A large transfer needs MPI's progress engine all along (libnbc moves one segment per test):
  // wait for everyone without spinning, then let the blocking call run at full speed.
  if (large) barrier_sleeping(comm);
  std::uint64_t calls = 0;
  for (std::uint64_t first = 0; first < count; first += piece, ++calls) {
    const int n = to_int(std::min(piece, count - first), "MPI_Bcast");
    void* at = bytes + first * element_size;
    if (large) {
      check(MPI_Bcast(at, n, type, root, comm), "MPI_Bcast");
    } else {
      MPI_Request request = MPI_REQUEST_NULL;
      check(MPI_Ibcast(at, n, type, root, comm, &request), "MPI_Ibcast");
      wait_sleeping(&request, 1, "MPI_Ibcast");
    }
  }
  return calls;
}

std::uint64_t reduce_pieces(void* data, std::uint64_t count, MPI_Datatype type,
                            std::uint64_t element_size, MPI_Op op, MPI_Comm comm) {
  int rank = 0;
  check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  const std::uint64_t piece = max_piece_count(element_size);
  auto* bytes = static_cast<unsigned char*>(data);
  const bool large = count * element_size > kSleepingCollectiveBytes;
  if (large) barrier_sleeping(comm);  // as in broadcast_pieces
  std::uint64_t calls = 0;
  for (std::uint64_t first = 0; first < count; first += piece, ++calls) {
    const int n = to_int(std::min(piece, count - first), "MPI_Reduce");
    void* at = bytes + first * element_size;
    void* send = rank == 0 ? MPI_IN_PLACE : at;
    void* receive = rank == 0 ? at : nullptr;
    if (large) {
      check(MPI_Reduce(send, receive, n, type, op, 0, comm), "MPI_Reduce");
    } else {
      MPI_Request request = MPI_REQUEST_NULL;
      check(MPI_Ireduce(send, receive, n, type, op, 0, comm, &request), "MPI_Ireduce");
      wait_sleeping(&request, 1, "MPI_Ireduce");
    }
  }
  return calls;
}

void wait_sleeping(MPI_Request* requests, std::size_t count, const char* what) {
  auto pause = std::chrono::microseconds(20);
  for (;;) {
    int done = 0;
    check(MPI_Testall(to_int(count, what), requests, &done, MPI_STATUSES_IGNORE), what);
    if (done) return;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

void allreduce_sleeping(void* data, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Iallreduce(MPI_IN_PLACE, data, count, type, op, comm, &request), "MPI_Iallreduce");
  wait_sleeping(&request, 1, "MPI_Iallreduce");
}

void barrier_sleeping(MPI_Comm comm) {
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Ibarrier(comm, &request), "MPI_Ibarrier");
  wait_sleeping(&request, 1, "MPI_Ibarrier");
}

MPI_Comm dup_with_errors_return(MPI_Comm comm) {
  MPI_Comm copy = MPI_COMM_NULL;
  check(MPI_Comm_dup(comm, &copy), "MPI_Comm_dup");
  check(MPI_Comm_set_errhandler(copy, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  return copy;
}

void free_comm(MPI_Comm& comm) noexcept {
  if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  comm = MPI_COMM_NULL;
}

namespace {

// A contiguous type of zero elements: size 0, so any count of it moves no bytes.
class ZeroSizeType {
 public:
  ZeroSizeType() {
    check(MPI_Type_contiguous(0, MPI_BYTE, &type_), "MPI_Type_contiguous");
    check(MPI_Type_commit(&type_), "MPI_Type_commit");
  }
  ~ZeroSizeType() { MPI_Type_free(&type_); }
  ZeroSizeType(const ZeroSizeType&) = delete;
  ZeroSizeType& operator=(const ZeroSizeType&) = delete;
  MPI_Datatype get() const noexcept { return type_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

// Predefined reductions do not accept derived types; a user op that has nothing to add does.
void add_nothing(void*, void*, int*, MPI_Datatype*) {}

}  // namespace

std::uint64_t broadcast_zero_size_elements(const Runtime& rt, std::uint64_t count) {
  ZeroSizeType type;
  char nothing = 0;
  return broadcast_pieces(&nothing, count, type.get(), 0, 0, rt.impl().world);
}

std::uint64_t reduce_zero_size_elements(const Runtime& rt, std::uint64_t count) {
  ZeroSizeType type;
  MPI_Op op = MPI_OP_NULL;
  check(MPI_Op_create(&add_nothing, 1, &op), "MPI_Op_create");
  char nothing = 0;
  std::uint64_t calls = 0;
  try {
    calls = reduce_pieces(&nothing, count, type.get(), 0, op, rt.impl().world);
  } catch (...) {
    MPI_Op_free(&op);
    throw;
  }
  MPI_Op_free(&op);
  return calls;
}

}  // namespace detail

namespace {

using detail::check;

// CARLO_RANKS_PER_NODE=k (DESIGN §6); 0 when unset. Every rank reads the same environment, so a
// bad value fails identically everywhere.
int virtual_node_size() {
  const char* text = std::getenv("CARLO_RANKS_PER_NODE");
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  errno = 0;
  const long k = std::strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || k <= 0 || k > INT_MAX)
    throw InputError(std::string("CARLO_RANKS_PER_NODE: '") + text +
                     "' is not a positive number of ranks per node");
  return static_cast<int>(k);
}

MPI_Comm split(MPI_Comm comm, int color, int key) {
  MPI_Comm out = MPI_COMM_NULL;
  check(MPI_Comm_split(comm, color, key, &out), "MPI_Comm_split");
  if (out != MPI_COMM_NULL)
    check(MPI_Comm_set_errhandler(out, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  return out;
}

void build_communicators(Runtime::Impl& m) {
  check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check(MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  m.world = detail::dup_with_errors_return(MPI_COMM_WORLD);
  check(MPI_Comm_rank(m.world, &m.world_rank), "MPI_Comm_rank");
  check(MPI_Comm_size(m.world, &m.world_size), "MPI_Comm_size");

  check(MPI_Comm_split_type(m.world, MPI_COMM_TYPE_SHARED, m.world_rank, MPI_INFO_NULL, &m.host),
        "MPI_Comm_split_type");
  check(MPI_Comm_set_errhandler(m.host, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");

  const int per_node = virtual_node_size();
  if (per_node > 0) {
    // Virtual nodes are cut inside each physical node, so a node's ranks can always share memory.
    int host_rank = 0;
    check(MPI_Comm_rank(m.host, &host_rank), "MPI_Comm_rank");
    m.node = split(m.host, host_rank / per_node, m.world_rank);
    m.virtual_nodes = true;
  } else {
    m.node = detail::dup_with_errors_return(m.host);
  }
  check(MPI_Comm_rank(m.node, &m.node_rank), "MPI_Comm_rank");
  check(MPI_Comm_size(m.node, &m.node_size), "MPI_Comm_size");

  m.leaders = split(m.world, m.node_rank == 0 ? 0 : MPI_UNDEFINED, m.world_rank);
  int index_and_count[2] = {0, 0};
  if (m.leaders != MPI_COMM_NULL) {
    check(MPI_Comm_rank(m.leaders, &index_and_count[0]), "MPI_Comm_rank");
    check(MPI_Comm_size(m.leaders, &index_and_count[1]), "MPI_Comm_size");
  }
  check(MPI_Bcast(index_and_count, 2, MPI_INT, 0, m.node), "MPI_Bcast");
  m.node_index = index_and_count[0];
  m.node_count = index_and_count[1];
}

void free_communicators(Runtime::Impl& m) noexcept {
  detail::free_comm(m.leaders);
  detail::free_comm(m.node);
  detail::free_comm(m.host);
  detail::free_comm(m.world);
}

}  // namespace

Runtime::Runtime(int& argc, char**& argv) : impl_(std::make_unique<Impl>()) {
  impl_->pml_choice = apply_mpi_defaults();  // before MPI_Init, which reads MCA parameters once
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  try {
    if (provided < MPI_THREAD_FUNNELED)
      throw SystemError("MPI_Init_thread: the MPI library does not provide MPI_THREAD_FUNNELED");
    build_communicators(*impl_);
  } catch (...) {
    // The destructor will not run: leave MPI as we found it. The failures above are the same on
    // every rank (same environment, same library), so the collective finalize cannot hang.
    free_communicators(*impl_);
    MPI_Finalize();
    throw;
  }
}

Runtime::~Runtime() {
  free_communicators(*impl_);
  MPI_Finalize();
}

int Runtime::world_rank() const noexcept { return impl_->world_rank; }
int Runtime::world_size() const noexcept { return impl_->world_size; }
int Runtime::node_rank() const noexcept { return impl_->node_rank; }
int Runtime::node_size() const noexcept { return impl_->node_size; }
int Runtime::node_index() const noexcept { return impl_->node_index; }
int Runtime::node_count() const noexcept { return impl_->node_count; }

std::string Runtime::host_name() const {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  check(MPI_Get_processor_name(name, &length), "MPI_Get_processor_name");
  return std::string(name, static_cast<std::size_t>(length));
}

PmlChoice Runtime::pml_choice() const noexcept { return impl_->pml_choice; }

std::optional<std::string> Runtime::control_variable(const std::string& name) const {
  int provided = 0;
  check(MPI_T_init_thread(MPI_THREAD_SINGLE, &provided), "MPI_T_init_thread");
  std::optional<std::string> value;
  int index = 0;
  if (MPI_T_cvar_get_index(name.c_str(), &index) == MPI_SUCCESS) {
    char found[256] = {};
    int found_length = sizeof found;
    int verbosity = 0, binding = 0, scope = 0, description_length = 0;
    MPI_Datatype type = MPI_DATATYPE_NULL;
    MPI_T_enum values = MPI_T_ENUM_NULL;
    MPI_T_cvar_handle handle = MPI_T_CVAR_HANDLE_NULL;
    int count = 0;
    if (MPI_T_cvar_get_info(index, found, &found_length, &verbosity, &type, &values, nullptr,
                            &description_length, &binding, &scope) == MPI_SUCCESS &&
        type == MPI_CHAR &&
        MPI_T_cvar_handle_alloc(index, nullptr, &handle, &count) == MPI_SUCCESS) {
      std::string text(static_cast<std::size_t>(std::max(count, 0)) + 1, '\0');
      if (MPI_T_cvar_read(handle, text.data()) == MPI_SUCCESS) value = text.c_str();
      MPI_T_cvar_handle_free(&handle);
    }
  }
  MPI_T_finalize();
  return value;
}

bool Runtime::all_ok(bool ok) const {
  int value = ok ? 1 : 0;
  detail::allreduce_sleeping(&value, 1, MPI_INT, MPI_MIN, impl_->world);
  return value == 1;
}

std::string Runtime::first_error(const std::string& message) const {
  int first = message.empty() ? impl_->world_size : impl_->world_rank;
  detail::allreduce_sleeping(&first, 1, MPI_INT, MPI_MIN, impl_->world);
  if (first == impl_->world_size) return {};
  std::vector<std::byte> bytes;
  if (first == impl_->world_rank) {
    const auto* begin = reinterpret_cast<const std::byte*>(message.data());
    bytes.assign(begin, begin + message.size());
  }
  broadcast(bytes, first);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void Runtime::broadcast(std::vector<std::byte>& data, int root) const {
  std::uint64_t size = data.size();
  detail::broadcast_pieces(&size, 1, MPI_UINT64_T, sizeof size, root, impl_->world);
  if (impl_->world_rank != root) data.resize(size);
  detail::broadcast_pieces(data.data(), size, MPI_BYTE, 1, root, impl_->world);
}

void Runtime::reduce_sum(std::span<std::uint64_t> data) const {
  // A length mismatch would make the pieces disagree and hang: catch it on every rank instead.
  std::uint64_t range[2] = {data.size(), ~std::uint64_t{data.size()}};
  detail::allreduce_sleeping(range, 2, MPI_UINT64_T, MPI_MAX, impl_->world);
  if (range[0] != ~range[1])
    throw SystemError("reduce_sum: ranks passed different lengths (" + std::to_string(~range[1]) +
                      " to " + std::to_string(range[0]) + ")");
  detail::reduce_pieces(data.data(), data.size(), MPI_UINT64_T, sizeof(std::uint64_t), MPI_SUM,
                        impl_->world);
}

void Runtime::reduce_sum_leaders(std::span<std::uint64_t> data) const {
  if (impl_->leaders == MPI_COMM_NULL)
    throw std::logic_error("Runtime::reduce_sum_leaders called on a rank that is not a leader");
  std::uint64_t range[2] = {data.size(), ~std::uint64_t{data.size()}};
  detail::allreduce_sleeping(range, 2, MPI_UINT64_T, MPI_MAX, impl_->leaders);
  if (range[0] != ~range[1])
    throw SystemError("reduce_sum_leaders: leaders passed different lengths (" +
                      std::to_string(~range[1]) + " to " + std::to_string(range[0]) + ")");
  detail::reduce_pieces(data.data(), data.size(), MPI_UINT64_T, sizeof(std::uint64_t), MPI_SUM,
                        impl_->leaders);
}

void Runtime::node_barrier() const { detail::barrier_sleeping(impl_->node); }

void Runtime::barrier() const { detail::barrier_sleeping(impl_->world); }

void Runtime::abort(int code) const noexcept {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace carlo::transport
