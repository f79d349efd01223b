#!/usr/bin/python3
"""The arithmetic of bench/walk_end_to_end.sh (not meant to be run alone).

    walk_compare.py rates CARLO.h5 TIMINGS.txt
        each worker's steady rate from `carlo timings: worker=R tasks=N busy=S [cpu=C]` lines:
        N x (total steps / total tasks, from /observations/steps) / S, in M steps/s (and per CPU
        second, / C, comparable with bench_walk's CPU-time rates on a shared machine)
    walk_compare.py summary TIMES.txt TASKS RATES.txt B_LINE KERNEL.txt CARLO.h5 PEER.h5...
        medians, tasks/s, carlo / best peer; steady rates against bench_walk's (b), and per round
        against the kernel run right after it on the same core (KERNEL.txt: "ROUND CORE B C" per
        core; worker w is rank w, which mpirun binds to core w); the checks:
        each peer's mean steps per task and the L1 distance of its normalised visits to carlo's
        (exit 1 if grossly off); a PEER.h5 named walk_carlo* (carlo in another mode) must be
        bitwise the same as CARLO.h5
"""
import re
import statistics
import sys

import h5py
import numpy as np


def read(path):
    with h5py.File(path, "r") as f:
        return f["tallies/visits"][()].astype(np.float64), f["observations/steps"][()]


def rates(carlo_h5, timings_txt):
    _, steps = read(carlo_h5)
    per_task = np.nansum(steps) / np.count_nonzero(~np.isnan(steps))
    with open(timings_txt) as f:
        for line in f:
            m = re.search(r"worker=(\d+) tasks=(\d+) busy=([\d.]+)(?: cpu=([\d.]+))?", line)
            if m and float(m[3]) > 0:
                steps = int(m[2]) * per_task / 1e6
                per_cpu = f", {steps / float(m[4]):.2f} per CPU s" if m[4] and float(m[4]) else ""
                print(f"    worker {m[1]}: {int(m[2])} tasks, busy {float(m[3]):.2f} s, "
                      f"steady {steps / float(m[3]):.2f} M steps/s{per_cpu}")


def summary(times_txt, tasks, rates_txt, b_line, kernel_txt, carlo_h5, *peers):
    tasks = int(tasks)
    times, cpus = {}, {}
    with open(times_txt) as f:
        for name, wall, cpu in (line.split() for line in f if line.strip()):
            times.setdefault(name, []).append(float(wall))
            cpus.setdefault(name, []).append(float(cpu))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    print("medians (whole command, launcher start to exit; CPU = user + sys of all ranks):")
    for name, t in med.items():
        print(f"  {name:8} {t:7.2f} s  {tasks / t:8.0f} tasks/s  CPU "
              f"{statistics.median(cpus[name]):7.2f} s  ({len(times[name])} runs: "
              f"{', '.join(f'{x:.2f}' for x in times[name])})")
    cpu = {name: statistics.median(cs) for name, cs in cpus.items()}
    best = min((n for n in med if not n.startswith("carlo")), key=med.get)
    best_cpu = min((n for n in cpu if not n.startswith("carlo")), key=cpu.get)
    for name in (n for n in med if n.startswith("carlo")):
        print(f"{name} / best peer: {med[best] / med[name]:.2f}x in tasks/s (wall, {best}); "
              f"{cpu[best_cpu] / cpu[name]:.2f}x in CPU time ({best_cpu})")

    b = float(re.search(r"([\d.]+) M steps/s", b_line)[1])
    steady, per_cpu = {}, {}
    with open(rates_txt) as f:
        for line in f:
            m = re.search(r"worker (\d+):.* steady ([\d.]+) M steps/s(?:, ([\d.]+))?", line)
            if m:
                steady.setdefault(m[1], []).append(float(m[2]))
                if m[3]:
                    per_cpu.setdefault(m[1], []).append(float(m[3]))
    # The kernel at each round's minute on each core: "ROUND CORE B C" (rank w runs on core w).
    kb, kc = {}, {}
    with open(kernel_txt) as f:
        for r, core, b_rate, c_rate in (line.split() for line in f if line.strip()):
            kb[(int(r), core)] = float(b_rate)
            kc[(int(r), core)] = float(c_rate)
    rounds = sorted({r for r, _ in kb})
    # Workers with a rate in every round and a kernel on their core (worker w = rank w = core w).
    workers = [w for w in sorted(per_cpu)
               if len(per_cpu[w]) == len(rounds) and all((r, w) in kb for r in rounds)]

    def over_kernel(what, ws):  # the workers' summed rate over their cores' summed kernel rates
        rate = [sum(per_cpu[w][i] for w in ws) for i in range(len(rounds))]
        parts = []
        for name, k in (("b", kb), ("c", kc)):
            xs = [x / sum(k[(r, w)] for w in ws) for x, r in zip(rate, rounds)]
            parts.append(f"{statistics.median(xs):.2f} x ({name}) "
                         f"({', '.join(f'{x:.2f}' for x in xs)})")
        print(f"{what}: {', '.join(parts)}")

    for w in workers:
        over_kernel(f"carlo worker {w} per CPU second over the kernel on its core at the same "
                    "minute", [w])
    # Both workers together over both cores: steadier than either alone, as the rates of the
    # two cores swap within a run.
    if workers:
        over_kernel("carlo workers together over their cores' kernel", workers)
    for w, rs in sorted(steady.items()):
        cpu_part = ""
        if w in per_cpu:
            c = statistics.median(per_cpu[w])
            cpu_part = f"; per CPU second {c:.2f} = {c / b:.2f} x"
        print(f"carlo worker {w}: steady {statistics.median(rs):.2f} M steps/s (median) = "
              f"{statistics.median(rs) / b:.2f} x bench_walk (b) {b:.1f}{cpu_part}")

    cv, cs = read(carlo_h5)
    cf = cv / cv.sum()
    bad = False
    print(f"checks: carlo {np.nanmean(cs):.0f} steps per task")
    for path in peers:
        pv, ps = read(path)
        if "walk_carlo" in path:  # carlo with other options: the very same results
            same = np.array_equal(pv, cv) and np.array_equal(ps, cs, equal_nan=True)
            bad |= not same
            print(f"  {path}: {'bitwise the same as' if same else 'DIFFERS FROM'} {carlo_h5}")
            continue
        pf = pv / pv.sum()
        l1 = np.abs(pf - cf).sum()
        # What independent Poisson counts alone would give: sum of E|X| for X ~ N(0, var_i).
        noise = np.sqrt(2 / np.pi) * np.sqrt(cf / cv.sum() + pf / pv.sum()).sum()
        ok = np.sum(pv) == np.sum(ps) and abs(np.mean(ps) / np.nanmean(cs) - 1) < 0.02 \
            and l1 < max(0.2, 2 * noise)
        bad |= not ok
        print(f"  {path}: {np.mean(ps):.0f} steps per task, L1 to carlo {l1:.4f} "
              f"(Poisson noise alone ~{noise:.4f}){'' if ok else '  <-- GROSSLY OFF'}")
    if bad:
        sys.exit("walk_end_to_end: a peer's visits disagree with carlo's")


if __name__ == "__main__":
    {"rates": rates, "summary": summary}[sys.argv[1]](*sys.argv[2:])
