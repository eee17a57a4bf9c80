"""Streaming HDF5 output of long inference chains, safe against kills.

Layout of `inference.h5`:
    charge_int, charge_sin, plaq, accept_prob   float64 [steps, chains], chunked, growable
    state_x        [2, chains, Lt, Lx, 2]  chain state after the last committed chunk
    state_rng      [2, rng state]          the sampler's RNG state at that point
    progress       int64 [2] = (committed steps, slot of state_x/state_rng that is current)
    attrs: beta, lattice, n_leapfrog, sampler, seed, chains, version, thermalization
Rows are appended a chunk at a time; the chain state goes into the slot not in use, and only
then does `progress` move, with a flush after each step. The file is opened in SWMR mode, so
it stays readable if the writer dies; on resume the committed part is kept (rows past
`progress` are dropped) and the run continues from the committed chain and RNG state,
reproducing the chain an uninterrupted run would have produced.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from .atomic import writing
from .summary import SERIES, History


class ChainFile:
    """Append-only writer/reader of one rank's inference output."""

    def __init__(self, path: Path, handle: h5py.File):
        self.path, self.h5 = Path(path), handle

    @classmethod
    def create(cls, path: Path, attrs: dict, x: np.ndarray, rng_state: np.ndarray,
               chunk: int) -> "ChainFile":
        chains = x.shape[0]
        tmp = Path(path).with_name(f".{Path(path).name}.tmp")
        with writing(path, tmp), h5py.File(tmp, "w", libver="latest") as f:
            for name in SERIES:
                f.create_dataset(name, shape=(0, chains), maxshape=(None, chains),
                                 dtype="f8", chunks=(min(chunk, 1024), chains))
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
            for name in SERIES:
                ds = src[name]
                dst.create_dataset(name, data=ds[:steps], maxshape=(None, ds.shape[1]),
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

    def _drop_uncommitted(self) -> None:
        for name in SERIES:
            if self.h5[name].shape[0] != self.steps:
                self.h5[name].resize(self.steps, axis=0)
        self.h5.flush()

    def append(self, rows: History, x: np.ndarray, rng_state: np.ndarray) -> None:
        """Append [n, chains] rows of every series, then commit the new chain state. A failed
        write (atomic.WriteError) leaves `progress` at the last committed chunk."""
        start = self.steps
        n = len(rows.plaq)
        with writing(self.path):
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

    def read(self, name: str, start: int = 0) -> np.ndarray:
        return self.h5[name][start:self.steps]

    def history(self, steps: int) -> History:
        """The first `steps` committed rows of every series."""
        return History(*(self.h5[name][:steps] for name in SERIES))

    def close(self) -> None:
        with writing(self.path):
            self.h5.close()
