"""Training (seed paper section 3.2.1) and the `bin/train.py` command line.

One training step: resample v and d, propose through the LeapfrogLayers, compute A and the
loss, take a gradient step (skipped by all ranks together when anything is non-finite), then
MH-advance the chains. Logging, checkpoints and distribution are calls out of the loop.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import math
import os
import sys
import time
import uuid
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import annealing, atomic, checkpoints, inference, lattice
from . import config as config_mod
from . import loss as loss_mod
from .distributed import SingleProcess, make_distribution
from .dynamics import (accept_probability, draw_momenta_and_directions, from_config, hmc,
                       hmc_thermalize, log_accept_ratio, metropolis_hastings)

log = logging.getLogger("l2hmc_tf")


class TrainingDiverged(RuntimeError):
    """Too many consecutive steps with non-finite loss or gradients."""


def make_optimizer(cfg: config_mod.Training, n_ranks: int = 1) -> keras.optimizers.Optimizer:
    """Adam with optional warm-up, decay and global-norm clipping (Keras' own schedules)."""
    lr = cfg.lr * (n_ranks if cfg.scale_lr_with_ranks else 1)
    schedule = lr
    if cfg.lr_decay == "exponential":
        if cfg.lr_warmup_steps:
            raise config_mod.ConfigError(
                "training.lr_warmup_steps: warm-up works with lr_decay none or cosine")
        schedule = keras.optimizers.schedules.ExponentialDecay(lr, cfg.steps, cfg.lr_decay_rate)
    elif cfg.lr_decay == "cosine" or cfg.lr_warmup_steps:
        alpha = cfg.lr_decay_rate if cfg.lr_decay == "cosine" else 1.0
        warm = cfg.lr_warmup_steps
        schedule = keras.optimizers.schedules.CosineDecay(
            lr if not warm else 0.0, max(cfg.steps - warm, 1), alpha=alpha,
            warmup_target=lr if warm else None, warmup_steps=warm)
    return keras.optimizers.Adam(schedule, global_clipnorm=cfg.clip_norm)


class Trainer:
    """Owns the model, optimizer, chains and RNG of one rank; `fit` runs the loop."""

    def __init__(self, cfg: config_mod.Config, run_dir: Path | None = None,
                 dist: SingleProcess | None = None, resuming: bool = False):
        self.cfg, self.run_dir = cfg, Path(run_dir) if run_dir else None
        self.dist = dist or SingleProcess()
        t = cfg.training
        keras.utils.set_random_seed(t.seed)     # the same initial weights for the same seed
        self.dynamics = from_config(cfg)
        if not resuming:    # a resumed run takes its weights from its own checkpoint
            init_weights = checkpoints.check_init_from(cfg)
            if init_weights is not None:    # fine-tune a trained model (new beta or lattice)
                self.dynamics.load_weights(str(init_weights))
        self.optimizer = make_optimizer(t, self.dist.size)
        self.optimizer.build(self.dynamics.trainable_variables)
        self.schedule = annealing.Schedule(cfg.annealing.kind, cfg.annealing.beta_start,
                                           cfg.annealing.beta_final, t.steps,
                                           cfg.annealing.stages)
        self.seed = t.seed + self.dist.rank
        self.rng = tf.random.Generator.from_seed(self.seed)
        self.x = lattice.random_start(t.chains, *cfg.lattice.size,
                                      dtype=self.dynamics.compute_dtype, seed=self.seed)
        if not resuming:    # fine-tuning at a fixed beta should not learn from a hot start
            self.x = hmc_thermalize(self.x, cfg.annealing.beta_start, t.hmc_therm,
                                    cfg.dynamics.n_leapfrog, cfg.dynamics.step_size, self.seed)
        self.step, self.nan_streak, self.skipped = 0, 0, 0
        self._gradients = tf.function(self._compute_gradients, autograph=False)
        self._apply = tf.function(self._apply_gradients, autograph=False)
        self.dist.broadcast_variables(self.dynamics.variables)
        self.dist.check_identical(self.weights_digest(), "initial weights after broadcast")

    # -- the step, as in the seed paper ---------------------------------------------------
    def _compute_gradients(self, x, beta):
        dyn, lc = self.dynamics, self.cfg.loss
        v, direction = draw_momenta_and_directions(self.rng, x)
        with tf.GradientTape() as tape:
            prop = dyn.propose(x, v, direction, beta)
            log_ratio = log_accept_ratio(lattice.action(x, beta), v,
                                         lattice.action(prop.x, beta), prop)
            prob = accept_probability(log_ratio)
            loss = loss_mod.loss(prob, x, prop.x, lc.charge_weight, lc.plaq_weight, lc.form,
                                 lc.eps)
        tape = self.dist.gradient_tape(tape)
        grads = tape.gradient(loss, [w.value for w in dyn.trainable_variables])
        finite = tf.math.is_finite(loss)
        for g in grads:
            finite &= tf.reduce_all(tf.math.is_finite(g))
        x_new, accepted = metropolis_hastings(self.rng, x, prop.x, prob)
        metrics = {
            "loss": loss, "accept": tf.reduce_mean(prob),
            "charge_jump": tf.reduce_mean(loss_mod.expected_charge_jump(prob, x, prop.x)),
            "dq_int": tf.reduce_mean(tf.abs(tf.round(lattice.charge_int(x_new))
                                            - tf.round(lattice.charge_int(x)))),
            "plaquette": tf.reduce_mean(lattice.mean_plaquette(x_new))}
        return x_new, grads, finite, metrics

    def _apply_gradients(self, grads):
        self.optimizer.apply_gradients(zip(grads, self.dynamics.trainable_variables))

    def train_step(self, beta: float) -> dict[str, float]:
        beta_t = tf.constant(beta, self.dynamics.compute_dtype)
        x_new, grads, finite, metrics = self._gradients(self.x, beta_t)
        if bool(self.dist.all_true(finite)):
            self._apply(grads)
            self.nan_streak = 0
        else:
            self.nan_streak += 1
            self.skipped += 1
            if self.nan_streak >= self.cfg.training.max_nan_steps:
                raise TrainingDiverged(
                    f"{self.nan_streak} steps in a row had a non-finite loss or gradient (step "
                    f"{self.step}, beta {beta:.4g}); lower training.lr or dynamics.step_size")
        self.x = x_new
        self.step += 1
        averaged = self.dist.mean(tf.stack(list(metrics.values()))).numpy()   # one allreduce
        out = dict(zip(metrics, averaged.tolist()))
        out.update(beta=beta, skipped=self.skipped, **self.step_sizes())
        return out

    def weights_digest(self) -> str:
        """sha256 of every weight, to check that all ranks hold the same model."""
        h = hashlib.sha256()
        for w in self.dynamics.weights:
            h.update(np.ascontiguousarray(w.numpy()).tobytes())
        return h.hexdigest()

    def write_rank_record(self) -> Path:
        """ranks/rank-<r>.json: this rank's seed and digests of its weights and chains."""
        folder = self.run_dir / "ranks"
        folder.mkdir(exist_ok=True)
        record = {"rank": self.dist.rank, "size": self.dist.size, "seed": self.seed,
                  "step": self.step, "weights_sha256": self.weights_digest(),
                  "chains_sha256": hashlib.sha256(self.x.numpy().tobytes()).hexdigest(),
                  "pid": os.getpid()}
        path = folder / f"rank-{self.dist.rank}.json"
        atomic.write_json(path, record)
        return path

    def step_sizes(self) -> dict[str, float]:
        layers = self.dynamics.leapfrog_layers
        return {"eps_x": float(np.mean([float(layer.eps_x) for layer in layers])),
                "eps_v": float(np.mean([float(layer.eps_v) for layer in layers]))}

    # -- state ----------------------------------------------------------------------------
    def state(self) -> checkpoints.TrainState:
        """Every rank's chains and RNG (gathered), the optimizer, the step."""
        return checkpoints.TrainState(
            step=self.step, x=self.dist.gather(self.x.numpy()),
            rng_state=self.dist.gather(self.rng.state.numpy()),
            optimizer=[v.numpy() for v in self.optimizer.variables], nan_streak=self.nan_streak)

    def save_checkpoint(self) -> None:
        state = self.state()            # collective: every rank takes part
        if self.dist.is_root:
            checkpoints.save(self.run_dir, self.dynamics, state, self.cfg.checkpoint.keep)

    def restore(self) -> None:
        state = checkpoints.load_latest(self.run_dir, self.dynamics)
        if state.x.shape[0] != self.dist.size:
            raise ValueError(f"the checkpoint holds chains of {state.x.shape[0]} rank(s) but this "
                             f"job has {self.dist.size}; resume with the same number of ranks")
        for var, value in zip(self.optimizer.variables, state.optimizer, strict=True):
            var.assign(value)
        self.x = tf.constant(state.x[self.dist.rank], self.dynamics.compute_dtype)
        self.rng.reset(state.rng_state[self.dist.rank])
        self.step, self.nan_streak = state.step, state.nan_streak

    # -- the loop -------------------------------------------------------------------------
    def fit(self, on_log=None) -> dict[str, float]:
        """Train until training.steps; checkpoint every checkpoint.every steps and at the end."""
        t, every = self.cfg.training, self.cfg.checkpoint.every
        metrics, tic, tic_step = {}, time.perf_counter(), self.step
        while self.step < t.steps:
            metrics = self.train_step(self.schedule.beta(self.step))
            if self.step % t.log_every == 0 or self.step == t.steps:
                now = time.perf_counter()
                metrics["steps_per_s"] = (self.step - tic_step) / (now - tic)
                tic, tic_step = now, self.step
                if on_log:
                    on_log(self.step, metrics)
            if self.run_dir and (self.step % every == 0 or self.step == t.steps):
                self.save_checkpoint()
        return metrics


# -- command line -------------------------------------------------------------------------
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
        return cfg, outdir
    cfg = config_mod.load(args.config, args.overrides)
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


def _format(step: int, total: int, m: dict) -> str:
    return (f"step {step:>6}/{total} beta {m['beta']:.3f} loss {m['loss']:+.4f} "
            f"acc {m['accept']:.3f} A*dQ^2 {m['charge_jump']:.4f} |dQ| {m['dq_int']:.3f} "
            f"eps_x {m['eps_x']:.4f} eps_v {m['eps_v']:.4f} skipped {m['skipped']} "
            f"{m['steps_per_s']:.1f} steps/s")


def tau_table(results: dict) -> str:
    """Plain-text table of tau_int(Q_Z) and cost for each evaluated sampler."""
    lines = [f"{'sampler':>8} {'accept':>7} {'tau_int(Q_Z)':>16} {'tau_int(Q_R)':>16} "
             f"{'N_LF*tau':>9} {'plaq sigma':>10} {'Q2 sigma':>9} {'traj/s':>8}"]
    for name, r in results.items():
        lines.append(
            f"{name:>8} {r['accept_mean']:7.3f} "
            f"{r['tau_int_charge_int']:8.2f} ± {r['tau_int_charge_int_err']:5.2f} "
            f"{r['tau_int_charge_sin']:8.2f} ± {r['tau_int_charge_sin_err']:5.2f} "
            f"{r['nlf_tau_int_charge_int']:9.1f} {r['plaq_sigma']:10.2f} {r['q2_sigma']:9.2f} "
            f"{r['trajectories_per_second']:8.1f}")
    if len(results) == 2 and all(math.isfinite(r["tau_int_charge_int"]) for r in results.values()):
        l2, hm = results["l2hmc"], results["hmc"]
        gain = hm["tau_int_charge_int"] / l2["tau_int_charge_int"]
        per_s = hm["tau_int_seconds_charge_int"] / l2["tau_int_seconds_charge_int"]
        lines.append(f"gain (HMC / L2HMC): tau_int {gain:.2f}x, per second {per_s:.2f}x")
    return "\n".join(lines)


def evaluate_run(cfg: config_mod.Config, dynamics) -> dict:
    """tau_int of the trained sampler (and HMC at identical settings) at beta_final."""
    ev, beta = cfg.evaluation, cfg.annealing.beta_final
    seed = cfg.training.seed + 10_000
    results = {"l2hmc": inference.evaluate(dynamics, beta, ev.chains, ev.steps, ev.therm, seed)}
    if ev.compare_hmc:
        base = hmc(tuple(cfg.lattice.size), cfg.dynamics.n_leapfrog,
                   ev.hmc_step_size or cfg.dynamics.step_size, dtype=cfg.dynamics.dtype)
        results["hmc"] = inference.evaluate(base, beta, ev.chains, ev.steps, ev.therm, seed)
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg, run_dir = prepare(args)
    except (config_mod.ConfigError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    dist = make_distribution()
    if dist.is_root:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not args.resume:
            config_mod.dump(cfg, run_dir / "config.yaml")
    _setup_logging(run_dir, dist.is_root)
    trainer = Trainer(cfg, run_dir, dist, resuming=args.resume)
    if args.resume:
        trainer.restore()
        log.info("resumed %s at step %d", run_dir, trainer.step)
    log.info("run directory %s (%s, %d rank(s), seed %d + rank)", run_dir, dist.name,
             dist.size, cfg.training.seed)
    writer = tf.summary.create_file_writer(str(run_dir / "tensorboard")) if dist.is_root else None

    def on_log(step, m):
        log.info(_format(step, cfg.training.steps, m))
        if writer:
            with writer.as_default(step=step):
                for k, val in m.items():
                    tf.summary.scalar(f"train/{k}", val)

    start = time.perf_counter()
    try:
        final = trainer.fit(on_log)
    except TrainingDiverged as err:
        log.error("error: %s", err)
        return 3
    train_seconds = time.perf_counter() - start
    trainer.write_rank_record()
    dist.check_identical(trainer.weights_digest(), "trained weights")
    if not dist.is_root:
        return 0
    checkpoints.save_model(run_dir, trainer.dynamics)
    summary = {"run_dir": str(run_dir), "steps": trainer.step, "ranks": dist.size,
               "train_seconds": train_seconds, "skipped_steps": trainer.skipped,
               "final_metrics": final, "version": __import__("l2hmc_tf").__version__}
    if cfg.evaluation.steps >= 8:
        results = evaluate_run(cfg, trainer.dynamics)
        summary["evaluation"] = results
        log.info("evaluation at beta %.3g on %dx%d (%d chains x %d steps):\n%s",
                 cfg.annealing.beta_final, *cfg.lattice.size, cfg.evaluation.chains,
                 cfg.evaluation.steps, tau_table(results))
        with writer.as_default(step=trainer.step):
            for name, r in results.items():
                for key in ("tau_int_charge_int", "tau_int_charge_sin", "accept_mean"):
                    if math.isfinite(r[key]):
                        tf.summary.scalar(f"eval/{name}/{key}", r[key])
    writer.flush()
    atomic.write_json(run_dir / "summary.json", summary)
    log.info("wrote %s", run_dir / "summary.json")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
