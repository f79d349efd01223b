"""The node-shared window the mpi4py peers share (bench/python_mpi4py.py, bench/walk_mpi4py.py):
what a careful mpi4py user writes to hold one copy of an HDF5 file's arrays per node."""
import h5py
import numpy as np
from mpi4py import MPI


def shared_arrays(path, node, names):
    """The 1-D datasets `names` of `path` in one MPI.Win.Allocate_shared window of the node
    communicator `node`, read by its rank 0 with h5py; every rank gets read-only numpy views, each
    array 64-byte aligned. Returns (window, [arrays in the order of names]); keep the window."""
    if node.rank == 0:
        with h5py.File(path, "r") as f:
            shapes = [(f[n].shape[0], f[n].dtype.str) for n in names]
    else:
        shapes = None
    shapes = node.bcast(shapes, root=0)
    sizes = [n * np.dtype(t).itemsize for n, t in shapes]
    starts, end = [], 0
    for size in sizes:
        starts.append(end)
        end = (end + size + 63) // 64 * 64
    win = MPI.Win.Allocate_shared(end if node.rank == 0 else 0, 1, comm=node)
    buf, _ = win.Shared_query(0)
    mem = np.frombuffer(buf, dtype=np.uint8)
    arrays = [mem[s:s + size].view(t) for s, size, (_, t) in zip(starts, sizes, shapes)]
    if node.rank == 0:
        with h5py.File(path, "r") as f:
            for name, a in zip(names, arrays):
                f[name].read_direct(a)
    win.Sync()
    node.Barrier()
    for a in arrays:
        a.flags.writeable = False
    return win, arrays
