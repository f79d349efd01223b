#!/usr/bin/python3
"""End-to-end checks of `carlo gen`, `carlo info` and `carlo import` against files written and read
independently with h5py. Usage: io_cli.py CHECK (one CTest entry per CHECK, see io.cmake).
Needs CARLO_BIN (the carlo executable) in the environment and Debian's h5py/numpy."""

import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

CARLO = os.environ["CARLO_BIN"]


def carlo(*args, expect=0):
    """Runs carlo, checks its exit status, returns (stdout, stderr)."""
    p = subprocess.run([CARLO, *map(str, args)], capture_output=True, text=True, timeout=600)
    if p.returncode != expect:
        sys.exit(f"carlo {' '.join(map(str, args))}: exit {p.returncode}, expected {expect}\n"
                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p.stdout, p.stderr


def info_fields(path, *extra):
    """`carlo info` output as {key: rest of line}."""
    out, err = carlo("info", path, *extra)
    if err:
        sys.exit(f"carlo info printed to stderr: {err}")
    fields = {}
    for line in out.splitlines()[1:]:
        key, _, rest = line.strip().partition("  ")
        fields[key] = rest.strip()
    return fields


def expect_equal(what, got, want):
    if got != want:
        sys.exit(f"{what}: got {got!r}, expected {want!r}")


def expect_in(what, part, text):
    if part not in text:
        sys.exit(f"{what}: {part!r} not in {text!r}")


def expect_one_line_error(stderr, *parts):
    lines = stderr.splitlines()
    if len(lines) != 1:
        sys.exit(f"expected one line on stderr, got {len(lines)}: {stderr!r}")
    for p in parts:
        expect_in("error message", p, lines[0])


def rows_of(path, group="/"):
    with h5py.File(path, "r") as f:
        g = f[group]
        values, offsets = g["values"][...], g["offsets"][...]
    return [values[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)], values, offsets


# --------------------------------------------------------------------------------------------
# Files written by h5py
# --------------------------------------------------------------------------------------------

def check_h5py_plain(tmp):
    """Plain float64 values and uint64 offsets, no attributes: accepted with the right numbers."""
    lengths = [3, 0, 5, 1, 0, 7, 2]
    values = np.arange(sum(lengths), dtype=np.float64) * 0.5
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.uint64)
    path = os.path.join(tmp, "plain.h5")
    with h5py.File(path, "w") as f:
        f["values"] = values
        f["offsets"] = offsets
    i = info_fields(path)
    expect_equal("rows", i["rows"], "7 (2 empty)")
    expect_equal("values", i["values"], "18 float64, 144 B")
    expect_equal("row length", i["row length"], "min 0, median 2, mean 2.57, max 7")
    expect_equal("offsets", i["offsets"], "uint64")
    expect_in("layout", "contiguous", i["layout"])
    expect_in("layout", "can be memory-mapped", i["layout"])


def check_h5py_gzip_int64(tmp):
    """int64 offsets and gzip-compressed chunked float32 values in a subgroup."""
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 50, size=1000)
    values = rng.normal(size=int(lengths.sum())).astype(np.float32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    path = os.path.join(tmp, "gzip.h5")
    with h5py.File(path, "w") as f:
        g = f.create_group("data/sample")
        g.create_dataset("values", data=values, chunks=(1000,), compression="gzip")
        g.create_dataset("offsets", data=offsets, chunks=(100,), compression="gzip")
    i = info_fields(path, "--group", "/data/sample")
    expect_equal("rows", i["rows"], f"1000 ({int((lengths == 0).sum())} empty)")
    expect_in("values", f"{values.size} float32", i["values"])
    s = np.sort(lengths)
    expect_equal("row length", i["row length"],
                 f"min {s[0]}, median {np.median(lengths):g}, mean {lengths.mean():.2f}, max {s[-1]}")
    expect_equal("offsets", i["offsets"], "int64")
    expect_in("layout", "chunked+gzip", i["layout"])
    expect_in("layout", "cannot be memory-mapped", i["layout"])


def check_h5py_bad_offsets(tmp):
    """Decreasing offsets: exit 1, one line naming file, object and index."""
    path = os.path.join(tmp, "bad.h5")
    with h5py.File(path, "w") as f:
        f["values"] = np.zeros(10)
        f["offsets"] = np.array([0, 4, 3, 10], dtype=np.uint64)
    _, err = carlo("info", path, expect=1)
    expect_one_line_error(err, f"{path}:/offsets", "decrease at index 2 (4 then 3)")


# --------------------------------------------------------------------------------------------
# carlo import
# --------------------------------------------------------------------------------------------

def check_import_vlen(tmp):
    """Every supported element type of an h5py vlen dataset imports row for row, empty rows too."""
    src = os.path.join(tmp, "vlen.h5")
    rng = np.random.default_rng(11)
    lengths = rng.integers(0, 20, size=500)
    lengths[:3] = 0
    types = ["float64", "float32", "int64", "int32", "uint32", "int8", "uint8"]
    expected = {}
    with h5py.File(src, "w") as f:
        for t in types:
            rows = [(rng.normal(size=n) * 100).astype(t) for n in lengths]
            d = f.create_dataset(f"g/{t}", (len(rows),), dtype=h5py.vlen_dtype(np.dtype(t)))
            for k, r in enumerate(rows):
                d[k] = r
            expected[t] = rows
    for t in types:
        out = os.path.join(tmp, f"{t}.h5")
        carlo("import", f"{src}:/g/{t}", "-o", out)
        i = info_fields(out)
        expect_in("values", f"{lengths.sum()} {t}", i["values"])
        expect_in("layout", "can be memory-mapped", i["layout"])
        rows, values, _ = rows_of(out)
        expect_equal(f"{t} value dtype", values.dtype, np.dtype(t))
        expect_equal(f"{t} row count", len(rows), len(expected[t]))
        for k, (a, b) in enumerate(zip(rows, expected[t])):
            if not np.array_equal(a, b):
                sys.exit(f"{t} row {k} differs: {a} vs {b}")
        with h5py.File(out, "r") as f:
            expect_equal("format attribute", f.attrs["format"], "carlo.ragged")
            expect_equal("version attribute", int(f.attrs["version"]), 1)


def check_import_refusals(tmp):
    src = os.path.join(tmp, "in.h5")
    with h5py.File(src, "w") as f:
        f["plain"] = np.arange(4.0)
        f.create_dataset("words", (2,), dtype=h5py.string_dtype())
        f.create_dataset("halves", (2,), dtype=h5py.vlen_dtype(np.float16))
        f.create_dataset("square", (2, 2), dtype=h5py.vlen_dtype(np.float64))
    out = os.path.join(tmp, "out.h5")
    for ds, problem in [("plain", "is not variable-length"), ("words", "strings"),
                        ("halves", "unsupported element type float16"), ("square", "rank 2"),
                        ("missing", "no such dataset")]:
        _, err = carlo("import", f"{src}:/{ds}", "-o", out, expect=1)
        expect_one_line_error(err, f"{src}:/{ds}", problem)
        if os.path.exists(out):
            sys.exit(f"refused import of /{ds} left {out} behind")


# --------------------------------------------------------------------------------------------
# carlo gen
# --------------------------------------------------------------------------------------------

def check_gen_groups(tmp):
    """Same seed, same file contents; another seed, other values; exact size; info accepts it."""
    a, b, c = (os.path.join(tmp, n) for n in ("a.h5", "b.h5", "c.h5"))
    carlo("gen", "groups", "--rows", 300, "--bytes", "256KiB", "--seed", 9, "-o", a)
    carlo("gen", "groups", "--rows", 300, "--bytes", "256KiB", "--seed", 9, "-o", b)
    carlo("gen", "groups", "--rows", 300, "--bytes", "256KiB", "--seed", 10, "-o", c)
    ra, va, oa = rows_of(a)
    _, vb, ob = rows_of(b)
    _, vc, _ = rows_of(c)
    if not (np.array_equal(va, vb) and np.array_equal(oa, ob)):
        sys.exit("gen groups with the same seed differs")
    if open(a, "rb").read() != open(b, "rb").read():
        sys.exit("gen groups with the same seed gives files that are not byte-identical")
    if np.array_equal(va, vc):
        sys.exit("gen groups with another seed gives the same values")
    expect_equal("values", va.size, 256 * 1024 // 8)
    expect_equal("rows", len(ra), 300)
    lengths = np.diff(oa.astype(np.int64))
    if lengths.max() < 4 * np.median(lengths):
        sys.exit(f"row lengths not skewed: median {np.median(lengths)}, max {lengths.max()}")
    i = info_fields(a)
    expect_in("values", "32768 float64, 256.00 KiB", i["values"])
    expect_in("layout", "can be memory-mapped", i["layout"])
    for t in ["float32", "int64", "int32", "uint32", "int8", "uint8"]:
        out = os.path.join(tmp, f"{t}.h5")
        carlo("gen", "groups", "--rows", 50, "--bytes", "4KiB", "--dtype", t, "--seed", 1, "-o", out)
        _, v, _ = rows_of(out)
        expect_equal(f"{t} dtype", v.dtype, np.dtype(t))
        expect_equal(f"{t} count", v.size, 4096 // np.dtype(t).itemsize)


def check_gen_graph(tmp):
    """Deterministic R-MAT CSR: 2^K rows, edge_factor*2^K sorted in-range int64 ids, skewed."""
    a, b = os.path.join(tmp, "a.h5"), os.path.join(tmp, "b.h5")
    carlo("gen", "graph", "--scale", 10, "--edge-factor", 8, "--seed", 3, "-o", a)
    carlo("gen", "graph", "--scale", 10, "--edge-factor", 8, "--seed", 3, "-o", b)
    rows, va, oa = rows_of(a)
    _, vb, ob = rows_of(b)
    if not (np.array_equal(va, vb) and np.array_equal(oa, ob)):
        sys.exit("gen graph with the same seed differs")
    if open(a, "rb").read() != open(b, "rb").read():
        sys.exit("gen graph with the same seed gives files that are not byte-identical")
    expect_equal("dtype", va.dtype, np.dtype("int64"))
    expect_equal("rows", len(rows), 1024)
    expect_equal("edges", va.size, 8 * 1024)
    if va.min() < 0 or va.max() >= 1024:
        sys.exit("neighbour id out of range")
    if any(np.any(np.diff(r) < 0) for r in rows):
        sys.exit("a row is not sorted")
    degrees = np.diff(oa.astype(np.int64))
    # R-MAT with a=0.57: node 0 is the biggest hub, far above the mean degree of 8.
    if degrees[0] != degrees.max() or degrees[0] < 100:
        sys.exit(f"degrees not R-MAT-like: node 0 has {degrees[0]}, max {degrees.max()}")
    # Top bits follow the quadrant probabilities: P(source bit 1) = c+d, P(dest bit 1) = b+d,
    # both 0.24 (8192 edges: standard deviation 0.005).
    sources = np.repeat(np.arange(1024), degrees)
    for what, ids in (("source", sources), ("destination", va)):
        share = np.mean(ids >= 512)
        if abs(share - 0.24) > 0.02:
            sys.exit(f"{what} top bit set in {share:.3f} of edges, expected 0.24")
    info_fields(a)


# --------------------------------------------------------------------------------------------
# Command-line errors
# --------------------------------------------------------------------------------------------

def check_cli_errors(tmp):
    out = os.path.join(tmp, "g.h5")
    carlo("gen", "groups", "--rows", 10, "--bytes", "1KiB", "--seed", 1, "-o", out)
    before = open(out, "rb").read()
    _, err = carlo("gen", "groups", "--rows", 10, "--bytes", "2KiB", "--seed", 2, "-o", out, expect=1)
    expect_one_line_error(err, out, "exists", "--force")
    expect_equal("refused output untouched", open(out, "rb").read(), before)
    carlo("gen", "groups", "--rows", 10, "--bytes", "2KiB", "--seed", 2, "-o", out, "--force")
    expect_in("forced output", "256 float64", info_fields(out)["values"])

    for bad in ["12x", "-5", "lots", "1.5.2MiB"]:
        _, err = carlo("gen", "groups", "--rows", 10, "--bytes", bad, "--seed", 1, "-o",
                       os.path.join(tmp, "x.h5"), expect=1)
        expect_one_line_error(err, "--bytes", bad)
    _, err = carlo("gen", "groups", "--rows", 10, "--bytes", 12, "--dtype", "float64", "--seed", 1,
                   "-o", os.path.join(tmp, "x.h5"), expect=1)
    expect_one_line_error(err, "--bytes", "multiple")
    _, err = carlo("gen", "groups", "--rows", 10, "--bytes", "1KiB", "--dtype", "float16", "--seed",
                   1, "-o", os.path.join(tmp, "x.h5"), expect=1)
    expect_one_line_error(err, "float16")
    if os.path.exists(os.path.join(tmp, "x.h5")):
        sys.exit("a refused gen left its output behind")

    _, err = carlo("info", os.path.join(tmp, "missing.h5"), expect=1)
    expect_one_line_error(err, "missing.h5", "no such file")
    text = os.path.join(tmp, "notes.h5")
    with open(text, "w") as f:
        f.write("not hdf5\n")
    _, err = carlo("info", text, expect=1)
    expect_one_line_error(err, text, "not an HDF5 file")
    trunc = os.path.join(tmp, "trunc.h5")
    shutil.copy(out, trunc)
    os.truncate(trunc, os.path.getsize(trunc) // 2)
    _, err = carlo("info", trunc, expect=1)
    expect_one_line_error(err, trunc, "truncated")
    _, err = carlo("info", out, "--group", "/nothing", expect=1)
    expect_one_line_error(err, f"{out}:/nothing", "no such group")
    _, err = carlo("gen", "graph", "--scale", 0, "--seed", 1, "-o", os.path.join(tmp, "x.h5"), expect=1)
    expect_one_line_error(err, "--scale")
    _, err = carlo("gen", "groups", "--bytes", "1KiB", "--seed", 1, "-o", os.path.join(tmp, "x.h5"),
                   expect=1)
    expect_one_line_error(err, "missing --rows")
    for cmd in (["gen", "--help"], ["gen", "groups", "--help"], ["gen", "graph", "--help"],
                ["info", "--help"], ["import", "--help"]):
        help_text, _ = carlo(*cmd)
        expect_in(" ".join(cmd), "usage", help_text)


def main():
    check = globals().get("check_" + (sys.argv[1] if len(sys.argv) > 1 else ""))
    if check is None:
        sys.exit(f"usage: io_cli.py CHECK, one of: " +
                 ", ".join(n[6:] for n in globals() if n.startswith("check_")))
    tmp = tempfile.mkdtemp(prefix="carlo-io-")
    try:
        check(tmp)
    finally:
        shutil.rmtree(tmp)
    print(f"{sys.argv[1]}: ok")


if __name__ == "__main__":
    main()
