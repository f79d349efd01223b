#include <carlo/ragged.h>

namespace carlo {

void validate_offsets(std::span<const std::uint64_t> offsets, std::uint64_t n_values,
                      const std::string& where) {
  if (offsets.empty()) throw InputError(where + ": offsets is empty (needs rows+1 entries)");
  if (offsets[0] != 0)
    throw InputError(where + ": offsets[0] is " + std::to_string(offsets[0]) + ", expected 0");
  for (std::size_t i = 1; i < offsets.size(); ++i) {
    if (offsets[i] < offsets[i - 1])
      throw InputError(where + ": offsets decrease at index " + std::to_string(i) + " (" +
                       std::to_string(offsets[i - 1]) + " then " + std::to_string(offsets[i]) +
                       ")");
    if (offsets[i] > n_values)
      throw InputError(where + ": offsets[" + std::to_string(i) +
                       "] = " + std::to_string(offsets[i]) + " is past the end of values (" +
                       std::to_string(n_values) + " elements)");
  }
  if (offsets.back() != n_values)
    throw InputError(where + ": offsets end at " + std::to_string(offsets.back()) +
                     " but values has " + std::to_string(n_values) + " elements");
}

}  // namespace carlo
