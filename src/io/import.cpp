#include "io/import.h"
#include "io/h5.h"

#include <carlo/error.h>

#include <algorithm>
#include <vector>

namespace carlo::io {

namespace {

// Frees the row buffers HDF5 allocated for one block, whatever happens while they are used.
class VlenBlock {
 public:
  VlenBlock(hid_t mem_type, hid_t mem_space, std::size_t rows)
      : type_(mem_type), space_(mem_space), rows_(rows) {}
  VlenBlock(const VlenBlock&) = delete;
  VlenBlock& operator=(const VlenBlock&) = delete;
  ~VlenBlock() {
    if (filled_) {
      h5::ErrorSilencer quiet;
      H5Dvlen_reclaim(type_, space_, H5P_DEFAULT, rows_.data());
    }
  }
  hvl_t* data() noexcept { return rows_.data(); }
  const hvl_t& operator[](std::size_t i) const noexcept { return rows_[i]; }
  void mark_filled() noexcept { filled_ = true; }

 private:
  hid_t type_;
  hid_t space_;
  std::vector<hvl_t> rows_;
  bool filled_ = false;
};

}  // namespace

RaggedInfo import_vlen(const std::string& in_path, const std::string& dataset,
                       const std::string& out_path, const ImportOptions& opts) {
  h5::ErrorSilencer quiet;
  const std::string where = in_path + ":" + dataset;
  h5::Id file = h5::open_file(in_path);
  const H5O_type_t kind = h5::object_type(file, dataset);
  if (kind == H5O_TYPE_UNKNOWN) throw InputError(where + ": no such dataset");
  if (kind != H5O_TYPE_DATASET) throw InputError(where + ": is not a dataset");
  h5::Id dset = h5::check_id(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT), where + ": cannot open",
                             h5::Blame::input);
  h5::Id type = h5::check_id(H5Dget_type(dset), where + ": cannot read its type", h5::Blame::input);
  if (H5Tget_class(type) == H5T_STRING)
    throw InputError(where + ": holds strings, not variable-length rows of numbers");
  if (H5Tget_class(type) != H5T_VLEN)
    throw InputError(where + ": type " + h5::describe_type(type) +
                     " is not variable-length (carlo import converts h5py vlen_dtype datasets)");
  h5::Id base =
      h5::check_id(H5Tget_super(type), where + ": cannot read its element type", h5::Blame::input);
  const auto dtype = h5::dtype_of_type(base);
  if (!dtype)
    throw InputError(where + ": unsupported element type " + h5::describe_type(base) +
                     " (expected float64, float32, int64, int32, uint32, int8 or uint8)");
  const std::uint64_t rows = h5::length_1d(dset, where);

  h5::Id mem_base = h5::native_type(*dtype);
  h5::Id mem_type = h5::check_id(H5Tvlen_create(mem_base), "H5Tvlen_create");
  h5::Id file_space = h5::check_id(H5Dget_space(dset), "H5Dget_space");

  // Calls f(block, count) for consecutive blocks of rows read into memory.
  auto for_each_block = [&](std::uint64_t rows_per_block, auto&& f) {
    for (std::uint64_t first = 0; first < rows;) {
      const hsize_t start = first;
      const hsize_t count = std::min(rows_per_block, rows - first);
      h5::check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, nullptr, &count, nullptr),
                "H5Sselect_hyperslab");
      h5::Id mem_space = h5::check_id(H5Screate_simple(1, &count, nullptr), "H5Screate_simple");
      VlenBlock block(mem_type, mem_space, count);
      h5::check(H5Dread(dset, mem_type, mem_space, file_space, H5P_DEFAULT, block.data()),
                where + ": cannot read rows " + std::to_string(first) + ".." +
                    std::to_string(first + count),
                h5::Blame::input);
      block.mark_filled();
      f(block, count);
      first += count;
    }
  };

  // The output's values are contiguous (mappable) by default, so their number is needed before
  // the first is written: a first pass reads the rows only to count them. (H5Dvlen_get_buf_size
  // would answer too, but reads the rows one at a time, several times slower.) Its blocks are
  // small because nothing is known yet about the row lengths.
  std::uint64_t n_values = 0;
  for_each_block(std::uint64_t{1} << 12, [&](const VlenBlock& block, hsize_t count) {
    for (hsize_t i = 0; i < count; ++i) n_values += block[i].len;
  });
  const std::size_t elem = dtype_size(*dtype);
  const std::uint64_t avg_row_bytes = rows > 0 ? n_values * elem / rows + sizeof(hvl_t) : 1;
  const std::uint64_t rows_per_block = std::clamp<std::uint64_t>(
      opts.block_bytes / std::max<std::uint64_t>(avg_row_bytes, 1), 1, std::uint64_t{1} << 20);

  RaggedWriter writer(out_path, *dtype, n_values, opts.writer);
  for_each_block(rows_per_block, [&](const VlenBlock& block, hsize_t count) {
    for (hsize_t i = 0; i < count; ++i) writer.append_row(block[i].p, block[i].len);
  });
  return writer.finish();
}

}  // namespace carlo::io
