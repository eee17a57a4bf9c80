"""The cost of one trajectory of each measured sampler in HMC trajectories, timed interleaved.

    python -m benchmarks.cost [--json F ...] [--rows NAME ...] [--chains 64] [--calls 20]
        [--quick] [--out benchmarks/results/cost.json]

The tau_int rows time each sampler over its whole chain, HMC and the sampler one after the
other; when the machine's load changes between the two (other jobs on a shared node), their
ratio moves with it. Here each row's sampler (its model with the row's instanton layer and
proposals, or HMC with proposals) and HMC at the same settings are timed in turn within each
repeat, best of three (common.best_rates), so a burst of load hits both. The report divides
each row's tau_int gain by this cost for its `gain per second`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import best_rates, is_hmc_baseline, machine, result_rows, row_name, write_json

from l2hmc_tf.quiet_import import import_tensorflow

import_tensorflow()
from l2hmc_tf import checkpoints, lattice  # noqa: E402
from l2hmc_tf.checks import parse_lattice  # noqa: E402
from l2hmc_tf.kernel import Sampler  # noqa: E402
from l2hmc_tf.model import hmc  # noqa: E402

RESULTS = Path("benchmarks/results")


def row_model(row: dict, baseline):
    """The model a row measured: HMC (`baseline`) for HMC rows, its run's model with the
    row's instanton layer, or None when that run is not on this machine."""
    if is_hmc_baseline(row):
        return baseline
    run = row.get("run")
    if not run or not (Path(run) / checkpoints.MODEL_FILE).is_file():
        return None
    model, _ = checkpoints.load_model(Path(run))
    model.instanton = bool(row.get("instanton_layer", False))
    return model


def time_row(row: dict, chains: int, calls: int) -> float | None:
    """Seconds of one trajectory of the row's sampler over one trajectory of the HMC it was
    measured against (None when its model is not on this machine)."""
    shape = parse_lattice(row["lattice"])
    # the HMC the row measured against (its step size does not change the cost)
    baseline = hmc(shape, row.get("n_leapfrog_hmc", row["n_leapfrog"]), 0.15,
                   integrator=row.get("integrator_hmc", "leapfrog"))
    model = row_model(row, baseline)
    if model is None:
        return None
    sampler = Sampler(model, seed=1, instanton_moves=row.get("instanton_moves", 0))
    reference = Sampler(baseline, seed=2)
    x = lattice.random_start(chains, *shape, seed=3)
    beta = float(row["beta"])
    rates = best_rates({"row": lambda: sampler.one_step(x, beta),
                        "hmc": lambda: reference.one_step(x, beta)}, calls)
    return rates["hmc"] / rates["row"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", nargs="*", default=None,
                   help="result files (default: tau_int.json and ablation*.json)")
    p.add_argument("--chains", type=int, default=64)
    p.add_argument("--calls", type=int, default=20, help="trajectories per timing")
    p.add_argument("--rows", nargs="*", default=None,
                   help="time only these rows (names as in cost.json); others keep their cost")
    p.add_argument("--quick", action="store_true", help="few calls (CI)")
    p.add_argument("--out", default=RESULTS / "cost.json")
    args = p.parse_args(argv)
    paths = args.json if args.json is not None else [RESULTS / "tau_int.json",
                                                     *sorted(RESULTS.glob("ablation*.json"))]
    if args.quick:
        args.calls, args.chains = 2, 4
    out = Path(args.out)
    costs = json.loads(out.read_text())["cost"] if out.is_file() else {}   # others kept
    for row in (row for path in paths for row in result_rows(path)):
        if args.rows and row_name(row) not in args.rows:
            continue
        cost = time_row(row, args.chains, args.calls)
        if cost is not None:
            costs[row_name(row)] = cost
            print(f"{row_name(row)}: {cost:.2f} HMC trajectories", flush=True)
    write_json(out, {"machine": machine(), "chains": args.chains,
                     "calls": args.calls, "cost": costs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
