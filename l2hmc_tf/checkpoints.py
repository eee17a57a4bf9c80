"""Checkpoints and trained models in HDF5, written so that nothing is ever half-written.

A checkpoint is a directory `checkpoints/ckpt-<step>/` holding `model.weights.h5` (Keras) and
`state.h5` (optimizer variables, step, every rank's chains and RNG states). It is written under
a temporary name and renamed into place, so a kill at any moment leaves either the previous
checkpoints or the new one complete; the newest one that fails to load is skipped with a
warning. Only the last `keep` checkpoints stay.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from . import atomic
from . import config as config_mod
from .model import Dynamics, from_config

log = logging.getLogger(__name__)
MODEL_FILE = "model.weights.h5"
STATE_FILE = "state.h5"
PREFIX = "ckpt-"


@dataclass
class TrainState:
    """What a resumed run needs besides the weights; arrays have a leading rank axis."""
    step: int
    x: np.ndarray            # [ranks, chains, Lt, Lx, 2]
    rng_state: np.ndarray    # [ranks, state]
    optimizer: list[np.ndarray]
    nan_streak: int = 0
    train_seconds: float = 0.0       # wall seconds of training over all resumptions
    train_cpu_seconds: float = 0.0   # CPU seconds of rank 0's process, likewise


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_directory(final: Path, write) -> Path:
    """Call write(tmp_dir), then rename tmp_dir to final (replacing an older one); a failed
    write (atomic.WriteError) leaves no temporary and the older directories as they were."""
    final = Path(final)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    with atomic.writing(final, tmp):
        tmp.mkdir(parents=True)
        try:
            write(tmp)
            for f in tmp.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        _fsync_dir(final.parent)
    return final


def _write_state(path: Path, state: TrainState) -> None:
    with h5py.File(path, "w") as f:
        f.attrs["step"] = state.step
        f.attrs["nan_streak"] = state.nan_streak
        f.attrs["train_seconds"] = state.train_seconds
        f.attrs["train_cpu_seconds"] = state.train_cpu_seconds
        f.create_dataset("x", data=state.x)
        f.create_dataset("rng_state", data=state.rng_state)
        opt = f.create_group("optimizer")
        for i, value in enumerate(state.optimizer):
            opt.create_dataset(f"{i:05d}", data=value)


def _read_state(path: Path) -> TrainState:
    with h5py.File(path, "r") as f:
        opt = f["optimizer"]
        return TrainState(step=int(f.attrs["step"]), x=f["x"][...],
                          rng_state=f["rng_state"][...],
                          optimizer=[opt[k][...] for k in sorted(opt)],
                          nan_streak=int(f.attrs["nan_streak"]),
                          train_seconds=float(f.attrs.get("train_seconds", 0.0)),
                          train_cpu_seconds=float(f.attrs.get("train_cpu_seconds", 0.0)))


def save(run_dir: Path, model: Dynamics, state: TrainState, keep: int) -> Path:
    """Write checkpoint ckpt-<step> atomically and prune to the newest `keep`."""
    ckpt_root = Path(run_dir) / "checkpoints"
    ckpt_root.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path):
        model.save_weights(str(tmp / MODEL_FILE))
        _write_state(tmp / STATE_FILE, state)

    for stale in ckpt_root.glob(f".{PREFIX}*.tmp-*"):     # left by a killed writer
        shutil.rmtree(stale, ignore_errors=True)
    final = atomic_directory(ckpt_root / f"{PREFIX}{state.step:08d}", write)
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoint directories, oldest first (temporary ones are not listed)."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX))


def load_latest(run_dir: Path, model: Dynamics) -> TrainState:
    """Restore the newest checkpoint that loads into `model`; raise if none does."""
    candidates = list_checkpoints(run_dir)
    if not candidates:
        raise FileNotFoundError(
            f"no checkpoint in {Path(run_dir) / 'checkpoints'}; start without --resume")
    for ckpt in reversed(candidates):
        try:
            state = _read_state(ckpt / STATE_FILE)
            model.load_weights(str(ckpt / MODEL_FILE))
            return state
        except (OSError, KeyError, ValueError) as err:
            log.warning("checkpoint %s is unreadable (%s); trying the previous one", ckpt, err)
    raise FileNotFoundError(f"no readable checkpoint in {Path(run_dir) / 'checkpoints'}")


def save_model(run_dir: Path, model: Dynamics) -> Path:
    """The trained model for inference: weights beside the run's config.yaml."""
    path = Path(run_dir) / MODEL_FILE
    tmp = path.with_name(".tmp-" + MODEL_FILE)
    with atomic.writing(path, tmp):
        model.save_weights(str(tmp))
        tmp.replace(path)
    return path


def _model_files(run_dir: Path) -> tuple[Path, Path]:
    run_dir = Path(run_dir)
    weights, cfg_path = run_dir / MODEL_FILE, run_dir / "config.yaml"
    if not cfg_path.is_file() or not weights.is_file():
        raise FileNotFoundError(
            f"{run_dir} holds no trained model (needs config.yaml and {MODEL_FILE}); "
            "pass the run directory that bin/train.py wrote")
    return weights, cfg_path


def _weight_parts(layer) -> dict[str, list]:
    """A leapfrog layer's weights grouped by the part that owns them, the first name of
    their path less the layer's position (v_net_3 -> v_net, x_net_0_3 -> x_net_0): the
    layer's step sizes, each of its networks, its tempering numbers, named alike in a layer
    at another position."""
    parts: dict[str, list] = {}
    for weight in layer.weights:
        parts.setdefault(re.sub(r"_\d+$", "", weight.path.split("/")[0]), []).append(weight)
    return parts


def copy_matching_layers(target: Dynamics, source_dir: Path, weights: Path,
                         offset: int = 0) -> int:
    """training.init_partial: load the model of source_dir (its config.yaml, these weights)
    and give each of target's layers every part of the source layer `offset` positions
    before it whose name and shapes agree: the step sizes always, a network where both
    layouts have it (so a layout without v-networks keeps the trained x-networks). Returns
    how many layers were copied whole. A cheaper (or longer) layout so starts from a
    trained one."""
    source = from_config(config_mod.load(Path(source_dir) / "config.yaml"))
    source.load_weights(str(weights))
    whole = 0
    for mine, theirs in zip(target.leapfrog_layers[offset:], source.leapfrog_layers):
        parts, available = _weight_parts(mine), _weight_parts(theirs)
        copied = 0
        for name, part in parts.items():
            match = available.get(name, [])
            if [w.shape for w in match] == [w.shape for w in part]:
                for weight, value in zip(part, match):
                    weight.assign(value)
                copied += 1
        whole += copied == len(available) == len(parts)
    return whole


def weights_digest(run_dir: Path) -> str:
    """sha256 of a trained model's weights file: what an output records as its sampler."""
    weights, _ = _model_files(Path(run_dir))
    return hashlib.sha256(weights.read_bytes()).hexdigest()


def load_model(run_dir: Path) -> tuple[Dynamics, config_mod.Config]:
    """Rebuild a trained model from its run directory (config.yaml + model.weights.h5)."""
    weights, cfg_path = _model_files(run_dir)
    cfg = config_mod.load(cfg_path)
    model = from_config(cfg)
    model.load_weights(str(weights))
    return model, cfg


def check_init_from(cfg: config_mod.Config) -> Path | None:
    """The weights file named by training.init_from (the run's saved model, else its newest
    checkpoint), checked against cfg before any work: the same architecture
    (config.Config.architecture)."""
    source = cfg.training.init_from
    if source is None:
        return None
    try:
        weights, cfg_path = _model_files(Path(source))
    except FileNotFoundError as err:
        # A run still in training (a campaign run) starts others from its newest checkpoint.
        newest = list_checkpoints(Path(source))
        if not newest or not (Path(source) / "config.yaml").is_file():
            raise config_mod.ConfigError(f"training.init_from: {err}") from None
        weights, cfg_path = newest[-1] / MODEL_FILE, Path(source) / "config.yaml"
    if cfg.training.init_partial:
        return weights
    was = config_mod.load(cfg_path).architecture()
    for key, now in cfg.architecture().items():
        if was.get(key) != now:
            raise config_mod.ConfigError(
                f"training.init_from: {source} was trained with {key}={was.get(key)!r} but "
                f"this run has {now!r}; use the same {key} to start from it")
    return weights
