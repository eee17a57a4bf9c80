"""Ablation at one (beta, lattice): each network kind trained with the same wall-clock budget
and measured back to back with HMC, with and without the instanton shift, beside HMC with
instanton proposals.

    python -m benchmarks.ablation [--config configs/beta4.yaml] [--budget 600]
        [--variant 'NAME:KEY=VALUE[;KEY=VALUE...]']... [--instanton-moves 1 4]
        [--no-instanton-layer] [--runs runs/ablation] [--chains 64] [--steps 500] [--max-steps 4000]
        [--hmc-max-steps 64000] [--rel-error 0.2] [--hmc-therm 500] [--quick]
        [--json benchmarks/results/ablation.json]

The budget: a variant's training.steps is set so that its training takes about --budget
seconds here (seconds per step measured first, as benchmarks.train_profile does), and its
annealing spans those steps. A variant whose RUNS/<name>/ holds a trained model is reused; an
interrupted one resumes from its checkpoint. Each model is measured as trained and, unless it
was trained with the shift, again with dynamics.instanton on (the same weights, the shift added
mid-trajectory). Rows are written after every measurement; a rerun skips the rows the JSON
file already holds, so an interrupted ablation continues where it stopped.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import (HmcSetting, add_measurement_args, machine, measure_with,
                     parse_variant, seconds_per_training_step, trained_model, write_json)

from l2hmc_tf.quiet_import import import_tensorflow

import_tensorflow()
from l2hmc_tf import config  # noqa: E402
from l2hmc_tf.model import hmc  # noqa: E402

DEFAULT_VARIANTS = ["conv:", "mlp:network.kind=mlp;network.units=[256,256]",
                    "gauge:network.kind=gauge;network.x_subupdates=8",
                    "gauge 2:network.kind=gauge;network.x_subupdates=2",
                    "scalar:network.kind=scalar"]
QUICK = ["lattice.size=[4,4]", "dynamics.n_leapfrog=2", "network.units=[4]",
         "training.chains=4", "training.lr_warmup_steps=0", "annealing.beta_start=1.0",
         "annealing.beta_final=1.5"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="configs/beta4.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   help="KEY=VALUE applied to every variant")
    p.add_argument("--variant", dest="variants", action="append", default=None,
                   help="NAME:KEY=VALUE;... (repeatable)")
    p.add_argument("--budget", type=float, default=600.0, help="training seconds per variant")
    p.add_argument("--instanton-moves", type=int, nargs="*", default=[1, 4],
                   help="HMC baselines with this many instanton proposals per trajectory")
    p.add_argument("--no-instanton-layer", dest="instanton_layer", action="store_false",
                   help="skip measuring each model again with the instanton layer on")
    p.add_argument("--runs", default="runs/ablation")
    add_measurement_args(p, chains=64)
    p.add_argument("--quick", action="store_true", help="tiny lattice, one variant (CI)")
    p.add_argument("--json", default="benchmarks/results/ablation.json")
    args = p.parse_args(argv)
    if args.quick:
        args.overrides += QUICK
        args.variants = args.variants or ["scalar:network.kind=scalar"]
        args.budget, args.instanton_moves = 2.0, [1]
        args.steps, args.max_steps, args.hmc_max_steps, args.chains = 20, 20, 20, 4
    args.variants = [parse_variant(v) for v in args.variants or DEFAULT_VARIANTS]
    return args


def budget_config(cfg_file: str, keys: list[str], budget: float) -> config.Config:
    """The variant's config with training.steps sized to `budget` seconds of training and
    no evaluation inside training (the ablation measures every model the same way)."""
    cfg = config.load(cfg_file, keys)
    seconds = seconds_per_training_step(cfg, cfg.annealing.beta_start, calls=3, repeats=1)
    steps = max(10, int(budget / seconds))
    print(f"  {seconds:.3f} s per training step: {steps} steps in {budget:g} s", flush=True)
    return config.load(cfg_file, keys + [f"training.steps={steps}", "evaluation.steps=0",
                                         f"checkpoint.every={max(1, steps // 4)}",
                                         f"training.log_every={max(1, steps // 20)}"])


def train_variant(args, keys: list[str], run_dir: Path):
    """(model, config, training seconds) of one variant, trained within the budget."""
    saved = run_dir / "config.yaml"
    cfg = (config.load(saved) if saved.is_file()
           else budget_config(args.config, args.overrides + keys, args.budget))
    model, seconds = trained_model(run_dir, cfg)
    return model, cfg, seconds


class Rows:
    """The ablation's JSON rows, written after each one; rows already there are kept."""

    def __init__(self, path: Path):
        self.path = path
        data = json.loads(path.read_text()) if path.is_file() else {}
        self.rows = data.get("rows", [])

    def has(self, name: str) -> bool:
        return any(r["name"] == name for r in self.rows)

    def add(self, name: str, row: dict, **extra) -> None:
        self.rows.append({"name": name, **row, **extra, "command": machine()["command"]})
        r = self.rows[-1]
        print(f"{name}: N_LF*tau_int {r['nlf_tau_int_l2hmc']:.1f} (HMC "
              f"{r['nlf_tau_int_hmc']:.1f}), dQ^2 {r['dq2_l2hmc']:.3f}, accept "
              f"{r['accept_l2hmc']:.2f}, cost {r['trajectory_cost']:.1f}x, per second "
              f"{r['seconds_gain']:.2f}x", flush=True)
        write_json(self.path, {"machine": machine(), "rows": self.rows})


def main(argv=None) -> int:
    args = parse_args(argv)
    rows = Rows(Path(args.json))
    base = config.load(args.config, args.overrides)
    shape, beta = tuple(base.lattice.size), base.annealing.beta_final
    eps, n_lf = base.dynamics.step_size, base.dynamics.n_leapfrog

    def measure(name, model, moves=0, **extra):
        if not rows.has(name):
            rows.add(name, measure_with(args, model, HmcSetting(eps), beta, shape, moves),
                     **extra)

    for moves in args.instanton_moves:
        measure(f"hmc + {moves} instanton proposals", hmc(shape, n_lf, eps), moves)
    for name, keys in args.variants:
        run_dir = Path(args.runs) / name.replace(" ", "_")
        if rows.has(name) and (rows.has(f"{name} + instanton layer")
                               or not args.instanton_layer):
            continue
        print(f"{name}: training in {run_dir}", flush=True)
        model, cfg, seconds = train_variant(args, keys, run_dir)
        info = dict(overrides=keys, run=str(run_dir), train_seconds=seconds,
                    training_steps=cfg.training.steps, budget_seconds=args.budget,
                    trained_with_instanton=cfg.dynamics.instanton)
        measure(name, model, **info)
        if args.instanton_layer and not model.instanton:
            model.instanton = True     # the same weights with the shift mid-trajectory
            measure(f"{name} + instanton layer", model, **info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
