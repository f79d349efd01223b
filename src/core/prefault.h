#pragma once
/// \file
/// Large buffers with their pages mapped up front. Where a page fault is expensive (in a VM each
/// fault exits to the hypervisor: about 45 us per 4 KiB page measured here, so 0.35 s to zero a
/// fresh 32 MiB vector), asking the kernel to map a whole range in one call costs 10-30 ms per
/// 32 MiB instead (docs/benchmarks.md, "walk end to end"). Best effort: on kernels without
/// MADV_POPULATE_WRITE (before 5.14) the pages fault in one by one as before.
#include <cstdint>
#include <memory>
#include <vector>

namespace carlo {

/// Maps the whole pages inside [p, p + bytes) writable now, if the kernel can (no effect on the
/// contents; a failure is ignored). For buffers of at least a few hundred KiB.
void prefault_writable(void* p, std::uint64_t bytes) noexcept;

/// `n` zeros, with the vector's pages mapped by prefault_writable before they are zeroed.
std::vector<std::uint64_t> prefaulted_zeros(std::uint64_t n);

/// `n` words of unspecified contents, mapped by prefault_writable: for a buffer that is filled
/// whole at once (a read), where zeroing it first would only be one more pass over fresh memory.
std::unique_ptr<std::uint64_t[]> prefaulted_buffer(std::uint64_t n);

}  // namespace carlo
