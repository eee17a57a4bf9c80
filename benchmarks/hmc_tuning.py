"""The strongest HMC per beta: <dQ_Z^2> per force evaluation over integrator, step size and
trajectory length, and the best setting stored for the benchmarks that quote gains.

    python -m benchmarks.hmc_tuning [--betas 4 5 6 7] [--lattice 16x16] [--chains 256]
        [--steps 1000] [--lengths 1 2] [--leapfrog-steps 0.1 0.12 0.14]
        [--2mn-steps 0.2 0.24 0.28] [--json benchmarks/results/hmc_tuning.json]

Each setting (integrator, eps, N = round(length / eps) steps) samples `--steps` trajectories
(scaled by --steps-per-beta where charge moves are rare) from one equilibrium start per beta
(starts.equilibrium_start), and its row records <dQ_Z^2> per trajectory and per force
evaluation with errors, the acceptance and the seconds per trajectory. The cost that matters
is force evaluations (a 2MN step costs two, a leapfrog step one: schemes.py), and for a
diffusing charge tau_int ~ 4 <Q_Z^2> / <dQ_Z^2> (docs/physics.md section 10), so the best
setting is the one with the largest <dQ_Z^2> per force evaluation. The best per beta, overall
and per integrator, among all the rows --json holds at that beta and lattice (earlier
commands' grids included), goes into `best_settings` of hmc_baselines.json beside --json,
where `benchmarks.tau_int --hmc-best` and `benchmarks.screen --hmc-best` take it from.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .common import HMC_STORE, append_row, command, result_rows, write_json

from l2hmc_tf.quiet_import import import_tensorflow

import_tensorflow()
from l2hmc_tf import inference  # noqa: E402
from l2hmc_tf.checks import parse_lattice  # noqa: E402
from l2hmc_tf.model import hmc  # noqa: E402
from l2hmc_tf.starts import equilibrium_start  # noqa: E402

RESULTS = Path("benchmarks/results/hmc_tuning.json")


def settings(args) -> list[tuple[str, float, int]]:
    """(integrator, eps, N) of the grid: every step size at every trajectory length."""
    grid = {"leapfrog": args.leapfrog_steps, "2mn": args.twomn_steps}
    return [(name, eps, max(1, round(length / eps)))
            for name, steps in grid.items() for eps in steps for length in args.lengths]


def tune_beta(beta: float, shape, args) -> list[dict]:
    """One row per setting at beta, all from the same equilibrium start."""
    steps = args.steps * args.steps_per_beta.get(beta, 1)
    start = equilibrium_start(args.chains, shape, beta, args.therm, 8, 0.1, seed=args.seed)
    rows = []
    for integrator, eps, n in settings(args):
        dyn = hmc(shape, n, eps, integrator=integrator)
        row = {"beta": beta, "lattice": args.lattice, "integrator": integrator,
               "step_size": eps, "n_leapfrog": n, "trajectory_length": n * eps,
               "chains": args.chains, "steps": steps, "therm": args.therm, "seed": args.seed,
               **inference.charge_mobility(dyn, beta, shape, args.chains, steps, start,
                                           args.seed)}
        row["dq2_per_force_err"] = row["dq2_err"] / row["force_evaluations"]
        print(f"beta {beta:g} {integrator:8} eps {eps:<5g} N {n:2d}: <dQ^2>/force "
              f"{row['dq2_per_force']:.3g} +- {row['dq2_per_force_err']:.2g}, accept "
              f"{row['accept']:.2f}", flush=True)
        rows.append(row)
    return rows


def best_settings(rows: list[dict]) -> dict:
    """Per beta: the setting with the most <dQ_Z^2> per force evaluation, and the best of
    each integrator (the leapfrog column readers compare with the paper)."""
    out = {}
    for beta in sorted({r["beta"] for r in rows}):
        at_beta = [r for r in rows if r["beta"] == beta]
        pick = {"best": at_beta} | {name: [r for r in at_beta if r["integrator"] == name]
                                    for name in {r["integrator"] for r in at_beta}}
        out[f"{beta:g}"] = {which: _setting(max(group, key=lambda r: r["dq2_per_force"]))
                            for which, group in pick.items()}
    return out


def _setting(row: dict) -> dict:
    keys = ("integrator", "step_size", "n_leapfrog", "dq2_per_force", "dq2_per_force_err",
            "accept", "lattice", "command")
    return {k: row[k] for k in keys}


def store_best(store: Path, best: dict) -> None:
    """best_settings into the HMC store, beside the measurements (other betas kept)."""
    data = json.loads(store.read_text()) if store.is_file() else {"rows": []}
    data.setdefault("best_settings", {}).update(best)
    write_json(store, data)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--betas", type=float, nargs="+", default=[4.0, 5.0, 6.0, 7.0])
    p.add_argument("--lattice", default="16x16")
    p.add_argument("--chains", type=int, default=256)
    p.add_argument("--steps", type=int, default=1000, help="trajectories per setting")
    p.add_argument("--steps-per-beta", type=json.loads, default={6.0: 2, 7.0: 4},
                   help='JSON {beta: factor}: more trajectories where charge moves are rare')
    p.add_argument("--therm", type=int, default=300, help="HMC after the equilibrium start")
    p.add_argument("--lengths", type=float, nargs="+", default=[1.0, 2.0],
                   help="trajectory lengths N * eps")
    p.add_argument("--leapfrog-steps", type=float, nargs="+", default=[0.1, 0.12, 0.14])
    p.add_argument("--2mn-steps", dest="twomn_steps", type=float, nargs="+",
                   default=[0.2, 0.24, 0.28])
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--json", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    args.steps_per_beta = {float(k): int(v) for k, v in args.steps_per_beta.items()}
    shape = parse_lattice(args.lattice)
    for beta in args.betas:
        for row in tune_beta(beta, shape, args):
            append_row(args.json, row | {"command": command(),
                                         "date": time.strftime("%Y-%m-%d %H:%M")})
    best = best_settings([r for r in result_rows(args.json)
                          if r["beta"] in args.betas and r["lattice"] == args.lattice])
    for beta, pick in best.items():
        b = pick["best"]
        print(f"beta {beta}: best {b['integrator']} eps {b['step_size']:g} N "
              f"{b['n_leapfrog']} ({b['dq2_per_force']:.3g} per force evaluation)")
    store_best(args.json.parent / HMC_STORE, best)
    return 0


if __name__ == "__main__":
    sys.exit(main())
