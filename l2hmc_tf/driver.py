"""The driver: runs the kernel (kernel.Sampler) for many trajectories, in memory or into
a resumable HDF5 file (chainfile.ChainFile), a chunk at a time."""
from __future__ import annotations

import time
from typing import Iterator

import numpy as np
import tensorflow as tf

from . import lattice
from .checks import check_beta, check_positive_int
from .chainfile import ChainFile, Saved
from .kernel import Sampler, StepResults
from .summary import SERIES, History


def trajectories(sampler: Sampler, x: tf.Tensor, beta: float,
                 n_steps: int) -> Iterator[tuple[tf.Tensor, StepResults]]:
    """The chains after each of n_steps transitions from x, with the transition's results:
    the loop every driver below (and the Python API) is built on."""
    check_beta(beta)
    check_positive_int(n_steps, "n_steps")
    x = lattice.check_links(x, dtype=sampler.dynamics.compute_dtype)   # one_step checks the size
    for _ in range(n_steps):
        x, results = sampler.one_step(x, beta)
        yield x, results


def sample_chain(sampler: Sampler, x: tf.Tensor, beta: float, n_steps: int):
    """Run n_steps transitions from x; returns (final x, History)."""
    x, history, _ = sample_and_save(sampler, x, beta, n_steps, save_every=0, done=0)
    return x, history


def sample_and_save(sampler: Sampler, x: tf.Tensor, beta: float, n_steps: int,
                    save_every: int, done: int) -> tuple[tf.Tensor, History, Saved]:
    """sample_chain that also keeps the links after every save_every-th trajectory, counted
    from the chains' start (`done` trajectories were run before this call); 0 keeps none."""
    rows, links, trajectory = [], [], []
    for step, (x, results) in enumerate(trajectories(sampler, x, beta, n_steps), done + 1):
        rows.append([getattr(results, name).numpy() for name in SERIES])
        if save_every and step % save_every == 0:
            links.append(x.numpy())
            trajectory.append(step)
    history = History(*(np.stack(series) for series in zip(*rows)))
    saved = Saved(np.array(links).reshape(-1, *x.shape), np.array(trajectory, dtype=np.int64))
    return x, history, saved


def run_to_file(sampler: Sampler, chain_file: ChainFile, beta: float, n_steps: int,
                chunk: int, on_chunk=None) -> float:
    """Continue the chains stored in `chain_file` until it holds n_steps rows, appending and
    committing every `chunk` steps with the configurations the file asks to save; returns
    the wall seconds spent. Memory: one chunk."""
    x, rng_state = chain_file.state()
    x = tf.constant(x)
    sampler.set_rng_state(rng_state)
    seconds = 0.0
    while chain_file.steps < n_steps:
        tic = time.perf_counter()
        x, rows, saved = sample_and_save(sampler, x, beta, min(chunk, n_steps - chain_file.steps),
                                         chain_file.save_every, chain_file.steps)
        seconds += time.perf_counter() - tic
        chain_file.append(rows, x.numpy(), sampler.rng_state(), saved)
        if on_chunk:
            on_chunk(chain_file.steps, seconds)
    return seconds
