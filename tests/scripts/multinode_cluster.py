#!/usr/bin/python3
"""A cluster of "nodes" on one machine: network namespaces with their own hostnames, joined by
veth pairs to a bridge in one more namespace, the head node (where mpirun runs, as on a cluster's
login node), so no traffic leaves them. Open MPI launches across them over TCP: its rsh agent (a
script this module writes) enters a node's namespace and takes its hostname instead of calling
ssh, so every node runs its own orted and its ranks under it.

Used by multinode.py (the tests) and from the command line for the benchmark
(docs/benchmarks.md, "Two real nodes"):

    multinode_cluster.py [--nodes N] [--ranks-per-node K] [--memory] [--trace-opens FILE] -- CMD...

runs `mpirun --host carlo-mn<pid>-a:K,carlo-mn<pid>-b:K,... CMD...`. --memory samples each node's
processes running CMD's executable every 0.1 s, and prints per node the peak of the PSS summed
over them, and of the node's memory: their private pages plus the /dev/shm files they map, each
once (pages of a file no process has touched count too, which PSS misses). Needs root
(namespaces); exits 77 (ctest's skip code) where namespaces cannot be made.
"""
import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
SUBNET = "10.251.0.0/24"
_PREFIX = "carlo-mn"
_AGENT = r"""#!/bin/sh
# Open MPI's rsh agent for namespace nodes: "$1" is the node (its hostname and the name of its
# network namespace), the rest the command a remote shell would run (orted and its environment).
# It enters the node's network namespace, takes the node's hostname in a UTS namespace of its own
# and runs the command there; with CARLO_MN_TRACE set to "FILE DIR" every successful open of FILE
# on the node is logged to DIR/opens.NODE.
host=$1
shift
set -- ip netns exec "$host" unshare --uts /bin/sh -c "hostname $host && $*"
if [ -n "$CARLO_MN_TRACE" ]; then
  file=${CARLO_MN_TRACE%% *} dir=${CARLO_MN_TRACE#* }
  exec strace -f --seccomp-bpf -qq -e trace=open,openat -e signal=none -e status=successful \
       -P "$file" -o "$dir/opens.$host" "$@"
fi
exec "$@"
"""


def _run(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def cannot_make_namespaces():
    """Why namespace nodes cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "not root: network namespaces need CAP_SYS_ADMIN"
    for tool in ("ip", "unshare", "strace"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = f"{_PREFIX}{os.getpid()}-probe"
    try:
        _run("ip", "netns", "add", probe)
        _run("ip", "netns", "exec", probe, "unshare", "--uts", "true")
    except subprocess.CalledProcessError as e:
        return f"cannot make a namespace: {e.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _remove_stale():
    """Namespaces and directories left by a run that was killed (ctest's timeout sends SIGKILL;
    no cleanup ran)."""
    p = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith(_PREFIX):
            continue
        owner = name[len(_PREFIX):].split("-")[0]
        if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            _kill_pids(_netns_pids(name))
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            _remove_open_mpi_files(name)
    for path in glob.glob(os.path.join(tempfile.gettempdir(), _PREFIX + "*-*")):
        owner = os.path.basename(path)[len(_PREFIX):].split("-")[0]
        if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            shutil.rmtree(path, ignore_errors=True)  # the rsh agent's directory


def _remove_open_mpi_files(host):
    """What Open MPI leaves of a job whose processes on `host` were killed: shared-memory segments
    named after the host, and its session directory."""
    for path in glob.glob(f"/dev/shm/*.{host}.*"):
        os.remove(path)
    for path in glob.glob(os.path.join(tempfile.gettempdir(), f"ompi.{host}.*")):
        shutil.rmtree(path, ignore_errors=True)


def _netns_pids(netns):
    p = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True)
    return [int(x) for x in p.stdout.split()]


def _kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Cluster:
    """N namespace nodes TAG-a, TAG-b, ... (TAG = carlo-mn<pid>) at 10.251.0.1, .2, ... on a
    bridge in the head node's namespace (10.251.0.254), which runs mpirun and no ranks. Use as a
    context manager: the namespaces and every process left in them go away on exit, also on an
    exception or SIGTERM, and so do the shared-memory files and session directories Open MPI
    leaves behind when a node is killed."""

    def __init__(self, nodes=2):
        # Host names are unique to this process, so what Open MPI names after them is ours.
        self.tag = f"{_PREFIX}{os.getpid()}"
        self.hosts = [f"{self.tag}-{chr(ord('a') + i)}" for i in range(nodes)]
        self.head = f"{self.tag}-head"
        self.dir = tempfile.mkdtemp(prefix=self.tag + "-")
        self.agent = os.path.join(self.dir, "rsh-agent.sh")
        self._made = []

    def netns(self, host):
        return host  # each node's network namespace is named like the node

    def __enter__(self):
        _remove_stale()
        signal.signal(signal.SIGTERM, lambda *_: sys.exit("multinode: terminated"))
        try:
            self._make()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _make(self):
        switch = self.netns(self.head)  # the head node is also the switch
        self._add(switch)
        _run("ip", "-n", switch, "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", switch, "addr", "add", "10.251.0.254/24", "dev", "br0")
        _run("ip", "-n", switch, "link", "set", "br0", "up")
        _run("ip", "-n", switch, "link", "set", "lo", "up")
        for i, host in enumerate(self.hosts):
            ns = self.netns(host)
            self._add(ns)
            # Both ends are created inside the namespaces: nothing appears on the machine itself.
            _run("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name",
                 f"port{i}", "netns", switch)
            _run("ip", "-n", switch, "link", "set", f"port{i}", "master", "br0", "up")
            _run("ip", "-n", ns, "addr", "add", f"10.251.0.{i + 1}/24", "dev", "eth0")
            _run("ip", "-n", ns, "link", "set", "eth0", "up")
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        with open(self.agent, "w") as f:
            f.write(_AGENT.replace("@PREFIX@", self.tag))
        os.chmod(self.agent, 0o755)

    def _add(self, ns):
        _run("ip", "netns", "add", ns)
        self._made.append(ns)

    def close(self):
        for ns in reversed(self._made):
            _kill_pids(_netns_pids(ns))
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            _remove_open_mpi_files(ns)
        self._made = []
        shutil.rmtree(self.dir, ignore_errors=True)

    def mpirun(self, argv, ranks_per_node=2):
        """The command running `argv` on every node under mpirun, which itself runs on the head
        node. With env(trace_opens=FILE) each node logs its opens of FILE to opens_log(host)."""
        hosts = ",".join(f"{h}:{ranks_per_node}" for h in self.hosts)
        launch = ["mpirun", "--host", hosts, "--mca", "plm_rsh_agent", self.agent,
                  "--mca", "oob_tcp_if_include", SUBNET, "--mca", "btl_tcp_if_include", SUBNET,
                  "--mca", "btl", "vader,tcp,self"]
        return ["ip", "netns", "exec", self.netns(self.head), "unshare", "--uts", "/bin/sh", "-c",
                f'hostname {self.head} && exec "$@"', "sh"] + launch + list(argv)

    def env(self, base=None, trace_opens=None):
        """The launcher's environment: no CARLO_RANKS_PER_NODE (real nodes only)."""
        e = dict(os.environ if base is None else base)
        e.pop("CARLO_RANKS_PER_NODE", None)
        e.pop("CARLO_MN_TRACE", None)
        if trace_opens:
            e["CARLO_MN_TRACE"] = f"{trace_opens} {self.dir}"
        return e

    def opens_log(self, host):
        return os.path.join(self.dir, f"opens.{host}")

    def processes_opening(self, host):
        """Process ids on `host` that opened the traced file (after a trace_opens run)."""
        with open(self.opens_log(host)) as f:
            return sorted({int(line.split()[0]) for line in f if "open" in line})

    def kill_node(self, host):
        """kill -9 every process on `host`, as a node failure would."""
        _kill_pids(_netns_pids(self.netns(host)))

    def node_of(self, pid):
        """The host whose network namespace process `pid` is in, or None."""
        try:
            mine = os.stat(f"/proc/{pid}/ns/net").st_ino
        except OSError:
            return None
        for host in self.hosts:
            if os.stat(f"/run/netns/{self.netns(host)}").st_ino == mine:
                return host
        return None


def _rollup_kib(pid):
    """(PSS, private) of process `pid` in KiB, from /proc/PID/smaps_rollup."""
    pss = private = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith(("Private_Clean:", "Private_Dirty:")):
                    private += int(line.split()[1])
    except OSError:
        pass
    return pss, private


def _shared_files(pid, into):
    """Adds to `into` (inode -> KiB allocated) the /dev/shm files process `pid` maps: Open MPI's
    segments and carlo's windows, unlinked ones too (carlo removes its window's name at once)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            lines = f.readlines()
    except OSError:
        return
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or not fields[5].startswith("/dev/shm/") or fields[4] in into:
            continue
        try:
            into[fields[4]] = os.stat(f"/proc/{pid}/map_files/{fields[0]}").st_blocks // 2
        except OSError:
            pass


def _sample_memory(cluster, exe, proc):
    """Per node, the peaks of PSS and of private + shared-memory files, in KiB."""
    peak = {h: [0, 0] for h in cluster.hosts}
    while proc.poll() is None:
        now = {h: [0, 0] for h in cluster.hosts}
        shared = {h: {} for h in cluster.hosts}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{entry}/exe") != exe:
                    continue
            except OSError:
                continue
            host = cluster.node_of(entry)
            if host:
                pss, private = _rollup_kib(entry)
                now[host][0] += pss
                now[host][1] += private
                _shared_files(entry, shared[host])
        for h in peak:
            now[h][1] += sum(shared[h].values())
            peak[h] = [max(peak[h][0], now[h][0]), max(peak[h][1], now[h][1])]
        time.sleep(0.1)
    return peak


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--ranks-per-node", type=int, default=2)
    ap.add_argument("--memory", action="store_true", help="print each node's peak memory")
    ap.add_argument("--trace-opens", metavar="FILE", help="print which processes opened FILE")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")
    why = cannot_make_namespaces()
    if why:
        print(f"multinode: SKIP: {why}", file=sys.stderr)
        return SKIP
    with Cluster(a.nodes) as c:
        trace = os.path.realpath(a.trace_opens) if a.trace_opens else None
        proc = subprocess.Popen(c.mpirun(cmd, a.ranks_per_node), env=c.env(trace_opens=trace))
        exe = os.path.realpath(shutil.which(cmd[0]) or cmd[0])
        peak = _sample_memory(c, exe, proc) if a.memory else None
        code = proc.wait()
        for h in c.hosts:
            if peak is not None:
                pss, mine = (kib / 1024 for kib in peak[h])
                print(f"{h}: peak PSS of {os.path.basename(exe)} summed over the node's processes "
                      f"{pss:.0f} MiB; peak private + shared-memory files {mine:.0f} MiB")
            if trace:
                print(f"{h}: processes that opened {trace}: {len(c.processes_opening(h))}")
        return code


if __name__ == "__main__":
    sys.exit(main())
