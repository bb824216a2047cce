#!/usr/bin/env python3
"""Ends every process of a user made for a test or benchmark: its UID and its
subordinate range (UID START [COUNT]). Each one is signalled through a pidfd,
after the pidfd pins it and its owner is checked again, never by a bare pid."""
import os
import signal
import sys

uid, start = int(sys.argv[1]), int(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 65536


def mine(u):
    return u == uid or start <= u < start + count


for name in os.listdir("/proc"):
    if not name.isdigit():
        continue
    try:
        if not mine(os.stat(f"/proc/{name}").st_uid):
            continue
        fd = os.pidfd_open(int(name))
        try:
            if mine(os.stat(f"/proc/{name}").st_uid):
                signal.pidfd_send_signal(fd, signal.SIGKILL)
        finally:
            os.close(fd)
    except OSError:
        pass
