"""Do the error bars cover the truth? Synthetic charge histories with known tau_int and <Q^2>.

    python -m benchmarks.coverage [--taus 50 500] [--lengths 1 2 5 10 20 50 100]
        [--chains 64] [--runs 40] [--json benchmarks/results/coverage.json]

A charge that moves like HMC's where it freezes (sector_walk): each chain starts in a sector
drawn from the exact finite-torus P(Q) (16x16, beta 6: an equilibrium start) and, with a
small probability a trajectory, proposes Q +- 1, accepted by Metropolis on P(Q). The chain
is stationary with the exact <Q^2>, and its tau_int of Q^2 follows exactly from its
transition matrix (exact_tau_int). For each tau_int and chain length (in units of tau_int),
`--runs` independent ensembles of `--chains` chains give the fraction whose 1-sigma interval
covers the exact <Q^2>, for the Gamma-method error, the replica error (spread of per-chain
means) and the larger of the two (what every summary quotes), and the mean of the measured
tau_int over the true one. docs/physics.md section 6 shows the table.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .common import command, write_json

from l2hmc_tf import autocorr, exact

SHAPE, BETA = (16, 16), 6.0


def charge_chain(jump: float):
    """(charges, P(Q), transition matrix) of the sector walk with proposal rate `jump`, on
    the sectors with P(Q) > 1e-12 (the rest, never reached, make the matrix singular)."""
    full = exact.charge_distribution(*SHAPE, BETA)
    q_max = max(q for q in range((len(full) + 1) // 2) if full[len(full) // 2 + q] > 1e-12)
    probs = full[len(full) // 2 - q_max:len(full) // 2 + q_max + 1]
    probs = probs / probs.sum()
    n = len(probs)
    t = np.zeros((n, n))
    for i in range(n):
        for j in (i - 1, i + 1):
            if 0 <= j < n:
                t[i, j] = 0.5 * jump * min(1.0, probs[j] / probs[i])
        t[i, i] = 1.0 - t[i].sum()
    return np.arange(-q_max, q_max + 1), probs, t


def exact_tau_int(jump: float) -> float:
    """tau_int = 1 + 2 sum_t rho(t) of Q^2 under the walk: 2 <f, S f> / <f, f> - 1 with
    S = sum_t (T^t - Pi) = (I - T + Pi)^-1 - Pi, f = Q^2 - <Q^2>, <.,.> weighted by P(Q)."""
    charges, probs, t = charge_chain(jump)
    f = charges**2 - probs @ charges**2
    pi = np.tile(probs, (len(probs), 1))
    s = np.linalg.inv(np.eye(len(probs)) - t + pi) - pi
    return float(2.0 * (probs * f) @ (s @ f) / ((probs * f) @ f) - 1.0)


def sector_walk(seed: int, chains: int = 64, steps: int = 3000,
                jump: float = 0.004) -> np.ndarray:
    """Q_Z [steps, chains] of the walk, from an equilibrium start; jumps are rare, so the
    walk is simulated event by event (proposal times drawn, then Metropolis at each)."""
    charges, probs, _ = charge_chain(jump)
    q_max = (len(probs) - 1) // 2
    rng = np.random.default_rng(seed)
    out = np.empty((steps, chains))
    for c in range(chains):
        q = rng.choice(charges, p=probs)
        times = np.flatnonzero(rng.random(steps - 1) < jump) + 1
        values, starts = [q], [0]
        for when in times:
            proposed = q + rng.choice([-1, 1])
            if abs(proposed) <= q_max and rng.random() < probs[proposed + q_max] / probs[
                    q + q_max]:
                q = proposed
                values.append(q)
                starts.append(when)
        out[:, c] = np.repeat(values, np.diff([*starts, steps]))
    return out


def coverage(tau_target: float, length: float, chains: int, runs: int) -> dict:
    """Coverage of the three errors and tau_int's bias at one (tau_int, length)."""
    jump = 0.004 * exact_tau_int(0.004) / tau_target      # tau_int ~ 1 / jump
    tau = exact_tau_int(jump)
    truth = float(exact.torus_observables(*SHAPE, BETA)["q2"])
    steps = max(autocorr.MIN_STEPS, round(length * tau))
    estimates = [autocorr.estimate(sector_walk(seed, chains, steps, jump) ** 2)
                 for seed in range(runs)]
    row = {"tau_int": tau, "length_in_tau": length, "steps": steps, "chains": chains,
           "runs": runs, "tau_int_measured_over_true": float(np.nanmean(
               [e.tau_int for e in estimates]) / tau)}
    for kind in ("error", "replica_error", "reported_error"):
        pulls = np.array([(e.mean - truth) / getattr(e, kind) for e in estimates])
        row[f"coverage_{kind}"] = float(np.mean(np.abs(pulls) < 1))
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--taus", type=float, nargs="+", default=[50.0, 500.0])
    p.add_argument("--lengths", type=float, nargs="+", default=[1, 2, 5, 10, 20, 50, 100])
    p.add_argument("--chains", type=int, default=64)
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--json", type=Path, default=Path("benchmarks/results/coverage.json"))
    args = p.parse_args(argv)
    rows = []
    for tau in args.taus:
        for length in args.lengths:
            rows.append(coverage(tau, length, args.chains, args.runs))
            r = rows[-1]
            print(f"tau {r['tau_int']:.0f}, {length:g} tau long: coverage Gamma "
                  f"{r['coverage_error']:.2f}, replica {r['coverage_replica_error']:.2f}, "
                  f"larger {r['coverage_reported_error']:.2f}; tau measured / true "
                  f"{r['tau_int_measured_over_true']:.2f}", flush=True)
    write_json(args.json, {"command": command(), "date": time.strftime("%Y-%m-%d %H:%M"),
                           "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
