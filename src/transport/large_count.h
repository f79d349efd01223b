#pragma once
/// \file
/// Test hooks into the piece-wise collectives of Runtime, MPI-free so tests need not include
/// <mpi.h>. They run the very code broadcast() and reduce_sum() use, over elements of a
/// zero-size datatype, so counts beyond INT_MAX cost no memory (the trick of OpenMC's
/// test_message_passing.cpp).

#include "transport/runtime.h"

#include <cstdint>

namespace carlo::transport::detail {

/// Collective (world): broadcasts `count` zero-size elements from rank 0; returns the number of
/// MPI calls made.
std::uint64_t broadcast_zero_size_elements(const Runtime& rt, std::uint64_t count);
/// Collective (world): sum-reduces `count` zero-size elements to rank 0; returns the number of
/// MPI calls made.
std::uint64_t reduce_zero_size_elements(const Runtime& rt, std::uint64_t count);
/// Largest element count one MPI call carries for elements of `element_size` bytes.
std::uint64_t max_piece_count(std::uint64_t element_size);

}  // namespace carlo::transport::detail
