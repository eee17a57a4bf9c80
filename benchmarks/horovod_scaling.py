"""Training throughput with 1 rank x 2 threads against 2 ranks x 1 thread, at a fixed batch
per rank (weak scaling), the allreduce payload, and a paper estimate for a large machine.

    python -m benchmarks.horovod_scaling [--quick] [--json benchmarks/results/scaling.json]

Each configuration runs bin/train.py under horovodrun --gloo in this process's environment
and reads the steps/s it logs after compilation; ratios are what to read.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import command, write_json

ROOT = Path(__file__).resolve().parents[1]
RATE = re.compile(r"([\d.]+) steps/s")


def run(ranks: int, threads: int, steps: int, overrides: list[str]) -> float:
    """Mean logged steps/s after the first logging interval (which includes compilation)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT),
               TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS="1",
               OMP_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(Path(sys.executable).parent / "horovodrun"), "--gloo", "-np", str(ranks),
               "-H", f"localhost:{ranks}", sys.executable, str(ROOT / "bin/train.py"),
               "--outdir", f"{tmp}/run", "--set", f"training.steps={steps}",
               "--set", f"training.log_every={max(steps // 4, 1)}", "--set", "evaluation.steps=0",
               "--set", f"checkpoint.every={steps}"]
        for o in overrides:
            cmd += ["--set", o]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    rates = [float(r) for r in RATE.findall(out)][1:]
    return sum(rates) / len(rates)


def payload_bytes(overrides: list[str]) -> int:
    from l2hmc_tf.quiet_import import import_tensorflow
    import_tensorflow()
    from l2hmc_tf import config
    from l2hmc_tf.model import from_config
    model = from_config(config.load(None, overrides))
    return int(sum(w.numpy().nbytes for w in model.trainable_weights))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", default="benchmarks/results/scaling.json")
    args = p.parse_args(argv)
    model = (["lattice.size=[8,8]", "dynamics.n_leapfrog=2", "network.units=[8]",
              "training.chains=16"] if args.quick else
             ["lattice.size=[16,16]", "dynamics.n_leapfrog=4", "network.units=[16,16]",
              "training.chains=64"])
    steps = 12 if args.quick else 80
    one = run(1, 2, steps, model)
    two = run(2, 1, steps, model)
    payload = payload_bytes(model)
    result = {
        "command": command(), "per_rank_overrides": model,
        "steps_per_s_1rank_2threads": one, "steps_per_s_2ranks_1thread": two,
        "chains_per_s_ratio_2ranks_vs_1rank": 2 * two / one,
        "weak_scaling_efficiency": two / one,
        "allreduce_bytes_per_step": payload,
        # 8 GPUs per node x 64 nodes: ring allreduce moves 2 (n-1)/n * payload per rank per
        # step; at ~25 GB/s per GPU (NVLink/IB mix) that is this many microseconds:
        "estimate_512_ranks_allreduce_us": 2 * payload / 25e9 * 1e6,
    }
    write_json(Path(args.json), result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
