#pragma once
// The `walk` kernel (src/sims/walk.cpp), in a header so bench/bench_walk.cpp can time the very same
// code with other lane counts and other visit sinks. Not part of carlo's public API.
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
// offsets, then one entry of the row). One walker waits on DRAM twice per step; kLanes walkers in
// lockstep keep kLanes loads in flight. Each round has two passes over the live lanes: pass A reads
// the prefetched offsets, draws, and prefetches the chosen row entry; pass B reads it, records the
// visit and prefetches the next node's offsets. Both passes are branch-free apart from the rare
// rejection in below() and a lane finishing its walks: a walker that teleports or starts a new walk
// still goes through pass B (reading values[0] and discarding it), so every lane is in the same
// phase and nothing depends on an unpredictable branch. A lane's draws depend only on its own
// walks, so the visits are a pure function of (seed, task): they do not depend on the interleaving,
// only on kLanes, which is a constant, not an option.
#include <carlo/ragged.h>
#include <carlo/rng.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>

namespace carlo::sims::walk_detail {

constexpr std::size_t kLanes = 32;

/// Uniform in [0, n), n > 0: Lemire's multiply-and-reject on 64-bit draws.
inline std::uint64_t below(Stream& rng, std::uint64_t n) noexcept {
  uint128_t m = static_cast<uint128_t>(rng.next_u64()) * n;
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

/// Runs `walks` walks over `g` (rows > 0), whose values are T, integers already checked to lie in
/// [0, rows); lane l draws from substream(l) (a Stream). Reports the visits in groups, in no
/// particular order: visit(std::span<const std::uint64_t> nodes) once per round for the nodes the
/// live lanes arrived at (so a bulk tally call can take them at once). Returns the number of
/// visits.
template <class T, std::size_t Lanes = kLanes, class Substream, class Visit>
std::uint64_t run_walks(const RaggedView& g, std::uint64_t walks, std::uint64_t continue_below,
                        Substream&& substream, Visit&& visit) {
  // Pass B reads values[0] when a lane does not follow a row entry; a graph without edges has none.
  static const T zero{};
  const std::uint64_t* offsets = g.offsets;
  const T* values = g.n_values != 0 ? static_cast<const T*>(g.values) : &zero;
  const std::uint64_t rows = g.rows;

  // Structure of arrays over the live lanes [0, live); a finished lane is swapped with the last.
  alignas(64) std::array<Stream, Lanes> rng = [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<Stream, Lanes>{substream(I)...};
  }
  (std::make_index_sequence<Lanes>());
  // cur: the node, visit recorded, offsets prefetched. pos: index into values, or 0 (then pass B
  // discards what it reads). jump: the next node when not following a row entry. left: walks still
  // to start after the current one. follow: whether pass B takes the row entry.
  alignas(64) std::array<std::uint64_t, Lanes> cur{};
  alignas(64) std::array<std::uint64_t, Lanes> pos{};
  alignas(64) std::array<std::uint64_t, Lanes> jump{};
  alignas(64) std::array<std::uint64_t, Lanes> left{};
  alignas(64) std::array<std::uint8_t, Lanes> follow{};

  std::size_t live = 0;
  for (std::size_t l = 0; l < Lanes; ++l) {
    const std::uint64_t w = lane_walks(walks, l, Lanes);
    if (w == 0) continue;  // only when walks < Lanes: lanes l >= walks, already at the end
    cur[live] = below(rng[l], rows);
    left[live] = w - 1;
    if (live != l) rng[live] = rng[l];
    __builtin_prefetch(offsets + cur[live]);
    ++live;
  }
  visit(std::span<const std::uint64_t>(cur.data(), live));
  std::uint64_t steps = live;

  while (live > 0) {
    // Pass A: decide, draw, prefetch the row entry.
    for (std::size_t i = 0; i < live;) {
      Stream& r = rng[i];
      const std::uint64_t c = cur[i];
      const bool go_on = r.next_u64() < continue_below;
      const std::uint64_t begin = offsets[c];
      const std::uint64_t len = offsets[c + 1] - begin;
      const bool f = go_on && len != 0;
      const std::uint64_t x = below(r, f ? len : rows);
      if (!go_on && left[i] == 0) [[unlikely]] {  // this lane's last walk ended
        --live;
        rng[i] = rng[live];
        cur[i] = cur[live];
        left[i] = left[live];
        continue;  // lane `live` moved into slot i: handle it now
      }
      left[i] -= go_on ? 0u : 1u;
      follow[i] = f;
      pos[i] = f ? begin + x : 0;
      jump[i] = x;
      __builtin_prefetch(values + pos[i]);
      ++i;
    }
    // Pass B: arrive, record, prefetch the new node's offsets.
    for (std::size_t i = 0; i < live; ++i) {
      const auto entry = static_cast<std::uint64_t>(values[pos[i]]);
      const std::uint64_t next = follow[i] ? entry : jump[i];
      cur[i] = next;
      __builtin_prefetch(offsets + next);
      __builtin_prefetch(offsets + next + 1);  // another cache line when next % 8 == 7
    }
    visit(std::span<const std::uint64_t>(cur.data(), live));
    steps += live;
  }
  return steps;
}

}  // namespace carlo::sims::walk_detail
