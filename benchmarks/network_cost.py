"""What a trajectory and a training step of each network kind cost, in HMC trajectories.

    python -m benchmarks.network_cost [--lattices 8 16] [--chains 64 256] [--calls 10]
        [--variant 'NAME:KEY=VALUE[;KEY=VALUE...]']... [--quick]
        [--json benchmarks/results/network_cost.json]

For each lattice size and chain count, HMC at the same N_LF and each variant's trajectory
and training step are timed in turn within each repeat (common.best_rates), so that load
elsewhere on the machine hits all of them: only the ratios are meaningful. A variant is the
built-in base recipe (16x16 lattice sizes aside: N_LF 8, step size 0.15) with a few config
keys changed. Rows with the same (lattice, chains, variant) replace older ones in the file,
so a run with --variant adds to it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import best_rates, machine, parse_variant, write_json

from l2hmc_tf.quiet_import import import_tensorflow

tf = import_tensorflow()
from l2hmc_tf import config, kernel, lattice, training  # noqa: E402
from l2hmc_tf.model import hmc  # noqa: E402

BASE = ["dynamics.n_leapfrog=8", "dynamics.step_size=0.15", "annealing.kind=none",
        "annealing.beta_final=4.0", "evaluation.steps=0"]
GAUGE_CHEAP = ("network.kind=gauge;network.rotate_subupdates=true;network.v_network=false;"
               "network.x_subupdates=")
DEFAULT_VARIANTS = [
    "conv 16,16:network.kind=conv;network.units=[16,16]",
    "gauge 2 16,16:network.kind=gauge;network.x_subupdates=2;network.units=[16,16]",
    "gauge 2 16,16 mirrored:network.kind=gauge;network.x_subupdates=2;network.units=[16,16];"
    "dynamics.mirror_networks=true",
    f"gauge 2 rot 16,16 no v-net:{GAUGE_CHEAP}2;network.units=[16,16]",
    f"gauge 1 rot 16,16 no v-net:{GAUGE_CHEAP}1;network.units=[16,16]",
    f"gauge 1 rot 16,16 no v-net mirrored:{GAUGE_CHEAP}1;network.units=[16,16];"
    "dynamics.mirror_networks=true",
    f"gauge 1 rot 8,8 no v-net mirrored:{GAUGE_CHEAP}1;network.units=[8,8];"
    "dynamics.mirror_networks=true",
    "scalar:network.kind=scalar",
]
# What the code before issue 19 ran (measured from that commit: docs/performance.md).
BEFORE = DEFAULT_VARIANTS[:2]


def time_variants(L: int, chains: int, variants: list[tuple[str, list[str]]],
                  calls: int, repeats: int) -> list[dict]:
    """Rows of (variant, seconds per trajectory and per training step, both in HMC
    trajectories) at one lattice size and chain count."""
    x = lattice.random_start(chains, L, L, seed=3)
    beta = tf.constant(4.0)
    hmc_sampler = kernel.Sampler(hmc((L, L), 8, 0.15), seed=2)
    timed = {"hmc": lambda: hmc_sampler.one_step(x, beta)}
    configs = {}
    for name, keys in variants:
        cfg = config.load(None, BASE + keys + [f"lattice.size=[{L},{L}]",
                                               f"training.chains={chains}"])
        trainer = training.Trainer(cfg)
        configs[name] = cfg
        timed[f"{name} trajectory"] = (lambda s: lambda: s.one_step(x, beta))(trainer.sampler)
        timed[f"{name} training step"] = (lambda t: lambda: t.train_step(4.0))(trainer)
    rates = best_rates(timed, calls, repeats=repeats)
    hmc_seconds = 1.0 / rates["hmc"]
    rows = []
    for name, keys in variants:
        trajectory = 1.0 / rates[f"{name} trajectory"]
        step = 1.0 / rates[f"{name} training step"]
        rows.append({"variant": name, "overrides": keys, "lattice": f"{L}x{L}",
                     "chains": chains, "hmc_ms": 1e3 * hmc_seconds,
                     "trajectory_ms": 1e3 * trajectory, "training_step_ms": 1e3 * step,
                     "trajectory_cost": trajectory / hmc_seconds,
                     "training_step_cost": step / hmc_seconds,
                     "step_in_trajectories": step / trajectory})
        r = rows[-1]
        print(f"{L}x{L} x {chains:4d} {name:>28}: trajectory {r['trajectory_cost']:6.1f} HMC, "
              f"training step {r['training_step_cost']:7.1f} HMC "
              f"({r['step_in_trajectories']:.1f} of its trajectories)", flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lattices", type=int, nargs="+", default=[8, 16])
    p.add_argument("--chains", type=int, nargs="+", default=[64, 256])
    p.add_argument("--variant", dest="variants", action="append", default=None,
                   help="NAME:KEY=VALUE;... (repeatable; default: the kinds of issue 19)")
    p.add_argument("--calls", type=int, default=10, help="timed calls per repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--before", action="store_true",
                   help="only the recipes that existed before issue 19, named 'before: ...' "
                        "(run from a checkout of that commit)")
    p.add_argument("--quick", action="store_true", help="4x4 x 4 chains, two variants (CI)")
    p.add_argument("--json", default="benchmarks/results/network_cost.json")
    args = p.parse_args(argv)
    variants = [parse_variant(v) for v in args.variants or DEFAULT_VARIANTS]
    if args.before:
        variants = [(f"before: {name}", keys) for name, keys in map(parse_variant, BEFORE)]
    if args.quick:
        args.lattices, args.chains, args.calls, args.repeats = [4], [4], 1, 1
        variants = [parse_variant(v) for v in DEFAULT_VARIANTS[4:6]]
        variants = [(n, k + ["network.units=[4]", "dynamics.n_leapfrog=2"]) for n, k in variants]
    path = Path(args.json)
    old = json.loads(path.read_text())["rows"] if path.is_file() else []
    rows = [r for L in args.lattices for chains in args.chains
            for r in time_variants(L, chains, variants, args.calls, args.repeats)]
    new = {(r["lattice"], r["chains"], r["variant"]) for r in rows}
    kept = [r for r in old if (r["lattice"], r["chains"], r["variant"]) not in new]
    write_json(path, {"machine": machine(), "threads": tf.config.threading.
                      get_intra_op_parallelism_threads(), "rows": kept + rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
