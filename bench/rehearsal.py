"""Benchmark: the full rehearsal (``gatepulse rehearse`` with every fault, ten minutes of
traffic by default) and its figures.

Prints the rehearsal's report (the PASS/FAIL table; updates/s per replica; p50 and p99 of the
webhook's answer time outside the raid; the peak of ``pending_update_count``; the recovery
after each fault), then the targets met or missed, and last ``lost N duplicated N``. Targets
(DESIGN.md, issue #25): lost 0 and duplicated 0 across every fault, today's tables equal to the
recomputation, pending updates drained <= 30 s after a replica restarts, p99 <= 1 s outside the
raid::

    uv run python -m bench.rehearsal [--minutes 10] [--rate 8] [gatepulse rehearse options]

Any option after ``--`` goes to ``gatepulse rehearse`` as it is.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from bench._common import stop_on_sigterm, stopped_with

STOP_GRACE_S = 300.0
"""How long the interrupted rehearsal gets to stop its topology before it is killed."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split())
        + " Runtime here: a little over 10 minutes at the "
        "defaults (10 minutes of traffic, then the checks; estimated, not timed)."
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=8.0)
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="more gatepulse rehearse options")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    rest = [a for a in args.rest if a != "--"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    cmd = [sys.executable, "-m", "cli", "rehearse", "--minutes", str(args.minutes),
           "--rate", str(args.rate), *rest]  # fmt: skip
    # the rehearsal stops everything it started on SIGTERM: Ctrl+C or SIGTERM here sends it
    # one (its own session: not the terminal's Ctrl+C besides) and waits for it
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    try:
        with stopped_with(proc, grace_s=STOP_GRACE_S):
            code = proc.wait()
    except KeyboardInterrupt:
        code = proc.returncode or 130
    sys.exit(code)


if __name__ == "__main__":
    main()
