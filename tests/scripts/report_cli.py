#!/usr/bin/python3
"""End-to-end tests of `carlo report`: text, JSON and SVG of real results files, checked against
h5py reads of the same files.

Usage: report_cli.py CASE
Environment: CARLO_BIN (the carlo executable), CARLO_SOURCE_DIR.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import h5py
import numpy as np

CARLO = os.environ["CARLO_BIN"]
SRC = os.environ["CARLO_SOURCE_DIR"]
GROUPS = os.path.join(SRC, "data", "groups-small.h5")
SVG = "{http://www.w3.org/2000/svg}"


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def tmp(name):
    return os.path.join(tempfile.mkdtemp(prefix="carlo-report-"), name)


def carlo_run(ranks, args, expect=0):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = ["mpiexec", "-n", str(ranks), "--oversubscribe", CARLO, "run", "--quiet"] + args
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=500)
    check(p.returncode == expect, f"{' '.join(cmd)} exited {p.returncode}, expected {expect}\n"
                                  f"stdout: {p.stdout}\nstderr: {p.stderr}")


def report(*args, expect=0):
    p = subprocess.run([CARLO, "report"] + list(args), capture_output=True, text=True, timeout=300)
    check(p.returncode == expect, f"carlo report {' '.join(args)} exited {p.returncode}, expected "
                                  f"{expect}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def report_json(path, *args):
    out = report(path, "--json", *args).stdout
    try:
        return json.loads(out)
    except json.JSONDecodeError as e:
        sys.exit(f"FAIL: --json output is not valid JSON ({e}):\n{out}")


def pi_results(tasks=2000, samples=10000):
    out = tmp("pi.h5")
    carlo_run(2, ["--sim", "pi", "--tasks", str(tasks), "--samples-per-task", str(samples),
                  "--seed", "1", "-o", out])
    return out


def faults_results():
    out = tmp("faults.h5")
    carlo_run(2, ["--sim", "faults", "--tasks", "500", "--fail-tasks", "3,7", "--seed", "1",
                  "-o", out], expect=2)
    return out


def text_attr(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def same(a, b):
    """Equal numbers, None standing for NaN (JSON has no NaN)."""
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return a is None
    return a is not None and float(a) == float(b)


def check_summaries_match_file(doc, path):
    with h5py.File(path, "r") as f:
        names = list(f["observations"].keys())
        check(sorted(o["name"] for o in doc["observations"]) == sorted(names),
              f"every observation reported: {names}")
        for o in doc["observations"]:
            s = f["summary/" + o["name"]].attrs
            check(o["summary_source"] == "file", "summaries of a finished run come from the file")
            check(o["count"] == int(s["count"]), f"{o['name']}: count {o['count']} != {s['count']}")
            for key, attr in [("mean", "mean"), ("sd", "sd"), ("stderr", "stderr"), ("min", "min"),
                              ("max", "max"), ("p2.5", "p2.5"), ("p50", "p50"), ("p97.5", "p97.5")]:
                check(same(o[key], float(s[attr])),
                      f"{o['name']}: {key} {o[key]!r} != file's {float(s[attr])!r}")
            half = 1.96 * float(s["stderr"])
            check(same(o["ci95_half_width"], half), f"{o['name']}: half-width 1.96·stderr")
            check(same(o["ci95_low"], float(s["mean"]) - half) and
                  same(o["ci95_high"], float(s["mean"]) + half),
                  f"{o['name']}: 95% interval = mean ± 1.96·stderr: {o}")


def check_common_file_facts(doc, path):
    with h5py.File(path, "r") as f:
        status = f["tasks/status"][:]
        check(doc["tasks"] == {"total": int(f.attrs["tasks"]), "done": int((status == 1).sum()),
                               "failed": int((status == 2).sum()),
                               "pending": int((status == 0).sum())},
              f"task counts match /tasks/status: {doc['tasks']}")
        check(doc["state"] == text_attr(f.attrs["state"]), "state as in the file")
        check(doc["complete"] == (doc["state"] == "complete"), "complete flag")
        check(doc["simulation"] == text_attr(f.attrs["simulation"]), "simulation")
        check(doc["seed"] == int(f.attrs["seed"]), "seed")
        check(doc["ranks"] == int(f.attrs["ranks"]) and doc["nodes"] == int(f.attrs["nodes"]),
              "ranks and nodes")
        check(same(doc["timing"]["wall_seconds"], float(f.attrs["wall_seconds"])), "wall seconds")
        check(same(doc["timing"]["tasks_per_second"], float(f.attrs["tasks_per_second"])),
              "tasks per second")
        opts = {k: text_attr(v) for k, v in f["options"].attrs.items()}
        check(doc["options"] == opts, f"options as in /options: {doc['options']} != {opts}")
        for t in doc["tallies"]:
            counts = f["tallies/" + t["name"]][:]
            check(t["length"] == len(counts) and t["total"] == int(counts.sum()) and
                  t["nonzero"] == int((counts != 0).sum()), f"tally {t['name']} figures")
            order = sorted(range(len(counts)), key=lambda i: (-int(counts[i]), i))[:5]
            top = [{"index": i, "count": int(counts[i])} for i in order if counts[i] != 0]
            check(t["top"] == top, f"tally {t['name']} largest bins {t['top']} != {top}")
        if "timeline" in f:
            rank, tasks = f["timeline/rank"][:], f["timeline/tasks"][:]
            start, end = f["timeline/start"][:], f["timeline/end"][:]
            per = {r["rank"]: r for r in doc["timing"]["per_rank"]}
            check(doc["timing"]["batches"] == len(rank), "batches counted")
            for r in set(rank.tolist()):
                sel = rank == r
                check(per[r]["tasks"] == int(tasks[sel].sum()) and per[r]["batches"] == int(sel.sum()),
                      f"rank {r} load from /timeline: {per[r]}")
                check(math.isclose(per[r]["busy_seconds"], float((end[sel] - start[sel]).sum()),
                                   rel_tol=1e-12), f"rank {r} busy seconds")


# ---------------------------------------------------------------------------------------------

def text_complete():
    path = pi_results()
    out = report(path).stdout
    with h5py.File(path, "r") as f:
        s = f["summary/pi"].attrs
        mean, stderr = float(s["mean"]), float(s["stderr"])
    check("PARTIAL" not in out and "RUNNING" not in out, "a complete file is not labelled partial")
    check(out.splitlines()[0] == f"carlo report: {path} (complete)", f"first line: {out[:200]}")
    for needle in ["simulation  pi", "seed        1", "data        none",
                   "tasks       2000: 2000 done, 0 failed, 0 pending", "ranks       2 on 1 node",
                   "tasks/s per rank", "sim.samples-per-task=10000"]:
        check(needle in out, f"text report has {needle!r}:\n{out}")
    m = re.search(r"estimate\s+(\S+) ± (\S+)\s+\(95% interval \[(\S+), (\S+)\]\)", out)
    check(m is not None, f"estimate line with a 95% interval:\n{out}")
    est, half, lo, hi = (float(g) for g in m.groups())
    check(abs(est - mean) <= 1e-6 and abs(half - 1.96 * stderr) <= 1e-6, f"estimate {m.group(0)}")
    check(abs(lo - (mean - 1.96 * stderr)) <= 1e-6 and abs(hi - (mean + 1.96 * stderr)) <= 1e-6,
          f"interval {m.group(0)}")
    check(abs(est - math.pi) < 0.01, "pi estimated")
    for needle in ["sd ", "stderr ", "p2.5 ", "p50 ", "p97.5 "]:
        check(needle in out, f"spread figure {needle!r} shown")


def json_complete():
    path = pi_results()
    doc = report_json(path)
    check(doc["state"] == "complete" and doc["complete"] is True, "complete")
    check(doc["data"] is None, "pi uses no data")
    check_common_file_facts(doc, path)
    check_summaries_match_file(doc, path)
    check(doc["failures"] == {"count": 0, "listed": 0, "tasks": []}, "no failures")
    check(doc["plot"] is None, "no plot asked for")


def json_bootstrap_data():
    path = tmp("boot.h5")
    carlo_run(2, ["--sim", "bootstrap", "--data", GROUPS, "--rows-per-task", "8", "--tasks", "300",
                  "--seed", "3", "-o", path])
    doc = report_json(path)
    check_common_file_facts(doc, path)
    check_summaries_match_file(doc, path)
    with h5py.File(path, "r") as f:
        check(doc["data"]["path"] == text_attr(f.attrs["data_path"]) and
              doc["data"]["size"] == int(f.attrs["data_size"]) == os.path.getsize(GROUPS) and
              doc["data"]["checksum"] == text_attr(f.attrs["data_checksum"]),
              f"data file provenance: {doc['data']}")
    out = report(path).stdout
    check(f"data        {os.path.abspath(GROUPS)}\n" in out and f"({os.path.getsize(GROUPS)} bytes)" in out,
          f"text names the data file and its size:\n{out}")


def failed_tasks():
    path = faults_results()
    doc = report_json(path)
    check_common_file_facts(doc, path)
    check_summaries_match_file(doc, path)
    check(doc["tasks"]["failed"] == 2 and doc["tasks"]["done"] == 498, f"{doc['tasks']}")
    with h5py.File(path, "r") as f:
        expect = [{"task": int(t), "attempts": int(a), "message": m}
                  for t, a, m in zip(f["failures/task"][:], f["failures/attempts"][:],
                                     f["failures/message"].asstr()[:])]
    check(doc["failures"]["count"] == 2 and doc["failures"]["tasks"] == expect,
          f"failures as in /failures: {doc['failures']} != {expect}")
    out = report(path).stdout
    check("failures (2 tasks after all retries" in out, f"failure count in text:\n{out}")
    for e in expect:
        line = f"  task {e['task']} after {e['attempts']} attempts: {e['message']}"
        check(line in out, f"text lists {line!r}:\n{out}")
    check("tasks       500: 498 done, 2 failed, 0 pending" in out, "counts in text")


def partial():
    path = faults_results()
    with h5py.File(path, "a") as f:
        f.attrs["state"] = "partial"
    out = report(path).stdout
    first = out.splitlines()[:3]
    check(first[0].endswith("(PARTIAL)") and first[1].startswith("*** PARTIAL RESULTS"),
          f"partial results labelled at the top: {first}")
    check("498 of 500 tasks done" in first[1], f"banner says how much is done: {first[1]}")
    doc = report_json(path)
    check(doc["state"] == "partial" and doc["complete"] is False, "JSON state partial")
    check_common_file_facts(doc, path)
    check_summaries_match_file(doc, path)
    svg = tmp("p.svg")
    report(path, "--plot", svg)
    title = ET.parse(svg).getroot().find(SVG + "title").text
    check(title.startswith("PARTIAL"), f"plot title says PARTIAL: {title}")


def running():
    """A file whose run never finished: no summaries or provenance; figures computed from the
    observations written so far, labelled RUNNING."""
    path = faults_results()
    with h5py.File(path, "a") as f:
        for k in list(f.attrs):
            if k not in ("format", "version", "state", "carlo_version", "tasks"):
                del f.attrs[k]
        f.attrs["state"] = "running"
        for g in ("summary", "failures", "options", "timeline"):
            if g in f:
                del f[g]
        f["tasks/status"][:] = 0
        for name in f["observations"]:
            v = f["observations/" + name][:]
            v[300:] = np.nan
            f["observations/" + name][:] = v
        values = {n: f["observations/" + n][:] for n in f["observations"]}
    out = report(path).stdout
    check(out.splitlines()[0].endswith("(RUNNING)") and "*** RUNNING" in out,
          f"running file labelled:\n{out}")
    check("provisional" in out, "figures called provisional")
    doc = report_json(path)
    check(doc["simulation"] is None and doc["seed"] is None and doc["ranks"] is None,
          "unrecorded provenance is null, not zero")
    check(doc["timing"]["per_rank"] is None and doc["timing"]["batches"] == 0, "no timeline")
    for o in doc["observations"]:
        x = values[o["name"]]
        x = x[~np.isnan(x)]
        check(o["summary_source"] != "file" and o["count"] == len(x) == 298, f"count {o}")
        check(math.isclose(o["mean"], float(np.mean(x)), rel_tol=1e-12), f"mean {o}")
        check(math.isclose(o["sd"], float(np.std(x, ddof=1)), rel_tol=1e-12), f"sd {o}")
        for key, q in [("p2.5", 2.5), ("p50", 50), ("p97.5", 97.5)]:
            check(o[key] == float(np.percentile(x, q)), f"{key} as numpy.percentile: {o}")
    svg = tmp("r.svg")
    report(path, "--plot", svg)
    title = ET.parse(svg).getroot().find(SVG + "title").text
    check(title.startswith("RUNNING"), f"plot title says RUNNING: {title}")


def json_escaping():
    """Messages with quotes, backslashes, control characters and non-ASCII text stay valid JSON
    and come back unchanged."""
    path = faults_results()
    messages = ['he said "no" \\ back\\slash', "line one\nline two\ttab\x01\x7f", "naïve ∑ 🎲"]
    with h5py.File(path, "a") as f:
        del f["failures"]
        g = f.create_group("failures")
        g["task"] = np.array([3, 7, 9], dtype=np.uint64)
        g["attempts"] = np.array([1, 2, 3], dtype=np.uint32)
        g.create_dataset("message", data=messages, dtype=h5py.string_dtype())
    doc = report_json(path)
    got = [t["message"] for t in doc["failures"]["tasks"]]
    check(got == messages, f"messages round-trip through JSON: {got!r}")
    out = report(path).stdout
    check("task 7 after 2 attempts: line one ..." in out, f"text shows a message's first line:\n{out}")


def plot():
    """The SVG: valid XML, renders to a PNG of real size, one histogram and running estimate per
    observation whose numbers match the file, and one lane rectangle per batch."""
    path = faults_results()
    svg = tmp("report.svg")
    out = report(path, "--plot", svg).stdout
    check(f"plot written to {svg}" in out, "text says where the plot went")
    root = ET.parse(svg).getroot()
    check(root.tag == SVG + "svg", "an SVG document")
    check(not any(e.get("href") or e.get("{http://www.w3.org/1999/xlink}href") for e in root.iter())
          and not list(root.iter(SVG + "script")), "self-contained: no references, no scripts")
    with h5py.File(path, "r") as f:
        values = {n: f["observations/" + n][:] for n in f["observations"]}
        rank, tasks = f["timeline/rank"][:], f["timeline/tasks"][:]
    groups = {g.get("data-observation"): g for g in root.iter(SVG + "g") if g.get("class") == "histogram"}
    check(sorted(groups) == sorted(values), f"a histogram per observation: {sorted(groups)}")
    for name, g in groups.items():
        counts = [int(r.get("data-count")) for r in g.iter(SVG + "rect")]
        n = int(np.isfinite(values[name]).sum())
        check(sum(counts) == n == 498, f"{name}: histogram holds every done task ({sum(counts)})")
        check(1 < len(counts) <= 120, f"{name}: {len(counts)} bins")
    lines = [p for p in root.iter(SVG + "polyline") if p.get("class") == "running-mean"]
    check(len(lines) == len(values), "a running estimate per observation")
    for p in lines:
        check(len(p.get("points").split()) == int(p.get("data-points")) == 498,
              f"a point per done task when there are fewer than 1000: {p.get('data-points')}")
    batches = [r for r in root.iter(SVG + "rect") if r.get("class") == "batch"]
    check(sum(int(r.get("data-batches")) for r in batches) == len(rank),
          f"every batch drawn: {len(batches)} rects for {len(rank)} batches")
    check(sum(int(r.get("data-tasks")) for r in batches) == int(tasks.sum()), "batch tasks")
    check({int(r.get("data-rank")) for r in batches} == set(rank.tolist()), "a lane per rank")
    png = tmp("report.png")
    subprocess.run(["rsvg-convert", svg, "-o", png], check=True, timeout=120)
    with open(png, "rb") as fh:
        head = fh.read(24)
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    check(head[:8] == b"\x89PNG\r\n\x1a\n", "rsvg-convert wrote a PNG")
    check(width == 1000 and height > 600, f"PNG size {width}x{height}")
    check(os.path.getsize(png) > 30000, f"PNG has content: {os.path.getsize(png)} bytes")


def plot_downsampled():
    """20,000 tasks: the running estimate is drawn with at most 1,000 points, the last at the end."""
    path = pi_results(tasks=20000, samples=100)
    svg = tmp("report.svg")
    report(path, "--plot", svg)
    root = ET.parse(svg).getroot()
    line = [p for p in root.iter(SVG + "polyline") if p.get("class") == "running-mean"][0]
    points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    check(len(points) == 1000, f"1000 points, got {len(points)}")
    xs = [x for x, _ in points]
    check(xs == sorted(xs), "points in task order")
    gaps = np.diff(xs)
    check(gaps.max() - gaps.min() < 0.05, f"evenly spaced: {gaps.min()}..{gaps.max()}")


def plot_without_timeline():
    path = pi_results(tasks=200, samples=100)
    with h5py.File(path, "a") as f:
        if "timeline" in f:
            del f["timeline"]
    svg = tmp("report.svg")
    out = report(path, "--plot", svg).stdout
    check("no timeline recorded" in out, "text says no timeline")
    texts = [t.text for t in ET.parse(svg).getroot().iter(SVG + "text")]
    check(any(t and "no timeline recorded" in t for t in texts), "plot says no timeline recorded")
    png = tmp("report.png")
    subprocess.run(["rsvg-convert", svg, "-o", png], check=True, timeout=120)
    check(os.path.getsize(png) > 20000, "renders")


def huge_running_file(tasks, written):
    """A RUNNING results file of `tasks` tasks (a killed run) whose only observation x is
    float64[tasks] of NaN in chunks never written, except `written` values in two places: the
    file is megabytes, the column 8·tasks bytes."""
    path = pi_results(tasks=100, samples=10)
    rng = np.random.default_rng(7)
    with h5py.File(path, "a") as f:
        for g in ("summary", "failures", "options", "timeline", "observations", "tasks"):
            if g in f:
                del f[g]
        f.attrs["state"] = "running"
        f.attrs["tasks"] = np.uint64(tasks)
        status = f.create_dataset("tasks/status", (tasks,), np.uint8, chunks=(1 << 20,),
                                  fillvalue=0)
        f.create_dataset("tasks/attempts", (tasks,), np.uint8, chunks=(1 << 20,), fillvalue=0)
        x = f.create_dataset("observations/x", (tasks,), np.float64, chunks=(1 << 16,),
                             fillvalue=np.nan)
        values = rng.normal(5, 2, written)
        half = written // 2
        x[:half] = values[:half]
        x[tasks // 2:tasks // 2 + written - half] = values[half:]
        status[:half] = 1
    return path, values


# Address space `carlo report --plot` gets in plot_huge_running_file: five times what a plot of a
# small file needs (50 MiB, measured with `ulimit -v`), and an eighth of one column of that file
# (2 GiB), which the plot used to read whole.
REPORT_ADDRESS_SPACE = 256 << 20


def plot_huge_running_file():
    """A RUNNING file of 2^28 tasks, almost all never written: `carlo report --plot` reads each
    column in pieces, so it completes in bounded memory, and draws what was written."""
    import resource
    path, values = huge_running_file(1 << 28, 6000)
    svg = tmp("huge.svg")

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (REPORT_ADDRESS_SPACE, REPORT_ADDRESS_SPACE))

    p = subprocess.run([CARLO, "report", path, "--plot", svg], capture_output=True, text=True,
                       timeout=120, preexec_fn=limit)
    check(p.returncode == 0, f"carlo report --plot under a {REPORT_ADDRESS_SPACE >> 20} MiB "
                             f"address space exited {p.returncode}\nstderr: {p.stderr}")
    root = ET.parse(svg).getroot()
    check(root.find(SVG + "title").text.startswith("RUNNING"), "plot title says RUNNING")
    hist = [g for g in root.iter(SVG + "g") if g.get("class") == "histogram"]
    check(len(hist) == 1, "one histogram")
    counts = [int(r.get("data-count")) for r in hist[0].iter(SVG + "rect")]
    check(sum(counts) == len(values), f"histogram holds the written values: {sum(counts)}")
    line = [p for p in root.iter(SVG + "polyline") if p.get("class") == "running-mean"][0]
    check(int(line.get("data-points")) == 1000, f"1000 running points: {line.get('data-points')}")


def errors():
    missing = tmp("missing.h5")
    p = report(missing, expect=1)
    check(p.stderr.count("\n") == 1 and missing in p.stderr and p.stdout == "",
          f"missing file: one line naming it: {p.stderr!r}")
    p = report(GROUPS, expect=1)
    check(p.stderr.count("\n") == 1 and GROUPS in p.stderr and "not a carlo results file" in p.stderr,
          f"a ragged array is not a results file: {p.stderr!r}")
    text = tmp("notes.h5")
    open(text, "w").write("not hdf5\n")
    p = report(text, expect=1)
    check(p.stderr.count("\n") == 1 and text in p.stderr, f"not HDF5: {p.stderr!r}")

    path = pi_results(tasks=50, samples=100)
    svg = tmp("exists.svg")
    open(svg, "w").write("keep me")
    p = report(path, "--plot", svg, expect=1)
    check(p.stderr.count("\n") == 1 and svg in p.stderr and "--force" in p.stderr,
          f"existing plot refused: {p.stderr!r}")
    check(open(svg).read() == "keep me", "refused plot left untouched")
    report(path, "--plot", svg, "--force")
    check(open(svg).read().startswith("<?xml"), "--force overwrites")
    p = report(expect=1)
    check("usage" in p.stderr, f"no file: usage hint: {p.stderr!r}")

    # A timeline naming a rank the run did not have is refused, not drawn as 10^9 lanes.
    with h5py.File(path, "a") as f:
        ranks = f["timeline/rank"][:]
        ranks[0] = 1_000_000_000
        f["timeline/rank"][:] = ranks
    p = report(path, expect=1)
    check(p.stderr.count("\n") == 1 and "/timeline/rank" in p.stderr and path in p.stderr,
          f"damaged timeline named: {p.stderr!r}")


def analysis_example(block_pandas=False):
    """docs/examples/analyse_results.py runs on a real results file and prints the stored
    estimate; without pandas it falls back to h5py + numpy."""
    path = faults_results()
    script = os.path.join(SRC, "docs", "examples", "analyse_results.py")
    cmd = [sys.executable, script, path]
    if block_pandas:
        # sys.modules[name] = None makes `import pandas` raise ImportError, as on a machine
        # without it.
        cmd = [sys.executable, "-c",
               "import runpy, sys; sys.modules['pandas'] = None; sys.argv = sys.argv[1:]; "
               "runpy.run_path(sys.argv[0], run_name='__main__')", script, path]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"example failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    with h5py.File(path, "r") as f:
        mean = float(f["summary/value"].attrs["mean"])
    check(f"value: mean {mean:.6g}" in p.stdout, f"example prints the estimate:\n{p.stdout}")
    check("failed tasks: 2" in p.stdout, f"example lists failures:\n{p.stdout}")
    uses = "without pandas" if block_pandas else "with pandas"
    try:
        import pandas  # noqa: F401
        have_pandas = True
    except ImportError:
        have_pandas = False
    if block_pandas or have_pandas:
        check(uses in p.stdout, f"example says it ran {uses}:\n{p.stdout}")


def analysis_example_without_pandas():
    analysis_example(block_pandas=True)


def main():
    case = sys.argv[1]
    globals()[case]()
    print(f"{case}: ok")


if __name__ == "__main__":
    main()
