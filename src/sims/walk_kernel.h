#pragma once
// The `walk` kernel (src/sims/walk.cpp), in a header so bench/bench_walk.cpp can time the very same
// code with other lane counts, row indexes and visit sinks. Not part of carlo's public API.
//
// Definition (DESIGN §5) and the draws it makes, which fix the results: lane l of kLanes uses the
// stream task.substream(l) and runs walks l, l + kLanes, l + 2 kLanes, ... one after the other.
//   start a walk:   cur = below(rows)
//   at node cur:    visits[cur] += 1
//                   go_on = next_u64() < alpha * 2^64
//                   n = (go_on and row cur not empty) ? len(row cur) : rows;  r = below(n)
//                   row entry   if go_on and the row is not empty: cur = row[r]
//                   teleport    if go_on and the row is empty:     cur = r
//                   next walk   if not go_on:                      cur = r (the lane's next walk
//                               starts there; after its last walk the draw is unused)
// below(n) is Lemire's multiply-and-reject on next_u64(), so every step costs exactly two 64-bit
// draws in the common case and no branch on which draw comes next.
//
// Why lanes: on a graph far larger than the caches a step is two dependent random loads (the row's
// index entry, then one entry of the row). One walker waits on DRAM twice per step; kLanes walkers
// in lockstep keep up to kLanes loads in flight. Each round goes over the live lanes three times:
//   decide   reads the prefetched index entry, uses the two numbers drawn for this step, and picks
//            the row entry to read (or, for a teleport or a new walk, the next node);
//   fetch    prefetches those row entries (and the index entries of the known next nodes);
//   arrive   reads the row entry, records the visit, prefetches the new node's index entry and
//            draws the two numbers of the lane's next step.
// Why this shape (each measured with bench_walk, docs/benchmarks.md): a prefetch of a row entry
// usually misses the TLB too (the shared graph has 4 KiB pages), and while its page walk runs it
// appears to hold up retirement (timer sampling puts the time just after it), so the reorder
// buffer fills within a few lanes of heavy work: prefetches issued one per lane inside the decide
// loop overlapped only a few walks. Issued back to back in
// one short loop, all kLanes walks overlap. The arrive loop waits on those loads anyway, so the
// draws of the next step are made there, in the shadow of the misses (the draw order of each lane
// is unchanged: go-on, below(n), then below's rare extra draws). Row entries are prefetched into
// L2 (prefetcht1), which was faster than into L1. Choices are all-ones or zero masks rather than
// bools: given bools, g++ emits branches on them, which mispredict (a walker's next move is
// random). Everything but below()'s rare rejection and a lane finishing its walks is branch-free:
// a walker that teleports or starts a new walk still goes through arrive (reading values[0] and
// discarding it), so every lane is in the same phase. A lane's draws depend only on its own walks,
// so the visits are a pure function of (seed, task): they do not depend on the interleaving or on
// the row index used, only on kLanes, which is a constant, not an option (more lanes in flight
// would need walks of one lane to overlap, and each starts where the last ended).
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
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <utility>

namespace carlo::sims::walk_detail {

constexpr std::size_t kLanes = 32;

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

/// Walks of lane `lane` out of `walks`.
inline std::uint64_t lane_walks(std::uint64_t walks, std::size_t lane, std::size_t lanes) noexcept {
  return walks / lanes + (lane < walks % lanes ? 1u : 0u);
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
/// when the graph has no edges. Lane l draws from substream(l) (a Stream). Reports the visits in
/// groups, in no particular order: visit(std::span<const std::uint64_t> nodes) once per round for
/// the nodes the live lanes arrived at (so a bulk tally call can take them at once). Returns the
/// number of visits. The visits do not depend on the index type, only on Lanes.
template <class T, std::size_t Lanes = kLanes, class Index, class Substream, class Visit>
std::uint64_t run_walks(const Index& index, const T* values, std::uint64_t rows,
                        std::uint64_t walks, std::uint64_t continue_below, Substream&& substream,
                        Visit&& visit) {
  // Structure of arrays over the live lanes [0, live); a finished lane is swapped with the last.
  alignas(64) std::array<Stream, Lanes> rng = [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<Stream, Lanes>{substream(I)...};
  }
  (std::make_index_sequence<Lanes>());
  // cur: the node, visit recorded, index entry prefetched. go, u: the two numbers drawn for the
  // step from cur. pos: index into values, or 0 (then arrive discards what it reads). jump: the
  // next node when not following a row entry. left: walks still to start after the current one.
  // keep: all ones if arrive takes the row entry, else 0.
  alignas(64) std::array<std::uint64_t, Lanes> cur{};
  alignas(64) std::array<std::uint64_t, Lanes> go{};
  alignas(64) std::array<std::uint64_t, Lanes> u{};
  alignas(64) std::array<std::uint64_t, Lanes> pos{};
  alignas(64) std::array<std::uint64_t, Lanes> jump{};
  alignas(64) std::array<std::uint64_t, Lanes> left{};
  alignas(64) std::array<std::uint64_t, Lanes> keep{};

  std::size_t live = 0;
  for (std::size_t l = 0; l < Lanes; ++l) {
    const std::uint64_t w = lane_walks(walks, l, Lanes);
    if (w == 0) continue;  // only when walks < Lanes: lanes l >= walks, already at the end
    if (live != l) rng[live] = rng[l];
    cur[live] = below(rng[live], rows);
    left[live] = w - 1;
    go[live] = rng[live].next_u64();
    u[live] = rng[live].next_u64();
    index.prefetch(cur[live]);
    ++live;
  }
  visit(std::span<const std::uint64_t>(cur.data(), live));
  std::uint64_t steps = live;

  while (live > 0) {
    // Decide.
    for (std::size_t i = 0; i < live;) {
      const std::uint64_t c = cur[i];
      const auto go_on = static_cast<std::uint64_t>(go[i] < continue_below);
      const std::uint64_t begin = index.begin(c);
      const std::uint64_t len = index.length(c);
      const std::uint64_t follow = 0 - (go_on & static_cast<std::uint64_t>(len != 0));
      const std::uint64_t x = below_from(rng[i], u[i], rows ^ ((len ^ rows) & follow));
      if ((go_on | left[i]) == 0) [[unlikely]] {  // this lane's last walk ended
        --live;
        rng[i] = rng[live];
        cur[i] = cur[live];
        go[i] = go[live];
        u[i] = u[live];
        left[i] = left[live];
        continue;  // lane `live` moved into slot i: handle it now
      }
      left[i] -= go_on ^ 1;
      keep[i] = follow;
      pos[i] = (begin + x) & follow;  // follow ? begin + x : 0
      jump[i] = x;
      ++i;
    }
    // Fetch. A teleport or a new walk already knows its next node: its index entry is fetched
    // now, a loop early; a lane following a row re-touches its current entry, still in L1.
    for (std::size_t i = 0; i < live; ++i) {
      __builtin_prefetch(values + pos[i], 0, 2);
      index.prefetch(jump[i] ^ ((cur[i] ^ jump[i]) & keep[i]));  // keep ? cur : jump
    }
    // Arrive.
    for (std::size_t i = 0; i < live; ++i) {
      const auto entry = static_cast<std::uint64_t>(values[pos[i]]);
      const std::uint64_t next = jump[i] ^ ((entry ^ jump[i]) & keep[i]);  // keep ? entry : jump
      cur[i] = next;
      index.prefetch(next);
      go[i] = rng[i].next_u64();
      u[i] = rng[i].next_u64();
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
