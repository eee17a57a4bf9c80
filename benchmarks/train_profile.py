"""Training-step cost of recipe variants, to size a config for a time budget.

    python -m benchmarks.train_profile [--config configs/beta4.yaml] [--calls 10]
        [--variant 'NAME:KEY=VALUE[;KEY=VALUE...]']... [--quick]
        [--json benchmarks/results/train_profile.json]

Each variant is the config with a few keys changed (network size, chains, N_LF, shared
networks); it reports seconds per training step, the hours the config's training.steps would
take, and the cost relative to the unchanged config measured in the same run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import machine, parse_variant, seconds_per_training_step, write_json

from l2hmc_tf.quiet_import import import_tensorflow

import_tensorflow()
from l2hmc_tf import config  # noqa: E402

DEFAULT_VARIANTS = ["config:", "units 8,8:network.units=[8,8]",
                    "units 32,32:network.units=[32,32]", "N_LF 4, 256 chains:"
                    "dynamics.n_leapfrog=4;training.chains=256", "chains 64:training.chains=64",
                    "chains 256:training.chains=256", "N_LF 4:dynamics.n_leapfrog=4",
                    "N_LF 12:dynamics.n_leapfrog=12", "shared nets:dynamics.share_networks=true"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="configs/beta4.yaml")
    p.add_argument("--variant", dest="variants", action="append", default=None,
                   help="NAME:KEY=VALUE;... (repeatable; the first is the reference)")
    p.add_argument("--calls", type=int, default=10, help="timed steps per repeat")
    p.add_argument("--quick", action="store_true", help="tiny lattice and two variants (CI)")
    p.add_argument("--json", default="benchmarks/results/train_profile.json")
    args = p.parse_args(argv)
    variants = [parse_variant(v) for v in args.variants or DEFAULT_VARIANTS]
    base = []
    if args.quick:
        base = ["lattice.size=[4,4]", "training.chains=4", "network.units=[4]",
                "dynamics.n_leapfrog=2"]
        variants, args.calls = [("config", []), ("N_LF 1", ["dynamics.n_leapfrog=1"])], 2
    rows = []
    for name, keys in variants:
        cfg = config.load(args.config, base + keys)
        seconds = seconds_per_training_step(cfg, cfg.annealing.beta_final, args.calls,
                                            repeats=2)
        rows.append({"variant": name, "overrides": keys, "lattice": "x".join(
                         map(str, cfg.lattice.size)), "chains": cfg.training.chains,
                     "n_leapfrog": cfg.dynamics.n_leapfrog, "units": list(cfg.network.units),
                     "seconds_per_step": seconds, "training_steps": cfg.training.steps,
                     "training_hours": seconds * cfg.training.steps / 3600,
                     "cost_vs_config": seconds / rows[0]["seconds_per_step"] if rows else 1.0})
        r = rows[-1]
        print(f"{name:>14}: {1000 * seconds:7.1f} ms/step ({r['cost_vs_config']:.2f}x), "
              f"{r['training_steps']} steps = {r['training_hours']:.2f} h", flush=True)
    write_json(Path(args.json), {"machine": machine(), "config": args.config, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
