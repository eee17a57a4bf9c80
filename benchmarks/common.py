"""Shared helpers of the benchmarks: timing with warm-up, a plain numpy HMC baseline, JSON."""
from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from l2hmc_tf import atomic
from l2hmc_tf.summary import Comparison

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


def command() -> str:
    """The command line that started this benchmark, as a user would type it again."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    program = f"-m {spec.name}" if spec is not None else sys.argv[0]
    return " ".join(["python", program, *map(shlex.quote, sys.argv[1:])])


def machine() -> dict:
    import tensorflow as tf
    return {"command": command(), "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "tensorflow": tf.__version__, "numpy": np.__version__,
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")]}


def write_json(path: Path, data) -> None:
    """Write a result file (temp file, then rename) and say where it went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(path, data)
    print(f"wrote {path}")


def append_row(path: Path, row: dict) -> None:
    """Add a row to a {"rows": [...]} file as it is on disk now: other benchmarks may have
    added theirs while this one ran, and a copy read at the start would drop them."""
    data = json.loads(path.read_text()) if path.is_file() else {"rows": []}
    data["rows"].append(row)
    data["machine"] = machine()
    write_json(path, data)


def parse_variant(text: str) -> tuple[str, list[str]]:
    """'NAME:KEY=VALUE;KEY=VALUE' -> (NAME, [overrides]): a recipe variant of a config."""
    name, _, keys = text.partition(":")
    return name, [k for k in keys.split(";") if k]     # ";": values may hold commas


def add_measurement_args(p, chains: int) -> None:
    """The options of measure_pair, shared by the tau_int and volume_transfer benchmarks."""
    p.add_argument("--steps", type=int, default=1000, help="first chain length")
    p.add_argument("--max-steps", type=int, default=8000, help="cap of the L2HMC chains")
    p.add_argument("--hmc-max-steps", type=int, default=64000, help="cap of the HMC chains")
    p.add_argument("--rel-error", type=float, default=0.2, help="target error of tau_int")
    p.add_argument("--hmc-therm", type=int, default=0,
                   help="HMC trajectories that thermalise the hot start before both samplers")
    p.add_argument("--chains", type=int, default=chains)
    p.add_argument("--reuse-hmc", action="store_true",
                   help=f"take HMC from {HMC_STORE} beside --json when this code measured it "
                        "with the same settings and seed (beta 7 takes half an hour); new HMC "
                        "measurements are stored there either way")


HMC_STORE = "hmc_baselines.json"
HMC_MODULES = ("lattice", "integrators", "model", "kernel", "driver", "starts", "exact",
               "inference", "autocorr", "summary")
_HMC_RESULTS: dict = {}   # HMC at the same settings is measured once per process


def best_hmc_setting(store: Path, beta: float, lattice: str, which: str = "best") -> dict:
    """The HMC setting (integrator, step_size, n_leapfrog, ...) benchmarks.hmc_tuning found
    best at beta on lattice (`which`: "best", or the best of one integrator)."""
    data = json.loads(store.read_text()) if store.is_file() else {}
    setting = data.get("best_settings", {}).get(f"{beta:g}", {}).get(which)
    if setting is None or setting["lattice"] != lattice:
        raise SystemExit(f"no {which} HMC setting for beta {beta:g} on {lattice} in {store}; "
                         f"run python -m benchmarks.hmc_tuning --betas {beta:g} --lattice "
                         f"{lattice} first")
    return setting


def hmc_code_digest() -> str:
    """sha256 of the modules an HMC measurement comes from: a stored one is reused only by
    the code that made it."""
    import l2hmc_tf
    h = hashlib.sha256()
    for name in HMC_MODULES:
        h.update((Path(l2hmc_tf.__file__).parent / f"{name}.py").read_bytes())
    return h.hexdigest()


def hmc_baseline(key: dict, measure, store: Path | None, reuse: bool):
    """HMC's ChainSummary for `key` (every setting and the seed that made it) and, where it
    was reused, the command that measured it (else None). Measured once per process; with
    `reuse`, taken from `store` when the same key and code made it there; every new
    measurement is appended to `store`, so a later command may reuse it."""
    from l2hmc_tf.summary import ChainSummary
    memo = json.dumps(key, sort_keys=True)
    if memo in _HMC_RESULTS:
        return _HMC_RESULTS[memo], None
    code = hmc_code_digest()
    if reuse and store is not None and store.is_file():
        for row in reversed(result_rows(store)):
            if row["key"] == key and row["code"] == code:
                print(f"  hmc beta {key['beta']:g}: reusing {store} (measured by: "
                      f"{row['command']})", flush=True)
                return ChainSummary.from_dict(row["hmc"]), row["command"]
    _HMC_RESULTS[memo] = measure()
    if store is not None:
        append_row(store, {"key": key, "code": code, "command": command(),
                           "hmc": _HMC_RESULTS[memo].to_dict()})
    return _HMC_RESULTS[memo], None


class HmcSetting(NamedTuple):
    """The HMC a model is measured against."""
    step_size: float
    integrator: str = "leapfrog"
    n_leapfrog: int | None = None       # None: the model's N_LF

    def model(self, shape, model_n_leapfrog: int):
        from l2hmc_tf.model import hmc
        return hmc(shape, self.n_leapfrog or model_n_leapfrog, self.step_size,
                   integrator=self.integrator)

    @property
    def start_step(self) -> float:
        """The leapfrog step of the HMC that thermalises the equilibrium start: a 2MN step
        is twice as long as a leapfrog step of the same energy error."""
        return self.step_size if self.integrator == "leapfrog" else self.step_size / 2


def measure_pair(model, hmc_setting: HmcSetting, beta: float, shape, chains: int,
                 steps: int, rel_error: float | None = None, max_steps: int | None = None,
                 hmc_max_steps: int | None = None, hmc_therm: int = 0,
                 instanton_moves: int = 0, store: Path | None = None,
                 reuse_hmc: bool = False) -> dict:
    """L2HMC (`model`) and HMC (`hmc_setting`; by default leapfrog with the model's N_LF) at
    (beta, shape): one Comparison row.
    With rel_error each sampler runs until its own tau_int(Q_Z) has that relative error
    (inference.evaluate) or it reaches its step cap (max_steps; hmc_max_steps for the far
    cheaper HMC trajectories, default max_steps), so a slowly mixing HMC gets the longer
    chains it needs. Both start from the same equilibrium start (starts.equilibrium_start:
    charges from the exact P(Q), then hmc_therm HMC trajectories), so that neither spends its
    chain reaching equilibrium (HMC at beta 6 would take thousands of trajectories).
    instanton_moves: Metropolis instanton proposals after each trajectory of `model` (not of
    the HMC it is compared with). The row names the model's `variant` (network kind, or hmc)
    and whether it uses the 2D-U(1)-only instanton shift (`instanton`). HMC comes from
    hmc_baseline (store, reuse_hmc); `hmc_reused_from` names the command that measured it
    where it was not measured here."""
    from l2hmc_tf import inference
    from l2hmc_tf.starts import equilibrium_start

    def run(name, dyn, cap, moves=0):
        def progress(n, stats):
            print(f"  {name} beta {beta:g} {shape[0]}x{shape[1]}: {n} steps, tau_int "
                  f"{stats.tau_int_charge_int:.1f} ± {stats.tau_int_charge_int_err:.1f}",
                  flush=True)
        return inference.evaluate(dyn, beta, chains, steps, steps // 10, seed=11,
                                  lattice_shape=shape, rel_error=rel_error, max_steps=cap,
                                  on_chunk=progress, start=start, instanton_moves=moves)

    start = equilibrium_start(chains, shape, beta, hmc_therm, model.n_leapfrog,
                              hmc_setting.start_step, seed=11, dtype=model.compute_dtype)
    baseline_model = hmc_setting.model(shape, model.n_leapfrog)
    hmc_key = {"beta": beta, "lattice": list(shape), "n_leapfrog": baseline_model.n_leapfrog,
               "step_size": hmc_setting.step_size, "integrator": hmc_setting.integrator,
               "chains": chains, "steps": steps,
               "rel_error": rel_error, "max_steps": hmc_max_steps or max_steps,
               "therm": hmc_therm, "start_step": hmc_setting.start_step,
               "start_n_leapfrog": model.n_leapfrog, "seed": 11,
               "dtype": str(model.compute_dtype)}
    baseline, reused_from = hmc_baseline(
        hmc_key, lambda: run("hmc", baseline_model, hmc_max_steps or max_steps), store,
        reuse_hmc)
    comparison = Comparison(run("l2hmc", model, max_steps, instanton_moves), baseline)
    variant = model.network_config.kind if model.has_networks else "hmc"
    return comparison.row() | {"hmc_therm": hmc_therm,
                               "hmc_step_size": hmc_setting.step_size,
                               "hmc_integrator": hmc_setting.integrator,
                               "hmc_reused_from": reused_from,
                               "start": "equilibrium",
                               "variant": variant,
                               "instanton": bool(model.instanton or instanton_moves),
                               "instanton_layer": model.instanton,
                               "instanton_moves": instanton_moves}


def measure_with(args, model, hmc_setting: HmcSetting, beta: float, shape,
                 instanton_moves: int = 0) -> dict:
    """measure_pair with the chain options of add_measurement_args."""
    return measure_pair(model, hmc_setting, beta, shape, args.chains, args.steps,
                        args.rel_error, args.max_steps, args.hmc_max_steps, args.hmc_therm,
                        instanton_moves, Path(args.json).parent / HMC_STORE, args.reuse_hmc)


def seconds_per_training_step(cfg: Config, beta: float, calls: int, repeats: int) -> float:
    """Wall seconds of one training step of a fresh Trainer for cfg (best of `repeats`)."""
    from l2hmc_tf import training
    trainer = training.Trainer(cfg)
    return 1.0 / best_rate(lambda: trainer.train_step(beta), calls, repeats=repeats)


def is_hmc_baseline(row: dict) -> bool:
    """A result row of HMC (with instanton proposals) rather than of a trained model."""
    return row.get("variant") == "hmc"


def row_name(row: dict) -> str:
    """What a result row measured: its ablation name, or its run (hmc for HMC baselines) at
    its beta and lattice with its instanton proposals, and the HMC integrator it was
    measured against where that is not leapfrog. Keys cost.json and tau_int.json."""
    if "name" in row:
        return row["name"]
    what = "hmc" if is_hmc_baseline(row) else row.get("run")
    name = f"{what} b{row['beta']:g} {row['lattice']} moves {row.get('instanton_moves', 0)}"
    against = row.get("hmc_integrator", "leapfrog")   # a 2MN row does not replace leapfrog's
    return name if against == "leapfrog" else f"{name} vs hmc {against}"


def result_rows(path) -> list[dict]:
    """The rows of a benchmarks/results file: a list (tau_int.json) or {"rows": [...]}."""
    data = json.loads(Path(path).read_text())
    return data["rows"] if isinstance(data, dict) else data


def read_summary(run_dir: Path) -> dict:
    """A run's summary.json (training steps and seconds), or {} where it has none."""
    summary = Path(run_dir) / "summary.json"
    return json.loads(summary.read_text()) if summary.is_file() else {}


def training_record(run_dir: Path) -> dict:
    """A trained run's steps and wall and CPU seconds over all its resumptions (runs from
    before the checkpoints carried a clock have only their last session's wall seconds)."""
    summary = read_summary(run_dir)
    return {"training_steps": summary.get("steps"),
            "train_seconds": float(summary.get("train_seconds_total",
                                               summary.get("train_seconds", "nan"))),
            "train_cpu_seconds": summary.get("train_cpu_seconds_total")}


def trained_model(run_dir: Path, cfg: Config):
    """(model, training seconds over all resumptions): reuse a finished run, continue an
    interrupted one from its checkpoint, or train one now, through bin/train.py's own code
    path (train_cli)."""
    from l2hmc_tf import checkpoints, train_cli

    run_dir = Path(run_dir)
    if not (run_dir / checkpoints.MODEL_FILE).is_file():
        resume = bool(checkpoints.list_checkpoints(run_dir))
        if train_cli.run_training(cfg, run_dir, resume=resume) != 0:
            raise RuntimeError(f"training {run_dir} diverged; see {run_dir / 'train.log'}")
    model, _ = checkpoints.load_model(run_dir)
    return model, training_record(run_dir)["train_seconds"]
