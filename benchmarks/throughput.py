"""Trajectories per second of this project's HMC and L2HMC against baselines in one process.

    python -m benchmarks.throughput [--quick] [--json benchmarks/results/throughput.json]

Baselines measured in the same run: (a) this HMC as tf.function, with and without XLA,
(b) a vectorised numpy HMC, (c) tfp.mcmc.HamiltonianMonteCarlo on the same action; the
L2HMC transition and training step relative to HMC at the same N_LF; the training step's
achieved FLOP/s against a tf.matmul of the same size; memory per chain. Only ratios are
meaningful on a shared machine.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from l2hmc_tf.quiet_import import import_tensorflow

from .common import best_rate, best_rates, machine, numpy_hmc_step, write_json

tf = import_tensorflow()
import tensorflow_probability as tfp  # noqa: E402

from l2hmc_tf import config, kernel, lattice, training  # noqa: E402
from l2hmc_tf.model import hmc  # noqa: E402

N_LF, EPS, BETA = 8, 0.1, 3.0


def hmc_rates(L: int, chains: int, calls: int) -> dict:
    x = lattice.random_start(chains, L, L, seed=0)
    beta = tf.constant(BETA)

    def tf_hmc(jit: bool):
        sampler = kernel.Sampler(hmc((L, L), N_LF, EPS), seed=0, jit_compile=jit)
        state = {"x": x}

        def step():
            state["x"], _ = sampler.one_step(state["x"], beta)
            state["x"].numpy()
        return step

    rng = np.random.default_rng(0)
    xn = {"x": x.numpy()}

    def np_step():
        xn["x"] = numpy_hmc_step(xn["x"], BETA, EPS, N_LF, rng)
    tfp_kernel = tfp.mcmc.HamiltonianMonteCarlo(lambda y: -lattice.action(y, BETA), EPS, N_LF)
    tfp_state = {"x": x, "r": tfp_kernel.bootstrap_results(x)}
    tfp_step_fn = tf.function(lambda y, r: tfp_kernel.one_step(y, r, seed=[1, 2]))

    def tfp_step():
        tfp_state["x"], tfp_state["r"] = tfp_step_fn(tfp_state["x"], tfp_state["r"])
        tfp_state["x"].numpy()
    out = best_rates({"hmc_tf": tf_hmc(False), "hmc_numpy": np_step, "hmc_tfp": tfp_step},
                     calls)
    # XLA on CPU is timed once: its sin is ~4x slower than TF's vectorised kernel and its
    # fusions recompute the force across leapfrog steps, so a trajectory takes seconds.
    out["hmc_tf_xla"] = best_rate(tf_hmc(True), calls=1, repeats=1)
    return out


def l2hmc_rates(L: int, chains: int, calls: int) -> dict:
    cfg = config.load(None, [f"lattice.size=[{L},{L}]", f"dynamics.n_leapfrog={N_LF}",
                             f"training.chains={chains}", "network.units=[16,16]"])
    trainer = training.Trainer(cfg)
    sampler = kernel.Sampler(trainer.dynamics, seed=0)
    state = {"x": trainer.x}
    beta = tf.constant(BETA)

    def sample():
        state["x"], _ = sampler.one_step(state["x"], beta)
    out = {"l2hmc_transition": best_rate(sample, calls),
           "l2hmc_train_step": best_rate(lambda: trainer.train_step(BETA), calls)}
    flops = training_step_flops(trainer)
    units = 16           # the conv layers as one matmul: [chains*V, 9*C_in] x [9*C_in, C_out]
    a = tf.random.normal([chains * L * L, 9 * units])
    b = tf.random.normal([9 * units, units])
    mm = tf.function(lambda: tf.matmul(a, b))
    mm_rate = best_rate(lambda: mm().numpy(), max(calls, 10))
    matmul_flops = 2 * a.shape[0] * a.shape[1] * b.shape[1]
    out.update({"train_step_flops": flops,
                "train_step_flop_per_s": flops * out["l2hmc_train_step"],
                "matmul_flop_per_s": matmul_flops * mm_rate})
    out["train_step_fraction_of_matmul"] = out["train_step_flop_per_s"] / out["matmul_flop_per_s"]
    out["bytes_per_chain"] = int(trainer.x.numpy().nbytes / chains)
    return out


def training_step_flops(trainer) -> float:
    """Multiply-add FLOPs of one training step, counted from the architecture: every layer
    calls its v-network twice and each x-network once per trajectory, each conv costs
    2 * chains * V * k^2 * C_in * C_out, and the backward pass about twice the forward.
    (TF's graph profiler cannot count here: the direction split leaves shapes dynamic.)"""
    cfg = trainer.cfg
    chains, (lt, lx) = cfg.training.chains, cfg.lattice.size
    k2 = cfg.network.kernel_size ** 2
    widths = [6, *cfg.network.units]
    per_net = sum(2 * chains * lt * lx * k2 * a * b for a, b in zip(widths, widths[1:]))
    per_net += 3 * 2 * chains * lt * lx * widths[-1] * 2          # the s, t, q heads
    forward = cfg.dynamics.n_leapfrog * 4 * per_net
    return 3.0 * forward


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, few calls (CI)")
    p.add_argument("--grid", nargs="+", default=["8x256", "16x1024", "32x1024", "64x256"],
                   help="L x chains pairs, e.g. 16x1024")
    p.add_argument("--calls", type=int, default=10,
                   help="calls per timing (use fewer at 64x64, where a train step takes seconds)")
    p.add_argument("--json", default="benchmarks/results/throughput.json")
    args = p.parse_args(argv)
    grid = [(8, 64)] if args.quick else [tuple(int(v) for v in g.split("x")) for g in args.grid]
    calls = 2 if args.quick else args.calls
    rows = []
    for L, chains in grid:
        row = {"lattice": f"{L}x{L}", "chains": chains, "n_leapfrog": N_LF}
        row.update(hmc_rates(L, chains, calls))
        row.update(l2hmc_rates(L, chains, calls))
        row["speedup_vs_numpy"] = row["hmc_tf"] / row["hmc_numpy"]
        row["speedup_xla_vs_numpy"] = row["hmc_tf_xla"] / row["hmc_numpy"]
        row["speedup_vs_tfp"] = row["hmc_tf"] / row["hmc_tfp"]
        row["l2hmc_transition_cost_vs_hmc"] = row["hmc_tf"] / row["l2hmc_transition"]
        row["l2hmc_train_step_cost_vs_hmc"] = row["hmc_tf"] / row["l2hmc_train_step"]
        rows.append(row)
        print(f"{row['lattice']:>6} x {chains:>5} chains | traj/s HMC {row['hmc_tf']:8.1f} "
              f"(XLA {row['hmc_tf_xla']:8.1f}) numpy {row['hmc_numpy']:8.1f} TFP "
              f"{row['hmc_tfp']:8.1f} | HMC/numpy {row['speedup_vs_numpy']:5.2f} "
              f"XLA/numpy {row['speedup_xla_vs_numpy']:5.2f} HMC/TFP {row['speedup_vs_tfp']:5.2f}"
              f" | L2HMC transition {row['l2hmc_transition_cost_vs_hmc']:5.1f}x HMC cost, "
              f"train step {row['l2hmc_train_step_cost_vs_hmc']:5.1f}x | train FLOP/s "
              f"{row['train_step_fraction_of_matmul']:.1%} of matmul", flush=True)
    write_json(Path(args.json), {"machine": machine(), "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
