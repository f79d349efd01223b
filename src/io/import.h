#pragma once
/// \file
/// `carlo import`: HDF5 variable-length datasets (h5py `vlen_dtype`) to the ragged layout of
/// DESIGN §1. HDF5-free header; the implementation lives in src/io/import.cpp.

#include "io/ragged_file.h"

#include <cstdint>
#include <string>

namespace carlo::io {

struct ImportOptions {
  RaggedWriter::Options writer;  ///< output group, overwrite, chunking (default contiguous)
  std::uint64_t block_bytes = std::uint64_t{64} << 20;  ///< target size of one block of rows read
};

/// Converts the 1-D variable-length dataset `dataset` of `in_path` (element type one of the seven
/// DTypes, any byte order) into a ragged array in `out_path`, row i = element i. Streams in blocks
/// of rows, so memory stays near `block_bytes` (plus the largest single row) whatever the size;
/// the input is read twice (the first pass counts the values so `values` can be contiguous).
/// Throws InputError "IN:/dataset: problem" for a missing file or dataset, a dataset that is not
/// variable-length, a rank other than 1 or an unsupported element type; the output is then not
/// created (or removed if the failure comes later).
RaggedInfo import_vlen(const std::string& in_path, const std::string& dataset,
                       const std::string& out_path, const ImportOptions& opts);

}  // namespace carlo::io
