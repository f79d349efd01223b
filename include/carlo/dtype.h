#pragma once
/// \file
/// Element types of a ragged array's `values` (DESIGN §1).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace carlo {

enum class DType : std::uint8_t { float64, float32, int64, int32, uint32, int8, uint8 };

/// Size of one element in bytes.
std::size_t dtype_size(DType t) noexcept;
/// numpy-style name: "float64", "int8", ...
std::string_view dtype_name(DType t) noexcept;
/// Parses a numpy-style name; throws InputError naming the accepted ones.
DType parse_dtype(std::string_view name);
bool dtype_is_integer(DType t) noexcept;

/// Calls `f(T{})` with the C++ type of `t`, so generic code is written once for all types.
template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::float64: return std::forward<F>(f)(double{});
    case DType::float32: return std::forward<F>(f)(float{});
    case DType::int64: return std::forward<F>(f)(std::int64_t{});
    case DType::int32: return std::forward<F>(f)(std::int32_t{});
    case DType::uint32: return std::forward<F>(f)(std::uint32_t{});
    case DType::int8: return std::forward<F>(f)(std::int8_t{});
    case DType::uint8: break;
  }
  return std::forward<F>(f)(std::uint8_t{});
}

/// The DType of a C++ element type, at compile time.
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<double>() {
  return DType::float64;
}
template <>
constexpr DType dtype_of<float>() {
  return DType::float32;
}
template <>
constexpr DType dtype_of<std::int64_t>() {
  return DType::int64;
}
template <>
constexpr DType dtype_of<std::int32_t>() {
  return DType::int32;
}
template <>
constexpr DType dtype_of<std::uint32_t>() {
  return DType::uint32;
}
template <>
constexpr DType dtype_of<std::int8_t>() {
  return DType::int8;
}
template <>
constexpr DType dtype_of<std::uint8_t>() {
  return DType::uint8;
}

}  // namespace carlo
