#pragma once
// The `walk` kernel (src/sims/walk.cpp), in a header so bench/bench_walk.cpp can time the very same
// code with other lane counts, row indexes and visit sinks. Not part of carlo's public API.
//
// Definition (DESIGN §5) and the draws it makes, which fix the results: walk w of a task
// (w = 0 .. walks - 1) draws only from its own stream task.substream(w):
//   start:          cur = below(rows)
//   at node cur:    visits[cur] += 1
//                   go_on = next_u64() < alpha * 2^64;  stop if not go_on
//                   row entry   if row cur is not empty: cur = row[below(len(row cur))]
//                   teleport    if row cur is empty:     cur = below(rows)
// below(n) is Lemire's multiply-and-reject on next_u64(). Walks share nothing, so the visits are
// a pure function of (seed, task), whatever order the walks run in: the number of lanes below and
// the row index read are tuning choices that never change a result.
//
// Why lanes: on a graph far larger than the caches a step is two dependent random loads (the row's
// index entry, then one entry of the row). One walker waits on DRAM twice per step; Lanes walkers
// in lockstep keep up to Lanes loads in flight. A lane whose walk ends takes the next unstarted
// walk in the same round, so all lanes stay busy until the last walk has started (the walks of a
// lane are independent, each with its own stream). A walk's stream (task.substream: twelve
// multiplies, about 5 ns with the start node's draw) is built ahead, a few per round inside the
// arrive loop where that arithmetic overlaps the loads in flight (this mattered when a stream was
// a 23 ns Philox block; at 5 ns where they are built is within noise). Each round goes over the
// live lanes three times:
//   decide   reads the prefetched index entry, uses the two numbers drawn for this step, and picks
//            the row entry to read (or, for a teleport, the next node); lanes whose walk ended
//            then take the next walk's stream and start node;
//   fetch    prefetches those row entries (and the index entries of the known next nodes);
//   arrive   reads the row entry, records the visit, prefetches the new node's index entry and
//            draws the two numbers of the lane's next step.
// Why this shape (each measured with bench_walk, docs/benchmarks.md): a prefetch of a row entry
// usually misses the TLB too (the shared graph has 4 KiB pages), and while its page walk runs it
// appears to hold up retirement, so prefetches issued one per lane inside the heavy decide loop
// overlapped only a few walks; issued back to back in one short loop, all lanes overlap. The
// arrive loop waits on those loads anyway, so the next step's draws are made there, in their
// shadow (a lane draws go-on and the below() number every step, and uses the second only if it
// goes on). Row entries are prefetched into L2 (prefetcht1), which was faster than into L1.
// Choices are all-ones or zero masks rather than bools: given bools, g++ emits branches, which
// mispredict (a walker's next move is random). For the same reason decide only lists the lanes
// whose walk ended (1 - alpha of them, at random), and a short loop after it starts their new
// walks: one mispredicted exit per round instead of a branch per lane (copying the next stream
// into every lane by a select, on every step, measured slower still). Otherwise only below()'s
// rare rejection, building streams and a lane retiring at the end of the task branch: a walker
// that teleports or starts a new walk still goes through arrive (reading values[0] and
// discarding it), so every lane is in the same phase.
//
// Why a compact row index: the graph's own offsets are uint64 in node-shared memory, which gets no
// huge pages (shmem THP is off), so reading them costs a TLB miss on top of a cache miss, and at
// 8 bytes a node they are twice the size that fits the L3 well. CompactOffsets is a private uint32
// copy on transparent huge pages; see docs/benchmarks.md for what it buys and costs.
#include <carlo/error.h>
#include <carlo/ragged.h>
#include <carlo/rng.h>

#include <sys/mman.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <utility>

namespace carlo::sims::walk_detail {

/// Walks in flight per task (tuned with bench_walk; any value gives the same visits).
constexpr std::size_t kLanes = 64;
/// The arrive loop builds one ready walk (its stream and start node) per this many lanes: 16 per
/// round at 64 lanes, more than the ~10 walks a round ends at alpha 0.85 (tuned with bench_walk).
constexpr std::size_t kBuildEvery = 4;

/// Uniform in [0, n), n > 0, given u, the next draw of rng already made: Lemire's
/// multiply-and-reject, drawing more from rng only on a (rare) rejection.
inline std::uint64_t below_from(Stream& rng, std::uint64_t u, std::uint64_t n) noexcept {
  uint128_t m = static_cast<uint128_t>(u) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) [[unlikely]] {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<uint128_t>(rng.next_u64()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

/// Uniform in [0, n), n > 0: Lemire's multiply-and-reject on 64-bit draws.
inline std::uint64_t below(Stream& rng, std::uint64_t n) noexcept {
  return below_from(rng, rng.next_u64(), n);
}

/// t with P(next_u64() < t) = alpha to within 2^-64, for alpha in [0, 1).
inline std::uint64_t continue_threshold(double alpha) noexcept {
  const long double t = std::ldexp(static_cast<long double>(alpha), 64);
  if (t >= std::ldexp(1.0L, 64)) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(t);
}

/// The kernel's row index over CSR offsets stored as Off (the graph's own uint64 offsets, or the
/// uint32 CompactOffsets): row c is [offsets[c], offsets[c + 1]). Does not own the array.
template <class Off>
struct OffsetIndex {
  const Off* offsets;
  std::uint64_t begin(std::uint64_t c) const noexcept { return offsets[c]; }
  std::uint64_t length(std::uint64_t c) const noexcept {
    return static_cast<std::uint64_t>(offsets[c + 1] - offsets[c]);
  }
  void prefetch(std::uint64_t c) const noexcept {
    __builtin_prefetch(offsets + c);
    __builtin_prefetch(offsets + c + 1);  // another cache line when c is the last of its line
  }
};

/// A private uint32 copy of a graph's offsets, for graphs with fewer than 2^32 values: half the
/// bytes of the uint64 offsets (16 MiB at 2^22 nodes) in anonymous memory aligned to 2 MiB and
/// advised MADV_HUGEPAGE, so the kernel's index loads hit the TLB and more often the L3. Costs
/// 4 (rows + 1) bytes per instance (rounded up to 4 KiB), freed by the destructor; building it
/// reads the offsets once. Immutable after construction, so concurrent
/// reads are safe. Move-only.
class CompactOffsets {
 public:
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

  /// Whether every offset of `g` fits in uint32 (offsets[rows] = n_values is the largest).
  static bool fits(const RaggedView& g) noexcept {
    return g.n_values <= std::numeric_limits<std::uint32_t>::max();
  }

  /// Copies g.offsets (fits(g) must hold). Throws SystemError if the memory cannot be mapped.
  explicit CompactOffsets(const RaggedView& g) {
    const std::size_t used = static_cast<std::size_t>(g.rows + 1) * sizeof(std::uint32_t);
    bytes_ = (used + 4095) / 4096 * 4096;
    // Below one huge page the 4 KiB pages fit the TLB anyway. From one on, one huge page of
    // slack lets the array start on a 2 MiB boundary: THP backs only whole aligned 2 MiB ranges
    // (a partial last one keeps 4 KiB pages).
    const bool huge = used >= kHugePage;
    map_bytes_ = bytes_ + (huge ? kHugePage : 0);
    map_ = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map_ == MAP_FAILED) {
      map_ = nullptr;
      throw SystemError("walk: cannot map " + std::to_string(map_bytes_) +
                        " bytes for the compact row index: " + std::strerror(errno));
    }
    const auto addr = reinterpret_cast<std::uintptr_t>(map_);
    auto* start = static_cast<char*>(map_);
    if (huge) {
      start += (kHugePage - addr % kHugePage) % kHugePage;
      // Without THP (or with it set to `never`) this fails or does nothing: 4 KiB pages work too.
      huge_ = madvise(start, bytes_, MADV_HUGEPAGE) == 0;
    }
#ifdef MADV_POPULATE_WRITE
    // Map the pages in one call before the copy below touches them: one page fault at a time
    // costs far more in a VM (docs/benchmarks.md, "walk end to end"). Best effort (Linux 5.14+).
    (void)madvise(start, bytes_, MADV_POPULATE_WRITE);
#endif
    data_ = reinterpret_cast<std::uint32_t*>(start);
    for (std::uint64_t i = 0; i <= g.rows; ++i) data_[i] = static_cast<std::uint32_t>(g.offsets[i]);
  }
  ~CompactOffsets() {
    if (map_ != nullptr) munmap(map_, map_bytes_);
  }
  CompactOffsets(CompactOffsets&& o) noexcept
      : map_(std::exchange(o.map_, nullptr)), map_bytes_(o.map_bytes_), bytes_(o.bytes_),
        data_(std::exchange(o.data_, nullptr)), huge_(o.huge_) {}
  CompactOffsets& operator=(CompactOffsets&& o) noexcept {
    if (this != &o) {
      if (map_ != nullptr) munmap(map_, map_bytes_);
      map_ = std::exchange(o.map_, nullptr);
      map_bytes_ = o.map_bytes_;
      bytes_ = o.bytes_;
      data_ = std::exchange(o.data_, nullptr);
      huge_ = o.huge_;
    }
    return *this;
  }
  CompactOffsets(const CompactOffsets&) = delete;
  CompactOffsets& operator=(const CompactOffsets&) = delete;

  const std::uint32_t* data() const noexcept { return data_; }
  OffsetIndex<std::uint32_t> index() const noexcept { return {data_}; }
  /// Memory held (the array rounded up to whole pages; the alignment slack is address space only).
  std::size_t bytes() const noexcept { return bytes_; }
  /// Whether the OS accepted MADV_HUGEPAGE (it may still back some pages with 4 KiB ones); false
  /// below 2 MiB, where it is not asked.
  bool huge_pages_advised() const noexcept { return huge_; }

 private:
  void* map_ = nullptr;
  std::size_t map_bytes_ = 0;
  std::size_t bytes_ = 0;
  std::uint32_t* data_ = nullptr;
  bool huge_ = false;
};

/// g's values as T, or a zero when the graph has no edges: the arrive loop reads values[0] when a
/// lane does not follow a row entry.
template <class T>
const T* readable_values(const RaggedView& g) noexcept {
  static const T zero{};
  return g.n_values != 0 ? static_cast<const T*>(g.values) : &zero;
}

/// Runs `walks` walks over a graph of `rows` > 0 nodes whose row c is values[index.begin(c) ...
/// + index.length(c)) (an OffsetIndex or another type with begin, length and prefetch); the values
/// are T, integers already checked to lie in [0, rows); `values` must be dereferenceable at 0 even
/// when the graph has no edges. Walk w draws only from substream(w) (a Stream). Reports the visits
/// in groups, in no particular order: visit(std::span<const std::uint64_t> nodes) once per round
/// for the nodes the live lanes arrived at (so a bulk tally call can take them at once). Returns
/// the number of visits. The visits depend neither on Lanes nor on the index type.
template <class T, std::size_t Lanes = kLanes, class Index, class Substream, class Visit>
std::uint64_t run_walks(const Index& index, const T* values, std::uint64_t rows,
                        std::uint64_t walks, std::uint64_t continue_below, Substream&& substream,
                        Visit&& visit) {
  static_assert(Lanes >= 1);
  // Walks ready to start: walks [head, tail) have their stream built and their start node drawn,
  // in slot w % kRing of a ring. A round ends at most `live` walks, so each round starts with at
  // least that many ready (or all the rest); most are built a few at a time inside the arrive
  // loop, where their arithmetic overlaps the loads in flight, and only the shortfall at the top
  // of the round.
  constexpr std::size_t kRing = std::bit_ceil(2 * Lanes);
  const Stream proto = substream(0);  // Stream has no default state: slots start as copies
  auto filled = [&]<std::size_t N>() {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::array<Stream, N>{((void)I, proto)...};
    }
    (std::make_index_sequence<N>());
  };
  alignas(64) std::array<Stream, kRing> ready = filled.template operator()<kRing>();
  alignas(64) std::array<std::uint64_t, kRing> ready_start{};
  std::uint64_t head = 0, tail = 0;
  auto build = [&] {
    Stream& rng = ready[tail % kRing];
    rng = substream(tail);
    ready_start[tail % kRing] = below(rng, rows);
    ++tail;
  };

  // Structure of arrays over the live lanes [0, live); a retired lane is swapped with the last.
  // cur: the node, visit recorded, index entry prefetched. go, u: the two numbers drawn for the
  // step from cur. pos: index into values, or 0 (then arrive discards what it reads). jump: the
  // next node when not following a row entry. keep: all ones if arrive takes the row entry, else 0.
  alignas(64) std::array<Stream, Lanes> rng = filled.template operator()<Lanes>();
  alignas(64) std::array<std::uint64_t, Lanes> cur{};
  alignas(64) std::array<std::uint64_t, Lanes> go{};
  alignas(64) std::array<std::uint64_t, Lanes> u{};
  alignas(64) std::array<std::uint64_t, Lanes> pos{};
  alignas(64) std::array<std::uint64_t, Lanes> jump{};
  alignas(64) std::array<std::uint64_t, Lanes> keep{};
  std::array<std::size_t, Lanes> ended{};  // lanes whose walk ended this round

  std::size_t live = 0;
  for (; live < Lanes && tail < walks; ++live, ++head) {
    build();
    rng[live] = ready[head % kRing];
    cur[live] = ready_start[head % kRing];
    go[live] = rng[live].next_u64();
    u[live] = rng[live].next_u64();
    index.prefetch(cur[live]);
  }
  visit(std::span<const std::uint64_t>(cur.data(), live));
  std::uint64_t steps = live;

  while (live > 0) {
    while (tail - head < live && tail < walks) build();
    // Decide, listing the lanes whose walk ended.
    std::size_t n_ended = 0;
    for (std::size_t i = 0; i < live; ++i) {
      const std::uint64_t c = cur[i];
      const auto go_on = static_cast<std::uint64_t>(go[i] < continue_below);
      const std::uint64_t begin = index.begin(c);
      const std::uint64_t len = index.length(c);
      const std::uint64_t follow = 0 - (go_on & static_cast<std::uint64_t>(len != 0));
      const std::uint64_t x = below_from(rng[i], u[i], rows ^ ((len ^ rows) & follow));
      jump[i] = x;
      keep[i] = follow;
      pos[i] = (begin + x) & follow;  // follow ? begin + x : 0
      ended[n_ended] = i;
      n_ended += go_on ^ 1;
    }
    // Each lane whose walk ended starts walk `head`, or retires if none is left. From the last
    // lane down, so a retiring lane can take over the last live lane, whose round is decided.
    for (std::size_t k = n_ended; k-- > 0;) {
      const std::size_t i = ended[k];
      if (head == tail) [[unlikely]] {
        --live;
        rng[i] = rng[live];
        cur[i] = cur[live];
        pos[i] = pos[live];
        jump[i] = jump[live];
        keep[i] = keep[live];
        continue;
      }
      rng[i] = ready[head % kRing];
      jump[i] = ready_start[head % kRing];
      ++head;
    }
    // Fetch. A teleport or a new walk already knows its next node: its index entry is fetched
    // now, a loop early; a lane following a row re-touches its current entry, still in L1.
    for (std::size_t i = 0; i < live; ++i) {
      __builtin_prefetch(values + pos[i], 0, 2);
      index.prefetch(jump[i] ^ ((cur[i] ^ jump[i]) & keep[i]));  // keep ? cur : jump
    }
    // Arrive, building one ready walk every kBuildEvery lanes while the loads are in flight.
    for (std::size_t i = 0; i < live; ++i) {
      const auto entry = static_cast<std::uint64_t>(values[pos[i]]);
      const std::uint64_t next = jump[i] ^ ((entry ^ jump[i]) & keep[i]);  // keep ? entry : jump
      cur[i] = next;
      index.prefetch(next);
      go[i] = rng[i].next_u64();
      u[i] = rng[i].next_u64();
      if (i % kBuildEvery == 0 && tail < walks && tail - head < kRing) build();
    }
    visit(std::span<const std::uint64_t>(cur.data(), live));
    steps += live;
  }
  return steps;
}

/// The same walks over a RaggedView's own uint64 offsets (the fallback when the values do not fit
/// CompactOffsets, and the layout bench_walk compares against).
template <class T, std::size_t Lanes = kLanes, class Substream, class Visit>
std::uint64_t run_walks(const RaggedView& g, std::uint64_t walks, std::uint64_t continue_below,
                        Substream&& substream, Visit&& visit) {
  return run_walks<T, Lanes>(OffsetIndex<std::uint64_t>{g.offsets}, readable_values<T>(g), g.rows,
                             walks, continue_below, std::forward<Substream>(substream),
                             std::forward<Visit>(visit));
}

}  // namespace carlo::sims::walk_detail
