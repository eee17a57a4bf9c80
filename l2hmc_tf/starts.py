"""Starts: where chains begin, in equilibrium or brought near it by HMC of their own.

A measurement at large beta is not its start: HMC keeps a chain in its charge sector for
thousands of trajectories, so `equilibrium_start` draws the sector from the exact P(Q) (2D
U(1) only) and HMC relaxes only the plaquettes. Every start draws from a random stream of its
own (`thermalization_seed`), never a sampler's.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from . import lattice
from .checks import check_beta, check_shape
from .kernel import Sampler
from .model import hmc


START_HMC_TRAJECTORIES = 100   # HMC trajectories that equilibrate an equilibrium start's plaquettes
START_STEP_2MN = 0.24          # the tuned 2MN step at beta 6-7 (hmc_baselines.json)
_THERMALIZATION_STREAM = 1   # SeedSequence key: a start's stream is not any sampler's


def thermalization_seed(seed: int) -> int:
    """The seed of a start's own random stream. A sampler seeded like the start would draw
    the momenta that built the start again, trajectory by trajectory: its first chains then
    depend on their own past noise and drift off exp(-S) (at beta 7, eps 0.15 the plaquette
    fell 6 sigma below exact over 200 trajectories, and came back once the replay ended)."""
    return int(np.random.SeedSequence([seed, _THERMALIZATION_STREAM]).generate_state(1)[0])


def hmc_thermalize(x: tf.Tensor, beta: float, n_trajectories: int, n_leapfrog: int,
                   step_size: float, seed: int = 0, integrator: str = "leapfrog") -> tf.Tensor:
    """x after n_trajectories of plain HMC at beta. Cheap trajectories bring hot-start chains
    to equilibrium before an L2HMC sampler takes over, so that neither its measurements nor
    its training are spent on states far from exp(-S). Its random stream is its own
    (thermalization_seed), so a sampler given the same seed starts on fresh noise."""
    check_beta(beta)
    if n_trajectories < 0:
        raise ValueError(f"n_trajectories must be >= 0, got {n_trajectories}")
    if n_trajectories == 0:
        return x
    sampler = Sampler(hmc(tuple(x.shape[1:3]), n_leapfrog, step_size, dtype=x.dtype.name,
                          integrator=integrator), seed=thermalization_seed(seed))
    for _ in range(n_trajectories):
        x, _ = sampler.one_step(x, beta)
    return x


def equilibrium_start(chains: int, lattice_shape, beta: float, n_trajectories: int,
                      n_leapfrog: int, step_size: float, seed: int = 0,
                      dtype="float32", integrator: str = "leapfrog") -> tf.Tensor:
    """Chains that start in equilibrium where HMC cannot bring them there (2D U(1) only):
    each chain's charge Q is drawn from the exact finite-torus P(Q) (exact.
    charge_distribution), its links set to Q times the instanton field A (every plaquette
    2 pi Q / V, so Q_Z = Q) plus Gaussian noise of the plaquettes' equilibrium width, then
    n_trajectories of HMC at beta equilibrate the plaquettes inside the sector, which HMC at
    large beta keeps (at small beta the noise or HMC may move Q, and HMC mixes it anyway).
    A hot start instead begins with the wrong <Q_Z^2> and takes ~tau_int(Q_Z) trajectories
    (thousands at beta 6) to forget it."""
    from . import exact
    lt, lx = check_shape(*lattice_shape)
    check_beta(beta)
    probabilities = exact.charge_distribution(lt, lx, beta)
    q_max = (len(probabilities) - 1) // 2
    rng = np.random.default_rng(seed)
    charge = rng.choice(np.arange(-q_max, q_max + 1), size=chains, p=probabilities)
    field = lattice.instanton_field(lt, lx, tf.as_dtype(dtype))
    # links of variance 1/(4 beta) give plaquettes of about the equilibrium width: from a
    # smooth start HMC's energy error is large and most of its first trajectories rejected
    noise = rng.normal(scale=0.5 / math.sqrt(beta), size=(chains, lt, lx, 2))
    x = lattice.wrap(tf.constant(charge, field.dtype)[:, None, None, None] * field
                     + tf.constant(noise, field.dtype))
    return hmc_thermalize(x, beta, n_trajectories, n_leapfrog, step_size, seed=seed,
                          integrator=integrator)


def equilibrium_chains(dynamics, beta: float, chains: int, shape, seed: int,
                       hmc_trajectories: int = START_HMC_TRAJECTORIES) -> tf.Tensor:
    """The default start of every measurement (2D U(1)): equilibrium_start, so
    that neither sampler spends its chain reaching the right charge sectors. Its
    `hmc_trajectories` are 2MN HMC of the sampler's trajectory length and force count with
    a step of at most START_STEP_2MN: at beta 7 it accepts ~0.8 where leapfrog at eps 0.15
    accepts 0.29, and relaxes the plaquettes in fewer trajectories."""
    step = min(2 * float(dynamics.leapfrog_layers[0].eps_x), START_STEP_2MN)
    return equilibrium_start(chains, shape, beta, hmc_trajectories,
                             max(1, dynamics.n_leapfrog // 2), step, seed=seed,
                             dtype=dynamics.compute_dtype, integrator="2mn")


def initial_chains(dynamics, beta: float, chains: int, shape, seed: int,
                   start="equilibrium") -> tf.Tensor:
    """The chains' first state as `start` asks: "equilibrium" (equilibrium_chains), "hot"
    (uniform random links), or links [chains, Lt, Lx, 2] to continue, checked against the
    model's dtype, the lattice and `chains`."""
    if isinstance(start, str):
        if start == "equilibrium":
            return equilibrium_chains(dynamics, beta, chains, shape, seed)
        if start == "hot":
            return lattice.random_start(chains, *shape, dtype=dynamics.compute_dtype, seed=seed)
        raise ValueError(f"start must be 'equilibrium', 'hot' or links [chains, Lt, Lx, 2], "
                         f"got {start!r}")
    x = lattice.check_links(start, shape=shape, dtype=dynamics.compute_dtype)
    if x.shape[0] != chains:
        raise ValueError(f"start holds {x.shape[0]} chains but {chains} were asked for")
    return x
