// Ragged arrays in HDF5 files (DESIGN §1): what carlo writes reads back bit for bit, files laid
// out by other writers are accepted, and every malformed file is refused with one line naming the
// file, the object and the problem, with nothing printed by HDF5 itself.
#include "io/h5.h"
#include "io/ragged_file.h"

#include <carlo/error.h>

#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace carlo::io {
namespace {

namespace fs = std::filesystem;

class RaggedFile : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("carlo-ragged-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

// Rows 0..n-1 with lengths cycling 0, 1, 2, 3, 0, ... (empty rows included) and values i*3+j.
template <class T>
std::vector<std::vector<T>> sample_rows(std::size_t n) {
  std::vector<std::vector<T>> rows(n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < i % 4; ++j) rows[i].push_back(static_cast<T>(i * 3 + j));
  return rows;
}

template <class T>
std::uint64_t total_length(const std::vector<std::vector<T>>& rows) {
  std::uint64_t n = 0;
  for (const auto& r : rows) n += r.size();
  return n;
}

template <class T>
RaggedInfo write_rows(const std::string& file, const std::vector<std::vector<T>>& rows,
                      RaggedWriter::Options opts = {}) {
  RaggedWriter w(file, dtype_of<T>(), total_length(rows), opts);
  for (const auto& r : rows) w.append_row(r.data(), r.size());
  return w.finish();
}

template <class T>
std::vector<std::vector<T>> read_rows(const std::string& file, const std::string& group = "/") {
  RaggedReader r(file, group);
  EXPECT_EQ(r.info().dtype, dtype_of<T>());
  std::vector<std::uint64_t> offsets(r.info().rows + 1);
  r.read_offsets(offsets);
  std::vector<T> values(r.info().n_values);
  r.read_values(0, values.size(), values.data());
  std::vector<std::vector<T>> rows(r.info().rows);
  for (std::size_t i = 0; i < rows.size(); ++i)
    rows[i].assign(values.begin() + static_cast<std::ptrdiff_t>(offsets[i]),
                   values.begin() + static_cast<std::ptrdiff_t>(offsets[i + 1]));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

template <class T>
class RaggedRoundTrip : public RaggedFile {};
using AllTypes = ::testing::Types<double, float, std::int64_t, std::int32_t, std::uint32_t,
                                  std::int8_t, std::uint8_t>;
TYPED_TEST_SUITE(RaggedRoundTrip, AllTypes);

TYPED_TEST(RaggedRoundTrip, ContiguousFileReadsBackIdenticalRowsAndIsMappable) {
  const auto rows = sample_rows<TypeParam>(41);
  const std::string file = this->path("a.h5");
  const RaggedInfo info = write_rows(file, rows);
  EXPECT_EQ(info.rows, 41u);
  EXPECT_EQ(info.n_values, total_length(rows));
  EXPECT_EQ(info.dtype, dtype_of<TypeParam>());
  EXPECT_EQ(info.values_layout, "contiguous");
  EXPECT_TRUE(info.values_contiguous);
  EXPECT_TRUE(info.values_native_order);
  EXPECT_GT(info.values_file_offset, 0u);
  EXPECT_TRUE(info.has_format_attribute);
  EXPECT_FALSE(info.offsets_signed);
  EXPECT_EQ(read_rows<TypeParam>(file), rows);
}

TYPED_TEST(RaggedRoundTrip, ChunkedGzipFileReadsBackIdenticalRowsAndIsNotMappable) {
  const auto rows = sample_rows<TypeParam>(1000);
  const std::string file = this->path("a.h5");
  const RaggedInfo info = write_rows(file, rows, {.chunk_values = 64, .gzip_level = 4});
  EXPECT_EQ(info.values_layout, "chunked+gzip");
  EXPECT_FALSE(info.values_contiguous);
  EXPECT_EQ(read_rows<TypeParam>(file), rows);
}

TEST_F(RaggedFile, ContiguousValuesSitAtTheReportedFileOffset) {
  const std::vector<std::vector<double>> rows = {{1.5, -2.25}, {}, {3.0}};
  const RaggedInfo info = write_rows(path("a.h5"), rows);
  ASSERT_TRUE(info.values_contiguous);
  std::ifstream in(path("a.h5"), std::ios::binary);
  in.seekg(static_cast<std::streamoff>(info.values_file_offset));
  double raw[3];
  in.read(reinterpret_cast<char*>(raw), sizeof raw);
  EXPECT_EQ(raw[0], 1.5);
  EXPECT_EQ(raw[1], -2.25);
  EXPECT_EQ(raw[2], 3.0);
}

TEST_F(RaggedFile, FileOfOnlyEmptyRowsReadsBack) {
  const std::vector<std::vector<double>> rows(5);
  const RaggedInfo info = write_rows(path("a.h5"), rows);
  EXPECT_EQ(info.rows, 5u);
  EXPECT_EQ(info.n_values, 0u);
  EXPECT_EQ(read_rows<double>(path("a.h5")), rows);
}

TEST_F(RaggedFile, FileWithZeroRowsReadsBack) {
  const RaggedInfo info = write_rows(path("a.h5"), std::vector<std::vector<float>>{});
  EXPECT_EQ(info.rows, 0u);
  EXPECT_TRUE(read_rows<float>(path("a.h5")).empty());
}

TEST_F(RaggedFile, RowWrittenInPiecesIsOneRow) {
  RaggedWriter w(path("a.h5"), DType::int32, 6, {});
  const std::int32_t a[] = {1, 2}, b[] = {3, 4, 5}, c[] = {6};
  w.append_values(a, 2);
  w.append_values(b, 3);
  w.end_row();
  w.append_row(c, 1);
  w.finish();
  const std::vector<std::vector<std::int32_t>> expected = {{1, 2, 3, 4, 5}, {6}};
  EXPECT_EQ(read_rows<std::int32_t>(path("a.h5")), expected);
}

TEST_F(RaggedFile, BlocksLargerThanTheWriteBufferGoStraightThrough) {
  // 3M doubles = 24 MiB, above the writer's 8 MiB buffer, between two small rows.
  std::vector<double> big(3'000'000);
  std::iota(big.begin(), big.end(), 0.0);
  const double small[] = {-1.0, -2.0};
  RaggedWriter w(path("a.h5"), DType::float64, big.size() + 4, {});
  w.append_row(small, 2);
  w.append_row(big.data(), big.size());
  w.append_row(small, 2);
  w.finish();
  const auto rows = read_rows<double>(path("a.h5"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], std::vector<double>(small, small + 2));
  EXPECT_EQ(rows[1], big);
  EXPECT_EQ(rows[2], std::vector<double>(small, small + 2));
}

TEST_F(RaggedFile, ArrayInASubgroupIsFoundWithItsGroup) {
  const auto rows = sample_rows<std::int64_t>(10);
  write_rows(path("a.h5"), rows, {.group = "/data/graph"});
  EXPECT_EQ(read_rows<std::int64_t>(path("a.h5"), "/data/graph"), rows);
  EXPECT_EQ(read_rows<std::int64_t>(path("a.h5"), "data/graph/"), rows);
}

TEST_F(RaggedFile, WriterRefusesAnExistingFileUnlessOverwrite) {
  write_rows(path("a.h5"), sample_rows<double>(3));
  try {
    RaggedWriter w(path("a.h5"), DType::float64, 0, {});
    FAIL() << "existing file accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path("a.h5")), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_rows<double>(path("a.h5")), sample_rows<double>(3)) << "refusal must not touch it";
  write_rows(path("a.h5"), sample_rows<double>(7), {.overwrite = true});
  EXPECT_EQ(read_rows<double>(path("a.h5")), sample_rows<double>(7));
}

TEST_F(RaggedFile, WriterDestroyedWithoutFinishRemovesItsFile) {
  {
    RaggedWriter w(path("a.h5"), DType::float64, 2, {});
    const double v[] = {1, 2};
    w.append_row(v, 2);
    EXPECT_TRUE(fs::exists(path("a.h5")));
  }
  EXPECT_FALSE(fs::exists(path("a.h5")));
}

TEST_F(RaggedFile, ContiguousWriterRefusesMoreValuesThanItsHint) {
  RaggedWriter w(path("a.h5"), DType::float64, 2, {});
  const double v[] = {1, 2, 3};
  EXPECT_THROW(w.append_row(v, 3), SystemError);
}

TEST_F(RaggedFile, ContiguousWriterRefusesToFinishShortOfItsHint) {
  RaggedWriter w(path("a.h5"), DType::float64, 5, {});
  const double v[] = {1, 2, 3};
  w.append_row(v, 3);
  EXPECT_THROW(w.finish(), SystemError);
}

TEST_F(RaggedFile, WriterRefusesToFinishWithAnUnterminatedRow) {
  RaggedWriter w(path("a.h5"), DType::float64, 0, {.chunk_values = 16});
  const double v[] = {1, 2, 3};
  w.append_values(v, 3);
  EXPECT_THROW(w.finish(), SystemError);
}

// ---------------------------------------------------------------------------------------------
// Files written by others (built here with the HDF5 C API)
// ---------------------------------------------------------------------------------------------

// A file with `values` of `vtype` and `offsets` of `otype` holding the given numbers.
struct RawFile {
  h5::Id file;
  explicit RawFile(const std::string& p) : file(h5::create_file(p, false)) {}

  template <class T>
  void dataset(const std::string& name, hid_t file_type, const std::vector<T>& data,
               h5::DatasetOptions opts = {}) {
    h5::Id d = h5::create_dataset_1d(file, name, file_type, data.size(), opts);
    if (!data.empty()) h5::write_1d(d, 0, data.size(), data.data());
  }
};

void write_raw(const std::string& p, const std::vector<double>& values,
               const std::vector<std::int64_t>& offsets, hid_t offset_type = H5T_STD_I64LE) {
  RawFile f(p);
  f.dataset("values", H5T_IEEE_F64LE, values);
  f.dataset("offsets", offset_type, offsets);
}

TEST_F(RaggedFile, SignedOffsetsAndNoAttributesAreAccepted) {
  write_raw(path("a.h5"), {1, 2, 3}, {0, 1, 1, 3});
  RaggedReader r(path("a.h5"));
  EXPECT_TRUE(r.info().offsets_signed);
  EXPECT_FALSE(r.info().has_format_attribute);
  const std::vector<std::vector<double>> expected = {{1}, {}, {2, 3}};
  EXPECT_EQ(read_rows<double>(path("a.h5")), expected);
}

TEST_F(RaggedFile, BigEndianValuesAreConvertedAndReportedAsNotNative) {
  {
    RawFile f(path("a.h5"));
    f.dataset("values", H5T_STD_I32BE, std::vector<std::int32_t>{7, -8, 1 << 20});
    f.dataset("offsets", H5T_STD_U64LE, std::vector<std::uint64_t>{0, 3});
  }
  RaggedReader r(path("a.h5"));
  EXPECT_EQ(r.info().dtype, DType::int32);
  EXPECT_FALSE(r.info().values_native_order);
  const std::vector<std::vector<std::int32_t>> expected = {{7, -8, 1 << 20}};
  EXPECT_EQ(read_rows<std::int32_t>(path("a.h5")), expected);
}

TEST_F(RaggedFile, ReadsValuesBeyondTwoToThe32Elements) {
  // A sparse chunked dataset of 2^32 + 16 int8 values: only the chunks written take disk space,
  // so the test crosses every 32-bit index limit without a 4 GiB file.
  const std::uint64_t n = (std::uint64_t{1} << 32) + 16;
  {
    RawFile f(path("a.h5"));
    h5::Id d = h5::create_dataset_1d(f.file, "values", H5T_STD_I8LE, n, {.chunk = 1 << 16});
    const std::vector<std::int8_t> tail = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    h5::write_1d(d, n - 16, 16, tail.data());
    f.dataset("offsets", H5T_STD_U64LE, std::vector<std::uint64_t>{0, n - 20, n});
  }
  RaggedReader r(path("a.h5"));
  EXPECT_EQ(r.info().n_values, n);
  std::vector<std::uint64_t> offsets(3);
  r.read_offsets(offsets);
  std::vector<std::int8_t> row(20);
  r.read_values(offsets[1], offsets[2] - offsets[1], row.data());
  const std::vector<std::int8_t> expected = {0, 0, 0, 0,  1,  2,  3,  4,  5,  6,
                                             7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  EXPECT_EQ(row, expected);
}

TEST_F(RaggedFile, ReadsInPiecesWhenATransferExceedsThePieceSize) {
  std::vector<double> values(1001);
  std::iota(values.begin(), values.end(), 0.5);
  RawFile f(path("a.h5"));
  f.dataset("values", H5T_IEEE_F64LE, values);
  h5::Id d = h5::open_dataset(f.file, "values");
  std::vector<double> out(999);
  // 7 doubles per piece: 143 H5Dread calls, the last one short.
  h5::read_1d(d, H5T_NATIVE_DOUBLE, 1, 999, out.data(), h5::Blame::system, 56);
  EXPECT_EQ(out, std::vector<double>(values.begin() + 1, values.begin() + 1000));
}

// ---------------------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------------------

// Opening `file` (and reading its offsets) throws InputError whose one-line message contains
// every one of `parts`, and HDF5 prints nothing.
void expect_refused(const std::string& file, const std::vector<std::string>& parts,
                    const std::string& group = "/") {
  ::testing::internal::CaptureStderr();
  std::string message;
  try {
    RaggedReader r(file, group);
    std::vector<std::uint64_t> offsets(r.info().rows + 1);
    r.read_offsets(offsets);
  } catch (const InputError& e) {
    message = e.what();
  } catch (const std::exception& e) {
    message = std::string("wrong exception type: ") + e.what();
  }
  std::fflush(stderr);
  const std::string printed = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(message.empty()) << file << " was accepted";
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  EXPECT_EQ(printed, "") << "HDF5 printed to stderr";
}

// Shows that the stderr checks above can fail: HDF5 left alone prints its error stack.
TEST_F(RaggedFile, Hdf5PrintsItsErrorStackUnlessSilenced) {
  std::ofstream(path("a.h5")) << "not hdf5\n";
  ::testing::internal::CaptureStderr();
  hid_t f = H5Fopen(path("a.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  std::fflush(stderr);
  EXPECT_LT(f, 0);
  EXPECT_NE(::testing::internal::GetCapturedStderr(), "");
  ::testing::internal::CaptureStderr();
  {
    h5::ErrorSilencer quiet;
    f = H5Fopen(path("a.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  }
  std::fflush(stderr);
  EXPECT_LT(f, 0);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  H5Eclear2(H5E_DEFAULT);
}

TEST_F(RaggedFile, MissingFileIsRefused) {
  expect_refused(path("nope.h5"), {path("nope.h5"), "no such file"});
}

TEST_F(RaggedFile, NonHdf5FileIsRefused) {
  std::ofstream(path("a.h5")) << "values,offsets\n1,2\n";
  expect_refused(path("a.h5"), {path("a.h5"), "not an HDF5 file"});
}

TEST_F(RaggedFile, TruncatedFileIsRefused) {
  std::vector<std::vector<double>> rows(100, std::vector<double>(1000, 1.0));
  write_rows(path("a.h5"), rows);
  fs::resize_file(path("a.h5"), fs::file_size(path("a.h5")) / 2);
  expect_refused(path("a.h5"), {path("a.h5"), "truncated"});
}

TEST_F(RaggedFile, MissingGroupIsRefused) {
  write_rows(path("a.h5"), sample_rows<double>(3));
  expect_refused(path("a.h5"), {path("a.h5") + ":/graph", "no such group"}, "/graph");
}

TEST_F(RaggedFile, MissingValuesIsRefused) {
  RawFile(path("a.h5")).dataset("offsets", H5T_STD_U64LE, std::vector<std::uint64_t>{0});
  expect_refused(path("a.h5"), {path("a.h5") + ":/values", "missing"});
}

TEST_F(RaggedFile, MissingOffsetsIsRefused) {
  RawFile(path("a.h5")).dataset("values", H5T_IEEE_F64LE, std::vector<double>{1});
  expect_refused(path("a.h5"), {path("a.h5") + ":/offsets", "missing"});
}

TEST_F(RaggedFile, ValuesThatIsAGroupIsRefused) {
  {
    RawFile f(path("a.h5"));
    h5::create_group(f.file, "values");
    f.dataset("offsets", H5T_STD_U64LE, std::vector<std::uint64_t>{0});
  }
  expect_refused(path("a.h5"), {path("a.h5") + ":/values", "not a dataset"});
}

TEST_F(RaggedFile, TwoDimensionalValuesAreRefused) {
  {
    RawFile f(path("a.h5"));
    const hsize_t d[2] = {2, 3};
    h5::Id space(H5Screate_simple(2, d, nullptr));
    h5::Id ds(
        H5Dcreate2(f.file, "values", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    f.dataset("offsets", H5T_STD_U64LE, std::vector<std::uint64_t>{0, 6});
  }
  expect_refused(path("a.h5"), {path("a.h5") + ":/values", "rank 2"});
}

TEST_F(RaggedFile, ScalarOffsetsAreRefused) {
  {
    RawFile f(path("a.h5"));
    f.dataset("values", H5T_IEEE_F64LE, std::vector<double>{1});
    h5::Id space(H5Screate(H5S_SCALAR));
    h5::Id ds(
        H5Dcreate2(f.file, "offsets", H5T_STD_U64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  }
  expect_refused(path("a.h5"), {path("a.h5") + ":/offsets", "rank 0"});
}

TEST_F(RaggedFile, Float16ValuesAreRefused) {
  {
    RawFile f(path("a.h5"));
    h5::Id half(H5Tcopy(H5T_IEEE_F32LE));
    ASSERT_GE(H5Tset_fields(half, 15, 10, 5, 0, 10), 0);
    ASSERT_GE(H5Tset_precision(half, 16), 0);
    ASSERT_GE(H5Tset_size(half, 2), 0);
    ASSERT_GE(H5Tset_ebias(half, 15), 0);
    h5::create_dataset_1d(f.file, "values", half, 4);
    f.dataset("offsets", H5T_STD_U64LE, std::vector<std::uint64_t>{0, 4});
  }
  expect_refused(path("a.h5"), {path("a.h5") + ":/values", "unsupported type float16"});
}

TEST_F(RaggedFile, StringValuesAreRefused) {
  {
    RawFile f(path("a.h5"));
    h5::write_strings(f.file, "values", {"a", "b"});
    f.dataset("offsets", H5T_STD_U64LE, std::vector<std::uint64_t>{0, 2});
  }
  expect_refused(path("a.h5"), {path("a.h5") + ":/values", "unsupported type", "string"});
}

TEST_F(RaggedFile, CompoundValuesAreRefused) {
  {
    RawFile f(path("a.h5"));
    h5::Id pair(H5Tcreate(H5T_COMPOUND, 16));
    ASSERT_GE(H5Tinsert(pair, "x", 0, H5T_NATIVE_DOUBLE), 0);
    ASSERT_GE(H5Tinsert(pair, "y", 8, H5T_NATIVE_DOUBLE), 0);
    h5::create_dataset_1d(f.file, "values", pair, 2);
    f.dataset("offsets", H5T_STD_U64LE, std::vector<std::uint64_t>{0, 2});
  }
  expect_refused(path("a.h5"), {path("a.h5") + ":/values", "unsupported type compound"});
}

TEST_F(RaggedFile, UnsignedSixtyFourBitValuesAreRefused) {
  {
    RawFile f(path("a.h5"));
    f.dataset("values", H5T_STD_U64LE, std::vector<std::uint64_t>{1, 2});
    f.dataset("offsets", H5T_STD_U64LE, std::vector<std::uint64_t>{0, 2});
  }
  expect_refused(path("a.h5"), {path("a.h5") + ":/values", "unsupported type uint64"});
}

TEST_F(RaggedFile, FloatingPointOffsetsAreRefused) {
  {
    RawFile f(path("a.h5"));
    f.dataset("values", H5T_IEEE_F64LE, std::vector<double>{1, 2});
    f.dataset("offsets", H5T_IEEE_F64LE, std::vector<double>{0, 2});
  }
  expect_refused(path("a.h5"), {path("a.h5") + ":/offsets", "unsupported type float64"});
}

TEST_F(RaggedFile, OffsetsWithNoEntriesAreRefused) {
  write_raw(path("a.h5"), {}, {});
  expect_refused(path("a.h5"), {path("a.h5") + ":/offsets", "0 entries"});
}

TEST_F(RaggedFile, OffsetsNotStartingAtZeroAreRefused) {
  write_raw(path("a.h5"), {1, 2, 3}, {1, 2, 3});
  expect_refused(path("a.h5"), {path("a.h5") + ":/offsets", "offsets[0] is 1, expected 0"});
}

TEST_F(RaggedFile, DecreasingOffsetsAreRefusedWithTheIndex) {
  std::vector<std::int64_t> offsets(20);
  for (std::size_t i = 0; i < 16; ++i) offsets[i] = static_cast<std::int64_t>(2 * i);
  offsets[16] = 40;
  offsets[17] = 39;
  offsets[18] = 45;
  offsets[19] = 50;
  write_raw(path("a.h5"), std::vector<double>(50, 0.0), offsets);
  expect_refused(path("a.h5"),
                 {path("a.h5") + ":/offsets", "offsets decrease at index 17 (40 then 39)"});
}

TEST_F(RaggedFile, OffsetsPastTheEndOfValuesAreRefused) {
  write_raw(path("a.h5"), {1, 2, 3}, {0, 5, 3});
  expect_refused(path("a.h5"), {path("a.h5") + ":/offsets", "offsets[1] = 5 is past the end"});
}

TEST_F(RaggedFile, OffsetsEndingBeforeTheEndOfValuesAreRefused) {
  write_raw(path("a.h5"), {1, 2, 3}, {0, 1, 2});
  expect_refused(path("a.h5"), {path("a.h5") + ":/offsets", "end at 2", "3 elements"});
}

TEST_F(RaggedFile, NegativeSignedOffsetsAreRefused) {
  write_raw(path("a.h5"), {1, 2, 3}, {0, -1, 3});
  expect_refused(path("a.h5"), {path("a.h5") + ":/offsets", "offsets[1] is negative (-1)"});
}

TEST_F(RaggedFile, CorruptCompressedChunkIsRefusedWhenRead) {
  std::vector<double> values(4096, 1.0);
  const RaggedInfo info = write_rows(path("a.h5"), std::vector<std::vector<double>>{values},
                                     {.chunk_values = 4096, .gzip_level = 6});
  haddr_t chunk_addr = 0;
  hsize_t chunk_size = 0;
  {
    h5::Id file = h5::open_file(path("a.h5"));
    h5::Id d = h5::open_dataset(file, "values");
    hsize_t offset = 0;
    unsigned mask = 0;
    h5::Id space(H5Dget_space(d));
    ASSERT_GE(H5Dget_chunk_info(d, space, 0, &offset, &mask, &chunk_addr, &chunk_size), 0);
  }
  {
    std::fstream f(path("a.h5"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(chunk_addr));
    const std::string junk(chunk_size, 'x');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  RaggedReader r(path("a.h5"));  // the structure is intact; the damage shows when reading
  ::testing::internal::CaptureStderr();
  try {
    r.read_values(0, 4096, values.data());
    ADD_FAILURE() << "corrupt chunk read without error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path("a.h5") + ":/values: cannot read"), std::string::npos)
        << e.what();
  }
  std::fflush(stderr);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(info.n_values, 4096u);
}

TEST_F(RaggedFile, ErrorsInASubgroupNameTheGroup) {
  {
    RawFile f(path("a.h5"));
    h5::create_group(f.file, "/g");
    f.dataset("/g/values", H5T_IEEE_F64LE, std::vector<double>{1});
    f.dataset("/g/offsets", H5T_STD_U64LE, std::vector<std::uint64_t>{0, 2});
  }
  expect_refused(path("a.h5"), {path("a.h5") + ":/g/offsets", "past the end"}, "/g");
}

// Found by fuzz_ragged_file: a damaged attribute message in the group threw SystemError from
// H5Aexists instead of InputError naming the file. The input is the fuzzer's, kept as a seed.
TEST(RaggedFileFuzzed, ADamagedAttributeMessageIsRefusedNamingTheFile) {
  const std::string file = std::string(CARLO_TEST_SOURCE_DIR) +
                           "/tests/fuzz/corpus/ragged_file/crash-damaged-attribute.h5";
  try {
    RaggedReader r(file);
    FAIL() << "opened";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(file + ":/: attribute 'format'"), std::string::npos)
        << e.what();
  }
}

// Found by fuzz_ragged_file: a superblock whose base address is not 0 made HDF5 read the values
// from other bytes than those at the offset H5Dget_offset reports, where the window load copies
// and --share mmap maps them from: carlo would have computed on other values than h5py shows.
// Such values are read through HDF5 instead (and are not mappable).
TEST(RaggedFileFuzzed, ValuesNotAtTheirReportedOffsetAreReadThroughHdf5) {
  const std::string file = std::string(CARLO_TEST_SOURCE_DIR) +
                           "/tests/fuzz/corpus/ragged_file/crash-base-address-52.h5";
  RaggedReader r(file);
  EXPECT_FALSE(r.info().values_contiguous);
  EXPECT_NE(r.info().values_layout.find("not at the file offset"), std::string::npos);
}

}  // namespace
}  // namespace carlo::io
