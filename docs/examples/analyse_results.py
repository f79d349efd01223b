#!/usr/bin/python3
"""Analyse a carlo results file in Python (docs/analysis-python.md).

    /usr/bin/python3 analyse_results.py results.h5 [--csv tasks.csv]   (Debian's python3-h5py)

Reads the file with h5py; builds the per-task table with pandas when it is installed, with numpy
alone otherwise (same output). Prints the run, each observation's estimate with its 95% interval
recomputed from the per-task values next to the stored summary, how the estimate converged, the
failed tasks, the per-rank load and the largest tally bins.
"""
import argparse
import sys

import h5py
import numpy as np

try:
    import pandas as pd
except ImportError:  # optional: Debian's python3-pandas
    pd = None


def column_of(name):
    """The per-task table's column of observation `name` (renamed if it clashes)."""
    return name if name not in ("status", "attempts") else name + "_obs"


def text(value):
    """h5py returns variable-length string attributes as str, older files may give bytes."""
    return value.decode() if isinstance(value, bytes) else str(value)


def read_results(path):
    """Everything small, plus the per-task arrays, as plain numpy arrays."""
    with h5py.File(path, "r") as f:
        state = text(f.attrs["state"])
        attrs = {k: (text(v) if isinstance(v, (str, bytes)) else v) for k, v in f.attrs.items()}
        tasks = {
            "status": f["tasks/status"][:],      # 0 pending, 1 done, 2 failed
            "attempts": f["tasks/attempts"][:],
        }
        names = list(f["observations"])
        for name in names:
            # NaN where the task is not done
            tasks[column_of(name)] = f["observations/" + name][:]
        summaries = {n: dict(f["summary/" + n].attrs) for n in names if "summary/" + n in f}
        failures = {"task": [], "attempts": [], "message": []}
        if "failures" in f:
            failures = {"task": f["failures/task"][:], "attempts": f["failures/attempts"][:],
                        # .asstr(): h5py returns vlen strings in datasets as bytes otherwise
                        "message": f["failures/message"].asstr()[:]}
        timeline = None
        if "timeline" in f:  # one row per batch; files from before carlo 0.1 have none
            timeline = {k: f["timeline/" + k][:] for k in ("rank", "tasks", "start", "end")}
        tallies = {n: f["tallies/" + n][:] for n in f.get("tallies", {})}
    return state, attrs, names, tasks, summaries, failures, timeline, tallies


def estimate(values):
    """Mean, sd, stderr and the 95% interval mean ± 1.96·stderr over the non-NaN values."""
    x = values[~np.isnan(values)]
    n = len(x)
    mean = x.mean() if n else float("nan")
    sd = x.std(ddof=1) if n > 1 else float("nan")
    stderr = sd / np.sqrt(n) if n > 1 else float("nan")
    return n, mean, sd, stderr, (mean - 1.96 * stderr, mean + 1.96 * stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--csv", help="write the per-task table (task, status, attempts, observations)")
    args = ap.parse_args()

    state, attrs, names, tasks, summaries, failures, timeline, tallies = read_results(args.results)
    print(f"{args.results}: {attrs.get('simulation', '?')}, seed {attrs.get('seed', '?')}, "
          f"{len(tasks['status'])} tasks, analysed {'with' if pd else 'without'} pandas")
    if state != "complete":
        # Never quote a partial run as a result without saying so.
        print(f"WARNING: state is {state!r}: the run did not finish; figures cover done tasks only")

    status = tasks["status"]
    print(f"done {np.sum(status == 1)}, failed {np.sum(status == 2)}, pending {np.sum(status == 0)}")

    if pd is not None:
        # One row per task, indexed by task id.
        table = pd.DataFrame(tasks, index=pd.RangeIndex(len(status), name="task_id"))
        done = table[table.status == 1]
        print(f"per-task table: {len(table)} rows x {len(table.columns)} columns (pandas DataFrame)")
    else:
        done = {k: v[status == 1] for k, v in tasks.items()}

    for name in names:
        values = np.asarray(done[column_of(name)], dtype=float)
        n, mean, sd, stderr, (lo, hi) = estimate(values)
        line = f"{name}: mean {mean:.6g} ± {1.96 * stderr:.3g} (95% [{lo:.6g}, {hi:.6g}]), n {n}, sd {sd:.4g}"
        stored = summaries.get(name)
        if stored is not None:
            # The stored summary uses compensated sums in task order: equal up to rounding.
            line += f"; stored mean {float(stored['mean']):.6g}"
            assert np.isclose(mean, float(stored["mean"]), rtol=1e-9, atol=0, equal_nan=True)
        print(line)
        # Convergence: the running mean over done tasks in task order, at a few checkpoints.
        x = values[~np.isnan(values)]
        if len(x):
            if pd is not None:
                running = pd.Series(x).expanding().mean().to_numpy()
            else:
                running = np.cumsum(x) / np.arange(1, len(x) + 1)
            marks = sorted({max(1, len(x) * k // 4) for k in (1, 2, 3, 4)})
            print("  running mean: " + ", ".join(f"{m} tasks {running[m - 1]:.6g}" for m in marks))

    print(f"failed tasks: {len(failures['task'])}")
    for t, a, m in list(zip(failures["task"], failures["attempts"], failures["message"]))[:5]:
        print(f"  task {t} ({a} attempts): {m}")

    if timeline is not None and len(timeline["rank"]):
        print("load per rank (from /timeline; retried tasks count once per attempt):")
        busy = timeline["end"] - timeline["start"]
        if pd is not None:
            load = (pd.DataFrame({"rank": timeline["rank"], "tasks": timeline["tasks"], "busy": busy})
                    .groupby("rank").agg(batches=("tasks", "size"), tasks=("tasks", "sum"),
                                         busy_seconds=("busy", "sum")))
            rows = load.itertuples()
        else:
            rows = [(r, np.sum(timeline["rank"] == r), timeline["tasks"][timeline["rank"] == r].sum(),
                     busy[timeline["rank"] == r].sum()) for r in np.unique(timeline["rank"])]
        for r, batches, n, seconds in rows:
            print(f"  rank {r}: {n} tasks in {batches} batches, busy {seconds:.3g} s")
    else:
        print("no timeline recorded")

    for name, counts in tallies.items():
        top = np.argsort(-counts.astype(np.int64), kind="stable")[:3]
        share = counts / counts.sum() if counts.sum() else counts.astype(float)
        print(f"tally {name}: total {counts.sum()}, largest bins "
              + ", ".join(f"[{i}] {counts[i]} ({share[i]:.1%})" for i in top))

    if args.csv:
        if pd is not None:
            table.to_csv(args.csv)
        else:
            cols = list(tasks)
            rows = np.column_stack([np.arange(len(status))] + [tasks[c] for c in cols])
            np.savetxt(args.csv, rows, delimiter=",", header=",".join(["task_id"] + cols),
                       comments="", fmt="%.17g")
        print(f"per-task table written to {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
