#include "io/ragged_file.h"
#include "io/h5.h"

#include <carlo/error.h>
#include <carlo/ragged.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace carlo::io {

namespace {

constexpr std::uint64_t kMaxPieceBytes = std::uint64_t{1} << 30;

// "/" or "/a/b" (leading slash, no trailing one), so messages read "file.h5:/a/b/values".
std::string normalize_group(const std::string& group) {
  std::string g = group.empty() || group[0] != '/' ? "/" + group : group;
  while (g.size() > 1 && g.back() == '/') g.pop_back();
  return g;
}

std::string object_path(const std::string& group, const std::string& name) {
  return group == "/" ? "/" + name : group + "/" + name;
}

// A read that fails half-way through a file (a corrupt compressed chunk, a file cut short after
// it was opened) is the file's fault: say which file and object.
void read_from(const std::string& where, hid_t dset, hid_t mem_type, std::uint64_t first,
               std::uint64_t count, void* out) {
  try {
    h5::read_1d(dset, mem_type, first, count, out, h5::Blame::input, kMaxPieceBytes);
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------

struct RaggedReader::Impl {
  RaggedInfo info;
  h5::Id file;
  h5::Id values;
  h5::Id offsets;
  h5::Id values_mem_type;
  std::string values_where;   // "file.h5:/values"
  std::string offsets_where;  // "file.h5:/offsets"

  // Opens `name` in the group and checks it is a 1-D dataset; returns it and its length.
  std::pair<h5::Id, std::uint64_t> open_1d(hid_t group, const std::string& name,
                                           const std::string& where) {
    const H5O_type_t kind = h5::object_type(group, name);
    if (kind == H5O_TYPE_UNKNOWN)
      throw InputError(where + ": missing (a ragged array needs datasets 'values' and 'offsets')");
    if (kind != H5O_TYPE_DATASET) throw InputError(where + ": is not a dataset");
    h5::Id d = h5::check_id(H5Dopen2(group, name.c_str(), H5P_DEFAULT), where + ": cannot open",
                            h5::Blame::input);
    const std::uint64_t n = h5::length_1d(d, where);
    return {std::move(d), n};
  }
};

namespace {

/// Whether the bytes HDF5 reads for the first and last values of a contiguous dataset are the
/// file's bytes at `offset`, where the window load copies (and `--share mmap` maps) them from.
/// A file whose superblock has an unusual base address (found by fuzz_ragged_file) can make
/// H5Dget_offset point elsewhere: then carlo would compute on other values than h5py shows.
bool raw_bytes_match(const std::string& path, hid_t values, hid_t file_type, std::uint64_t offset,
                     std::uint64_t n_values, std::size_t value_size) {
  const std::uint64_t probe = std::min<std::uint64_t>(n_values, 512);
  std::vector<std::byte> via_hdf5(static_cast<std::size_t>(probe) * value_size);
  std::vector<std::byte> raw(via_hdf5.size());
  std::ifstream file(path, std::ios::binary);
  for (const std::uint64_t first : {std::uint64_t{0}, n_values - probe}) {
    h5::read_1d(values, file_type, first, probe, via_hdf5.data(), h5::Blame::input);
    file.seekg(static_cast<std::streamoff>(offset + first * value_size));
    file.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
    if (!file || raw != via_hdf5) return false;
  }
  return true;
}

}  // namespace

RaggedReader::RaggedReader(const std::string& path, const std::string& group)
    : impl_(std::make_unique<Impl>()) {
  h5::ErrorSilencer quiet;
  Impl& m = *impl_;
  m.info.path = path;
  m.info.group = normalize_group(group);
  m.values_where = path + ":" + object_path(m.info.group, "values");
  m.offsets_where = path + ":" + object_path(m.info.group, "offsets");

  m.file = h5::open_file(path);
  if (m.info.group != "/") {
    const H5O_type_t kind = h5::object_type(m.file, m.info.group);
    if (kind == H5O_TYPE_UNKNOWN) throw InputError(path + ":" + m.info.group + ": no such group");
    if (kind != H5O_TYPE_GROUP) throw InputError(path + ":" + m.info.group + ": is not a group");
  }
  h5::Id grp = h5::check_id(H5Gopen2(m.file, m.info.group.c_str(), H5P_DEFAULT),
                            path + ":" + m.info.group + ": cannot open group", h5::Blame::input);

  auto [values, n_values] = m.open_1d(grp, "values", m.values_where);
  auto [offsets, n_offsets] = m.open_1d(grp, "offsets", m.offsets_where);
  m.values = std::move(values);
  m.offsets = std::move(offsets);

  h5::Id vtype = h5::check_id(H5Dget_type(m.values), m.values_where + ": cannot read its type",
                              h5::Blame::input);
  const auto dtype = h5::dtype_of_type(vtype);
  if (!dtype)
    throw InputError(m.values_where + ": unsupported type " + h5::describe_type(vtype) +
                     " (expected float64, float32, int64, int32, uint32, int8 or uint8)");
  m.info.dtype = *dtype;
  m.values_mem_type = h5::native_type(*dtype);
  // Single bytes have no byte order, whatever the file's type says.
  m.info.values_native_order =
      dtype_size(*dtype) == 1 ||
      h5::check_tri(H5Tequal(vtype, m.values_mem_type), "H5Tequal", h5::Blame::input);

  h5::Id otype = h5::check_id(H5Dget_type(m.offsets), m.offsets_where + ": cannot read its type",
                              h5::Blame::input);
  if (H5Tget_class(otype) != H5T_INTEGER)
    throw InputError(m.offsets_where + ": unsupported type " + h5::describe_type(otype) +
                     " (expected uint64 or int64)");
  m.info.offsets_signed = H5Tget_sign(otype) == H5T_SGN_2;
  if (n_offsets == 0)
    throw InputError(m.offsets_where + ": has 0 entries (needs rows+1, at least 1)");
  m.info.rows = n_offsets - 1;
  m.info.n_values = n_values;

  const h5::Storage st = h5::storage(m.values);
  m.info.values_layout = st.layout;
  m.info.values_contiguous = st.contiguous && st.file_offset.has_value();
  m.info.values_file_offset = st.file_offset.value_or(0);
  if (m.info.values_contiguous && n_values > 0 &&
      !raw_bytes_match(path, m.values, vtype, m.info.values_file_offset, n_values,
                       dtype_size(*dtype))) {
    m.info.values_contiguous = false;  // read through HDF5, never copied from the file directly
    m.info.values_layout += " (not at the file offset HDF5 reports)";
  }
  try {  // a damaged attribute message is the file's fault (found by fuzz_ragged_file)
    m.info.has_format_attribute = h5::has_attr(grp, "format", h5::Blame::input);
  } catch (const InputError& e) {
    throw InputError(path + ":" + m.info.group + ": attribute 'format': " + e.what());
  }
}

RaggedReader::~RaggedReader() = default;
RaggedReader::RaggedReader(RaggedReader&&) noexcept = default;
RaggedReader& RaggedReader::operator=(RaggedReader&&) noexcept = default;

const RaggedInfo& RaggedReader::info() const noexcept { return impl_->info; }

void RaggedReader::read_offsets(std::span<std::uint64_t> out) const {
  const Impl& m = *impl_;
  if (out.size() != m.info.rows + 1)
    throw SystemError("RaggedReader::read_offsets: buffer has " + std::to_string(out.size()) +
                      " entries, " + m.offsets_where + " has " + std::to_string(m.info.rows + 1));
  // Signed offsets are read as int64 into the same memory: non-negative values have the same bits
  // as uint64, and reading them as uint64 would let HDF5 clamp negatives to 0 silently.
  read_from(m.offsets_where, m.offsets,
            m.info.offsets_signed ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64, 0, out.size(),
            out.data());
  if (m.info.offsets_signed) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i] >> 63) {
        std::int64_t v;
        std::memcpy(&v, &out[i], sizeof v);
        throw InputError(m.offsets_where + ": offsets[" + std::to_string(i) + "] is negative (" +
                         std::to_string(v) + ")");
      }
    }
  }
  validate_offsets(out, m.info.n_values, m.offsets_where);
}

void RaggedReader::read_values(std::uint64_t first, std::uint64_t count, void* out) const {
  const Impl& m = *impl_;
  if (first > m.info.n_values || count > m.info.n_values - first)
    throw SystemError("RaggedReader::read_values: elements " + std::to_string(first) + ".." +
                      std::to_string(first + count) + " are outside " + m.values_where + " (" +
                      std::to_string(m.info.n_values) + " elements)");
  read_from(m.values_where, m.values, m.values_mem_type, first, count, out);
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

namespace {
constexpr std::size_t kValueBufferBytes = std::size_t{8} << 20;
constexpr std::size_t kOffsetBufferEntries = std::size_t{1} << 16;
// 64 KiB chunks: small files stay small, big ones get a few thousand chunks.
constexpr std::uint64_t kOffsetChunkEntries = std::uint64_t{1} << 13;
}  // namespace

struct RaggedWriter::Impl {
  std::string path;
  std::string group;
  DType dtype;
  std::size_t elem;
  Options opts;
  std::uint64_t capacity;  // contiguous: the fixed size of `values`
  h5::Id file;
  h5::Id grp;
  h5::Id values;
  h5::Id offsets;
  h5::Id mem_type;

  std::vector<char> value_buf;            // values not yet written
  std::uint64_t values_written = 0;       // values already in the file
  std::uint64_t values_total = 0;         // written + buffered
  std::uint64_t row_end = 0;              // values_total at the last end_row
  std::vector<std::uint64_t> offset_buf;  // offsets not yet written
  std::uint64_t offsets_written = 0;
  bool finished = false;

  std::string where(const std::string& name) const { return path + ":" + object_path(group, name); }

  void flush_values() {
    const std::uint64_t n = value_buf.size() / elem;
    if (n == 0) return;
    write_values(value_buf.data(), n);
    value_buf.clear();
  }

  // Writes n values straight to the file after those already there.
  void write_values(const void* data, std::uint64_t n) {
    if (opts.chunk_values > 0) h5::extend_1d(values, values_written + n);
    h5::write_1d(values, mem_type, values_written, n, data, kMaxPieceBytes);
    values_written += n;
  }

  void flush_offsets() {
    if (offset_buf.empty()) return;
    h5::extend_1d(offsets, offsets_written + offset_buf.size());
    h5::write_1d(offsets, H5T_NATIVE_UINT64, offsets_written, offset_buf.size(), offset_buf.data(),
                 kMaxPieceBytes);
    offsets_written += offset_buf.size();
    offset_buf.clear();
  }

  void append(const void* data, std::uint64_t count) {
    if (finished) throw SystemError("RaggedWriter: " + path + " is already finished");
    if (opts.chunk_values == 0 && count > capacity - values_total)
      throw SystemError("RaggedWriter: " + where("values") + " is contiguous with " +
                        std::to_string(capacity) +
                        " elements (n_values_hint) but more were appended");
    const std::uint64_t bytes = count * elem;
    if (value_buf.size() + bytes <= kValueBufferBytes) {
      const auto* p = static_cast<const char*>(data);
      value_buf.insert(value_buf.end(), p, p + bytes);
    } else {
      // A large block goes straight to the file rather than through the buffer.
      flush_values();
      write_values(data, count);
    }
    values_total += count;
  }

  void discard() noexcept {
    values.reset();
    offsets.reset();
    grp.reset();
    mem_type.reset();
    file.reset();
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

RaggedWriter::RaggedWriter(const std::string& path, DType dtype, std::uint64_t n_values_hint,
                           Options opts)
    : impl_(std::make_unique<Impl>()) {
  h5::ErrorSilencer quiet;
  Impl& m = *impl_;
  m.path = path;
  m.group = normalize_group(opts.group);
  m.dtype = dtype;
  m.elem = dtype_size(dtype);
  m.opts = opts;
  m.capacity = n_values_hint;
  m.file = h5::create_file(path, opts.overwrite);
  try {
    m.grp = h5::create_group(m.file, m.group);
    m.mem_type = h5::native_type(dtype);
    h5::DatasetOptions vopts;
    if (opts.chunk_values > 0) {
      vopts.chunk = opts.chunk_values;
      vopts.gzip_level = opts.gzip_level;
      vopts.extendible = true;
    }
    m.values = h5::create_dataset_1d(m.grp, "values", m.mem_type,
                                     opts.chunk_values > 0 ? 0 : n_values_hint, vopts);
    h5::DatasetOptions oopts;
    oopts.chunk = kOffsetChunkEntries;
    oopts.gzip_level = opts.chunk_values > 0 ? opts.gzip_level : 0;
    oopts.extendible = true;
    m.offsets = h5::create_dataset_1d(m.grp, "offsets", H5T_NATIVE_UINT64, 0, oopts);
    m.value_buf.reserve(kValueBufferBytes);
    m.offset_buf.reserve(kOffsetBufferEntries);
    m.offset_buf.push_back(0);
  } catch (...) {
    m.discard();
    throw;
  }
}

RaggedWriter::~RaggedWriter() {
  if (impl_ && !impl_->finished) impl_->discard();
}
RaggedWriter::RaggedWriter(RaggedWriter&&) noexcept = default;
RaggedWriter& RaggedWriter::operator=(RaggedWriter&& other) noexcept {
  if (this != &other) {
    if (impl_ && !impl_->finished) impl_->discard();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

void RaggedWriter::append_values(const void* data, std::uint64_t count) {
  h5::ErrorSilencer quiet;
  impl_->append(data, count);
}

void RaggedWriter::end_row() {
  h5::ErrorSilencer quiet;
  Impl& m = *impl_;
  if (m.finished) throw SystemError("RaggedWriter: " + m.path + " is already finished");
  m.offset_buf.push_back(m.values_total);
  m.row_end = m.values_total;
  if (m.offset_buf.size() == kOffsetBufferEntries) m.flush_offsets();
}

void RaggedWriter::append_row(const void* data, std::uint64_t count) {
  append_values(data, count);
  end_row();
}

RaggedInfo RaggedWriter::finish() {
  h5::ErrorSilencer quiet;
  Impl& m = *impl_;
  if (m.finished) throw SystemError("RaggedWriter: " + m.path + " is already finished");
  if (m.row_end != m.values_total)
    throw SystemError("RaggedWriter::finish: " + m.where("values") + " has " +
                      std::to_string(m.values_total - m.row_end) +
                      " values after the last end_row()");
  if (m.opts.chunk_values == 0 && m.values_total != m.capacity)
    throw SystemError("RaggedWriter::finish: " + m.where("values") + " is contiguous with " +
                      std::to_string(m.capacity) + " elements (n_values_hint) but " +
                      std::to_string(m.values_total) + " were appended");
  m.flush_values();
  m.flush_offsets();
  h5::write_attr(m.grp, "format", "carlo.ragged");
  h5::write_attr(m.grp, "version", std::int64_t{1});
  h5::check(H5Fflush(m.file, H5F_SCOPE_GLOBAL), m.path + ": cannot flush");
  m.values.reset();
  m.offsets.reset();
  m.grp.reset();
  m.mem_type.reset();
  // Closing explicitly (not just dropping the reference) so a failed final write is reported.
  m.finished = true;
  h5::check(H5Fclose(m.file.release()), m.path + ": cannot close");
  return RaggedReader(m.path, m.group).info();
}

}  // namespace carlo::io
