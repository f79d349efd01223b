
#include "io/h5.h"

#include <carlo/error.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace carlo::io::h5 {

namespace {
// No library clean-up at exit: carlo closes every file through its handles, and after a failed
// write (a full disk) HDF5 1.10 keeps the dataset whose close failed in its ID table and crashes
// closing it again at exit. Must precede the library's initialisation, hence a static.
const bool kNoCleanupAtExit = [] { return H5dont_atexit() >= 0; }();
}  // namespace

// ---------------------------------------------------------------------------------------------
// Handles and errors
// ---------------------------------------------------------------------------------------------

Id::Id(const Id& other) noexcept : id_(other.id_) {
  if (id_ >= 0 && H5Iinc_ref(id_) < 0) id_ = H5I_INVALID_HID;
}

Id::~Id() { reset(); }

void Id::reset() noexcept {
  if (id_ >= 0) {
    ErrorSilencer quiet;
    H5Idec_ref(id_);  // a failure here cannot be reported from a destructor; nothing to undo
  }
  id_ = H5I_INVALID_HID;
}

ErrorSilencer::ErrorSilencer() noexcept {
  H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

ErrorSilencer::~ErrorSilencer() { H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_); }

namespace {

struct StackText {
  std::string innermost;
  std::string outermost;
};

herr_t collect(unsigned n, const H5E_error2_t* err, void* data) {
  auto* text = static_cast<StackText*>(data);
  std::string desc = err->desc ? err->desc : "";
  // One line, whatever HDF5 put in the description.
  std::replace(desc.begin(), desc.end(), '\n', ' ');
  if (desc.empty()) return 0;
  if (n == 0) text->outermost = desc;
  text->innermost = desc;
  return 0;
}

}  // namespace

std::string error_stack_text() {
  StackText text;
  // Downward: entry 0 is the API call the user made, the last entry the most specific cause.
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &text);
  if (text.innermost.empty()) return text.outermost;
  if (text.outermost.empty() || text.outermost == text.innermost) return text.innermost;
  return text.innermost + " (" + text.outermost + ")";
}

void fail(std::string_view what, Blame blame) {
  std::string msg(what);
  const std::string stack = error_stack_text();
  H5Eclear2(H5E_DEFAULT);
  if (!stack.empty()) msg += ": " + stack;
  if (blame == Blame::input) throw InputError(msg);
  throw SystemError("HDF5: " + msg);
}

Id check_id(hid_t id, std::string_view what, Blame blame) {
  if (id < 0) fail(what, blame);
  return Id(id);
}

void check(herr_t status, std::string_view what, Blame blame) {
  if (status < 0) fail(what, blame);
}

bool check_tri(htri_t status, std::string_view what, Blame blame) {
  if (status < 0) fail(what, blame);
  return status > 0;
}

// ---------------------------------------------------------------------------------------------
// Files and groups
// ---------------------------------------------------------------------------------------------

Id open_file(const std::string& path, bool writable) {
  ErrorSilencer quiet;
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw InputError(path + ": no such file");
  if (std::filesystem::is_directory(status))
    throw InputError(path + ": is a directory, not a file");
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw InputError(path + ": cannot be read (permission denied?)");
  }
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 == 0) throw InputError(path + ": not an HDF5 file");
  check_tri(is_hdf5, path + ": cannot be checked as an HDF5 file", Blame::input);
  return check_id(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT),
                  path + ": cannot open HDF5 file", Blame::input);
}

Id create_file(const std::string& path, bool overwrite) {
  ErrorSilencer quiet;
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec))
    throw InputError(path + ": exists (refusing to overwrite)");
  return check_id(
      H5Fcreate(path.c_str(), overwrite ? H5F_ACC_TRUNC : H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT),
      path + ": cannot create HDF5 file", Blame::input);
}

std::string file_name(hid_t obj) {
  ErrorSilencer quiet;
  const ssize_t n = H5Fget_name(obj, nullptr, 0);
  if (n <= 0) return "?";
  std::string name(static_cast<std::size_t>(n) + 1, '\0');
  H5Fget_name(obj, name.data(), name.size());
  name.resize(static_cast<std::size_t>(n));
  return name;
}

namespace {

// Components of an HDF5 path, ignoring empty ones ("/a//b/" -> a, b).
std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Length of a fixed-width HDF5 string: up to the first NUL (null-terminated or null-padded).
std::size_t fixed_length(const char* s, std::size_t width) {
  const std::string_view v(s, width);
  const std::size_t nul = v.find('\0');
  return nul == std::string_view::npos ? width : nul;
}

}  // namespace

bool exists(hid_t loc, const std::string& path) {
  ErrorSilencer quiet;
  // H5Lexists fails (rather than answering false) when an intermediate group is missing, so walk
  // the path one link at a time.
  std::string prefix = (!path.empty() && path[0] == '/') ? "/" : "";
  for (const std::string& c : components(path)) {
    prefix += (prefix.empty() || prefix.back() == '/') ? c : "/" + c;
    const htri_t e = H5Lexists(loc, prefix.c_str(), H5P_DEFAULT);
    if (e <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
  }
  return true;
}

H5O_type_t object_type(hid_t loc, const std::string& path) {
  if (!exists(loc, path)) return H5O_TYPE_UNKNOWN;
  ErrorSilencer quiet;
  H5O_info_t info;
  if (H5Oget_info_by_name(loc, path.c_str(), &info, H5P_DEFAULT) < 0) {
    H5Eclear2(H5E_DEFAULT);  // e.g. a dangling soft link
    return H5O_TYPE_UNKNOWN;
  }
  return info.type;
}

Id open_group(hid_t loc, const std::string& path) {
  ErrorSilencer quiet;
  return check_id(H5Gopen2(loc, path.c_str(), H5P_DEFAULT), "cannot open group " + path);
}

Id create_group(hid_t loc, const std::string& path) {
  ErrorSilencer quiet;
  if (components(path).empty()) return open_group(loc, path.empty() ? "." : path);
  if (exists(loc, path)) return open_group(loc, path);
  Id lcpl = check_id(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate(link create)");
  check(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group");
  Id gcpl = check_id(H5Pcreate(H5P_GROUP_CREATE), "H5Pcreate(group create)");
  check(H5Pset_obj_track_times(gcpl, 0), "H5Pset_obj_track_times");
  return check_id(H5Gcreate2(loc, path.c_str(), lcpl, gcpl, H5P_DEFAULT),
                  "cannot create group " + path);
}

Id open_dataset(hid_t loc, const std::string& path) {
  ErrorSilencer quiet;
  return check_id(H5Dopen2(loc, path.c_str(), H5P_DEFAULT), "cannot open dataset " + path);
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

Id native_type(DType t) {
  ErrorSilencer quiet;
  hid_t base = visit_dtype(t, [](auto v) { return native_of<decltype(v)>(); });
  return check_id(H5Tcopy(base), "H5Tcopy");
}

std::optional<DType> dtype_of_type(hid_t type) {
  ErrorSilencer quiet;
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT) {
    // Only IEEE binary64/binary32 layouts: a float16 or an exotic 8-byte float is refused.
    const std::size_t precision = H5Tget_precision(type);
    if (size == 8 && precision == 64) return DType::float64;
    if (size == 4 && precision == 32) return DType::float32;
    return std::nullopt;
  }
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (H5Tget_precision(type) != size * 8) return std::nullopt;
    if (is_signed) {
      if (size == 8) return DType::int64;
      if (size == 4) return DType::int32;
      if (size == 1) return DType::int8;
    } else {
      if (size == 4) return DType::uint32;
      if (size == 1) return DType::uint8;
    }
  }
  return std::nullopt;
}

std::string describe_type(hid_t type) {
  ErrorSilencer quiet;
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  const std::string order = H5Tget_order(type) == H5T_ORDER_BE && size > 1 ? "big-endian " : "";
  switch (cls) {
    case H5T_INTEGER:
      return order + (H5Tget_sign(type) == H5T_SGN_2 ? "int" : "uint") + std::to_string(size * 8);
    case H5T_FLOAT: return order + "float" + std::to_string(size * 8);
    case H5T_STRING: return H5Tis_variable_str(type) > 0 ? "variable-length string" : "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    case H5T_OPAQUE: return "opaque";
    case H5T_BITFIELD: return "bitfield";
    case H5T_REFERENCE: return "reference";
    case H5T_TIME: return "time";
    case H5T_VLEN: {
      Id base(H5Tget_super(type));
      return "variable-length of " + (base.valid() ? describe_type(base) : std::string("?"));
    }
    default: return "unknown type";
  }
}

Id vlen_string_type() {
  ErrorSilencer quiet;
  Id t = check_id(H5Tcopy(H5T_C_S1), "H5Tcopy(C string)");
  check(H5Tset_size(t, H5T_VARIABLE), "H5Tset_size(variable)");
  check(H5Tset_cset(t, H5T_CSET_UTF8), "H5Tset_cset(UTF-8)");
  return t;
}

// ---------------------------------------------------------------------------------------------
// 1-D datasets
// ---------------------------------------------------------------------------------------------

Id create_dataset_1d(hid_t loc, const std::string& name, hid_t file_type, std::uint64_t size,
                     const DatasetOptions& opts) {
  ErrorSilencer quiet;
  if (opts.extendible && opts.chunk == 0)
    throw SystemError("HDF5: dataset " + name + ": extendible datasets must be chunked");
  const hsize_t dim = size;
  const hsize_t maxdim = opts.extendible ? H5S_UNLIMITED : dim;
  Id space = check_id(H5Screate_simple(1, &dim, &maxdim), "H5Screate_simple");
  Id dcpl = check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(dataset create)");
  // No modification times: the same contents give a byte-identical file.
  check(H5Pset_obj_track_times(dcpl, 0), "H5Pset_obj_track_times");
  if (opts.chunk > 0) {
    const hsize_t chunk = opts.chunk;
    check(H5Pset_chunk(dcpl, 1, &chunk), "H5Pset_chunk");
    if (opts.gzip_level > 0)
      check(H5Pset_deflate(dcpl, static_cast<unsigned>(opts.gzip_level)), "H5Pset_deflate");
  } else if (opts.allocate_early) {
    check(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
  }
  Id lcpl = check_id(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate(link create)");
  check(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group");
  return check_id(H5Dcreate2(loc, name.c_str(), file_type, space, lcpl, dcpl, H5P_DEFAULT),
                  "cannot create dataset " + name);
}

std::vector<std::uint64_t> dims(hid_t dset) {
  ErrorSilencer quiet;
  Id space = check_id(H5Dget_space(dset), "H5Dget_space");
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) fail("H5Sget_simple_extent_ndims");
  std::vector<hsize_t> d(static_cast<std::size_t>(rank));
  if (rank > 0)
    check(H5Sget_simple_extent_dims(space, d.data(), nullptr), "H5Sget_simple_extent_dims");
  return {d.begin(), d.end()};
}

std::uint64_t length_1d(hid_t dset, const std::string& where) {
  const auto d = dims(dset);
  if (d.size() != 1)
    throw InputError(where + ": rank " + std::to_string(d.size()) + " (expected a 1-D dataset)");
  return d[0];
}

void extend_1d(hid_t dset, std::uint64_t size) {
  ErrorSilencer quiet;
  const hsize_t dim = size;
  check(H5Dset_extent(dset, &dim), "H5Dset_extent");
}

namespace {

// Moves [first, first+count) between a 1-D dataset and memory, no piece above max_piece_bytes.
template <class Transfer>
void in_pieces(hid_t dset, hid_t mem_type, std::uint64_t first, std::uint64_t count,
               std::uint64_t max_piece_bytes, Transfer transfer) {
  if (count == 0) return;
  const std::size_t elem = H5Tget_size(mem_type);
  if (elem == 0) fail("H5Tget_size");
  const std::uint64_t per_piece = std::max<std::uint64_t>(1, max_piece_bytes / elem);
  Id file_space = check_id(H5Dget_space(dset), "H5Dget_space");
  for (std::uint64_t done = 0; done < count;) {
    const hsize_t start = first + done;
    const hsize_t n = std::min(per_piece, count - done);
    check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &start, nullptr, &n, nullptr),
          "H5Sselect_hyperslab");
    Id mem_space = check_id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple");
    transfer(mem_space, file_space, done * elem);
    done += n;
  }
}

}  // namespace

void read_1d(hid_t dset, hid_t mem_type, std::uint64_t first, std::uint64_t count, void* out,
             Blame blame, std::uint64_t max_piece_bytes) {
  ErrorSilencer quiet;
  auto* bytes = static_cast<char*>(out);
  in_pieces(dset, mem_type, first, count, max_piece_bytes,
            [&](hid_t mem_space, hid_t file_space, std::uint64_t byte_offset) {
              check(
                  H5Dread(dset, mem_type, mem_space, file_space, H5P_DEFAULT, bytes + byte_offset),
                  "cannot read elements " + std::to_string(first) + ".." +
                      std::to_string(first + count) + " of a dataset",
                  blame);
            });
}

void write_1d(hid_t dset, hid_t mem_type, std::uint64_t first, std::uint64_t count,
              const void* data, std::uint64_t max_piece_bytes) {
  ErrorSilencer quiet;
  const auto* bytes = static_cast<const char*>(data);
  in_pieces(dset, mem_type, first, count, max_piece_bytes,
            [&](hid_t mem_space, hid_t file_space, std::uint64_t byte_offset) {
              check(
                  H5Dwrite(dset, mem_type, mem_space, file_space, H5P_DEFAULT, bytes + byte_offset),
                  "cannot write elements " + std::to_string(first) + ".." +
                      std::to_string(first + count) + " of a dataset");
            });
}

namespace {

// Selects rows [first, first+count) of all `width` columns of a 2-D dataset.
Id row_selection(hid_t dset, std::uint64_t width, std::uint64_t first, std::uint64_t count) {
  Id file_space = check_id(H5Dget_space(dset), "H5Dget_space");
  const hsize_t start[2] = {first, 0};
  const hsize_t extent[2] = {count, width};
  check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, extent, nullptr),
        "H5Sselect_hyperslab");
  return file_space;
}

}  // namespace

void read_rows(hid_t dset, std::uint64_t width, std::uint64_t first, std::uint64_t count,
               double* out, Blame blame) {
  if (count == 0 || width == 0) return;
  ErrorSilencer quiet;
  Id file_space = row_selection(dset, width, first, count);
  const hsize_t n = count * width;
  Id mem_space = check_id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple");
  check(H5Dread(dset, H5T_NATIVE_DOUBLE, mem_space, file_space, H5P_DEFAULT, out),
        "cannot read rows " + std::to_string(first) + ".." + std::to_string(first + count) +
            " of a dataset",
        blame);
}

void write_rows(hid_t dset, std::uint64_t width, std::uint64_t first, std::uint64_t count,
                const double* data) {
  if (count == 0 || width == 0) return;
  ErrorSilencer quiet;
  Id file_space = row_selection(dset, width, first, count);
  const hsize_t n = count * width;
  Id mem_space = check_id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple");
  check(H5Dwrite(dset, H5T_NATIVE_DOUBLE, mem_space, file_space, H5P_DEFAULT, data),
        "cannot write rows " + std::to_string(first) + ".." + std::to_string(first + count) +
            " of a dataset");
}

void read_columns(hid_t dset, std::uint64_t width, std::uint64_t first, std::uint64_t count,
                  double* out, Blame blame) {
  if (dims(dset).size() == 1) {
    read_1d(dset, H5T_NATIVE_DOUBLE, first, count, out, blame);
    return;
  }
  std::vector<double> rows(static_cast<std::size_t>(count * width));
  read_rows(dset, width, first, count, rows.data(), blame);
  for (std::uint64_t i = 0; i < count; ++i)
    for (std::uint64_t c = 0; c < width; ++c) out[c * count + i] = rows[i * width + c];
}

void write_columns(hid_t dset, std::uint64_t width, std::uint64_t first, std::uint64_t count,
                   const double* data) {
  if (dims(dset).size() == 1) {
    write_1d(dset, H5T_NATIVE_DOUBLE, first, count, data);
    return;
  }
  std::vector<double> rows(static_cast<std::size_t>(count * width));
  for (std::uint64_t i = 0; i < count; ++i)
    for (std::uint64_t c = 0; c < width; ++c) rows[i * width + c] = data[c * count + i];
  write_rows(dset, width, first, count, rows.data());
}

Id write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& strings) {
  ErrorSilencer quiet;
  Id type = vlen_string_type();
  Id d = create_dataset_1d(loc, name, type, strings.size(), DatasetOptions{0, 0, false, false});
  if (!strings.empty()) {
    std::vector<const char*> ptrs;
    ptrs.reserve(strings.size());
    for (const auto& s : strings) ptrs.push_back(s.c_str());
    check(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "cannot write " + name);
  }
  return d;
}

std::vector<std::string> read_strings(hid_t loc, const std::string& name) {
  ErrorSilencer quiet;
  Id d = open_dataset(loc, name);
  const std::uint64_t n = length_1d(d, name);
  Id file_type = check_id(H5Dget_type(d), "H5Dget_type");
  if (H5Tget_class(file_type) != H5T_STRING)
    throw InputError(file_name(d) + ":" + name + ": expected strings, found " +
                     describe_type(file_type));
  std::vector<std::string> out;
  out.reserve(n);
  if (n == 0) return out;
  if (H5Tis_variable_str(file_type) > 0) {
    Id mem = vlen_string_type();
    std::vector<char*> ptrs(n, nullptr);
    check(H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "cannot read " + name);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    Id space = check_id(H5Dget_space(d), "H5Dget_space");
    H5Dvlen_reclaim(mem, space, H5P_DEFAULT, ptrs.data());
  } else {
    const std::size_t width = H5Tget_size(file_type);
    Id mem = check_id(H5Tcopy(H5T_C_S1), "H5Tcopy");
    check(H5Tset_size(mem, width), "H5Tset_size");
    std::vector<char> buf(n * width);
    check(H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), "cannot read " + name);
    for (std::uint64_t i = 0; i < n; ++i) {
      const char* s = buf.data() + i * width;
      out.emplace_back(s, fixed_length(s, width));
    }
  }
  return out;
}

Storage storage(hid_t dset) {
  ErrorSilencer quiet;
  Storage s;
  Id dcpl = check_id(H5Dget_create_plist(dset), "H5Dget_create_plist");
  const H5D_layout_t layout = H5Pget_layout(dcpl);
  const int nfilters = H5Pget_nfilters(dcpl);
  const int nexternal = H5Pget_external_count(dcpl);
  switch (layout) {
    case H5D_CONTIGUOUS: s.layout = nexternal > 0 ? "external" : "contiguous"; break;
    case H5D_CHUNKED: s.layout = "chunked"; break;
    case H5D_COMPACT: s.layout = "compact"; break;
    case H5D_VIRTUAL: s.layout = "virtual"; break;
    default: s.layout = "unknown"; break;
  }
  for (int i = 0; i < nfilters; ++i) {
    unsigned flags = 0;
    std::size_t n_values = 0;
    char name[64] = {0};
    unsigned config = 0;
    const H5Z_filter_t f = H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &n_values,
                                          nullptr, sizeof name, name, &config);
    if (f == H5Z_FILTER_DEFLATE) s.layout += "+gzip";
    else if (f == H5Z_FILTER_SHUFFLE) s.layout += "+shuffle";
    else if (f == H5Z_FILTER_FLETCHER32) s.layout += "+fletcher32";
    else if (f == H5Z_FILTER_SZIP) s.layout += "+szip";
    else s.layout += "+filter" + std::to_string(f);
  }
  s.contiguous = layout == H5D_CONTIGUOUS && nfilters == 0 && nexternal == 0;
  if (s.contiguous) {
    const haddr_t addr = H5Dget_offset(dset);
    H5Eclear2(H5E_DEFAULT);
    if (addr != HADDR_UNDEF) s.file_offset = addr;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------------------------

bool has_attr(hid_t obj, const std::string& name, Blame blame) {
  ErrorSilencer quiet;
  return check_tri(H5Aexists(obj, name.c_str()), "H5Aexists " + name, blame);
}

namespace {

void write_attr_raw(hid_t obj, const std::string& name, hid_t type, const void* value) {
  ErrorSilencer quiet;
  if (has_attr(obj, name)) check(H5Adelete(obj, name.c_str()), "cannot replace attribute " + name);
  Id space = check_id(H5Screate(H5S_SCALAR), "H5Screate(scalar)");
  Id attr = check_id(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                     "cannot create attribute " + name);
  check(H5Awrite(attr, type, value), "cannot write attribute " + name);
}

// Opens attribute `name` if present, with its type.
std::optional<std::pair<Id, Id>> open_attr(hid_t obj, const std::string& name) {
  if (!has_attr(obj, name)) return std::nullopt;
  Id attr = check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "cannot open attribute " + name,
                     Blame::input);
  Id type = check_id(H5Aget_type(attr), "H5Aget_type");
  return std::make_pair(std::move(attr), std::move(type));
}

std::string attr_where(hid_t obj, const std::string& name) {
  ErrorSilencer quiet;
  std::string object = "/";
  const ssize_t n = H5Iget_name(obj, nullptr, 0);
  if (n > 0) {
    object.assign(static_cast<std::size_t>(n) + 1, '\0');
    H5Iget_name(obj, object.data(), object.size());
    object.resize(static_cast<std::size_t>(n));
  }
  return file_name(obj) + ":" + object + " attribute '" + name + "'";
}

template <class T>
std::optional<T> read_attr_number(hid_t obj, const std::string& name) {
  ErrorSilencer quiet;
  auto a = open_attr(obj, name);
  if (!a) return std::nullopt;
  const H5T_class_t cls = H5Tget_class(a->second);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    throw InputError(attr_where(obj, name) + ": expected a number, found " +
                     describe_type(a->second));
  Id space = check_id(H5Aget_space(a->first), "H5Aget_space");
  if (H5Sget_simple_extent_npoints(space) != 1)
    throw InputError(attr_where(obj, name) + ": expected a single value");
  T value{};
  check(H5Aread(a->first, native_of<T>(), &value), attr_where(obj, name) + ": cannot read",
        Blame::input);
  return value;
}

}  // namespace

void write_attr(hid_t obj, const std::string& name, std::string_view value) {
  Id type = vlen_string_type();
  const std::string copy(value);
  const char* p = copy.c_str();
  write_attr_raw(obj, name, type, &p);
}
void write_attr(hid_t obj, const std::string& name, const char* value) {
  write_attr(obj, name, std::string_view(value));
}
void write_attr(hid_t obj, const std::string& name, std::int64_t value) {
  write_attr_raw(obj, name, H5T_NATIVE_INT64, &value);
}
void write_attr(hid_t obj, const std::string& name, std::uint64_t value) {
  write_attr_raw(obj, name, H5T_NATIVE_UINT64, &value);
}
void write_attr(hid_t obj, const std::string& name, double value) {
  write_attr_raw(obj, name, H5T_NATIVE_DOUBLE, &value);
}

namespace {

void write_attr_array(hid_t obj, const std::string& name, hid_t type, const void* values,
                      std::size_t n) {
  ErrorSilencer quiet;
  if (has_attr(obj, name)) check(H5Adelete(obj, name.c_str()), "cannot replace attribute " + name);
  const hsize_t dim = n;
  Id space = check_id(H5Screate_simple(1, &dim, nullptr), "H5Screate_simple");
  Id attr = check_id(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                     "cannot create attribute " + name);
  check(H5Awrite(attr, type, values), "cannot write attribute " + name);
}

}  // namespace

void write_attr(hid_t obj, const std::string& name, const std::vector<double>& values) {
  write_attr_array(obj, name, H5T_NATIVE_DOUBLE, values.data(), values.size());
}
void write_attr(hid_t obj, const std::string& name, const std::vector<std::uint64_t>& values) {
  write_attr_array(obj, name, H5T_NATIVE_UINT64, values.data(), values.size());
}

std::optional<std::vector<double>> read_attr_doubles(hid_t obj, const std::string& name) {
  ErrorSilencer quiet;
  auto a = open_attr(obj, name);
  if (!a) return std::nullopt;
  const H5T_class_t cls = H5Tget_class(a->second);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    throw InputError(attr_where(obj, name) + ": expected numbers, found " +
                     describe_type(a->second));
  Id space = check_id(H5Aget_space(a->first), "H5Aget_space");
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) throw InputError(attr_where(obj, name) + ": cannot size");
  std::vector<double> values(static_cast<std::size_t>(n));
  check(H5Aread(a->first, H5T_NATIVE_DOUBLE, values.data()),
        attr_where(obj, name) + ": cannot read", Blame::input);
  return values;
}

std::optional<std::string> read_attr_string(hid_t obj, const std::string& name) {
  ErrorSilencer quiet;
  auto a = open_attr(obj, name);
  if (!a) return std::nullopt;
  hid_t type = a->second;
  if (H5Tget_class(type) != H5T_STRING)
    throw InputError(attr_where(obj, name) + ": expected a string, found " + describe_type(type));
  Id space = check_id(H5Aget_space(a->first), "H5Aget_space");
  if (H5Sget_simple_extent_npoints(space) != 1)
    throw InputError(attr_where(obj, name) + ": expected a single string");
  if (H5Tis_variable_str(type) > 0) {
    Id mem = vlen_string_type();
    char* p = nullptr;
    check(H5Aread(a->first, mem, &p), attr_where(obj, name) + ": cannot read", Blame::input);
    std::string out = p ? p : "";
    H5free_memory(p);
    return out;
  }
  const std::size_t width = H5Tget_size(type);
  Id mem = check_id(H5Tcopy(H5T_C_S1), "H5Tcopy");
  check(H5Tset_size(mem, width), "H5Tset_size");
  std::string buf(width, '\0');
  check(H5Aread(a->first, mem, buf.data()), attr_where(obj, name) + ": cannot read", Blame::input);
  buf.resize(fixed_length(buf.data(), width));
  return buf;
}

std::optional<std::int64_t> read_attr_int(hid_t obj, const std::string& name) {
  return read_attr_number<std::int64_t>(obj, name);
}
std::optional<std::uint64_t> read_attr_uint(hid_t obj, const std::string& name) {
  return read_attr_number<std::uint64_t>(obj, name);
}
std::optional<double> read_attr_double(hid_t obj, const std::string& name) {
  return read_attr_number<double>(obj, name);
}

}  // namespace carlo::io::h5
