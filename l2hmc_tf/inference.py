"""Measurements: runs of the sampler turned into numbers with errors.

`summarize` puts Gamma-method and replica errors, tau_int and the exact torus values side by
side; `evaluate` samples until tau_int is known and adds the wall-clock cost;
`interleaved_mobility` times several samplers in turn on one thread; `summarize_files`
reads the HDF5 output of every rank. The chains come from the driver (driver.py); the
records returned are defined in summary.py.
"""
from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from . import autocorr, exact
from .checks import check_positive_int, parse_lattice
from .driver import sample_chain
from .kernel import Sampler
from .starts import initial_chains
from .summary import ChainSummary, History, Statistics

DEFAULT_REL_ERROR = 0.2
MIN_LENGTH_IN_TAU = 30   # below this the Gamma-method error of tau_int is itself unreliable


def summarize(history: History, lattice_shape: tuple[int, int], beta: float) -> Statistics:
    """Means with errors, tau_int of both charges, and deviations from the exact values."""
    truth = exact.torus_observables(*lattice_shape, beta)
    charge = np.rint(history.charge_int)
    out = {}
    for key, series, exact_value in (("plaq", history.plaq, truth["plaquette"]),
                                     ("q2", charge**2, truth["q2"])):
        est = autocorr.estimate(series, key)
        err = est.reported_error
        out.update({f"{key}_mean": est.mean, f"{key}_err": err,
                    f"{key}_err_gamma": est.error, f"{key}_err_replica": est.replica_error,
                    f"{key}_exact": float(exact_value), f"{key}_tau_int": est.tau_int,
                    f"{key}_sigma": (est.mean - float(exact_value)) / err
                    if err > 0 else float("inf")})
    # Q_Z rounded: a frozen chain's float rounding noise (1e-6) would give it a tau_int
    for key, series in (("charge_int", charge), ("charge_sin", history.charge_sin)):
        est = autocorr.estimate(series, key)
        out[f"tau_int_{key}"] = est.tau_int
        out[f"tau_int_{key}_err"] = est.tau_int_error
    topology = topology_diagnostics(charge, float(truth["q2"]))
    tau, predicted = out["tau_int_charge_int"], topology["tau_int_predicted"]
    longest = max(tau, predicted) if np.isfinite(predicted) else tau
    length = len(charge) / longest if np.isfinite(tau) and tau > 0 else float("nan")
    return Statistics(**out, accept_mean=float(np.mean(history.accept_prob)),
                      length_in_tau=length,
                      tunneling_rate=float(np.mean(np.abs(np.diff(charge, axis=0)))),
                      **topology)


def topology_diagnostics(charge: np.ndarray, q2_mean: float) -> dict:
    """<dQ_Z^2> per trajectory with its error, the tau_int it predicts for a diffusing charge
    (docs/physics.md section 10; q2_mean: the exact <Q_Z^2>, which a short chain's own
    estimate would bias) and the per-chain Sokal estimate, from Q_Z [steps, chains]."""
    jumps = np.diff(charge, axis=0) ** 2
    dq2 = autocorr.estimate(jumps, "dq2") if len(jumps) >= autocorr.MIN_STEPS else None
    dq2_mean = float(np.mean(jumps)) if jumps.size else float("nan")
    predicted = 4.0 * q2_mean / dq2_mean - 1.0 if dq2_mean > 0 else float("inf")
    return {"dq2_mean": dq2_mean, "dq2_err": dq2.error if dq2 else float("nan"),
            "tau_int_predicted": predicted,
            "tau_int_sokal_per_chain": autocorr.tau_int_per_chain_sokal(charge)}


def charge_mobility(dynamics, beta: float, shape, chains: int, steps: int,
                    start: tf.Tensor, seed: int) -> dict:
    """The campaign's cheap signal (minutes where a tau_int takes hours): `steps`
    trajectories from `start`, with <dQ_Z^2> per trajectory and per force evaluation, its
    error, the tau_int it predicts for a diffusing charge (with the exact <Q_Z^2>), the
    acceptance and the wall and CPU seconds per trajectory and per predicted tau_int."""
    return interleaved_mobility({"one": (dynamics, steps)}, beta, shape, chains, start,
                                seed)["one"]


def interleaved_mobility(runs: dict, beta: float, shape, chains: int, start: tf.Tensor,
                         seed: int, rounds: int = 20) -> dict:
    """charge_mobility of several samplers, {name: (dynamics, steps)}, from the same start,
    run in turn in `rounds` stretches on this thread, so that a change of the machine's load
    hits them alike and their ratio of CPU seconds per independent charge holds. Tracing is
    done before the clocks start."""
    check_positive_int(rounds, "rounds")
    samplers = {name: Sampler(dyn, seed=seed) for name, (dyn, _) in runs.items()}
    beta_t = tf.constant(beta, start.dtype)
    for sampler in samplers.values():
        sampler.trace(start, beta_t)
    state = dict.fromkeys(runs, start)
    parts = {name: [] for name in runs}
    clocks = {name: np.zeros(2) for name in runs}           # wall, CPU seconds
    for r in range(rounds):
        for name, (_, steps) in runs.items():
            n = steps * (r + 1) // rounds - steps * r // rounds
            if n == 0:
                continue
            tic = np.array([time.perf_counter(), time.process_time()])
            state[name], history = sample_chain(samplers[name], state[name], beta, n)
            clocks[name] += np.array([time.perf_counter(), time.process_time()]) - tic
            parts[name].append(history)
    return {name: _mobility(History.concat(parts[name]), dyn, shape, beta,
                            *map(float, clocks[name]))
            for name, (dyn, _) in runs.items()}


def _mobility(history: History, dynamics, shape, beta: float, seconds: float,
              cpu_seconds: float) -> dict:
    """The figures of charge_mobility from a sampled History and its clocks."""
    steps = len(history.plaq)
    q2 = float(exact.torus_observables(*shape, beta)["q2"])
    diag = topology_diagnostics(np.rint(history.charge_int), q2)
    dq2, err, tau = diag["dq2_mean"], diag["dq2_err"], diag["tau_int_predicted"]
    return {"dq2": dq2, "dq2_err": err, "tau_int_predicted": tau,
            "tau_int_predicted_err": 4.0 * q2 * err / dq2**2 if dq2 > 0 else float("nan"),
            "nlf_tau_int_predicted": dynamics.force_evaluations * tau,
            "dq2_per_force": dq2 / dynamics.force_evaluations,
            "force_evaluations": dynamics.force_evaluations,
            "accept": float(history.accept_prob.mean()), "seconds": seconds,
            "seconds_per_trajectory": seconds / steps,
            "cpu_seconds_per_trajectory": cpu_seconds / steps,
            "cpu_seconds_per_tau_int_predicted": tau * cpu_seconds / steps}


def evaluate(dynamics, beta: float, chains: int, steps: int, therm: int, seed: int,
             lattice_shape: tuple[int, int] | None = None, rel_error: float | None = None,
             max_steps: int | None = None, on_chunk=None,
             start: tf.Tensor | None = None, instanton_moves: int = 0) -> ChainSummary:
    """Sample from an equilibrium start (equilibrium_chains; or from `start`, chains already
    thermalised), drop `therm` steps, and summarise with wall-clock cost.

    With `rel_error`, the chains keep going (their length doubling, up to `max_steps`) until
    tau_int(Q_Z) is known to that relative error and the chains are at least
    MIN_LENGTH_IN_TAU * tau_int long; the first tenth of the chain (at least `therm` steps)
    is then dropped. `tau_int_precise` says whether the chains meet that target
    (DEFAULT_REL_ERROR when none is given). on_chunk(steps, Statistics) is called after every
    stretch of sampling (progress of long runs). instanton_moves: Metropolis proposals
    x -> x +- A after every trajectory (kernel.Sampler; 2D U(1) only).
    """
    shape = dynamics.check_lattice(lattice_shape or dynamics.lattice_shape)
    sampler = Sampler(dynamics, seed=seed, instanton_moves=instanton_moves)
    x0 = initial_chains(dynamics, beta, chains, shape, seed,
                        "equilibrium" if start is None else start)
    x, _ = sampler.one_step(x0, beta)  # trace
    parts, seconds, total, todo = [], 0.0, 0, steps
    while True:
        tic = time.perf_counter()
        x, history = sample_chain(sampler, x, beta, todo)
        seconds += time.perf_counter() - tic
        parts.append(history)
        total += todo
        drop = min(therm if rel_error is None else max(therm, total // 10),
                   total - autocorr.MIN_STEPS)
        stats = summarize(History.concat(parts).drop(drop), shape, beta)
        precise = _precise_enough(stats, total - drop, rel_error or DEFAULT_REL_ERROR)
        if on_chunk:
            on_chunk(total, stats)
        if rel_error is None or precise or total >= (max_steps or total):
            break
        todo = min(total, max_steps - total)
    return ChainSummary(
        sampler="l2hmc" if dynamics.has_networks else "hmc", beta=beta,
        lattice=f"{shape[0]}x{shape[1]}", n_leapfrog=dynamics.n_leapfrog, chains=chains,
        steps=total, thermalization=drop, stats=stats, wall_seconds=seconds,
        trajectories_per_second=total / seconds, tau_int_precise=precise,
        instanton_layer=dynamics.instanton, instanton_moves=instanton_moves,
        start="equilibrium" if start is None else "given", integrator=dynamics.integrator)


def _precise_enough(stats: Statistics, length: int, rel_error: float) -> bool:
    tau, err = stats.tau_int_charge_int, stats.tau_int_charge_int_err
    if not np.isfinite(tau) or stats.tau_int_is_lower_bound:
        return False
    return err < rel_error * tau and length >= MIN_LENGTH_IN_TAU * tau


def summarize_files(paths, therm: int) -> ChainSummary:
    """The summary of every rank's file (chains side by side), thermalisation dropped; the
    cost fields are left for the caller, which knows the wall time."""
    from .chainfile import ChainFile

    files = [ChainFile.open_read(p) for p in paths]
    try:
        attrs = files[0].attrs
        steps = min(f.steps for f in files)
        parts = [f.history(steps) for f in files]
    finally:
        for f in files:
            f.close()
    history = History.concat(parts, axis=1)
    drop = min(therm, max(steps - autocorr.MIN_STEPS, 0))
    meta = {key: attrs[key].item() if hasattr(attrs[key], "item") else attrs[key]
            for key in ("beta", "lattice", "n_leapfrog", "sampler", "seed", "instanton_moves",
                        "instanton_layer", "start", "integrator") if key in attrs}
    meta["instanton_layer"] = bool(meta.get("instanton_layer", False))
    return ChainSummary(**meta, chains=history.plaq.shape[1], steps=steps, thermalization=drop,
                        stats=summarize(history.drop(drop), parse_lattice(attrs["lattice"]),
                                          float(attrs["beta"])))
