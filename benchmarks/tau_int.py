"""Cost-normalised tau_int(Q_Z) of trained L2HMC against HMC, measured in the same run.

    python -m benchmarks.tau_int --betas 4 5 --config configs/beta4.yaml configs/beta5.yaml
        [--finetune] [--lattice 16x16] [--runs runs/bench16 | --run RUN_DIR ...]
        [--steps 1000] [--chains 128] [--rel-error 0.2] [--max-steps 8000]
        [--hmc-max-steps 64000] [--hmc-therm 0] [--hmc-step-size EPS]
        [--hmc-integrator leapfrog|2mn] [--hmc-n-leapfrog N] [--hmc-best] [--reuse-hmc]
        [--instanton-moves K...] [--quick]
        [--json benchmarks/results/tau_int.json]

For each beta: loads RUNS/b<beta>/ (or the --run given for it) when it holds a trained
model, else trains one there from its config (one per beta, or one for all; default
configs/beta<beta>.yaml where it exists, else configs/beta4.yaml) with annealing.beta_final
= beta; --finetune starts each beta after the first from the previous beta's model
(training.init_from). Then samples HMC (by default leapfrog with the model's N_LF and the
config's step size; --hmc-best: the setting of most <dQ_Z^2> per force evaluation that
`benchmarks.hmc_tuning` stored for that beta, 2MN where it wins) and L2HMC at beta, each
until its own tau_int(Q_Z) is known to --rel-error (chains doubling from --steps up to
--max-steps, --hmc-max-steps for HMC), and writes one row per beta: tau_int, N_LF * tau_int
(force evaluations per independent Q_Z) and tau_int * seconds per trajectory (seconds per
independent configuration) for both, with the run's training steps and wall and CPU seconds
over all its resumptions. Rows the JSON file already holds for other runs are kept. Every
HMC measurement is also stored in hmc_baselines.json beside the JSON file; --reuse-hmc takes
HMC from there when the same code measured it with the same settings and seed (the row's
`hmc_reused_from` names that command), so a second model at beta 7 does not repeat HMC's
half hour. --instanton-moves adds, per beta, a row for HMC followed by K instanton proposals
(docs/physics.md section 10), measured against the same HMC run: the baseline only 2D U(1)
allows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import (HMC_STORE, HmcSetting, add_measurement_args, best_hmc_setting, machine,
                     measure_with, result_rows, row_name, trained_model, training_record,
                     write_json)

from l2hmc_tf.quiet_import import import_tensorflow

tf = import_tensorflow()
from l2hmc_tf import config, lattice, plots  # noqa: E402
from l2hmc_tf.starts import hmc_thermalize  # noqa: E402
from l2hmc_tf.schemes import SCHEMES  # noqa: E402
from l2hmc_tf.checks import parse_lattice  # noqa: E402


def save_trace(model, hmc_step_size: float, beta: float, shape, path: Path) -> None:
    """The paper's figures 6, 7 for this model: 16 chains thermalised by HMC, one trajectory."""
    x = hmc_thermalize(lattice.random_start(16, *shape, seed=3), beta, 300, model.n_leapfrog,
                       hmc_step_size, seed=3)
    v = tf.random.stateless_normal(x.shape, [3, 4], dtype=x.dtype)
    print(f"wrote {plots.trajectory_trace(model.trace(x, v, beta), path)}")


def default_config(beta: float) -> str:
    path = Path(f"configs/beta{beta:g}.yaml")
    return str(path if path.is_file() else Path("configs/beta4.yaml"))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--betas", type=float, nargs="+", default=[4.0, 5.0])
    p.add_argument("--lattice", default="16x16")
    p.add_argument("--config", nargs="+", default=None,
                   help="one config per beta, or one for all (default: configs/beta<beta>.yaml "
                        "where it exists, else configs/beta4.yaml)")
    p.add_argument("--finetune", action="store_true",
                   help="start each beta after the first from the previous beta's model")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--runs", default="runs/bench")
    p.add_argument("--run", nargs="+", type=Path,
                   help="measure these trained runs (one per beta) instead of RUNS/b<beta>; "
                        "their own config.yaml is the default --config")
    add_measurement_args(p, chains=128)
    p.add_argument("--hmc-step-size", type=float, default=None,
                   help="HMC's step size (default: the config's dynamics.step_size)")
    p.add_argument("--hmc-integrator", choices=list(SCHEMES), default="leapfrog")
    p.add_argument("--hmc-n-leapfrog", type=int, default=None,
                   help="HMC's integrator steps per trajectory (default: the model's N_LF)")
    p.add_argument("--hmc-best", action="store_true",
                   help=f"HMC at the best setting benchmarks.hmc_tuning stored per beta in "
                        f"{HMC_STORE} (overrides the three options above)")
    p.add_argument("--instanton-moves", type=int, nargs="*", default=[],
                   help="also measure HMC + K instanton proposals per trajectory, per beta")
    p.add_argument("--quick", action="store_true", help="tiny model and chains (CI)")
    p.add_argument("--json", default="benchmarks/results/tau_int.json")
    args = p.parse_args(argv)
    if args.run and len(args.run) != len(args.betas):
        p.error(f"give one --run per beta ({len(args.betas)}), got {len(args.run)}")
    if args.config is None:
        args.config = ([str(run / "config.yaml") for run in args.run] if args.run
                       else [default_config(beta) for beta in args.betas])
    if len(args.config) not in (1, len(args.betas)):
        p.error(f"give one --config or one per beta ({len(args.betas)}), "
                f"got {len(args.config)}")
    return args


QUICK = ["lattice.size=[8,8]", "dynamics.n_leapfrog=2", "network.kind=scalar", "network.units=[4]",
         "training.steps=10", "training.chains=8", "training.lr_warmup_steps=0",
         "checkpoint.every=1000", "annealing.beta_start=1.0"]


def beta_config(cfg_file: str, overrides: list[str], beta: float,
                init_from: Path | None) -> config.Config:
    """The config that trains the model for `beta` (annealing ends there; a beta_start above
    it is lowered to it)."""
    extra = [f"annealing.beta_final={beta}"]
    if init_from is not None:
        extra.append(f"training.init_from={init_from}")
    cfg = config.load(cfg_file, overrides + extra)
    if cfg.annealing.beta_start > beta:
        cfg = config.load(cfg_file, overrides + extra + [f"annealing.beta_start={beta}"])
    return cfg


def hmc_setting(args, cfg: config.Config) -> HmcSetting:
    """The HMC to measure against at cfg's beta: --hmc-best's stored setting, or the one the
    --hmc-* options give (step default: the config's)."""
    beta, lattice_name = cfg.annealing.beta_final, f"{cfg.lattice.size[0]}x{cfg.lattice.size[1]}"
    if args.hmc_best:
        best = best_hmc_setting(Path(args.json).parent / HMC_STORE, beta, lattice_name)
        return HmcSetting(best["step_size"], best["integrator"], best["n_leapfrog"])
    return HmcSetting(args.hmc_step_size or cfg.dynamics.step_size, args.hmc_integrator,
                      args.hmc_n_leapfrog)


def measure(args, model, shape, cfg: config.Config, instanton_moves: int = 0) -> dict:
    return measure_with(args, model, hmc_setting(args, cfg), cfg.annealing.beta_final, shape,
                        instanton_moves)


def trace_name(beta: float, lattice_name: str, run_dir: Path) -> str:
    """The trace's file, named for the run too (its directory and the one above it), so that
    a second model measured at the same beta does not overwrite the first one's figure."""
    return f"trace-b{beta:g}-{lattice_name}-{'-'.join(Path(run_dir).parts[-2:])}.png"


def measure_beta(args, shape, cfg_file: str, cfg: config.Config, run_dir: Path) -> dict:
    """Train (or reuse) the model in run_dir, measure it against HMC, save its trace."""
    beta = cfg.annealing.beta_final
    model, _ = trained_model(run_dir, cfg)
    r = measure(args, model, shape, cfg)
    r.update(**training_record(run_dir), config=cfg_file, run=str(run_dir),
             hmc_best=args.hmc_best,
             init_from=config.load(run_dir / "config.yaml").training.init_from,
             command=machine()["command"])
    save_trace(model, cfg.dynamics.step_size, beta, shape,
               Path(args.json).parent / trace_name(beta, r["lattice"], run_dir))
    print(f"beta {beta:g} {r['lattice']}: N_LF*tau_int HMC ({r['integrator_hmc']}) "
          f"{r['nlf_tau_int_hmc']:.1f} ± {r['nlf_tau_int_hmc_err']:.1f} ({r['steps_hmc']} "
          f"traj), L2HMC {r['nlf_tau_int_l2hmc']:.1f} ± {r['nlf_tau_int_l2hmc_err']:.1f} "
          f"({r['steps_l2hmc']} traj); per second HMC/L2HMC {r['seconds_gain']:.2f}",
          flush=True)
    return r


def main(argv=None) -> int:
    args = parse_args(argv)
    shape = parse_lattice(args.lattice)
    overrides = list(args.overrides) + [f"lattice.size=[{shape[0]},{shape[1]}]"]
    if args.quick:
        shape, overrides = (8, 8), overrides + QUICK
        args.steps, args.max_steps, args.hmc_max_steps, args.chains = 30, 60, 60, 8
    rows, previous = [], None
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    for i, (beta, cfg_file) in enumerate(zip(args.betas, args.config * len(args.betas))):
        cfg = beta_config(cfg_file, overrides, beta, previous if args.finetune else None)
        run_dir = args.run[i] if args.run else Path(args.runs) / f"b{beta:g}"
        rows.append(measure_beta(args, shape, cfg_file, cfg, run_dir))
        baseline = hmc_setting(args, cfg).model(shape, cfg.dynamics.n_leapfrog)
        rows += [measure(args, baseline, shape, cfg, k) | {"command": machine()["command"]}
                 for k in args.instanton_moves]
        previous = run_dir
        write_json(Path(args.json), merged(Path(args.json), rows))    # a later failure loses
    write_json(Path(args.json).with_suffix(".machine.json"), machine())   # nothing measured
    return 0


def merged(path: Path, rows: list[dict]) -> list[dict]:
    """The file's earlier rows of other runs, then this run's rows (which replace their own
    earlier measurements): one file collects a campaign measured in several commands."""
    old = result_rows(path) if path.is_file() else []
    new = {row_name(r) for r in rows}
    return [r for r in old if row_name(r) not in new] + rows


if __name__ == "__main__":
    sys.exit(main())
