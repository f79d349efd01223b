#include "core/prefault.h"

#include <sys/mman.h>

#include <cstddef>

namespace carlo {

void prefault_writable(void* p, std::uint64_t bytes) noexcept {
#ifdef MADV_POPULATE_WRITE
  constexpr std::uintptr_t kPage = 4096;
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + kPage - 1) & ~(kPage - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kPage - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)bytes;
#endif
}

std::vector<std::uint64_t> prefaulted_zeros(std::uint64_t n) {
  std::vector<std::uint64_t> v;
  v.reserve(static_cast<std::size_t>(n));  // fresh memory from the allocator, not yet touched
  prefault_writable(v.data(), n * sizeof(std::uint64_t));
  v.resize(static_cast<std::size_t>(n));
  return v;
}

std::unique_ptr<std::uint64_t[]> prefaulted_buffer(std::uint64_t n) {
  auto p = std::make_unique_for_overwrite<std::uint64_t[]>(static_cast<std::size_t>(n));
  prefault_writable(p.get(), n * sizeof(std::uint64_t));
  return p;
}

}  // namespace carlo
