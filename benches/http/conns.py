#!/usr/bin/env python3
"""benches/http/conns.py: established TCP connections a process holds on a local port.

    conns.py PID PORT

Matches the socket inodes in /proc/PID/fd against /proc/net/tcp and tcp6
entries in state ESTABLISHED (01) whose local port is PORT. Prints the count.
"""

import os
import sys


def established_inodes(port):
    want = f"{port:04X}"
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, state, inode = parts[1], parts[3], parts[9]
                    if state == "01" and local.rsplit(":", 1)[1] == want:
                        inodes.add(inode)
        except FileNotFoundError:
            pass
    return inodes


def socket_inodes(pid):
    out = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pid, port = int(sys.argv[1]), int(sys.argv[2])
    # Read the process's fds first: a connection that closes in between is
    # then simply not counted.
    mine = socket_inodes(pid)
    print(len(mine & established_inodes(port)))


if __name__ == "__main__":
    main()
