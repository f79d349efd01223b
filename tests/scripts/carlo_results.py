"""Helpers shared by the end-to-end test drivers (imported from the scripts' own folder)."""
import os
import sys

import h5py


def results_contents(path):
    """Every dataset's bytes and every summary attribute of a results file, by name; not the
    timeline (it records timing, which differs between runs)."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if name.startswith("timeline"):
                return
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()].tobytes() if obj.dtype.kind != "O" else list(obj[()])
            elif name.startswith("summary/"):
                out[name] = dict(obj.attrs.items())
        f.visititems(visit)
    return out


def lock_holder(out):
    """The text of the run's lock file OUT.lock ("carlo run pid N on host H since T"), or "" while
    no run holds the output: tests that signal or kill a run wait for it instead of sleeping."""
    try:
        with open(out + ".lock") as f:
            return f.read()
    except OSError:
        return ""


def check_refused(stderr, needle, out, what):
    """A refused run: exactly one line of `stderr` holds `needle`, and no results file `out` was
    written. Exits the test with a FAIL line naming `what` otherwise."""
    lines = [l for l in stderr.splitlines() if needle in l]
    if len(lines) != 1:
        sys.exit(f"FAIL: {what}: one error line with {needle!r}, got stderr: {stderr}")
    if os.path.exists(out):
        sys.exit(f"FAIL: {what}: no results file written")

