#!/usr/bin/env python3
"""Runs a command and reports its peak resident set size.

Usage:  peak_rss.py [--limit-mb N] [--] COMMAND [ARG...]

Prints "peak RSS: <M> MB" (the child's ru_maxrss, 1 MB = 2**20 bytes) on stderr
after the command exits.  Exits with the command's status if it failed, with 1 if
--limit-mb is given and the peak is above it (printing "peak RSS above the limit
of N MB"), and 0 otherwise.  Linux (ru_maxrss in KiB).  The figure covers every
descendant the command waited for, so run the measured program directly, not
through a shell that forks other heavy programs.
"""

import resource
import subprocess
import sys


def main(argv):
    limit = None
    args = argv[1:]
    if args[:1] == ["--limit-mb"] and len(args) >= 2:
        limit = float(args[1])
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit(__doc__)
    rc = subprocess.call(args)
    kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    mb = kib / 1024.0
    sys.stderr.write("peak RSS: %d MB\n" % round(mb))
    if rc != 0:
        sys.stderr.write("command exited with status %d\n" % rc)
        return rc if rc > 0 else 128 - rc
    if limit is not None and mb > limit:
        sys.stderr.write("peak RSS above the limit of %g MB\n" % limit)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
