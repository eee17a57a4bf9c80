"""The Python API: a trained model (or HMC) as a sampler that yields configurations.

    import l2hmc_tf
    sampler = l2hmc_tf.load("models/b7-gauge2")          # a model or bin/train.py run directory
    for draw in sampler.sample(beta=7.0, chains=16, steps=100):
        draw.links, draw.charge, draw.plaquette, draw.accept_prob   # numpy, one row per chain

`load` also takes a run config (YAML) and gives HMC with its settings. The chains start in
equilibrium by default (starts.py), and every draw is exact: the kernel (kernel.py) accepts
or rejects each trajectory of the model (model.py), whatever its weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import tensorflow as tf

from . import checkpoints
from . import config as config_mod
from .checks import check_beta, check_positive_int
from .driver import trajectories
from .kernel import Sampler
from .model import Dynamics, hmc_from_config
from .starts import initial_chains


@dataclass(frozen=True)
class Draw:
    """The chains after one trajectory: links [chains, Lt, Lx, 2] and per-chain records."""
    trajectory: int             # 1-based, counted from the start
    links: np.ndarray
    charge: np.ndarray          # integer Q_Z
    plaquette: np.ndarray
    accept_prob: np.ndarray


class EnsembleSampler:
    """A model (or HMC) with the beta and lattice it was made for as defaults."""

    def __init__(self, dynamics: Dynamics, cfg: config_mod.Config, source: str):
        self.dynamics, self.config, self.source = dynamics, cfg, source

    def __repr__(self) -> str:
        kind = "L2HMC" if self.dynamics.has_networks else "HMC"
        return (f"EnsembleSampler({kind} from {self.source}, beta "
                f"{self.config.annealing.beta_final:g}, lattice {self.config.lattice.size})")

    def sample(self, beta: float | None = None, lattice=None, chains: int = 64,
               steps: int = 100, start="equilibrium", seed: int = 1,
               every: int = 1) -> Iterator[Draw]:
        """Yield the chains after every `every`-th of `steps` trajectories. start:
        "equilibrium" (charges from the exact P(Q), 2D U(1)), "hot", or links [chains, Lt,
        Lx, 2] to continue (e.g. the last draw's). lattice: (Lt, Lx), default the model's."""
        beta = check_beta(self.config.annealing.beta_final if beta is None else beta)
        shape = tuple(lattice or self.config.lattice.size)
        self.dynamics.check_lattice(shape)
        check_positive_int(every, "every")
        if not isinstance(start, str):
            start = tf.constant(start, self.dynamics.compute_dtype)
        x = initial_chains(self.dynamics, beta, check_positive_int(chains, "chains"), shape,
                           seed, start)
        sampler = Sampler(self.dynamics, seed=seed)
        for step, (x, results) in enumerate(trajectories(sampler, x, beta, steps), 1):
            if step % every == 0:
                yield Draw(step, x.numpy(), np.rint(results.charge_int.numpy()).astype(int),
                           results.plaq.numpy(), results.accept_prob.numpy())


def load(path: str | Path) -> EnsembleSampler:
    """The sampler a model or run directory (config.yaml + model.weights.h5) holds, or HMC
    with the settings of a run config (.yaml)."""
    path = Path(path)
    if path.suffix in (".yaml", ".yml"):
        cfg = config_mod.load(path)
        return EnsembleSampler(hmc_from_config(cfg), cfg, str(path))
    dynamics, cfg = checkpoints.load_model(path)
    return EnsembleSampler(dynamics, cfg, str(path))
