"""Volume transfer: a conv model trained on a small lattice samples larger ones unchanged.

    python -m benchmarks.volume_transfer --run RUN_DIR [--sizes 16 32] [--beta B]
        [--steps 1000] [--max-steps 8000] [--hmc-max-steps 64000] [--rel-error 0.2]
        [--chains 64] [--hmc-therm 0]
        [--finetune-steps N [--runs runs/volume] [--set KEY=VALUE ...]]
        [--json benchmarks/results/volume.json]

For each size: acceptance and tau_int(Q_Z) of the trained model and of HMC (same N_LF and
step size), each sampled until its tau_int is known to --rel-error, and the gain
HMC / L2HMC, all measured in this run; --hmc-therm N thermalises the hot start with N HMC
trajectories first. With --finetune-steps N, each larger size also gets the model after N
training steps at that size and beta, from chains thermalised the same way
(training.init_from, training.hmc_therm; runs kept in --runs/ft<L>, reused when there): the
price of "train small, fine-tune big".
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import (HmcSetting, add_measurement_args, machine, measure_with, read_summary,
                     trained_model, write_json)

from l2hmc_tf.quiet_import import import_tensorflow

import_tensorflow()
from l2hmc_tf import checkpoints, config  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", required=True, help="run directory of a trained conv model")
    p.add_argument("--sizes", type=int, nargs="+", default=[16, 32])
    p.add_argument("--beta", type=float, default=None, help="default: the run's beta_final")
    add_measurement_args(p, chains=64)
    p.add_argument("--finetune-steps", type=int, default=0,
                   help="also measure the model after this many training steps at each size")
    p.add_argument("--runs", default="runs/volume", help="where the fine-tuned runs go")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   help="config override of the fine-tuning runs, e.g. training.lr=0.001")
    p.add_argument("--json", default="benchmarks/results/volume.json")
    return p.parse_args(argv)


def candidates(args, model, cfg, beta: float) -> list[tuple]:
    """(size, model, config, trained on, fine-tune steps, fine-tune seconds) to measure: the
    source size, then each size unchanged and (--finetune-steps) fine-tuned there."""
    source = f"{cfg.lattice.size[0]}x{cfg.lattice.size[1]}"
    out = [(cfg.lattice.size[0], model, cfg, source, 0, None)]
    for L in args.sizes:
        out.append((L, model, cfg, source, 0, None))
        if args.finetune_steps:
            ft_cfg = config.load(Path(args.run) / "config.yaml", [
                f"lattice.size=[{L},{L}]", f"training.init_from={args.run}",
                f"training.steps={args.finetune_steps}", f"annealing.beta_start={beta}",
                f"annealing.beta_final={beta}", f"training.hmc_therm={args.hmc_therm}",
                *args.overrides])
            ft_model, seconds = trained_model(Path(args.runs) / f"ft{L}", ft_cfg)
            out.append((L, ft_model, ft_cfg, f"{source} + {args.finetune_steps} steps "
                        f"at {L}x{L}", args.finetune_steps, seconds))
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    model, cfg = checkpoints.load_model(Path(args.run))
    beta = args.beta or cfg.annealing.beta_final
    recorded = read_summary(Path(args.run))
    source_record = {"run": args.run, "steps": recorded.get("steps"),
                     "train_seconds": recorded.get("train_seconds")}
    rows = []
    for L, dyn, dyn_cfg, trained_on, finetune_steps, seconds in candidates(args, model, cfg,
                                                                           beta):
        row = measure_with(args, dyn, HmcSetting(dyn_cfg.dynamics.step_size), beta, (L, L))
        row.update(trained_on=trained_on, finetune_steps=finetune_steps,
                   finetune_seconds=seconds)
        rows.append(row)
        print(f"{row['lattice']:>6} (trained on {row['trained_on']}): accept L2HMC "
              f"{row['accept_l2hmc']:.3f} HMC {row['accept_hmc']:.3f}; tau_int L2HMC "
              f"{row['tau_int_l2hmc']:.2f} ± {row['tau_int_l2hmc_err']:.2f}, HMC "
              f"{row['tau_int_hmc']:.2f} ± {row['tau_int_hmc_err']:.2f}; gain "
              f"{row['tau_int_gain']:.2f}x", flush=True)
        # after every row, so a later failure loses nothing
        write_json(Path(args.json), {"machine": machine(), "source": source_record,
                                     "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
