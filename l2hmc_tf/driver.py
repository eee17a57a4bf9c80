"""The driver: runs the kernel (kernel.Sampler) for many trajectories, in memory or into
a resumable HDF5 file (chainfile.ChainFile), a chunk at a time."""
from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from . import lattice
from .checks import check_beta, check_positive_int
from .kernel import Sampler
from .summary import SERIES, History


def sample_chain(sampler: Sampler, x: tf.Tensor, beta: float, n_steps: int):
    """Run n_steps transitions from x; returns (final x, History)."""
    check_beta(beta)
    check_positive_int(n_steps, "n_steps")
    x = lattice.check_links(x, dtype=sampler.dynamics.compute_dtype)   # one_step checks the size
    rows = []
    for _ in range(n_steps):
        x, res = sampler.one_step(x, beta)
        rows.append([getattr(res, name).numpy() for name in SERIES])
    return x, History(*(np.stack(series) for series in zip(*rows)))


def run_to_file(sampler: Sampler, chain_file, beta: float, n_steps: int, chunk: int,
                on_chunk=None) -> float:
    """Continue the chains stored in `chain_file` until it holds n_steps rows, appending and
    committing every `chunk` steps; returns the wall seconds spent. Memory: one chunk."""
    x, rng_state = chain_file.state()
    x = tf.constant(x)
    sampler.set_rng_state(rng_state)
    seconds = 0.0
    while chain_file.steps < n_steps:
        tic = time.perf_counter()
        x, rows = sample_chain(sampler, x, beta, min(chunk, n_steps - chain_file.steps))
        seconds += time.perf_counter() - tic
        chain_file.append(rows, x.numpy(), sampler.rng_state())
        if on_chunk:
            on_chunk(chain_file.steps, seconds)
    return seconds
