#pragma once
// What MPI tests share: the process's Runtime, created by mpi_gtest_main.cpp before any test runs
// and destroyed after the last one.
#include "transport/runtime.h"

namespace carlo::test {

const transport::Runtime& runtime();

}  // namespace carlo::test
