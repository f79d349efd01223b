#!/usr/bin/python3
"""End-to-end tests of simulation plugins: carlo installed with `cmake --install`, the example
plugin of docs/examples/plugin built out of tree against the installed package, run by the
installed `carlo` under mpiexec; and plugins that must be refused.

Usage: plugin_cli.py CASE --build-dir B --source-dir S --cmake CMAKE --generator G --cxx CXX
                          --no-entry-plugin SO --other-abi-plugin SO --duplicate-plugin SO
                          --bad-declaration-plugin SO
CASE `install` installs into B/plugin-test/prefix and builds the example in
B/plugin-test/example (incrementally when they exist); every other case uses them.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

from carlo_results import results_contents  # shared helpers in tests/scripts/

parser = argparse.ArgumentParser()
parser.add_argument("case")
for opt in ("build-dir", "source-dir", "cmake", "generator", "cxx", "no-entry-plugin",
            "other-abi-plugin", "duplicate-plugin"):
    parser.add_argument("--" + opt, required=True)
parser.add_argument("--bad-declaration-plugin", required=True,
                    help="SO built from plugins/bad_declaration.cpp (CARLO_TEST_MISTAKE picks the mistake)")
ARGS = parser.parse_args()
BAD = ARGS.bad_declaration_plugin

ROOT = os.path.join(ARGS.build_dir, "plugin-test")
PREFIX = os.path.join(ROOT, "prefix")
EXAMPLE_BUILD = os.path.join(ROOT, "example")
EXAMPLE_SRC = os.path.join(ARGS.source_dir, "docs", "examples", "plugin")
CARLO = os.path.join(PREFIX, "bin", "carlo")  # the installed one, never the build tree's
ICC = os.path.join(EXAMPLE_BUILD, "libicc.so")
GROUPS = os.path.join(ARGS.source_dir, "data", "groups-small.h5")
# The example must build warning-free with the flags carlo's own code uses.
WARNINGS = "-Wall -Wextra -Wpedantic -Wconversion -Wno-sign-conversion -Werror"


def check(cond, msg):
    if not cond:
        sys.exit("FAIL: " + msg)


def run(cmd, expect=0, env=None, timeout=500, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, **kw)
    check(p.returncode == expect, f"{' '.join(cmd)} exited {p.returncode}, expected {expect}\n"
                                  f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def clean_env():
    """The environment without library search paths: the installed carlo must find its libcarlo
    through its own RPATH."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.pop("LD_LIBRARY_PATH", None)
    return env


def mpirun(ranks, args, expect=0, env=None):
    """mpiexec ... carlo run ARGS; `env` adds variables, exported to every rank (-x)."""
    exports = [a for name in (env or {}) for a in ("-x", name)]
    cmd = ["mpiexec", "-n", str(ranks), "--oversubscribe"] + exports + [CARLO, "run"] + args
    return run(cmd, expect=expect, env=dict(clean_env(), **(env or {})))


SCRATCH = tempfile.TemporaryDirectory(prefix="carlo-plugin-")  # removed at exit


def tmp(name):
    return os.path.join(tempfile.mkdtemp(dir=SCRATCH.name), name)


def resolved_libcarlo(binary):
    """Where the dynamic linker finds libcarlo for `binary` (from ldd)."""
    out = run(["ldd", binary], env=clean_env()).stdout
    for line in out.splitlines():
        if "libcarlo.so" in line and "=>" in line:
            return line.split("=>")[1].split("(")[0].strip()
    sys.exit(f"FAIL: {binary} does not link libcarlo:\n{out}")


def inside_prefix(path):
    return os.path.realpath(path).startswith(os.path.realpath(PREFIX) + os.sep)


def refused(args, *needles, ranks=2, env=None):
    """carlo run ... is refused: exit 1, one error line (from rank 0 only) holding every needle,
    no results file."""
    out = tmp("r.h5")
    p = mpirun(ranks, args + ["--tasks", "10", "--seed", "1", "-o", out], expect=1, env=env)
    lines = [l for l in p.stderr.splitlines() if l.startswith("carlo")]
    check(len(lines) == 1, f"exactly one error line, got {lines}\nstderr: {p.stderr}")
    for n in needles:
        check(n in lines[0], f"the error names {n!r}: {lines[0]}")
    check(not os.path.exists(out), "no results file written")
    return lines[0]


def icc_run(ranks, out, *extra, tasks=300, seed=7):
    mpirun(ranks, ["--quiet", "--plugin", ICC, "--sim", "icc", "--data", GROUPS, "--tasks", str(tasks),
                   "--seed", str(seed), "-o", out] + list(extra))


# ---------------------------------------------------------------------------------------------

def install():
    # Headers are copied over the old ones; drop those first so a removed header does not linger.
    shutil.rmtree(os.path.join(PREFIX, "include", "carlo"), ignore_errors=True)
    run([ARGS.cmake, "--install", ARGS.build_dir, "--prefix", PREFIX])
    for rel in ("bin/carlo", "include/carlo/simulation.h", "include/carlo/rng.h"):
        check(os.path.exists(os.path.join(PREFIX, rel)), f"{rel} installed")
    configs = glob.glob(os.path.join(PREFIX, "lib*", "**", "cmake", "carlo", "carloConfig.cmake"),
                        recursive=True)
    check(len(configs) == 1, f"one carloConfig.cmake installed: {configs}")
    cmake_dir = os.path.dirname(configs[0])
    for f in ("carloConfigVersion.cmake", "carloTargets.cmake", "carloSimulation.cmake"):
        check(os.path.exists(os.path.join(cmake_dir, f)), f"{f} installed next to carloConfig.cmake")
    targets = "".join(open(p).read() for p in glob.glob(os.path.join(cmake_dir, "carloTargets*.cmake")))
    check("carlo_warnings" not in targets, "carlo's warning flags do not leak into the package")
    check(os.path.realpath(ARGS.build_dir) not in targets, "the package names no build-tree path")

    # The installed carlo runs, and takes its libcarlo from the prefix (its RPATH), not the build.
    lib = resolved_libcarlo(CARLO)
    check(inside_prefix(lib), f"installed carlo loads libcarlo from the prefix, not {lib}")
    run([CARLO, "--version"], env=clean_env())

    # The example, configured out of tree against the prefix only.
    run([ARGS.cmake, "-S", EXAMPLE_SRC, "-B", EXAMPLE_BUILD, "-G", ARGS.generator,
         f"-DCMAKE_PREFIX_PATH={PREFIX}", f"-DCMAKE_CXX_COMPILER={ARGS.cxx}",
         "-DCMAKE_BUILD_TYPE=RelWithDebInfo", f"-DCMAKE_CXX_FLAGS={WARNINGS}"])
    with open(os.path.join(EXAMPLE_BUILD, "CMakeCache.txt")) as f:
        carlo_dir = [l.split("=", 1)[1].strip() for l in f if l.startswith("carlo_DIR:")]
    check(carlo_dir and os.path.realpath(carlo_dir[0]) == os.path.realpath(cmake_dir),
          f"find_package(carlo) found the installed package: {carlo_dir}")
    run([ARGS.cmake, "--build", EXAMPLE_BUILD])
    check(os.path.exists(ICC), f"{ICC} built")
    check(inside_prefix(resolved_libcarlo(ICC)), "the plugin links the installed libcarlo")
    exported = run(["nm", "-D", "--defined-only", ICC]).stdout.split()
    for sym in ("carlo_plugin_abi", "carlo_plugin_register"):
        check(sym in exported, f"{sym} exported from the plugin (built with hidden visibility)")


def installed_headers_compile_alone():
    include = os.path.join(PREFIX, "include")
    headers = sorted(glob.glob(os.path.join(include, "carlo", "**", "*.h"), recursive=True))
    names = sorted(os.path.relpath(h, os.path.join(include, "carlo")) for h in headers)
    # The plugin API only: the scheduler, I/O and transport stay inside libcarlo.
    api = ["dtype.h", "error.h", "ragged.h", "rng.h", "simulation.h", "units.h", "version.h"]
    check(names == api, f"exactly the plugin API headers installed: {names}")

    def compile_alone(header):
        rel = os.path.relpath(header, include)
        run([ARGS.cxx, "-std=c++20", "-fsyntax-only"] + WARNINGS.split() +
            ["-I", include, "-x", "c++", "-"], input=f"#include <{rel}>\n")

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(compile_alone, headers))  # list(): re-raises a failure (SystemExit)


def example_identical_at_1_and_3_ranks():
    a, b = tmp("np1.h5"), tmp("np3.h5")
    icc_run(1, a)
    icc_run(3, b, "--batch", "7")
    ra, rb = results_contents(a), results_contents(b)
    for name in ("observations/within", "observations/between", "tallies/draws"):
        check(name in ra, f"{name} in the results: {sorted(ra)}")
    check(ra.keys() == rb.keys(), f"same objects at 1 and 3 ranks: {sorted(ra.keys() ^ rb.keys())}")
    for k in ra:
        check(ra[k] == rb[k], f"{k} differs between 1 and 3 ranks")


def example_estimates_match_the_data():
    """The plugin computes what its comment says, with groups below --min-size left out."""
    out, tasks, pairs, min_size = tmp("icc.h5"), 400, 500, 10
    icc_run(2, out, "--pairs-per-task", str(pairs), "--min-size", str(min_size), tasks=tasks)
    with h5py.File(GROUPS, "r") as g:
        offsets, values = g["offsets"][:], g["values"][:]
    rows = [values[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
    eligible = np.array([len(r) >= min_size for r in rows])
    n = eligible.sum()
    means = np.array([r.mean() for r, e in zip(rows, eligible) if e])
    var_pop = np.array([r.var() for r, e in zip(rows, eligible) if e])
    var_unbiased = np.array([r.var(ddof=1) for r, e in zip(rows, eligible) if e])
    expect = {"within": var_unbiased.mean(),  # two distinct values of one uniform group
              "between": var_pop.mean() + n / (n - 1) * means.var()}  # two distinct groups
    with h5py.File(out, "r") as f:
        for name, e in expect.items():
            obs = f["observations/" + name][:]
            check(obs.shape == (tasks,) and np.isfinite(obs).all(), f"{name}: one finite value per task")
            s = f["summary/" + name].attrs
            check(abs(s["mean"] - e) < 5 * s["stderr"],
                  f"{name}: mean {s['mean']} within 5 stderr ({s['stderr']}) of {e}")
        draws = f["tallies/draws"][:]
        check(draws.shape == (len(rows),), "one draws bin per group")
        check(draws.sum() == tasks * pairs, f"draws sum to tasks x pairs: {draws.sum()}")
        check((draws[~eligible] == 0).all(), "groups below --min-size never drawn")
        check((draws[eligible] > 0).all(), "every eligible group drawn")
        opts = f["options"].attrs
        check(str(opts["sim.min-size"]) in ("10", "b'10'"), f"options recorded: {dict(opts)}")


def help_lists_plugin_options():
    p = run([CARLO, "run", "--plugin", ICC, "--sim", "icc", "--help"], env=clean_env())
    text = p.stdout
    check("Options of simulation 'icc'" in text, f"the plugin's option section:\n{text}")
    for needle in ("--pairs-per-task", "(=1000)", "--min-size", "(=2)"):
        check(needle in text, f"help shows {needle}:\n{text}")


def help_lists_plugin_simulations():
    p = run([CARLO, "run", "--plugin", ICC, "--help"], env=clean_env())
    lines = p.stdout.splitlines()
    sims = lines[lines.index("Simulations:") + 1:]
    check(any(l.split()[:1] == ["icc"] and "intraclass" in l for l in sims),
          f"the plugin's simulation listed with its summary: {sims}")
    check(any(l.split()[:1] == ["bootstrap"] for l in sims), f"built-in ones still listed: {sims}")


def help_prints_real_defaults_shortest():
    p = run([CARLO, "run", "--sim", "walk", "--help"], env=clean_env())
    check("(=0.85)" in p.stdout, f"--alpha's default printed as 0.85:\n{p.stdout}")
    check("0.8499" not in p.stdout, "no round-trip digits in the help")


def setup_refusal_printed_once():
    line = refused(["--plugin", ICC, "--sim", "icc", "--data", GROUPS, "--min-size", "100000"],
                   "icc: needs at least 2 groups of --min-size 100000", "largest group has 5222")
    # The plugin's carlo::InputError is caught as one (a usage error, not an internal error),
    # although the plugin hides its symbols.
    check(line.startswith("carlo run: error: icc:"), f"reported as a usage error: {line}")


def refuses_missing_entry_points():
    so = ARGS.no_entry_plugin
    refused(["--plugin", so, "--sim", "pi"], so, "not a carlo plugin", "carlo_plugin_abi")


def refuses_other_abi():
    so = ARGS.other_abi_plugin
    refused(["--plugin", so, "--sim", "pi"], so, "carlo-plugin-1/0.0.0-other",
            "rebuild the plugin")


def refuses_missing_file():
    so = tmp("libnothere.so")
    refused(["--plugin", so, "--sim", "pi"], so, "no such file")


def refuses_non_shared_object():
    so = tmp("libtext.so")
    with open(so, "w") as f:
        f.write("not an ELF file\n")
    refused(["--plugin", so, "--sim", "pi"], so, "cannot load plugin")


def refuses_duplicate_name():
    so = ARGS.duplicate_plugin
    refused(["--plugin", so, "--sim", "pi"], so, "'pi'", "clashes")


def configure_example(build, *extra, prefix=PREFIX, expect=0):
    """Configures docs/examples/plugin into `build` as its README says, plus `extra`; neither a
    build type nor flags come from the environment (CMake reads CMAKE_BUILD_TYPE and CXXFLAGS
    there)."""
    env = clean_env()
    for var in ("CMAKE_BUILD_TYPE", "CXXFLAGS"):
        env.pop(var, None)
    return run([ARGS.cmake, "-S", EXAMPLE_SRC, "-B", build, "-G", ARGS.generator,
                f"-DCMAKE_PREFIX_PATH={prefix}", f"-DCMAKE_CXX_COMPILER={ARGS.cxx}",
                "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"] + list(extra), expect=expect, env=env)


def icc_compile_flags(build):
    with open(os.path.join(build, "compile_commands.json")) as f:
        commands = [c["command"] for c in json.load(f) if c["file"].endswith("icc.cpp")]
    check(len(commands) == 1, f"one compile command for icc.cpp: {commands}")
    return commands[0].split()


def example_optimised_without_build_type():
    """Following the docs (no CMAKE_BUILD_TYPE) gives an optimised plugin, and says so."""
    build = tmp("icc-default")
    p = configure_example(build)
    check("building optimised" in p.stdout, f"a status line says so:\n{p.stdout}")
    flags = icc_compile_flags(build)
    check("-O2" in flags and "-DNDEBUG" in flags, f"icc.cpp compiled with -O2 -DNDEBUG: {flags}")


def chosen_build_type_kept():
    build = tmp("icc-debug")
    p = configure_example(build, "-DCMAKE_BUILD_TYPE=Debug")
    flags = icc_compile_flags(build)
    check("-g" in flags and not [f for f in flags if f.startswith("-O") and f != "-O0"],
          f"a Debug build stays unoptimised: {flags}")
    check("building optimised" not in p.stdout, f"no status line for a chosen type:\n{p.stdout}")


def build_tree_is_not_a_package():
    """CMAKE_PREFIX_PATH at carlo's build tree (a natural mistake) gives CMake's standard "not
    found" advice, not errors from a half-made package."""
    p = configure_example(tmp("against-build-tree"), prefix=ARGS.build_dir, expect=1)
    err = " ".join(p.stderr.split())  # CMake wraps its messages
    check('Could not find a package configuration file provided by "carlo"' in err,
          f"CMake's own not-found message:\n{p.stderr}")
    for name in ("carloTargets", "carloSimulation", "carlo_EXECUTABLE"):
        check(name not in err, f"no half-made package: {name} in\n{p.stderr}")


def refused_declaration(mistake, *needles):
    line = refused(["--plugin", BAD, "--sim", "pi"], BAD, *needles,
                   env={"CARLO_TEST_MISTAKE": mistake})
    check("internal error" not in line and "boost" not in line, f"a plain usage error: {line}")


def refuses_reserved_option():
    refused_declaration("reserved_option", "simulation 'badopt'", "--seed", "carlo run's own")


def run_option_names_in_help():
    """The option names `carlo run --help` prints in its "Run options" section, long and short."""
    text = run([CARLO, "run", "--help"]).stdout
    names = set()
    for m in re.finditer(r"^  (?:-([a-z]) \[ --([a-z0-9-]+) \]|--([a-z0-9-]+))", text, re.M):
        names.update(g for g in m.groups() if g)
    return names


def refuses_every_run_option_name():
    # The names a simulation may not declare are read off carlo run's own options: every one
    # in --help (short ones too) must be refused, with the line that says why.
    names = run_option_names_in_help()
    check(len(names) > 20 and {"seed", "o", "q", "h", "config"} <= names, f"--help parsed: {names}")
    for name in sorted(names):
        p = subprocess.run([CARLO, "run", "--plugin", BAD, "--sim", "badopt", "--help"],
                           env=dict(os.environ, CARLO_TEST_MISTAKE="option_from_env",
                                    CARLO_TEST_OPTION=name), capture_output=True, text=True)
        check(p.returncode == 1 and f"option --{name} is one of carlo run's own" in p.stderr,
              f"a simulation declaring --{name} is refused: exit {p.returncode}, {p.stderr!r}")


def refuses_duplicate_option():
    refused_declaration("duplicate_option", "simulation 'badopt'", "--rows is declared twice")


def refuses_bad_option_name():
    refused_declaration("option_name", "simulation 'badopt'", "option name 'with space' is invalid")


def refuses_bad_simulation_name():
    refused_declaration("simulation_name", "simulation name 'my sim/with spaces' is invalid")


def refuses_plugin_registering_twice():
    refused_declaration("registers_twice", "simulation 'twice' is registered twice")


def runs_with(*plugin_args):
    """A short icc run with the example plugin given as `plugin_args` on top of --plugin ICC."""
    out = tmp("once.h5")
    icc_run(2, out, *plugin_args, tasks=20)
    with h5py.File(out, "r") as f:
        check(f.attrs["simulation"] in ("icc", b"icc"), f"icc ran: {dict(f.attrs)}")


def same_plugin_twice_loads_once():
    runs_with("--plugin", ICC)


def same_plugin_from_config_and_command_line_loads_once():
    ini = tmp("run.ini")
    with open(ini, "w") as f:
        f.write(f"plugin = {ICC}\n")
    runs_with("--config", ini)


def same_plugin_under_two_names_loads_once():
    link = tmp("libicc-link.so")
    os.symlink(ICC, link)
    runs_with("--plugin", link, "--plugin", os.path.join(EXAMPLE_BUILD, ".", "libicc.so"))


def clash_between_plugins_names_the_first():
    copy = tmp("libicc-copy.so")  # another file: a second plugin with the same simulation name
    shutil.copy(ICC, copy)
    refused(["--plugin", ICC, "--plugin", copy, "--sim", "icc", "--data", GROUPS],
            copy, "'icc'", "plugin " + ICC + " registered first")


def main():
    globals()[ARGS.case]()
    print(f"{ARGS.case}: ok")


if __name__ == "__main__":
    main()
