"""One interface for single-process and Horovod runs, so training has one code path.

`make_distribution()` returns Horovod when a launcher started this process with several
ranks (horovodrun, mpirun, srun) and Horovod is installed, else a single process. Training
calls only these methods; nothing in it is specific to either back end.
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

# Set by horovodrun (Gloo), Open MPI's mpirun, MPICH/Cray mpiexec and srun respectively.
RANK_COUNT_VARS = ("HOROVOD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS")


class SingleProcess:
    """A run with one rank."""
    rank, size, local_rank = 0, 1, 0
    name = "single"

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def gradient_tape(self, tape: tf.GradientTape):
        return tape

    def broadcast_variables(self, variables) -> None:
        return None

    def all_true(self, flag: tf.Tensor) -> tf.Tensor:
        return flag

    def mean(self, value: tf.Tensor) -> tf.Tensor:
        return value

    def barrier(self) -> None:
        """Return once every rank has called it (e.g. every rank's file is complete)."""
        return None

    def gather(self, array: np.ndarray) -> np.ndarray:
        """Stack every rank's array on a new leading axis (on every rank)."""
        return np.asarray(array)[None]

    def check_identical(self, digest: str, what: str) -> None:
        """Raise if any rank's digest differs from rank 0's."""
        digests = {bytes(d).decode() for d in self.gather(np.frombuffer(digest.encode(), np.uint8))}
        if len(digests) != 1:
            raise RuntimeError(f"ranks disagree on {what}: {sorted(digests)}")


class HorovodDistribution(SingleProcess):
    """Data-parallel training across ranks with Horovod (allreduce averaged gradients)."""
    name = "horovod"

    def __init__(self):
        import horovod.tensorflow as hvd
        hvd.init()
        self.hvd = hvd
        self.rank, self.size, self.local_rank = hvd.rank(), hvd.size(), hvd.local_rank()
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            tf.config.set_visible_devices(gpus[self.local_rank % len(gpus)], "GPU")
            tf.config.experimental.set_memory_growth(gpus[self.local_rank % len(gpus)], True)

    def gradient_tape(self, tape: tf.GradientTape):
        return self.hvd.DistributedGradientTape(tape)

    def broadcast_variables(self, variables) -> None:
        # Keras 3 variables are not tf.Variables; Horovod needs the underlying ones.
        self.hvd.broadcast_variables([v.value for v in variables], root_rank=0)

    def all_true(self, flag: tf.Tensor) -> tf.Tensor:
        as_number = tf.cast(flag, tf.float32)
        return self.hvd.allreduce(as_number, op=self.hvd.Min, name="all_finite") > 0.5

    def mean(self, value: tf.Tensor) -> tf.Tensor:
        return self.hvd.allreduce(value, op=self.hvd.Average)

    def barrier(self) -> None:
        # horovod.tensorflow has no barrier; an allreduce returns only once every rank joined
        self.hvd.allreduce(tf.zeros([1]), op=self.hvd.Sum, name="barrier")

    def gather(self, array: np.ndarray) -> np.ndarray:
        arr = np.asarray(array)
        return self.hvd.allgather(tf.constant(arr[None])).numpy()


def launched_with_several_ranks() -> bool:
    """True when a parallel launcher started this process as one of several ranks."""
    counts = (os.environ.get(var, "1") for var in RANK_COUNT_VARS)
    return any(c.isdigit() and int(c) > 1 for c in counts)


def make_distribution() -> SingleProcess:
    """Horovod when launched with several ranks, else a single process."""
    if not launched_with_several_ranks():
        return SingleProcess()
    try:
        return HorovodDistribution()
    except ImportError as err:
        raise RuntimeError(
            "this process was started by a parallel launcher but Horovod is not installed; "
            "run scripts/setup.sh (it builds Horovod) or start a single process") from err
