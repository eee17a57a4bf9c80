"""Training (seed paper section 3.2.1); the command line is train_cli.py.

One training step is one MCMC transition of the sampler (kernel.Sampler.transition: resample
v and d, propose through the LeapfrogLayers, compute A, MH-advance the chains) run under a
GradientTape, the loss computed from it, and a gradient step (skipped by all ranks together
when anything is non-finite). Logging, checkpoints and distribution are calls out of the loop.
"""
from __future__ import annotations

import hashlib
import logging
import os
import signal
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import annealing, atomic, checkpoints, lattice
from . import config as config_mod
from . import loss as loss_mod
from .distributed import SingleProcess
from .kernel import Sampler, Transition
from .model import from_config
from .starts import hmc_thermalize

log = logging.getLogger("l2hmc_tf")

STOPPED = 5   # exit code of bin/train.py when a signal stopped training after a checkpoint


class TrainingDiverged(RuntimeError):
    """Too many consecutive steps with non-finite loss or gradients."""


class StopRequest:
    """Records SIGTERM or SIGUSR1 (a scheduler's kill at the walltime, or Slurm's `--signal`
    warning before it) while installed (`with`), so that `Trainer.fit` checkpoints after the
    step in progress and returns, instead of losing up to checkpoint.every steps."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR1)

    def __init__(self):
        self.signal: int | None = None
        self._previous: dict = {}

    def _record(self, signum, _frame) -> None:
        self.signal = signum

    def __enter__(self) -> "StopRequest":
        self._previous = {s: signal.signal(s, self._record) for s in self.SIGNALS}
        return self

    def __exit__(self, *_exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)


def make_optimizer(cfg: config_mod.TrainingConfig, n_ranks: int = 1) -> keras.optimizers.Optimizer:
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
    """Owns the model, optimizer, chains and sampler (with its RNG) of one rank; `fit` runs
    the loop. `resume=True` continues the run in run_dir from its newest checkpoint."""

    def __init__(self, cfg: config_mod.Config, run_dir: Path | None = None,
                 dist: SingleProcess | None = None, resume: bool = False):
        self.cfg, self.run_dir = cfg, Path(run_dir) if run_dir else None
        self.dist = dist or SingleProcess()
        t = cfg.training
        keras.utils.set_random_seed(t.seed)     # the same initial weights for the same seed
        self.dynamics = from_config(cfg)
        self.optimizer = make_optimizer(t, self.dist.size)
        self.optimizer.build(self.dynamics.trainable_variables)
        self.schedule = annealing.Schedule(cfg.annealing.kind, cfg.annealing.beta_start,
                                           cfg.annealing.beta_final, t.steps,
                                           cfg.annealing.stages)
        self.seed = t.seed + self.dist.rank
        self.sampler = Sampler(self.dynamics, seed=self.seed)
        self.step, self.nan_streak, self.skipped = 0, 0, 0
        self.clock = TrainingClock()
        self.stop, self.stopped = StopRequest(), False
        if resume:
            self._restore()
        else:
            self._start()
        self.gradients = tf.function(self._compute_gradients, autograph=False)
        self._apply = tf.function(self._apply_gradients, autograph=False)
        self.dist.broadcast_variables(self.dynamics.variables)
        self.dist.check_identical(self.weights_digest(), "initial weights after broadcast")

    def _start(self) -> None:
        """A new run: weights from training.init_from (if set), hot chains thermalised by
        training.hmc_therm HMC trajectories (fine-tuning should not learn from a hot start)."""
        cfg = self.cfg
        init_weights = checkpoints.check_init_from(cfg)
        if init_weights is not None and cfg.training.init_partial:
            whole = checkpoints.copy_matching_layers(self.dynamics, Path(cfg.training.init_from),
                                                     init_weights, cfg.training.init_layer_offset)
            log.info("init_partial: %d of %d layers copied whole from %s, the others the "
                     "parts that match", whole, cfg.dynamics.n_leapfrog, cfg.training.init_from)
        elif init_weights is not None:
            self.dynamics.load_weights(str(init_weights))
        x = lattice.random_start(cfg.training.chains, *cfg.lattice.size,
                                 dtype=self.dynamics.compute_dtype, seed=self.seed)
        self.x = hmc_thermalize(x, cfg.annealing.beta_start, cfg.training.hmc_therm,
                                cfg.dynamics.n_leapfrog, cfg.dynamics.step_size, self.seed)

    def _restore(self) -> None:
        """A resumed run: weights, optimizer, chains, RNG and step from the newest checkpoint."""
        state = checkpoints.load_latest(self.run_dir, self.dynamics)
        if state.x.shape[0] != self.dist.size:
            raise ValueError(f"the checkpoint holds chains of {state.x.shape[0]} rank(s) but this "
                             f"job has {self.dist.size}; resume with the same number of ranks")
        for var, value in zip(self.optimizer.variables, state.optimizer, strict=True):
            var.assign(value)
        self.x = tf.constant(state.x[self.dist.rank], self.dynamics.compute_dtype)
        self.sampler.set_rng_state(state.rng_state[self.dist.rank])
        self.step, self.nan_streak = state.step, state.nan_streak
        self.clock = TrainingClock(state.train_seconds, state.train_cpu_seconds)

    # -- the step, as in the seed paper ---------------------------------------------------
    def _compute_gradients(self, x, beta):
        """The sampler's transition from x under a GradientTape, the loss computed from it, and
        its gradients: (transition, gradients, all finite, metrics)."""
        dyn, lc = self.dynamics, self.cfg.loss
        with tf.GradientTape() as tape:
            step: Transition = self.sampler.transition(x, beta)
            loss = loss_mod.loss(step, lc.charge_weight, lc.plaq_weight, lc.form, lc.eps)
        tape = self.dist.gradient_tape(tape)
        grads = tape.gradient(loss, [w.value for w in dyn.trainable_variables])
        finite = tf.math.is_finite(loss)
        for g in grads:
            finite &= tf.reduce_all(tf.math.is_finite(g))
        res = step.results()
        dq = tf.round(res.charge_int) - tf.round(step.before.charge_int)
        metrics = {
            "loss": loss, "accept": tf.reduce_mean(step.accept_prob),
            "charge_jump": tf.reduce_mean(res.charge_jump), "dq_int": tf.reduce_mean(tf.abs(dq)),
            "dq2": tf.reduce_mean(tf.square(dq)), "plaquette": tf.reduce_mean(res.plaq)}
        return step, grads, finite, metrics

    def _apply_gradients(self, grads):
        self.optimizer.apply_gradients(zip(grads, self.dynamics.trainable_variables))

    def train_step(self, beta: float) -> dict[str, float]:
        beta_t = tf.constant(beta, self.dynamics.compute_dtype)
        step, grads, finite, metrics = self.gradients(self.x, beta_t)
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
        self.x = step.x_new
        self.step += 1
        signalled = tf.constant(float(self.stop.signal is not None), metrics["loss"].dtype)
        averaged = self.dist.mean(tf.stack([*metrics.values(), signalled])).numpy()  # 1 allreduce
        self.stopped = bool(averaged[-1] > 0)        # any rank signalled: all stop at this step
        out = dict(zip(metrics, averaged[:-1].tolist()))
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
            rng_state=self.dist.gather(self.sampler.rng_state()),
            optimizer=[v.numpy() for v in self.optimizer.variables], nan_streak=self.nan_streak,
            train_seconds=self.clock.wall(), train_cpu_seconds=self.clock.cpu())

    def save_checkpoint(self) -> None:
        state = self.state()            # collective: every rank takes part
        if self.dist.is_root:
            checkpoints.save(self.run_dir, self.dynamics, state, self.cfg.checkpoint.keep)

    # -- the loop -------------------------------------------------------------------------
    def fit(self, on_log=None) -> dict[str, float]:
        """Train until training.steps; checkpoint every checkpoint.every steps and at the end,
        or after the step in progress when a signal reached any rank (self.stopped)."""
        t, every = self.cfg.training, self.cfg.checkpoint.every
        metrics, tic, tic_step = {}, time.perf_counter(), self.step
        self.clock.start()
        while self.step < t.steps and not self.stopped:
            metrics = self.train_step(self.schedule.beta(self.step))
            last = self.stopped or self.step == t.steps
            if self.step % t.log_every == 0 or last:
                now = time.perf_counter()
                metrics["steps_per_s"] = (self.step - tic_step) / (now - tic)
                tic, tic_step = now, self.step
                if on_log:
                    on_log(self.step, metrics)
            if self.run_dir and (self.step % every == 0 or last):
                self.save_checkpoint()
        self.clock.stop()
        return metrics


class TrainingClock:
    """Wall and CPU seconds spent in training, carried through checkpoints, so that a run
    resumed over many sessions reports the time all of them took."""

    def __init__(self, wall: float = 0.0, cpu: float = 0.0):
        self._wall, self._cpu, self._since = wall, cpu, None

    def start(self) -> None:
        self._since = (time.perf_counter(), time.process_time())

    def stop(self) -> None:
        self._wall, self._cpu, self._since = self.wall(), self.cpu(), None

    def wall(self) -> float:
        return self._wall + (time.perf_counter() - self._since[0] if self._since else 0.0)

    def cpu(self) -> float:
        return self._cpu + (time.process_time() - self._since[1] if self._since else 0.0)


