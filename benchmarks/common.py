"""Shared helpers of the benchmarks: timing with warm-up, a plain numpy HMC baseline, JSON."""
from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from l2hmc_tf.config import Config

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def best_rate(fn, calls: int, repeats: int = 3, warmup: int = 1) -> float:
    """Calls per second: the best of `repeats` timings of `calls` calls, after warm-up.
    The best (not the mean) is the figure least disturbed by other load on shared machines."""
    return best_rates({"fn": fn}, calls, repeats, warmup)["fn"]


def best_rates(fns: dict, calls: int, repeats: int = 3, warmup: int = 1) -> dict:
    """best_rate of several functions, timed in turn within each repeat, so that a burst of
    load elsewhere on the machine hits all of them rather than skewing their ratios."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    best = dict.fromkeys(fns, math.inf)
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: calls / seconds for name, seconds in best.items()}


def numpy_hmc_step(x, beta, eps, n_lf, rng):
    """One vectorised HMC trajectory in numpy for all chains: the baseline to beat."""
    def plaq(y):
        return y[..., 0] + np.roll(y[..., 1], -1, 1) - np.roll(y[..., 0], -1, 2) - y[..., 1]

    def force(y):
        s = np.sin(plaq(y))
        return beta * np.stack([s - np.roll(s, 1, 2), np.roll(s, 1, 1) - s], -1)

    def ham(y, p):
        return beta * np.sum(1 - np.cos(plaq(y)), axis=(1, 2)) + 0.5 * np.sum(p * p, (1, 2, 3))

    v = rng.standard_normal(x.shape).astype(x.dtype)
    h0 = ham(x, v)
    y, p = x, v - 0.5 * eps * force(x)
    for i in range(n_lf):
        y = y + eps * p
        y = y - 2 * np.pi * np.floor((y + np.pi) / (2 * np.pi))
        p = p - (eps if i < n_lf - 1 else 0.5 * eps) * force(y)
    accept = rng.random(len(x)) < np.exp(np.minimum(h0 - ham(y, p), 0))
    return np.where(accept[:, None, None, None], y, x)


def machine() -> dict:
    import tensorflow as tf
    return {"command": "python " + " ".join(sys.argv), "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "tensorflow": tf.__version__, "numpy": np.__version__,
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")]}


def write_json(path: Path, data) -> None:
    """Write a result file and say where it went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=float))
    print(f"wrote {path}")


_HMC_RESULTS: dict = {}   # HMC at the same settings is measured once per process


def measure_pair(model, hmc_step_size: float, beta: float, shape, chains: int,
                 steps: int, rel_error: float | None = None, max_steps: int | None = None,
                 hmc_max_steps: int | None = None, hmc_therm: int = 0) -> dict:
    """L2HMC (`model`) and HMC with the same N_LF at (beta, shape), one row of figures.
    With rel_error each sampler runs until its own tau_int(Q_Z) has that relative error
    (inference.evaluate) or it reaches its step cap (max_steps; hmc_max_steps for the far
    cheaper HMC trajectories, default max_steps), so a slowly mixing HMC gets the longer
    chains it needs. Both start from the same hot start after hmc_therm HMC trajectories
    (a model with low acceptance would otherwise spend its chain reaching equilibrium)."""
    from l2hmc_tf import inference, lattice
    from l2hmc_tf.dynamics import hmc, hmc_thermalize

    def run(name, dyn, cap):
        def progress(n, r):
            print(f"  {name} beta {beta:g} {shape[0]}x{shape[1]}: {n} steps, tau_int "
                  f"{r['tau_int_charge_int']:.1f} ± {r['tau_int_charge_int_err']:.1f}",
                  flush=True)
        return inference.evaluate(dyn, beta, chains, steps, steps // 10, seed=11,
                                  lattice_shape=shape, rel_error=rel_error, max_steps=cap,
                                  on_chunk=progress, start=start)

    start = hmc_thermalize(lattice.random_start(chains, *shape, dtype=model.compute_dtype,
                                                seed=11),
                           beta, hmc_therm, model.n_leapfrog, hmc_step_size, seed=11)
    hmc_key = (beta, tuple(shape), model.n_leapfrog, hmc_step_size, chains, steps, rel_error,
               hmc_max_steps or max_steps, hmc_therm)
    if hmc_key not in _HMC_RESULTS:
        _HMC_RESULTS[hmc_key] = run("hmc", hmc(shape, model.n_leapfrog, hmc_step_size),
                                    hmc_max_steps or max_steps)
    results = {"l2hmc": run("l2hmc", model, max_steps), "hmc": _HMC_RESULTS[hmc_key]}
    row = {"beta": beta, "lattice": f"{shape[0]}x{shape[1]}", "n_leapfrog": model.n_leapfrog,
           "chains": chains, "hmc_therm": hmc_therm}
    for name, r in results.items():
        row.update({f"tau_int_{name}": r["tau_int_charge_int"],
                    f"tau_int_{name}_err": r["tau_int_charge_int_err"],
                    f"nlf_tau_int_{name}": r["nlf_tau_int_charge_int"],
                    f"tau_int_seconds_{name}": r["tau_int_seconds_charge_int"],
                    f"accept_{name}": r["accept_mean"], f"steps_{name}": r["steps"],
                    f"tau_int_precise_{name}": r["tau_int_precise"],
                    f"plaq_sigma_{name}": r["plaq_sigma"], f"q2_sigma_{name}": r["q2_sigma"]})
    row["tau_int_gain"] = row["tau_int_hmc"] / row["tau_int_l2hmc"]
    row["seconds_gain"] = row["tau_int_seconds_hmc"] / row["tau_int_seconds_l2hmc"]
    return row


def read_summary(run_dir: Path) -> dict:
    """A run's summary.json (training steps and seconds), or {} where it has none."""
    summary = Path(run_dir) / "summary.json"
    return json.loads(summary.read_text()) if summary.is_file() else {}


def trained_model(run_dir: Path, cfg: Config):
    """(model, training seconds): reuse a finished run or train one now, so an interrupted
    benchmark re-run picks up the models it already has."""
    from l2hmc_tf import atomic, checkpoints, config, training

    if (run_dir / checkpoints.MODEL_FILE).is_file():
        model, _ = checkpoints.load_model(run_dir)
        return model, float(read_summary(run_dir).get("train_seconds", "nan"))
    run_dir.mkdir(parents=True, exist_ok=True)
    config.dump(cfg, run_dir / "config.yaml")
    trainer = training.Trainer(cfg, run_dir)
    start = time.perf_counter()
    trainer.fit(lambda step, m: print(training._format(step, cfg.training.steps, m), flush=True))
    seconds = time.perf_counter() - start
    checkpoints.save_model(run_dir, trainer.dynamics)
    atomic.write_json(run_dir / "summary.json", {"train_seconds": seconds, "steps": trainer.step})
    return trainer.dynamics, seconds
