"""Cost-normalised tau_int(Q_Z) of trained L2HMC against HMC, measured in the same run.

    python benchmarks/tau_int.py --betas 4 5 [--lattice 16x16] [--config configs/beta4.yaml]
        [--runs runs/bench] [--steps 4000] [--chains 128] [--quick]
        [--json benchmarks/results/tau_int.json]

For each beta: loads RUNS/b<beta>/ when it holds a trained model, else trains one there
from --config with annealing.beta_final = beta; then samples HMC (same N_LF, the config's
step size) and L2HMC at beta and writes one row per beta with tau_int, N_LF * tau_int and
tau_int * seconds per trajectory (seconds per independent configuration) for both.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, measure_pair, write_json  # noqa: E402

from l2hmc_tf.quiet_import import import_tensorflow  # noqa: E402

import_tensorflow()
from l2hmc_tf import checkpoints, config, training  # noqa: E402
from l2hmc_tf.checks import parse_lattice  # noqa: E402


def trained_model(run_dir: Path, cfg: config.Config):
    """(model, training seconds): reuse a finished run or train one now."""
    if (run_dir / checkpoints.MODEL_FILE).is_file():
        model, _ = checkpoints.load_model(run_dir)
        return model, float("nan")
    run_dir.mkdir(parents=True, exist_ok=True)
    config.dump(cfg, run_dir / "config.yaml")
    trainer = training.Trainer(cfg, run_dir)
    start = time.perf_counter()
    trainer.fit(lambda step, m: print(training._format(step, cfg.training.steps, m), flush=True))
    seconds = time.perf_counter() - start
    checkpoints.save_model(run_dir, trainer.dynamics)
    return trainer.dynamics, seconds


def row_for(beta: float, shape, cfg: config.Config, runs: Path, steps: int, chains: int) -> dict:
    model, train_seconds = trained_model(runs / f"b{beta:g}", cfg)
    row = measure_pair(model, cfg.dynamics.step_size, beta, shape, chains, steps)
    row["train_seconds"] = train_seconds
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--betas", type=float, nargs="+", default=[4.0, 5.0])
    p.add_argument("--lattice", default="16x16")
    p.add_argument("--config", default="configs/beta4.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--runs", default="runs/bench")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--chains", type=int, default=128)
    p.add_argument("--quick", action="store_true", help="tiny model and chains (CI)")
    p.add_argument("--json", default="benchmarks/results/tau_int.json")
    args = p.parse_args(argv)
    shape = parse_lattice(args.lattice)
    overrides = list(args.overrides)
    if args.quick:
        shape = (8, 8)
        overrides += ["lattice.size=[8,8]", "dynamics.n_leapfrog=2", "network.units=[4]",
                      "training.steps=10", "training.chains=8", "training.lr_warmup_steps=0",
                      "checkpoint.every=1000", "annealing.beta_start=1.0"]
        args.steps, args.chains = 60, 8
    rows = []
    for beta in args.betas:
        cfg = config.load(args.config, overrides + [f"annealing.beta_final={beta}"])
        rows.append(row_for(beta, shape, cfg, Path(args.runs), args.steps, args.chains))
        r = rows[-1]
        print(f"beta {beta:g} {r['lattice']}: N_LF*tau_int HMC {r['nlf_tau_int_hmc']:.1f} ± "
              f"{r['n_leapfrog'] * r['tau_int_hmc_err']:.1f}, L2HMC {r['nlf_tau_int_l2hmc']:.1f} ± "
              f"{r['n_leapfrog'] * r['tau_int_l2hmc_err']:.1f}; per second HMC/L2HMC "
              f"{r['tau_int_seconds_hmc'] / r['tau_int_seconds_l2hmc']:.2f}", flush=True)
    write_json(Path(args.json), rows)
    write_json(Path(args.json).with_suffix(".machine.json"), machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
