"""Helpers shared by the end-to-end test drivers (imported from the scripts' own folder)."""
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
