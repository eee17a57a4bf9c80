"""The campaign's cheap signal: <dQ_Z^2> per trajectory of trained runs at a target beta.

    python -m benchmarks.screen RUN [RUN ...] [--beta 6] [--lattice 16x16] [--chains 32]
        [--steps 600] [--therm 300] [--hmc [--hmc-step-sizes 0.15 ...]]
        [--ledger benchmarks/results/campaign.json]

Each run's model (and, with --hmc, plain HMC at its N_LF and each of --hmc-step-sizes, so
that the baseline a gain is quoted against is HMC at its best step) samples from chains that
start in equilibrium at --beta (dynamics.equilibrium_start: charges drawn from the exact
P(Q), then --therm HMC trajectories; rows before 2026-12-01 06:40 started hot and were
thermalised by HMC alone, which fixes the plaquettes but not the charge sectors). The row
records <dQ_Z^2> with its Gamma-method error, the acceptance and the tau_int it predicts
(docs/physics.md section 10), with the run's recipe, its training steps and its wall and CPU
seconds over all resumptions, so the ledger shows how each run's signal grew with training.
Minutes per run, where a tau_int takes hours.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .common import append_row, command

from l2hmc_tf.quiet_import import import_tensorflow

import_tensorflow()
from l2hmc_tf import checkpoints, config, inference  # noqa: E402
from l2hmc_tf.checks import parse_lattice  # noqa: E402
from l2hmc_tf.dynamics import from_config, hmc  # noqa: E402

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


def screen(model, beta: float, shape, chains: int, steps: int, therm: int,
           seed: int) -> dict:
    """<dQ_Z^2>, its error, acceptance and predicted tau_int of `model` at beta, from an
    equilibrium start thermalised by `therm` HMC trajectories."""
    x = inference.equilibrium_chains(model, beta, chains, shape, seed, hmc_trajectories=therm)
    return inference.charge_mobility(model, beta, shape, chains, steps, x, seed)


INITIAL_HMC_STEP = 0.15   # the models' initial step: HMC's step before step sizes were screened


def hmc_name(step_size: float) -> str:
    """The ledger's name of an HMC row: plain 'hmc' at INITIAL_HMC_STEP (as the rows from
    before step sizes were screened), else with its step size."""
    return "hmc" if step_size == INITIAL_HMC_STEP else f"hmc eps {step_size:g}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="*", type=Path, help="run directories (bin/train.py)")
    p.add_argument("--beta", type=float, default=6.0)
    p.add_argument("--lattice", default="16x16")
    p.add_argument("--chains", type=int, default=32)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--therm", type=int, default=300,
                   help="HMC trajectories at --beta after the equilibrium start")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--hmc", action="store_true", help="also screen plain HMC")
    p.add_argument("--hmc-step-sizes", type=float, nargs="+", default=[INITIAL_HMC_STEP],
                   help="HMC step sizes to screen (rows named 'hmc' at 0.15, else 'hmc eps E')")
    p.add_argument("--note", default="", help="why this screen was run (kept in the row)")
    p.add_argument("--ledger", type=Path, default=LEDGER)
    args = p.parse_args(argv)
    shape = parse_lattice(args.lattice)
    models = []
    for run in args.runs:
        model, cfg, record = newest_model(run)
        models.append((str(run), model, cfg.to_dict(), record))
    if args.hmc:
        n_lf = models[0][1].n_leapfrog if models else 8
        models += [(hmc_name(eps), hmc(shape, n_lf, eps), None, {})
                   for eps in args.hmc_step_sizes]
    for name, model, recipe, record in models:
        row = {"run": name, "beta": args.beta, "lattice": args.lattice, "chains": args.chains,
               "steps": args.steps, "therm": args.therm, "start": "equilibrium",
               "note": args.note, **record,
               **screen(model, args.beta, shape, args.chains, args.steps, args.therm,
                        args.seed),
               "recipe": recipe, "command": command(), "date": time.strftime("%Y-%m-%d %H:%M")}
        print(f"{name}: <dQ^2> {row['dq2']:.3g} +- {row['dq2_err']:.2g}, accept "
              f"{row['accept']:.2f}, N_LF tau pred {row['nlf_tau_int_predicted']:.0f} "
              f"({row.get('training_steps', 0)} steps, "
              f"{row.get('train_cpu_seconds', 0) / 3600:.2f} CPU h)", flush=True)
        append_row(args.ledger, row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
