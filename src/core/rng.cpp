#include <carlo/rng.h>

#include <Random123/philox.h>

namespace carlo {

void philox4x64_10(const std::uint64_t key[2], const std::uint64_t counter[4],
                   std::uint64_t out[4]) noexcept {
  r123::Philox4x64 gen;
  const r123::Philox4x64::ctr_type c = {{counter[0], counter[1], counter[2], counter[3]}};
  const r123::Philox4x64::key_type k = {{key[0], key[1]}};
  const auto r = gen(c, k);
  for (std::size_t i = 0; i < 4; ++i) out[i] = r[i];
}

Substreams::Substreams(std::uint64_t seed, std::uint64_t task) noexcept {
  const std::uint64_t key[2] = {seed, task};
  // The third word 1 keeps this block apart from every Stream's (theirs is 0).
  const std::uint64_t ctr[4] = {0, 0, 1, 0x6361726c6fULL /* "carlo" */};
  philox4x64_10(key, ctr, key_);
}

}  // namespace carlo
