// GoogleTest main for tests that run under mpiexec: MPI is initialised by the transport layer's
// Runtime, and only rank 0 prints the test listener's output so a failure is reported once
// (every rank still asserts; a failure on any rank makes the exit status non-zero).
#include "mpi_test_env.h"

#include <gtest/gtest.h>

namespace {
const carlo::transport::Runtime* g_runtime = nullptr;
}

const carlo::transport::Runtime& carlo::test::runtime() { return *g_runtime; }

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  carlo::transport::Runtime runtime(argc, argv);
  g_runtime = &runtime;
  if (runtime.world_rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS();
  return runtime.all_ok(failed == 0) ? 0 : 1;
}
