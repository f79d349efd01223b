#pragma once
/// \file
/// A small HighFive-like layer over the HDF5 C API, private to src/io/ (the only code allowed to
/// include <hdf5.h>). Three parts:
///   - `Id`: a handle whose copy / move / destruction manage the `hid_t` reference count, so no
///     HDF5 object leaks on an exception;
///   - checked wrappers: every failing call throws carlo::SystemError (or InputError when the
///     caller says the failure is the user's input) with the HDF5 error stack collected by
///     H5Ewalk2 into one line;
///   - helpers for the few operations carlo needs: files, groups, 1-D datasets read and written by
///     hyperslab in pieces of at most 2^30 bytes, scalar attributes, string datasets, and the
///     mapping between carlo::DType and HDF5 types.
///
/// Every helper silences HDF5's automatic error printing while it runs (`ErrorSilencer`), so a
/// failure reaches the user as one exception message and never as an HDF5 stack dump on stderr.
/// Code calling the raw C API itself should hold an `ErrorSilencer`.
///
/// Thread safety: the installed HDF5 is built thread-safe, but carlo uses HDF5 from one thread
/// per process; nothing here adds locking.
#include <carlo/dtype.h>

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace carlo::io::h5 {

/// Who is to blame when an HDF5 call fails: the user's file (InputError) or the system.
enum class Blame { input, system };

/// Owns one reference to an HDF5 identifier. Copying adds a reference (H5Iinc_ref), destruction
/// drops one (H5Idec_ref); the object closes when the last reference goes. Never wrap the
/// library's predefined ids (H5T_NATIVE_*, H5P_DEFAULT): they are not reference counted by us.
class Id {
 public:
  Id() noexcept = default;
  /// Takes ownership of one reference to `id` (which must be valid, or negative for "none").
  explicit Id(hid_t id) noexcept : id_(id) {}
  Id(const Id& other) noexcept;
  Id(Id&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  Id& operator=(Id other) noexcept {
    std::swap(id_, other.id_);
    return *this;
  }
  ~Id();

  hid_t get() const noexcept { return id_; }
  operator hid_t() const noexcept { return id_; }  // NOLINT: lets Ids go straight into C calls
  bool valid() const noexcept { return id_ >= 0; }
  /// Drops this reference now (destructor semantics), leaving the Id empty.
  void reset() noexcept;
  /// Gives up ownership: the caller now owns the reference (e.g. to close it with a checked call).
  hid_t release() noexcept { return std::exchange(id_, H5I_INVALID_HID); }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

/// Turns off HDF5's automatic error printing for the current thread while alive, restoring the
/// previous handler afterwards. Nestable.
class ErrorSilencer {
 public:
  ErrorSilencer() noexcept;
  ~ErrorSilencer();
  ErrorSilencer(const ErrorSilencer&) = delete;
  ErrorSilencer& operator=(const ErrorSilencer&) = delete;

 private:
  H5E_auto2_t old_func_ = nullptr;
  void* old_data_ = nullptr;
};

/// The current thread's HDF5 error stack as one line: the innermost (most specific) description,
/// then the outermost if different. Empty if the stack is empty.
std::string error_stack_text();

/// Throws SystemError or InputError "what: <HDF5 error stack text>".
[[noreturn]] void fail(std::string_view what, Blame blame = Blame::system);

/// Checked wrappers: throw via `fail` when the C call reported failure (negative result).
Id check_id(hid_t id, std::string_view what, Blame blame = Blame::system);
void check(herr_t status, std::string_view what, Blame blame = Blame::system);
bool check_tri(htri_t status, std::string_view what, Blame blame = Blame::system);

// ---------------------------------------------------------------------------------------------
// Files and groups
// ---------------------------------------------------------------------------------------------

/// Opens an existing file. A missing file, a file that is not HDF5 and a damaged or truncated file
/// are InputErrors "path: problem".
Id open_file(const std::string& path, bool writable = false);
/// Creates a file. An existing path is an InputError unless `overwrite` (then it is truncated).
Id create_file(const std::string& path, bool overwrite);
/// Name of the file holding `obj`, for messages.
std::string file_name(hid_t obj);

/// True if every component of the absolute or relative `path` exists below `loc` (and "/" always).
bool exists(hid_t loc, const std::string& path);
/// Kind of the object at `path` below `loc` (H5O_TYPE_GROUP, H5O_TYPE_DATASET, ...), or
/// H5O_TYPE_UNKNOWN when there is none.
H5O_type_t object_type(hid_t loc, const std::string& path);
Id open_group(hid_t loc, const std::string& path);
/// Creates `path` and any missing intermediate groups; returns the existing group for "/".
Id create_group(hid_t loc, const std::string& path);
Id open_dataset(hid_t loc, const std::string& path);

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// A fresh copy of the native HDF5 type of `t`.
Id native_type(DType t);
/// The native HDF5 type (predefined, not owned) of a C++ element type.
template <class T>
hid_t native_of();
/// The DType an HDF5 type can be read as without loss (class, size and sign match one of the
/// seven element types, any byte order); nullopt otherwise (float16, strings, compounds...).
std::optional<DType> dtype_of_type(hid_t type);
/// Short description of an HDF5 type for messages: "float64", "big-endian int32", "float16",
/// "string", "compound", "variable-length of float64", ...
std::string describe_type(hid_t type);
/// Variable-length UTF-8 string type.
Id vlen_string_type();

// ---------------------------------------------------------------------------------------------
// 1-D datasets
// ---------------------------------------------------------------------------------------------

struct DatasetOptions {
  std::uint64_t chunk = 0;  ///< 0: contiguous with fixed size; else chunk length (elements)
  int gzip_level = 0;       ///< 0: no compression; chunked only
  bool extendible = false;  ///< unlimited maximum size (requires chunk > 0)
  /// Contiguous storage is allocated at creation so its file offset is known for mapping.
  bool allocate_early = true;
};

/// Creates a 1-D dataset of `size` elements of `file_type`.
Id create_dataset_1d(hid_t loc, const std::string& name, hid_t file_type, std::uint64_t size,
                     const DatasetOptions& opts = {});
/// Dimensions of a dataset's dataspace (empty for a scalar).
std::vector<std::uint64_t> dims(hid_t dset);
/// Length of a 1-D dataset; InputError "<where>: rank N (expected a 1-D dataset)" otherwise.
std::uint64_t length_1d(hid_t dset, const std::string& where);
/// Grows an extendible 1-D dataset to `size` elements.
void extend_1d(hid_t dset, std::uint64_t size);

/// Reads elements [first, first+count) of a 1-D dataset, converted to `mem_type`, into `out`.
/// Splits the transfer so no single H5Dread moves more than `max_piece_bytes`.
void read_1d(hid_t dset, hid_t mem_type, std::uint64_t first, std::uint64_t count, void* out,
             Blame blame = Blame::system, std::uint64_t max_piece_bytes = std::uint64_t{1} << 30);
/// Writes elements [first, first+count) of a 1-D dataset from `data` of `mem_type`, in pieces.
void write_1d(hid_t dset, hid_t mem_type, std::uint64_t first, std::uint64_t count,
              const void* data, std::uint64_t max_piece_bytes = std::uint64_t{1} << 30);

/// Reads rows [first, first+count) of a 2-D float64 dataset of `width` columns into `out`,
/// row-major (count * width doubles).
void read_rows(hid_t dset, std::uint64_t width, std::uint64_t first, std::uint64_t count,
               double* out, Blame blame = Blame::system);
/// Writes rows [first, first+count) of a 2-D float64 dataset of `width` columns from `data`.
void write_rows(hid_t dset, std::uint64_t width, std::uint64_t first, std::uint64_t count,
                const double* data);

/// Reads tasks [first, first+count) of an observation dataset, float64[T] or float64[T, width],
/// into `out` column-major: out[c * count + i] is column c of task first+i.
void read_columns(hid_t dset, std::uint64_t width, std::uint64_t first, std::uint64_t count,
                  double* out, Blame blame = Blame::system);
/// Writes them from `data`, laid out as read_columns reads them.
void write_columns(hid_t dset, std::uint64_t width, std::uint64_t first, std::uint64_t count,
                   const double* data);

template <class T>
void read_1d(hid_t dset, std::uint64_t first, std::uint64_t count, T* out) {
  read_1d(dset, native_of<T>(), first, count, out);
}
template <class T>
void write_1d(hid_t dset, std::uint64_t first, std::uint64_t count, const T* data) {
  write_1d(dset, native_of<T>(), first, count, data);
}
/// Creates a contiguous 1-D dataset holding `data` (native type of T).
template <class T>
Id write_dataset(hid_t loc, const std::string& name, const std::vector<T>& data) {
  Id d = create_dataset_1d(loc, name, native_of<T>(), data.size());
  if (!data.empty()) write_1d(d, 0, data.size(), data.data());
  return d;
}
/// Reads a whole 1-D dataset as T.
template <class T>
std::vector<T> read_dataset(hid_t loc, const std::string& name) {
  Id d = open_dataset(loc, name);
  std::vector<T> out(length_1d(d, name));
  if (!out.empty()) read_1d(d, 0, out.size(), out.data());
  return out;
}

/// 1-D dataset of variable-length UTF-8 strings.
Id write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& strings);
/// Reads a 1-D dataset of strings, variable-length or fixed-length.
std::vector<std::string> read_strings(hid_t loc, const std::string& name);

/// Storage description of a dataset: "contiguous", "chunked", "chunked+gzip", "compact",
/// "external"... plus where contiguous data sits in the file.
struct Storage {
  std::string layout;
  bool contiguous = false;                   ///< contiguous layout, no filters, no external files
  std::optional<std::uint64_t> file_offset;  ///< when contiguous and allocated (H5Dget_offset)
};
Storage storage(hid_t dset);

// ---------------------------------------------------------------------------------------------
// Attributes (scalar)
// ---------------------------------------------------------------------------------------------

bool has_attr(hid_t obj, const std::string& name, Blame blame = Blame::system);
/// Writes (replacing) a scalar attribute. Strings are variable-length UTF-8.
void write_attr(hid_t obj, const std::string& name, std::string_view value);
void write_attr(hid_t obj, const std::string& name, const char* value);
void write_attr(hid_t obj, const std::string& name, std::int64_t value);
void write_attr(hid_t obj, const std::string& name, std::uint64_t value);
void write_attr(hid_t obj, const std::string& name, double value);
/// Readers accept any string attribute (fixed or variable length) / any integer or float class;
/// nullopt if the attribute is absent; InputError if it has another class.
/// A 1-D array attribute (e.g. one summary statistic per component of a vector observation).
void write_attr(hid_t obj, const std::string& name, const std::vector<double>& values);
void write_attr(hid_t obj, const std::string& name, const std::vector<std::uint64_t>& values);
/// Every element of a numeric attribute (one for a scalar attribute), converted to double.
std::optional<std::vector<double>> read_attr_doubles(hid_t obj, const std::string& name);
std::optional<std::string> read_attr_string(hid_t obj, const std::string& name);
std::optional<std::int64_t> read_attr_int(hid_t obj, const std::string& name);
std::optional<std::uint64_t> read_attr_uint(hid_t obj, const std::string& name);
std::optional<double> read_attr_double(hid_t obj, const std::string& name);

// ---------------------------------------------------------------------------------------------

template <>
inline hid_t native_of<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
inline hid_t native_of<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
inline hid_t native_of<std::int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
inline hid_t native_of<std::uint64_t>() {
  return H5T_NATIVE_UINT64;
}
template <>
inline hid_t native_of<std::int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
inline hid_t native_of<std::uint32_t>() {
  return H5T_NATIVE_UINT32;
}
template <>
inline hid_t native_of<std::int8_t>() {
  return H5T_NATIVE_INT8;
}
template <>
inline hid_t native_of<std::uint8_t>() {
  return H5T_NATIVE_UINT8;
}
template <>
inline hid_t native_of<std::int16_t>() {
  return H5T_NATIVE_INT16;
}
template <>
inline hid_t native_of<std::uint16_t>() {
  return H5T_NATIVE_UINT16;
}
template <>
inline hid_t native_of<char>() {
  return H5T_NATIVE_CHAR;
}

}  // namespace carlo::io::h5
