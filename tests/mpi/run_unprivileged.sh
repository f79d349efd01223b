#!/bin/sh
# run_unprivileged.sh EXECUTABLE COMMAND...: runs COMMAND as a user without privileges, for the
# tests of code that must not need root (tests/mpi/shared_data.cmake). As root it goes through
# setpriv as nobody (uid and gid 65534, no supplementary groups, no capabilities in any set); as any
# other user it runs as it is. Either way CARLO_TEST_UNPRIVILEGED=1 asks the tests to check that
# premise. Exits 77 (CTest: skipped, with the reason) when nobody cannot reach EXECUTABLE: build
# in a directory every user can read, e.g. under /tmp.
set -eu
executable=$1
shift
if [ "$(id -u)" != 0 ]; then exec env CARLO_TEST_UNPRIVILEGED=1 "$@"; fi
as_nobody="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all"
if ! $as_nobody test -x "$executable"; then
  echo "run_unprivileged.sh: uid 65534 cannot run $executable (build directory not readable by" \
    "all users); skipped" >&2
  exit 77
fi
exec $as_nobody env HOME=/tmp CARLO_TEST_UNPRIVILEGED=1 "$@"
