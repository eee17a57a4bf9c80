"""The campaign's cheap signal: <dQ_Z^2> per trajectory of trained runs at a target beta, and
what an independent charge costs in CPU seconds.

    python -m benchmarks.screen RUN [RUN ...] [--beta 6] [--lattice 16x16] [--chains 32]
        [--steps 600] [--therm 300] [--hmc [--hmc-step-sizes 0.15 ...]] [--hmc-best]
        [--hmc-steps N] [--ledger benchmarks/results/campaign.json]

Each run's model (with --hmc, plain leapfrog HMC at its N_LF and each of --hmc-step-sizes;
with --hmc-best, the best HMC setting benchmarks.hmc_tuning stored for --beta, 2MN where
that wins) samples from one set of chains that start in equilibrium at --beta
(starts.equilibrium_start: charges drawn from the exact P(Q), then --therm HMC
trajectories; rows before 2026-12-01 06:40 started hot). The samplers run in turn, in
stretches, on this thread (inference.interleaved_mobility), so their CPU seconds compare
under the same load. The row records <dQ_Z^2> with its Gamma-method error, per trajectory
and per force evaluation, the acceptance, the tau_int it predicts (docs/physics.md section
10), the CPU seconds per trajectory and per predicted tau_int (the figure of merit: CPU
seconds per independent charge), with the run's recipe, its training steps and its wall and
CPU seconds over all resumptions, so the ledger shows how each run's signal grew with
training. Minutes per run, where a tau_int takes hours.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .common import HMC_STORE, append_row, best_hmc_setting, command

from l2hmc_tf.quiet_import import import_tensorflow

import_tensorflow()
from l2hmc_tf import checkpoints, config, inference, starts  # noqa: E402
from l2hmc_tf.checks import parse_lattice  # noqa: E402
from l2hmc_tf.model import from_config, hmc  # noqa: E402

LEDGER = Path("benchmarks/results/campaign.json")


def newest_model(run: Path):
    """(model, config, training record) of a run at its newest checkpoint (a run still in
    training is screened as it is now), or of its saved model when it has no checkpoints."""
    if not checkpoints.list_checkpoints(run):
        model, cfg = checkpoints.load_model(run)
        return model, cfg, {}
    cfg = config.load(run / "config.yaml")
    model = from_config(cfg)
    state = checkpoints.load_latest(run, model)
    return model, cfg, {"training_steps": state.step, "train_seconds": state.train_seconds,
                        "train_cpu_seconds": state.train_cpu_seconds}


INITIAL_HMC_STEP = 0.15   # the models' initial step: HMC's step before step sizes were screened


def hmc_name(step_size: float) -> str:
    """The ledger's name of a leapfrog HMC row at the models' N_LF: plain 'hmc' at
    INITIAL_HMC_STEP (as the rows from before step sizes were screened), else with its step."""
    return "hmc" if step_size == INITIAL_HMC_STEP else f"hmc eps {step_size:g}"


def hmc_models(args, shape, n_lf: int) -> list[tuple]:
    """(name, HMC model, None, {}) of --hmc (leapfrog at each step size and the models'
    N_LF) and --hmc-best (the best setting benchmarks.hmc_tuning stored for --beta)."""
    models = [(hmc_name(eps), hmc(shape, n_lf, eps), None, {})
              for eps in (args.hmc_step_sizes if args.hmc else [])]
    if args.hmc_best:
        best = best_hmc_setting(args.ledger.parent / HMC_STORE, args.beta, args.lattice)
        name, eps, n = best["integrator"], best["step_size"], best["n_leapfrog"]
        models.append((f"best hmc: {name} eps {eps:g} N {n}",
                       hmc(shape, n, eps, integrator=name), None, {}))
    return models


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="*", type=Path, help="run directories (bin/train.py)")
    p.add_argument("--beta", type=float, default=6.0)
    p.add_argument("--lattice", default="16x16")
    p.add_argument("--chains", type=int, default=32)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--hmc-steps", type=int, default=None,
                   help="trajectories of each HMC setting (default --steps)")
    p.add_argument("--therm", type=int, default=300,
                   help="HMC trajectories at --beta after the equilibrium start")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--hmc", action="store_true", help="also screen plain HMC")
    p.add_argument("--hmc-step-sizes", type=float, nargs="+", default=[INITIAL_HMC_STEP],
                   help="HMC step sizes to screen (rows named 'hmc' at 0.15, else 'hmc eps E')")
    p.add_argument("--hmc-best", action="store_true",
                   help=f"also screen the best HMC benchmarks.hmc_tuning stored in {HMC_STORE}")
    p.add_argument("--note", default="", help="why this screen was run (kept in the row)")
    p.add_argument("--ledger", type=Path, default=LEDGER)
    args = p.parse_args(argv)
    if not (args.runs or args.hmc or args.hmc_best):
        p.error("nothing to screen: give run directories, --hmc or --hmc-best")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    shape = parse_lattice(args.lattice)
    models = []
    for run in args.runs:
        model, cfg, record = newest_model(run)
        models.append((str(run), model, cfg.to_dict(), record))
    models += hmc_models(args, shape, models[0][1].n_leapfrog if models else 8)
    hmc_steps = args.hmc_steps or args.steps
    x = starts.equilibrium_chains(models[0][1], args.beta, args.chains, shape, args.seed,
                                  hmc_trajectories=args.therm)
    figures = inference.interleaved_mobility(
        {name: (model, args.steps if recipe else hmc_steps)
         for name, model, recipe, _ in models}, args.beta, shape, args.chains, x, args.seed)
    for name, model, recipe, record in models:
        row = {"run": name, "beta": args.beta, "lattice": args.lattice, "chains": args.chains,
               "steps": args.steps if recipe else hmc_steps, "therm": args.therm,
               "start": "equilibrium", "timing": "interleaved", "note": args.note, **record,
               **figures[name], "integrator": model.integrator,
               "recipe": recipe, "command": command(), "date": time.strftime("%Y-%m-%d %H:%M")}
        print(f"{name}: <dQ^2> {row['dq2']:.3g} +- {row['dq2_err']:.2g}, accept "
              f"{row['accept']:.2f}, force evaluations x tau pred "
              f"{row['nlf_tau_int_predicted']:.0f}, CPU s per tau pred "
              f"{row['cpu_seconds_per_tau_int_predicted']:.3g} "
              f"({row.get('training_steps', 0)} steps, "
              f"{row.get('train_cpu_seconds', 0) / 3600:.2f} CPU h)", flush=True)
        append_row(args.ledger, row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
