"""Drivers that run a Sampler and turn its output into numbers with errors.

`sample_chain` loops the compiled transition and keeps per-step observables [steps, chains];
`summarize` puts Gamma-method means, tau_int and the exact torus values side by side.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from . import autocorr, exact, lattice
from .checks import check_beta, check_positive_int
from .dynamics import Sampler

# Series kept per step and chain, and the StepResults field each comes from.
OBSERVABLES = {"charge_int": "charge_int", "charge_sin": "charge_sin", "plaq": "plaquette",
               "accept_prob": "accept_prob"}


@dataclass
class History:
    """Per-step observables of every chain, arrays of shape [steps, chains]."""
    charge_int: np.ndarray
    charge_sin: np.ndarray
    plaq: np.ndarray
    accept_prob: np.ndarray

    def drop(self, n_therm: int) -> "History":
        """The history without its first n_therm steps (thermalisation)."""
        return History(*(getattr(self, k)[n_therm:] for k in OBSERVABLES))

    @staticmethod
    def concat(parts: list["History"]) -> "History":
        """Consecutive pieces of the same chains joined along the step axis."""
        return History(**{k: np.concatenate([getattr(p, k) for p in parts])
                          for k in OBSERVABLES})


def sample_chain(sampler: Sampler, x: tf.Tensor, beta: float, n_steps: int):
    """Run n_steps transitions from x; returns (final x, History)."""
    check_beta(beta)
    check_positive_int(n_steps, "n_steps")
    x = lattice.check_links(x, dtype=sampler.dynamics.compute_dtype)   # one_step checks the size
    rows = {k: [] for k in OBSERVABLES}
    for _ in range(n_steps):
        x, res = sampler.one_step(x, beta)
        for name, field in OBSERVABLES.items():
            rows[name].append(getattr(res, field).numpy())
    return x, History(**{k: np.stack(v) for k, v in rows.items()})


def summarize(history: History, lattice_shape: tuple[int, int], beta: float) -> dict:
    """Means with errors, tau_int of both charges, and deviations from the exact values."""
    lt, lx = lattice_shape
    truth = exact.torus_observables(lt, lx, beta)
    charge = np.rint(history.charge_int)
    out = {}
    for key, series, exact_value in (("plaq", history.plaq, truth["plaquette"]),
                                     ("q2", charge**2, truth["q2"])):
        est = autocorr.estimate(series, key)
        out.update({f"{key}_mean": est.mean, f"{key}_err": est.error,
                    f"{key}_exact": float(exact_value),
                    f"{key}_tau_int": est.tau_int,
                    f"{key}_sigma": (est.mean - float(exact_value)) / est.error
                    if est.error > 0 else float("inf")})
    for key in ("charge_int", "charge_sin"):
        est = autocorr.estimate(getattr(history, key), key)
        out[f"tau_int_{key}"] = est.tau_int
        out[f"tau_int_{key}_err"] = est.tau_int_error
    out["accept_mean"] = float(np.mean(history.accept_prob))
    out["tunneling_rate"] = float(np.mean(np.abs(np.diff(charge, axis=0))))
    return out


def evaluate(dynamics, beta: float, chains: int, steps: int, therm: int, seed: int,
             lattice_shape: tuple[int, int] | None = None, rel_error: float | None = None,
             max_steps: int | None = None, on_chunk=None,
             start: tf.Tensor | None = None) -> dict:
    """Sample from a hot start (or from `start`, chains already thermalised, e.g. by
    dynamics.hmc_thermalize), drop `therm` steps, and summarise with wall-clock cost.

    With `rel_error`, the chains keep going (their length doubling, up to `max_steps`) until
    tau_int(Q_Z) is known to that relative error and the chains are at least
    MIN_LENGTH_IN_TAU * tau_int long; the first tenth of the chain (at least `therm` steps)
    is then dropped. `tau_int_precise` in the result says whether the chains meet that
    target (DEFAULT_REL_ERROR when none is given). on_chunk(steps, summary) is called after
    every stretch of sampling (progress of long runs).
    """
    import time

    shape = dynamics.check_lattice(lattice_shape or dynamics.lattice_shape)
    sampler = Sampler(dynamics, seed=seed)
    if start is None:
        x = lattice.random_start(chains, *shape, dtype=dynamics.compute_dtype, seed=seed)
    else:
        x = lattice.check_links(start, shape=shape, dtype=dynamics.compute_dtype)
        if x.shape[0] != chains:
            raise ValueError(f"start holds {x.shape[0]} chains but {chains} were asked for")
    x, _ = sampler.one_step(x, beta)                     # trace outside the timing
    parts, seconds, total, todo = [], 0.0, 0, steps
    while True:
        start = time.perf_counter()
        x, history = sample_chain(sampler, x, beta, todo)
        seconds += time.perf_counter() - start
        parts.append(history)
        total += todo
        drop = min(therm if rel_error is None else max(therm, total // 10), total - 4)
        out = summarize(History.concat(parts).drop(drop), shape, beta)
        precise = _precise_enough(out, total - drop, rel_error or DEFAULT_REL_ERROR)
        if on_chunk:
            on_chunk(total, out)
        if rel_error is None or precise or total >= (max_steps or total):
            break
        todo = min(total, max_steps - total)
    n_lf = dynamics.n_leapfrog
    out.update({"sampler": "l2hmc" if dynamics.has_networks else "hmc", "beta": beta,
                "lattice": f"{shape[0]}x{shape[1]}", "n_leapfrog": n_lf, "chains": chains,
                "steps": total, "therm": drop, "wall_seconds": seconds,
                "tau_int_precise": precise, "trajectories_per_second": total / seconds,
                "nlf_tau_int_charge_int": n_lf * out["tau_int_charge_int"],
                "tau_int_seconds_charge_int": out["tau_int_charge_int"] * seconds / total})
    return out


DEFAULT_REL_ERROR = 0.2
MIN_LENGTH_IN_TAU = 30   # below this the Gamma-method error of tau_int is itself unreliable


def _precise_enough(summary: dict, length: int, rel_error: float) -> bool:
    tau, err = summary["tau_int_charge_int"], summary["tau_int_charge_int_err"]
    if not np.isfinite(tau):
        return False
    return err < rel_error * tau and length >= MIN_LENGTH_IN_TAU * tau


# -- long chains to HDF5 ---------------------------------------------------------------------
def run_to_file(sampler: Sampler, chain_file, beta: float, n_steps: int, chunk: int,
                on_chunk=None) -> float:
    """Continue the chains stored in `chain_file` until it holds n_steps rows, appending and
    committing every `chunk` steps; returns the wall seconds spent. Memory: one chunk."""
    import time

    x, rng_state = chain_file.state()
    x = tf.constant(x)
    sampler.rng.reset(rng_state)
    beta_t = tf.constant(beta, x.dtype)
    seconds = 0.0
    while chain_file.steps < n_steps:
        todo = min(chunk, n_steps - chain_file.steps)
        rows = {k: np.empty((todo, x.shape[0])) for k in OBSERVABLES}
        start = time.perf_counter()
        for i in range(todo):
            x, res = sampler.one_step(x, beta_t)
            for name, field in OBSERVABLES.items():
                rows[name][i] = getattr(res, field).numpy()
        seconds += time.perf_counter() - start
        chain_file.append(rows, x.numpy(), sampler.rng.state.numpy())
        if on_chunk:
            on_chunk(chain_file.steps, seconds)
    return seconds


def summarize_files(paths, therm: int) -> dict:
    """summarize() over every rank's file (chains side by side), thermalisation dropped."""
    from .chainfile import ChainFile

    files = [ChainFile.open_read(p) for p in paths]
    try:
        attrs = files[0].attrs
        steps = min(f.steps for f in files)
        history = History(**{k: np.concatenate([f.read(k)[:steps] for f in files], axis=1)
                             for k in OBSERVABLES})
        lt, lx = (int(v) for v in str(attrs["lattice"]).split("x"))
    finally:
        for f in files:
            f.close()
    drop = min(therm, max(steps - 4, 0))
    out = summarize(history.drop(drop), (lt, lx), float(attrs["beta"]))
    out.update({key: attrs[key].item() if hasattr(attrs[key], "item") else attrs[key]
                for key in ("beta", "lattice", "n_leapfrog", "sampler", "seed")})
    out.update({"steps": steps, "chains": history.plaq.shape[1], "thermalization": drop,
                "nlf_tau_int_charge_int": out["n_leapfrog"] * out["tau_int_charge_int"],
                "nlf_tau_int_charge_sin": out["n_leapfrog"] * out["tau_int_charge_sin"]})
    return out
