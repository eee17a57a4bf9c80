"""Streaming HDF5 output of long inference chains, safe against kills.

Layout of `inference.h5`:
    charge_int, charge_sin, plaq, accept_prob   float64 [steps, chains], chunked, growable
    configs        [saved, chains, Lt, Lx, 2]  with --save-every N: the links after every N-th
                   trajectory (float32, or float64 with --save-dtype), chunked per slice
    configs_trajectory  int64 [saved]      the trajectory (1-based) each slice was saved after
    state_x        [2, chains, Lt, Lx, 2]  chain state after the last committed chunk
    state_rng      [2, rng state]          the sampler's RNG state at that point
    progress       int64 [2] = (committed steps, slot of state_x/state_rng that is current)
    attrs: beta, lattice, n_leapfrog, sampler, seed, chains, version, thermalization, start,
           save_every (0: none saved), save_dtype, model and weights_sha256 (L2HMC)
Rows and saved configurations are appended a chunk at a time; the chain state goes into the
slot not in use, and only then does `progress` move, with a flush after each step. The file
is opened in SWMR mode, so it stays readable if the writer dies; on resume the committed
part is kept (rows and configurations past `progress` are dropped) and the run continues
from the committed chain and RNG state, reproducing the file an uninterrupted run writes.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np

from .atomic import writing
from .summary import SERIES, History

CONFIGS, CONFIGS_TRAJECTORY = "configs", "configs_trajectory"
SAVED = (CONFIGS, CONFIGS_TRAJECTORY)


class Saved(NamedTuple):
    """Configurations kept from a stretch of trajectories: links [k, chains, Lt, Lx, 2] and
    the trajectory (1-based, counted from the chains' start) each was taken after."""
    links: np.ndarray
    trajectory: np.ndarray


def _saved_by(steps: int, save_every: int) -> int:
    """Slices saved once `steps` trajectories are done: one after every save_every-th."""
    return steps // save_every if save_every else 0


class ChainFile:
    """Append-only writer/reader of one rank's inference output."""

    def __init__(self, path: Path, handle: h5py.File):
        self.path, self.h5 = Path(path), handle

    @classmethod
    def create(cls, path: Path, attrs: dict, x: np.ndarray, rng_state: np.ndarray,
               chunk: int) -> "ChainFile":
        """A new file holding the chains' start; attrs["save_every"] > 0 adds the datasets
        of saved configurations, of dtype attrs["save_dtype"]."""
        chains = x.shape[0]
        tmp = Path(path).with_name(f".{Path(path).name}.tmp")
        with writing(path, tmp), h5py.File(tmp, "w", libver="latest") as f:
            for name in SERIES:
                f.create_dataset(name, shape=(0, chains), maxshape=(None, chains),
                                 dtype="f8", chunks=(min(chunk, 1024), chains))
            if attrs.get("save_every", 0):
                f.create_dataset(CONFIGS, shape=(0, *x.shape), maxshape=(None, *x.shape),
                                 dtype=attrs["save_dtype"], chunks=(1, *x.shape))
                f.create_dataset(CONFIGS_TRAJECTORY, shape=(0,), maxshape=(None,),
                                 dtype="i8", chunks=(1024,))
            f.create_dataset("state_x", data=np.stack([x, x]))
            f.create_dataset("state_rng", data=np.stack([rng_state, rng_state]))
            f.create_dataset("progress", data=np.array([0, 0], dtype=np.int64))
            f.attrs.update(attrs)
        with writing(path, tmp):
            tmp.replace(path)        # the file appears complete with its metadata, or not at all
        return cls.open(path)

    @classmethod
    def open(cls, path: Path) -> "ChainFile":
        try:
            handle = h5py.File(path, "r+", libver="latest")
        except OSError:
            # A writer that was killed leaves the superblock's "open for writing" flag set;
            # copy the committed part into a fresh file (only after a crash) and use that.
            cls._rewrite_committed(Path(path))
            handle = h5py.File(path, "r+", libver="latest")
        handle.swmr_mode = True
        self = cls(path, handle)
        self._drop_uncommitted()
        return self

    @staticmethod
    def _rewrite_committed(path: Path) -> None:
        tmp = path.with_name(f".{path.name}.recovered")
        with h5py.File(path, "r", libver="latest", swmr=True) as src, \
                h5py.File(tmp, "w", libver="latest") as dst:
            steps = int(src["progress"][0])
            kept = _saved_by(steps, int(src.attrs.get("save_every", 0)))
            for name in SERIES + SAVED:
                if name in src:
                    ds = src[name]
                    rows = steps if name in SERIES else kept
                    dst.create_dataset(name, data=ds[:rows], maxshape=(None, *ds.shape[1:]),
                                       chunks=ds.chunks)
            for name in ("state_x", "state_rng", "progress"):
                dst.create_dataset(name, data=src[name][...])
            dst.attrs.update(src.attrs)
        tmp.replace(path)

    @classmethod
    def open_read(cls, path: Path) -> "ChainFile":
        """Read-only view up to the committed rows; works while a writer has the file open."""
        return cls(path, h5py.File(path, "r", libver="latest", swmr=True))

    @property
    def attrs(self) -> dict:
        return dict(self.h5.attrs)

    @property
    def steps(self) -> int:
        return int(self.h5["progress"][0])

    def state(self) -> tuple[np.ndarray, np.ndarray]:
        """The committed chain state and RNG state."""
        slot = int(self.h5["progress"][1])
        return self.h5["state_x"][slot], self.h5["state_rng"][slot]

    @property
    def save_every(self) -> int:
        """Every how many trajectories a configuration is saved; 0: none are."""
        return int(self.h5.attrs.get("save_every", 0))

    @property
    def saved(self) -> int:
        """Configurations per chain saved up to the committed step."""
        return _saved_by(self.steps, self.save_every)

    def _drop_uncommitted(self) -> None:
        for name, rows in [(n, self.steps) for n in SERIES] + [(n, self.saved) for n in SAVED]:
            if name in self.h5 and self.h5[name].shape[0] != rows:
                self.h5[name].resize(rows, axis=0)
        self.h5.flush()

    def append(self, rows: History, x: np.ndarray, rng_state: np.ndarray,
               saved: Saved | None = None) -> None:
        """Append [n, chains] rows of every series and the configurations saved in them, then
        commit the new chain state. A failed write (atomic.WriteError) leaves `progress` at
        the last committed chunk, and a reopened file drops what came after it."""
        start = self.steps
        n = len(rows.plaq)
        with writing(self.path):
            if saved is not None and len(saved.trajectory):
                self._append_configs(saved)
            for name, series in zip(SERIES, rows.series()):
                ds = self.h5[name]
                ds.resize(start + n, axis=0)
                ds[start:] = series
            slot = 1 - int(self.h5["progress"][1])
            self.h5["state_x"][slot] = x
            self.h5["state_rng"][slot] = rng_state
            self.h5.flush()
            self.h5["progress"][...] = np.array([start + n, slot], dtype=np.int64)
            self.h5.flush()

    def _append_configs(self, saved: Saved) -> None:
        first = self.saved
        for name, data in ((CONFIGS, saved.links), (CONFIGS_TRAJECTORY, saved.trajectory)):
            ds = self.h5[name]
            ds.resize(first + len(data), axis=0)
            ds[first:] = data

    def configs(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Saved configurations [start:stop] of every chain, committed ones only."""
        stop = self.saved if stop is None else min(stop, self.saved)
        return self.h5[CONFIGS][start:stop]

    def configs_trajectory(self) -> np.ndarray:
        """The trajectory each committed saved slice was taken after."""
        return self.h5[CONFIGS_TRAJECTORY][:self.saved]

    def read(self, name: str, start: int = 0) -> np.ndarray:
        return self.h5[name][start:self.steps]

    def history(self, steps: int) -> History:
        """The first `steps` committed rows of every series."""
        return History(*(self.h5[name][:steps] for name in SERIES))

    def close(self) -> None:
        with writing(self.path):
            self.h5.close()
