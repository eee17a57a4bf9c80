"""Does float32 bias HMC's <Q_Z^2>? Independent seeds in float32 and float64, replica errors.

    python -m benchmarks.precision [--beta 6] [--lattice 16x16] [--seeds 10] [--chains 64]
        [--steps 40000] [--step-size 0.12] [--n-leapfrog 8] [--integrator leapfrog]
        [--json benchmarks/results/precision.json]

Each seed starts its chains in equilibrium (the charge drawn from the exact P(Q), then HMC
for the plaquettes), so the chains are independent and stationary and the spread of their
per-chain means gives an error that needs no tau_int (docs/physics.md section 6). The row of
each (dtype, seed) holds <Q_Z^2> and the plaquette with both errors and their deviations
from the exact torus values; the summary combines the seeds of each dtype (inverse-variance
mean, its pull, and the chi^2 of the seeds about the exact value), so a bias shows as a
combined pull far from 0 with a chi^2 per seed near 1. Rows are appended as they finish, so
an interrupted run keeps what it measured and a rerun skips the (dtype, seed) pairs done.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from .common import append_row, command, result_rows

from l2hmc_tf.quiet_import import import_tensorflow

import_tensorflow()
from l2hmc_tf import inference  # noqa: E402
from l2hmc_tf.checks import parse_lattice  # noqa: E402
from l2hmc_tf.model import hmc  # noqa: E402


def measure(args, dtype: str, seed: int) -> dict:
    """One seed's chains at one precision: the row of its figures."""
    shape = parse_lattice(args.lattice)
    dyn = hmc(shape, args.n_leapfrog, args.step_size, dtype=dtype, integrator=args.integrator)
    s = inference.evaluate(dyn, args.beta, args.chains, args.steps, args.therm, seed)
    st = s.stats
    return {"dtype": dtype, "seed": seed, "beta": args.beta, "lattice": args.lattice,
            "integrator": args.integrator, "step_size": args.step_size,
            "n_leapfrog": args.n_leapfrog, "chains": args.chains, "steps": args.steps,
            "q2_mean": st.q2_mean, "q2_err_gamma": st.q2_err_gamma,
            "q2_err_replica": st.q2_err_replica, "q2_exact": st.q2_exact,
            "q2_sigma": st.q2_sigma, "plaq_mean": st.plaq_mean, "plaq_err": st.plaq_err,
            "plaq_sigma": st.plaq_sigma, "tau_int_charge_int": st.tau_int_charge_int,
            "tau_int_predicted": st.tau_int_predicted, "accept": st.accept_mean,
            "seconds": s.wall_seconds, "command": command()}


def combine(rows: list[dict]) -> dict:
    """Inverse-variance mean of <Q_Z^2> over seeds (replica errors), its pull from exact,
    and the seeds' chi^2 about the exact value."""
    weights = [1.0 / r["q2_err_replica"] ** 2 for r in rows]
    mean = sum(w * r["q2_mean"] for w, r in zip(weights, rows)) / sum(weights)
    err = 1.0 / math.sqrt(sum(weights))
    exact = rows[0]["q2_exact"]
    chi2 = sum(((r["q2_mean"] - exact) / r["q2_err_replica"]) ** 2 for r in rows)
    return {"seeds": len(rows), "q2_mean": mean, "q2_err": err, "q2_exact": exact,
            "pull": (mean - exact) / err, "chi2_per_seed": chi2 / len(rows)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--beta", type=float, default=6.0)
    p.add_argument("--lattice", default="16x16")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=100)
    p.add_argument("--chains", type=int, default=64)
    p.add_argument("--steps", type=int, default=40000)
    p.add_argument("--therm", type=int, default=0, help="trajectories dropped (equilibrium start)")
    p.add_argument("--step-size", type=float, default=0.12)
    p.add_argument("--n-leapfrog", type=int, default=8)
    p.add_argument("--integrator", default="leapfrog")
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    p.add_argument("--json", type=Path, default=Path("benchmarks/results/precision.json"))
    args = p.parse_args(argv)
    done = {(r["dtype"], r["seed"]) for r in result_rows(args.json)} if args.json.is_file() \
        else set()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for dtype in args.dtypes:           # interleaved: a load change hits both alike
            if (dtype, seed) in done:
                continue
            row = measure(args, dtype, seed)
            print(f"{dtype} seed {seed}: <Q^2> {row['q2_mean']:.4f} +- "
                  f"{row['q2_err_replica']:.4f} (replica; Gamma {row['q2_err_gamma']:.4f}), "
                  f"{row['q2_sigma']:+.2f} sigma", flush=True)
            append_row(args.json, row)
    rows = result_rows(args.json)
    for dtype in args.dtypes:
        mine = [r for r in rows if r["dtype"] == dtype and r["beta"] == args.beta]
        if mine:
            c = combine(mine)
            print(f"{dtype}: {c['seeds']} seeds, <Q^2> {c['q2_mean']:.4f} +- {c['q2_err']:.4f}"
                  f" against exact {c['q2_exact']:.4f}: {c['pull']:+.2f} sigma, chi^2 per "
                  f"seed {c['chi2_per_seed']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
