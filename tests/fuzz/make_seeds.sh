#!/usr/bin/env bash
# Remakes the committed seed corpus of the fuzz targets (tests/fuzz/corpus/, docs/building.md
# "Fuzzing") with a built carlo: usage tests/fuzz/make_seeds.sh [path/to/carlo]. Small files only
# (libFuzzer's -max_len is 8192, 16384 for ragged files): tiny ragged files of each dtype and both storage layouts
# (contiguous from `carlo gen`, chunked+gzip from `carlo import`) plus broken ones, journals and
# checkpoints of real interrupted runs cut to their first records, and run-config INI files.
set -euo pipefail
cd "$(dirname "$0")"
carlo=$(realpath "${1:-../../build/carlo}")
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
c=corpus
rm -rf "$c/ragged_file" "$c/journal" "$c/checkpoint"
mkdir -p "$c/ragged_file" "$c/journal" "$c/checkpoint" "$c/run_args"

# Ragged files: contiguous, one per dtype; chunked+gzip via import of an h5py vlen dataset.
# carlo writes offsets in 64 KiB chunks; h5repack makes them small (values stay contiguous).
small() { h5repack -l offsets:CHUNK=4 "$1" "$2"; }
for t in float64 float32 int64 int32 uint32 int8 uint8; do
  "$carlo" gen groups --rows 3 --bytes 96 --dtype "$t" --seed 1 -o "$tmp/gen-$t.h5" --force
  small "$tmp/gen-$t.h5" "$c/ragged_file/gen-$t.h5"
done
"$carlo" gen graph --scale 2 --edge-factor 2 --seed 1 -o "$tmp/gen-graph.h5" --force
small "$tmp/gen-graph.h5" "$c/ragged_file/gen-graph.h5"
"$py" - "$tmp" "$c/ragged_file" <<'PY'
import sys, h5py, numpy as np
tmp, out = sys.argv[1], sys.argv[2]
with h5py.File(f"{tmp}/vlen.h5", "w") as f:
    d = f.create_dataset("rows", (3,), dtype=h5py.vlen_dtype(np.float32))
    d[0] = np.arange(3, dtype=np.float32); d[1] = np.zeros(0, np.float32); d[2] = np.ones(5, np.float32)
def ragged(name, values, offsets, **kw):
    with h5py.File(f"{out}/{name}.h5", "w") as f:
        f.create_dataset("values", data=values, **kw)
        f.create_dataset("offsets", data=offsets)
ragged("int64-offsets", np.arange(6, dtype=np.int32), np.array([0, 2, 6], np.int64))
ragged("big-endian", np.arange(4, dtype=">f8"), np.array([0, 4], np.uint64))
ragged("empty-rows", np.arange(4, dtype=np.uint8), np.array([0, 0, 1, 4, 4], np.uint64))
# Broken: decreasing offsets, last offset != n_values, 2-D values, missing offsets, bad type.
ragged("bad-decreasing", np.arange(4.0), np.array([0, 3, 2, 4], np.uint64))
ragged("bad-end", np.arange(4.0), np.array([0, 2, 5], np.uint64))
ragged("bad-2d", np.zeros((2, 2)), np.array([0, 4], np.uint64))
ragged("bad-negative", np.arange(4.0), np.array([0, -1, 4], np.int64))
ragged("bad-float-offsets", np.arange(4.0), np.array([0.0, 4.0]))
with h5py.File(f"{out}/bad-no-offsets.h5", "w") as f:
    f.create_dataset("values", data=np.arange(4.0))
PY
"$carlo" import "$tmp/vlen.h5:/rows" -o "$tmp/chunked.h5" --chunk 4 --gzip 1
small "$tmp/chunked.h5" "$c/ragged_file/import-chunked-gzip.h5"
"$carlo" import "$tmp/vlen.h5:/rows" -o "$tmp/contiguous.h5"
small "$tmp/contiguous.h5" "$c/ragged_file/import-contiguous.h5"

# Journals and checkpoints of interrupted runs (SIGINT after 5 s): failures, retries, and
# several workers in the first; plain results in the second.
(cd "$tmp" &&
  { timeout -s INT 5 mpirun --oversubscribe -np 3 "$carlo" run --sim faults --tasks 1000 \
      --sleep-ms 20 --fail-tasks 3,7 --flaky-tasks 5 --seed 1 -o a.h5 --checkpoint-every 0.3 \
      --batch 4 --quiet || true
    timeout -s INT 5 mpirun --oversubscribe -np 2 "$carlo" run --sim pi --tasks 100000000 \
      --seed 1 -o b.h5 --checkpoint-every 0.3 --quiet || true; })
# Byte 0 of a journal or checkpoint input is the target's mode: 0 as is, 1 checksums fixed.
"$py" - "$tmp" "$c" <<'PY'
import sys, struct
tmp, c = sys.argv[1], sys.argv[2]
def cut(data, limit):  # the longest prefix of whole records within limit bytes
    pos = 0
    while pos + 16 <= len(data):
        n = struct.unpack_from("<Q", data, pos + 8)[0]
        if pos + 24 + n > limit: break
        pos += 24 + n
    return data[:pos]
for run in "ab":
    j = open(f"{tmp}/{run}.h5.journal", "rb").read()
    for limit in (400, 1500, 4000):
        for mode in (0, 1):
            open(f"{c}/journal/{run}-{limit}-{mode}", "wb").write(bytes([mode]) + cut(j, limit))
    k = open(f"{tmp}/{run}.h5.ckpt", "rb").read()
    open(f"{c}/checkpoint/{run}-0", "wb").write(b"\0" + k)
    open(f"{c}/checkpoint/{run}-1", "wb").write(b"\1" + k[16:-8])  # the payload alone
PY
ls -la "$c"/*
