"""One contender for the run lock (tests/test_runlock.py): waits for GO, tries the lock once.

    python tests/lock_contender.py STATE_DIR GO_FILE RELEASE_FILE

Holding it: prints "held <pid>", keeps it until RELEASE_FILE exists, exits 0. Refused: prints
the error line on stderr and exits with its code.
"""

import os
import sys
import time
from pathlib import Path

from scorecard.runlock import run_lock

if __name__ == "__main__":
    state, go, release = (Path(a) for a in sys.argv[1:4])
    while not go.exists():
        time.sleep(0.002)
    try:
        with run_lock(state, "contender"):
            print(f"held {os.getpid()}", flush=True)
            while not release.exists():
                time.sleep(0.01)
    except Exception as exc:  # BusyError
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 1))
