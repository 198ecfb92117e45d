"""What a process costs the machine, read from /proc: resident memory, open file descriptors, threads.

The soak, the load curve and the fault tests sample the server and each of its workers with it (no psutil:
/proc says it all on Linux, the only platform the server is deployed on).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Usage:
    pid: int
    rss_kb: int
    fds: int
    threads: int


def usage(pid: int) -> Usage:
    fields: dict[str, str] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return Usage(pid, int(fields["VmRSS"].split()[0]), len(os.listdir(f"/proc/{pid}/fd")), int(fields["Threads"]))


def children(pid: int) -> list[int]:
    """Direct children (the server's workers and its multiprocessing resource tracker)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return sorted(int(x) for x in out.stdout.split())


def workers(pid: int) -> list[int]:
    """The server's worker processes (spawned: their command line names multiprocessing.spawn)."""
    found = []
    for child in children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"spawn_main" in f.read():
                    found.append(child)
        except OSError:
            continue
    return found


def rss_kb_tree(pid: int) -> int:
    """The server's RSS plus its workers' (what the pod's memory limit sees, shared pages counted twice)."""
    return sum(usage(p).rss_kb for p in [pid, *workers(pid)])
