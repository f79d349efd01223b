// carlo gen groups: rows of log-normal lengths, values from per-row streams.
#include "datagen/datagen.h"
#include "io/ragged_file.h"

#include <carlo/rng.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace carlo::datagen {

namespace {

// Standard normal variates by Box-Muller from one stream, both outputs of each pair used.
class Normal {
 public:
  explicit Normal(Stream& s) : s_(s) {}
  double operator()() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - s_.uniform();  // (0, 1]: log is finite
    const double u2 = s_.uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

 private:
  Stream& s_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// Substreams of a row's stream: one for its length weight, one for its values.
constexpr std::uint64_t kWeightStream = 1;
constexpr std::uint64_t kValueStream = 2;
// Spread of the log-normal row weights: the longest rows are hundreds of times the median.
constexpr double kLengthSigma = 1.5;

double row_weight(std::uint64_t seed, std::uint64_t row) {
  Stream s(seed, row, kWeightStream);
  return std::exp(kLengthSigma * Normal(s)());
}

// Fills `out` with the next `n` values of a row. Float rows: mean ~ Normal(0, 10) and
// sd ~ LogNormal(0, 0.5) per row, drawn first from the row's stream; integer rows: every bit
// pattern of the type equally likely.
template <class T>
class RowValues {
 public:
  RowValues(std::uint64_t seed, std::uint64_t row) : s_(seed, row, kValueStream), normal_(s_) {
    if constexpr (std::is_floating_point_v<T>) {
      mean_ = 10.0 * normal_();
      sd_ = std::exp(0.5 * normal_());
    }
  }
  void fill(T* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if constexpr (std::is_floating_point_v<T>) {
        out[i] = static_cast<T>(mean_ + sd_ * normal_());
      } else if constexpr (sizeof(T) == 8) {
        const std::uint64_t bits = s_.next_u64();
        std::memcpy(&out[i], &bits, sizeof(T));
      } else {
        const std::uint32_t bits = s_.next_u32();
        std::memcpy(&out[i], &bits, sizeof(T));  // low bytes on little-endian
      }
    }
  }

 private:
  Stream s_;
  Normal normal_;
  double mean_ = 0, sd_ = 1;
};

void check(const GroupsConfig& config) {
  if (config.rows == 0) throw std::invalid_argument("datagen::generate_groups: rows is 0");
  if (config.bytes % dtype_size(config.dtype) != 0)
    throw std::invalid_argument("datagen::generate_groups: bytes is not a multiple of the " +
                                std::string(dtype_name(config.dtype)) + " size");
}

// Streams the rows of element type T: row i ends at floor(n_values * W_i / W), W_i the running
// sum of the row weights and W their total.
template <class T>
void write_rows(const GroupsConfig& config, double total_weight, io::RaggedWriter& writer,
                const Progress& progress) {
  const std::uint64_t n_values = config.bytes / sizeof(T);
  constexpr std::size_t kBlock = std::size_t{1} << 20;
  std::vector<T> block;
  double running = 0;
  std::uint64_t start = 0;
  for (std::uint64_t i = 0; i < config.rows; ++i) {
    running += row_weight(config.seed, i);
    std::uint64_t end = i + 1 == config.rows
                            ? n_values
                            : static_cast<std::uint64_t>(std::floor(
                                  static_cast<long double>(n_values) * running / total_weight));
    end = std::clamp(end, start, n_values);
    RowValues<T> gen(config.seed, i);
    for (std::uint64_t done = start; done < end;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, end - done));
      block.resize(n);
      gen.fill(block.data(), n);
      writer.append_values(block.data(), n);
      done += n;
    }
    writer.end_row();
    if (progress) progress(end * sizeof(T), config.bytes);
    start = end;
  }
}

}  // namespace

void generate_groups(const GroupsConfig& config, const std::string& output,
                     const Progress& progress) {
  check(config);
  // Lengths follow the weights, rows with tiny weights come out empty and the total is exact.
  // Weights are recomputed in the second pass instead of stored, so memory does not grow with
  // the row count.
  double total_weight = 0;
  for (std::uint64_t i = 0; i < config.rows; ++i) total_weight += row_weight(config.seed, i);

  io::RaggedWriter::Options opts;
  opts.overwrite = config.overwrite;
  io::RaggedWriter writer(output, config.dtype, config.bytes / dtype_size(config.dtype), opts);
  visit_dtype(config.dtype, [&](auto zero) {
    write_rows<decltype(zero)>(config, total_weight, writer, progress);
  });
  writer.finish();
}

}  // namespace carlo::datagen
