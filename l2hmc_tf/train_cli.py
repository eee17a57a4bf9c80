"""`bin/train.py`: train a model into a run directory, then compare it with HMC.

    bin/train.py [--config FILE] [--set KEY=VALUE ...] [--outdir DIR] [--resume]
`run_training` is the whole job after the command line is parsed; the benchmarks call it
too, so every trained model in this project comes out of the same code path.
"""
from __future__ import annotations

import argparse
import logging
import math
import sys
import time
import uuid
from pathlib import Path

import tensorflow as tf

from . import __version__, atomic, checkpoints, inference
from . import config as config_mod
from .distributed import SingleProcess, make_distribution
from .model import hmc
from .summary import Comparison
from .training import STOPPED, Trainer, TrainingDiverged

log = logging.getLogger("l2hmc_tf")


def _check_outdir(path: Path, resume: bool) -> None:
    """Fail before any work if the run directory cannot be written or would be clobbered."""
    if resume:
        if not (path / "config.yaml").is_file():
            raise config_mod.ConfigError(f"--resume: {path} is not a run directory "
                                         "(no config.yaml); pass the --outdir of the run")
        if not checkpoints.list_checkpoints(path):
            raise config_mod.ConfigError(f"--resume: no checkpoint in {path}/checkpoints")
        return
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise config_mod.ConfigError(f"--outdir {path} exists and is not empty; choose a new "
                                     "directory or add --resume to continue that run")
    ancestor = path
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise config_mod.ConfigError(f"--outdir {path}: {ancestor} is a file, not a directory")
    probe = ancestor / f".l2hmc-write-probe-{uuid.uuid4().hex}"
    try:
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise config_mod.ConfigError(f"--outdir {path} is not writable ({err.strerror} in "
                                     f"{ancestor})") from None


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bin/train.py", description=(
        "Train LeapfrogLayers for 2D U(1). With no arguments: a small built-in default run "
        "(about a minute on a laptop CPU) that ends with tau_int against HMC."))
    p.add_argument("--config", help="YAML run config (default: built-in small default)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set training.steps=2000 (repeatable)")
    p.add_argument("--outdir", help="run directory (default: runs/<config>-<time>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --outdir from its newest valid checkpoint")
    return p.parse_args(argv)


def prepare(args: argparse.Namespace) -> tuple[config_mod.Config, Path]:
    """Resolve config and run directory; raises ConfigError before anything is created."""
    if args.resume and not args.outdir:
        raise config_mod.ConfigError("--resume needs --outdir (the run directory to continue)")
    if args.resume:
        outdir = Path(args.outdir)
        _check_outdir(outdir, resume=True)
        cfg = config_mod.load(args.config or outdir / "config.yaml", args.overrides)
        config_mod.check_trainable(cfg)
        return cfg, outdir
    cfg = config_mod.load(args.config, args.overrides)
    config_mod.check_trainable(cfg)
    checkpoints.check_init_from(cfg)
    name = Path(args.config).stem if args.config else "default"
    outdir = Path(args.outdir or f"runs/{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    _check_outdir(outdir, resume=False)
    return cfg, outdir


def _setup_logging(run_dir: Path | None, is_root: bool) -> None:
    level = logging.INFO if is_root else logging.WARNING
    handlers = [logging.StreamHandler(sys.stdout)]
    if run_dir and is_root:
        handlers.append(logging.FileHandler(run_dir / "train.log"))
    logging.basicConfig(level=level, format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        handlers=handlers, force=True)


def format_progress(step: int, total: int, m: dict) -> str:
    """One line of train.log."""
    return (f"step {step:>6}/{total} beta {m['beta']:.3f} loss {m['loss']:+.4f} "
            f"acc {m['accept']:.3f} A*dQ^2 {m['charge_jump']:.4f} |dQ| {m['dq_int']:.3f} "
            f"dQ^2 {m['dq2']:.3f} "
            f"eps_x {m['eps_x']:.4f} eps_v {m['eps_v']:.4f} skipped {m['skipped']} "
            f"{m['steps_per_s']:.1f} steps/s")


def tau_table(comparison: Comparison) -> str:
    """Plain-text table of tau_int(Q_Z) and cost for each evaluated sampler, with the chains'
    length in tau_int(Q_Z) and a warning where that is too short to trust the errors."""
    lines = [f"{'sampler':>8} {'accept':>7} {'tau_int(Q_Z)':>16} {'tau_int(Q_R)':>16} "
             f"{'N_LF*tau':>9} {'dQ^2':>6} {'tau pred':>8} {'plaq sigma':>10} {'Q2 sigma':>9} "
             f"{'traj/s':>8} {'len/tau':>7}"]
    warnings = []
    for name, r in comparison.samplers().items():
        s = r.stats
        lines.append(
            f"{name:>8} {s.accept_mean:7.3f} "
            f"{s.tau_int_charge_int:8.2f} ± {s.tau_int_charge_int_err:5.2f} "
            f"{s.tau_int_charge_sin:8.2f} ± {s.tau_int_charge_sin_err:5.2f} "
            f"{r.nlf_tau_int_charge_int:9.1f} {s.dq2_mean:6.3f} {s.tau_int_predicted:8.2f} "
            f"{s.plaq_sigma:10.2f} {s.q2_sigma:9.2f} "
            f"{r.trajectories_per_second:8.1f} {s.length_in_tau:7.1f}")
        if s.trust_warning():
            warnings.append(f"{name}: {s.trust_warning()}")
    gains = comparison.gains()
    if gains and math.isfinite(gains["tau_int_gain"]):
        lines.append(f"gain (HMC / L2HMC): tau_int {gains['tau_int_gain']:.2f}x, per second "
                     f"{gains['seconds_gain']:.2f}x")
    return "\n".join(lines + warnings)


def evaluate_run(cfg: config_mod.Config, dynamics) -> Comparison:
    """tau_int of the trained sampler (and HMC at identical settings) at beta_final."""
    ev, beta = cfg.evaluation, cfg.annealing.beta_final
    seed = cfg.training.seed + 10_000
    l2hmc = inference.evaluate(dynamics, beta, ev.chains, ev.steps, ev.therm, seed)
    base = None
    if ev.compare_hmc:
        base = hmc(tuple(cfg.lattice.size), cfg.dynamics.n_leapfrog,
                   ev.hmc_step_size or cfg.dynamics.step_size, dtype=cfg.dynamics.dtype,
                   integrator=ev.hmc_integrator or cfg.dynamics.integrator)
        base = inference.evaluate(base, beta, ev.chains, ev.steps, ev.therm, seed)
    return Comparison(l2hmc, base)


def _log_writer(cfg: config_mod.Config, run_dir: Path, dist: SingleProcess):
    """on_log(step, metrics) for Trainer.fit: train.log, and TensorBoard on rank 0."""
    writer = tf.summary.create_file_writer(str(run_dir / "tensorboard")) if dist.is_root else None

    def on_log(step, m):
        log.info(format_progress(step, cfg.training.steps, m))
        if writer:
            with writer.as_default(step=step):
                for k, val in m.items():
                    tf.summary.scalar(f"train/{k}", val)
    return on_log, writer


def _evaluate_and_report(cfg: config_mod.Config, trainer: Trainer, writer) -> dict:
    comparison = evaluate_run(cfg, trainer.dynamics)
    log.info("evaluation at beta %.3g on %dx%d (%d chains x %d steps):\n%s",
             cfg.annealing.beta_final, *cfg.lattice.size, cfg.evaluation.chains,
             cfg.evaluation.steps, tau_table(comparison))
    with writer.as_default(step=trainer.step):
        for name, r in comparison.samplers().items():
            for key in ("tau_int_charge_int", "tau_int_charge_sin", "accept_mean"):
                value = getattr(r.stats, key)
                if math.isfinite(value):
                    tf.summary.scalar(f"eval/{name}/{key}", value)
    return comparison.to_dict()


def run_training(cfg: config_mod.Config, run_dir: Path, resume: bool = False,
                 dist: SingleProcess | None = None) -> int:
    """Train (or continue) the run in run_dir, save the model, evaluate it against HMC and
    write summary.json. Returns the exit code: 0, 3 when training diverged,
    atomic.WRITE_FAILED when an output could not be written (the newest checkpoint is then
    intact), training.STOPPED when SIGTERM or SIGUSR1 stopped it after a checkpoint."""
    try:
        return _train_evaluate_save(cfg, run_dir, resume, dist or SingleProcess())
    except atomic.WriteError as err:
        newest = checkpoints.list_checkpoints(run_dir)
        then = (f"{newest[-1]} is intact: free space, then run the same command with --resume"
                if newest else f"no checkpoint was written: free space, remove {run_dir} and "
                "start again")
        print(f"error: {err}; {then}", file=sys.stderr)
        return atomic.WRITE_FAILED


def _train_evaluate_save(cfg: config_mod.Config, run_dir: Path, resume: bool,
                         dist: SingleProcess) -> int:
    if dist.is_root:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            config_mod.dump(cfg, run_dir / "config.yaml")
    _setup_logging(run_dir, dist.is_root)
    trainer = Trainer(cfg, run_dir, dist, resume=resume)
    log.info("%s %s at step %d (%s, %d rank(s), seed %d + rank)",
             "resumed" if resume else "run directory", run_dir, trainer.step, dist.name,
             dist.size, cfg.training.seed)
    on_log, writer = _log_writer(cfg, run_dir, dist)
    start = time.perf_counter()
    try:
        with trainer.stop:
            final = trainer.fit(on_log)
    except TrainingDiverged as err:
        log.error("error: %s", err)
        return 3
    if trainer.stopped:
        log.info("stopped by a signal (SIGTERM or SIGUSR1) at step %d, checkpoint written; "
                 "continue with: bin/train.py --outdir %s --resume", trainer.step, run_dir)
        return STOPPED
    summary = {"run_dir": str(run_dir), "steps": trainer.step, "ranks": dist.size,
               "train_seconds": time.perf_counter() - start,
               "train_seconds_total": trainer.clock.wall(),
               "train_cpu_seconds_total": trainer.clock.cpu(), "skipped_steps": trainer.skipped,
               "final_metrics": final, "version": __version__}
    trainer.write_rank_record()
    dist.check_identical(trainer.weights_digest(), "trained weights")
    if not dist.is_root:
        return 0
    checkpoints.save_model(run_dir, trainer.dynamics)
    if cfg.evaluation.steps >= 8:
        summary["evaluation"] = _evaluate_and_report(cfg, trainer, writer)
    writer.flush()
    atomic.write_json(run_dir / "summary.json", summary)
    log.info("wrote %s", run_dir / "summary.json")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg, run_dir = prepare(args)
    except (config_mod.ConfigError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return run_training(cfg, run_dir, resume=args.resume, dist=make_distribution())
