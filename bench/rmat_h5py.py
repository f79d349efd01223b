#!/usr/bin/env python3
"""An R-MAT graph written by h5py, as a Python user would make one (docs/benchmarks.md, "walk end
to end"): CSR in carlo's ragged layout, int64 `values` (neighbour ids), uint64 `offsets`, both
contiguous datasets written with one h5py call each.

    bench/rmat_h5py.py SCALE OUT.h5 [--edge-factor 16] [--seed 1]

R-MAT with (a, b, c, d) = (0.57, 0.19, 0.19, 0.05), numpy's PCG64 (not carlo's generator: the
graph differs from `carlo gen graph`, which does not matter for a speed comparison)."""
import argparse

import h5py
import numpy as np


def rmat_edges(scale, n_edges, rng, chunk=1 << 23):
    a, b, c = 0.57, 0.19, 0.19
    src = np.empty(n_edges, np.int64)
    dst = np.empty(n_edges, np.int64)
    for lo in range(0, n_edges, chunk):
        n = min(chunk, n_edges - lo)
        s = np.zeros(n, np.int64)
        d = np.zeros(n, np.int64)
        for bit in range(scale):
            r = rng.random(n)
            right = (r >= a) & (r < a + b) | (r >= a + b + c)  # quadrants b, d: column bit
            down = r >= a + b  # quadrants c, d: row bit
            s |= down.astype(np.int64) << bit
            d |= right.astype(np.int64) << bit
        src[lo:lo + n] = s
        dst[lo:lo + n] = d
    return src, dst


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scale", type=int)
    p.add_argument("out")
    p.add_argument("--edge-factor", type=int, default=16)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    rows = 1 << args.scale
    rng = np.random.default_rng(args.seed)
    src, dst = rmat_edges(args.scale, rows * args.edge_factor, rng)
    order = np.argsort(src, kind="stable")
    values = dst[order]
    offsets = np.zeros(rows + 1, np.uint64)
    np.cumsum(np.bincount(src, minlength=rows), out=offsets[1:])
    with h5py.File(args.out, "w") as f:
        f.create_dataset("offsets", data=offsets)
        f.create_dataset("values", data=values)


if __name__ == "__main__":
    main()
