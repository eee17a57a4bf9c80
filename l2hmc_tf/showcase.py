"""`make demo`'s second half: the best committed network model beside HMC, where HMC freezes.

    bin/showcase.py [--models models] [--chains 32] [--steps 400]
        [--hmc-steps 16000] [--seed 3]

Picks, among the trained models committed under models/ (each with the result row it
produced), the network model (not the scalar kind, no instanton move) whose row gains most
per CPU second over HMC, what a user pays (rows measured against the best HMC, 2MN where it
wins, first), and
samples it and the HMC its row was measured against (integrator, steps and step size) at the
row's beta and lattice from one equilibrium start, in turn on one thread. A direct tau_int
where HMC freezes takes hours (HMC's is ~3,000 trajectories at beta 6 and ~20,000 at beta
7), so the demo measures each sampler's <dQ_Z^2> per trajectory and the tau_int it predicts
for a diffusing charge, 4 <Q_Z^2> / <dQ_Z^2> - 1 (docs/physics.md section 10; at beta 6 and
7 it matched every measured tau_int within 17%, either way), and times both here: the gain per
trajectory is the ratio of the predictions, the gain per force evaluation counts 2MN's two a
step, and the gain per CPU second divides the first by what a model trajectory costs in HMC
trajectories. Minutes, numbers measured.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from . import checkpoints
from .checks import parse_lattice
from .model import hmc
from .inference import interleaved_mobility
from .starts import equilibrium_chains


def best_network_model(models: Path) -> tuple[Path, dict]:
    """(directory, result row) of the committed network model with the largest tau_int gain
    per CPU second (`seconds_gain`), rows measured against the best HMC (`hmc_best`) before
    any other; an error naming the folder when there is none."""
    rows = []
    for result in sorted(Path(models).glob("*/result.json")):
        row = json.loads(result.read_text())
        network = row.get("variant") not in (None, "scalar", "hmc") and not row.get("instanton")
        if network and math.isfinite(row.get("seconds_gain", math.nan)):
            rows.append((result.parent, row))
    if not rows:
        raise FileNotFoundError(f"no network model with a result row in {models}")
    return max(rows, key=lambda pair: (bool(pair[1].get("hmc_best")), pair[1]["seconds_gain"]))


def row_hmc(row: dict, model, cfg):
    """The HMC the row was measured against: its integrator, steps and step size."""
    return hmc(parse_lattice(row["lattice"]), row.get("n_leapfrog_hmc", model.n_leapfrog),
               row.get("hmc_step_size", cfg.dynamics.step_size), dtype=cfg.dynamics.dtype,
               integrator=row.get("hmc_integrator", "leapfrog"))


def compare_at_freezing(run: Path, row: dict, chains: int, steps: int, hmc_steps: int,
                        seed: int) -> dict:
    """Both samplers from one equilibrium start at the row's beta and lattice, run in turn
    on this thread (inference.interleaved_mobility): their figures and the gains HMC / model
    per trajectory, per force evaluation and per CPU second."""
    model, cfg = checkpoints.load_model(run)
    beta, shape = float(row["beta"]), parse_lattice(row["lattice"])
    start = equilibrium_chains(model, beta, chains, shape, seed)
    baseline = row_hmc(row, model, cfg)
    out = {"run": str(run), "kind": model.network_config.kind, "beta": beta,
           "hmc_step_size": float(baseline.leapfrog_layers[0].eps_x),
           "hmc_integrator": baseline.integrator, "hmc_n_leapfrog": baseline.n_leapfrog,
           "lattice": row["lattice"], "chains": chains,
           **interleaved_mobility({"hmc": (baseline, hmc_steps), "model": (model, steps)},
                                  beta, shape, chains, start, seed)}
    h, m = out["hmc"], out["model"]
    out["trajectory_cost"] = m["cpu_seconds_per_trajectory"] / h["cpu_seconds_per_trajectory"]
    out["gain_per_trajectory"] = h["tau_int_predicted"] / m["tau_int_predicted"]
    out["gain_per_trajectory_err"] = out["gain_per_trajectory"] * math.hypot(
        h["tau_int_predicted_err"] / h["tau_int_predicted"],
        m["tau_int_predicted_err"] / m["tau_int_predicted"])
    out["gain_per_force_evaluation"] = h["nlf_tau_int_predicted"] / m["nlf_tau_int_predicted"]
    out["gain_per_second"] = out["gain_per_trajectory"] / out["trajectory_cost"]
    return out


def report(out: dict, row: dict) -> str:
    """The demo's table: each sampler's figures, then the gains with their meaning."""
    lines = [f"Where HMC freezes: {out['run']} ({out['kind']} network) against HMC at beta "
             f"{out['beta']:g} on {out['lattice']} (HMC: {out['hmc_integrator']}, "
             f"{out['hmc_n_leapfrog']} steps of {out['hmc_step_size']:g}), {out['chains']} "
             "chains from one equilibrium start",
             f"{'':6} {'trajectories':>12} {'CPU ms/traj':>11} {'<dQ_Z^2>':>17} {'accept':>6} "
             f"{'tau_int predicted':>19}"]
    for name in ("hmc", "model"):
        r = out[name]
        steps = round(r["seconds"] / r["seconds_per_trajectory"])
        lines.append(f"{name:6} {steps:>12} {1e3 * r['cpu_seconds_per_trajectory']:11.2f} "
                     f"{r['dq2']:8.3g} ± {r['dq2_err']:<6.2g} {r['accept']:6.2f} "
                     f"{r['tau_int_predicted']:10.0f} ± {r['tau_int_predicted_err']:6.0f}")
    lines.append(f"gain (HMC / model): per trajectory {out['gain_per_trajectory']:.1f}x ± "
                 f"{out['gain_per_trajectory_err']:.1f}, per force evaluation "
                 f"{out['gain_per_force_evaluation']:.1f}x, per CPU second "
                 f"{out['gain_per_second']:.2f}x (a model trajectory costs "
                 f"{out['trajectory_cost']:.0f} HMC trajectories here)")
    lines.append(f"its measured row: N_LF*tau_int(Q_Z) {row['nlf_tau_int_l2hmc']:.0f} against "
                 f"HMC's {row['nlf_tau_int_hmc']:.0f} force evaluations (docs/results.md)")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", type=Path, default=Path("models"))
    p.add_argument("--chains", type=int, default=32)
    p.add_argument("--steps", type=int, default=400, help="model trajectories per chain")
    p.add_argument("--hmc-steps", type=int, default=16000,
                   help="HMC trajectories per chain (at beta 7 HMC moves Q_Z once in ~5,000)")
    p.add_argument("--seed", type=int, default=3)
    args = p.parse_args(argv)
    try:
        run, row = best_network_model(args.models)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = compare_at_freezing(run, row, args.chains, args.steps, args.hmc_steps, args.seed)
    print(report(out, row), flush=True)
    return 0
