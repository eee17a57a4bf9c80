"""Helper for test_training: train, and SIGKILL this process half-way through writing the
second checkpoint's state file (as a job scheduler's hard kill would)."""
import os
import signal
import sys

from l2hmc_tf import checkpoints, train_cli

writes = []
real_write_state = checkpoints._write_state


def dying_write_state(path, state):
    writes.append(path)
    if len(writes) == 2:
        with open(path, "wb") as f:
            f.write(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)   # a truncated HDF5 file
            f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    real_write_state(path, state)


checkpoints._write_state = dying_write_state
sys.exit(train_cli.main(sys.argv[1:]))
