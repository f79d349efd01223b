#include <carlo/dtype.h>
#include <carlo/error.h>

namespace carlo {

std::size_t dtype_size(DType t) noexcept {
  return visit_dtype(t, [](auto v) { return sizeof(v); });
}

std::string_view dtype_name(DType t) noexcept {
  switch (t) {
    case DType::float64: return "float64";
    case DType::float32: return "float32";
    case DType::int64: return "int64";
    case DType::int32: return "int32";
    case DType::uint32: return "uint32";
    case DType::int8: return "int8";
    case DType::uint8: return "uint8";
  }
  return "?";
}

DType parse_dtype(std::string_view name) {
  for (DType t : {DType::float64, DType::float32, DType::int64, DType::int32, DType::uint32,
                  DType::int8, DType::uint8})
    if (dtype_name(t) == name) return t;
  throw InputError("unsupported dtype '" + std::string(name) +
                   "' (expected float64, float32, int64, int32, uint32, int8 or uint8)");
}

bool dtype_is_integer(DType t) noexcept { return t != DType::float64 && t != DType::float32; }

}  // namespace carlo
