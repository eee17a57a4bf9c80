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

OBSERVABLES = ("charge_int", "charge_sin", "plaquette", "accept_prob")


@dataclass
class History:
    """Per-step observables of every chain, arrays of shape [steps, chains]."""
    charge_int: np.ndarray
    charge_sin: np.ndarray
    plaquette: np.ndarray
    accept_prob: np.ndarray

    def drop(self, n_therm: int) -> "History":
        """The history without its first n_therm steps (thermalisation)."""
        return History(*(getattr(self, k)[n_therm:] for k in OBSERVABLES))


def sample_chain(sampler: Sampler, x: tf.Tensor, beta: float, n_steps: int):
    """Run n_steps transitions from x; returns (final x, History)."""
    check_beta(beta)
    check_positive_int(n_steps, "n_steps")
    x = lattice.check_links(x, dtype=sampler.dynamics.compute_dtype)
    sampler.dynamics.check_lattice(tuple(x.shape[1:3]))
    rows = {k: [] for k in OBSERVABLES}
    for _ in range(n_steps):
        x, res = sampler.one_step(x, beta)
        for k in OBSERVABLES:
            rows[k].append(getattr(res, k).numpy())
    return x, History(**{k: np.stack(v) for k, v in rows.items()})


def summarize(history: History, lattice_shape: tuple[int, int], beta: float) -> dict:
    """Means with errors, tau_int of both charges, and deviations from the exact values."""
    lt, lx = lattice_shape
    truth = exact.torus_observables(lt, lx, beta)
    charge = np.rint(history.charge_int)
    out = {}
    for key, series, exact_value in (("plaq", history.plaquette, truth["plaquette"]),
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
             lattice_shape: tuple[int, int] | None = None) -> dict:
    """Sample from a hot start, drop `therm` steps, and summarise with wall-clock cost."""
    import time

    shape = dynamics.check_lattice(lattice_shape or dynamics.lattice_shape)
    sampler = Sampler(dynamics, seed=seed)
    x = lattice.random_start(chains, *shape, dtype=dynamics.compute_dtype, seed=seed)
    x, _ = sampler.one_step(x, beta)                     # trace outside the timing
    start = time.perf_counter()
    _, history = sample_chain(sampler, x, beta, steps)
    seconds = time.perf_counter() - start
    out = summarize(history.drop(min(therm, steps - 4)), shape, beta)
    n_lf = dynamics.n_leapfrog
    out.update({"sampler": "l2hmc" if dynamics.has_networks else "hmc", "beta": beta,
                "lattice": f"{shape[0]}x{shape[1]}", "n_leapfrog": n_lf, "chains": chains,
                "steps": steps, "therm": therm, "wall_seconds": seconds,
                "trajectories_per_second": steps / seconds,
                "nlf_tau_int_charge_int": n_lf * out["tau_int_charge_int"],
                "tau_int_seconds_charge_int": out["tau_int_charge_int"] * seconds / steps})
    return out
