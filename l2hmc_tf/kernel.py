"""The kernel: one MCMC transition of a batch of chains, and `Sampler`, which compiles it.

`transition` draws v ~ N(0, 1) and d = +-1 per chain, proposes (x', v') = F_d(x, v) with the
model (model.py), and accepts with min(1, exp(H - H' + logdet)). Because F_{-d} = F_d^{-1},
this is an exact kernel for exp(-S) whatever the weights are (the tests check it). `Sampler`
owns the seeded RNG and the compiled step (TFP's TransitionKernel.one_step is the model);
training calls `transition` under a GradientTape; the driver (driver.py) runs chains.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from . import lattice
from .checks import check_beta, check_positive_int
from .model import Dynamics, Proposal, kinetic_energy


class StepResults(NamedTuple):
    """Per-chain diagnostics of one transition, each [batch]."""
    accept_prob: tf.Tensor
    accepted: tf.Tensor
    energy_change: tf.Tensor   # H(x', v') - H(x, v)
    logdet: tf.Tensor
    charge_jump: tf.Tensor     # A * (Q_R(x') - Q_R(x))^2 of the proposal: what training maximises
    charge_int: tf.Tensor      # of the new state
    charge_sin: tf.Tensor
    plaq: tf.Tensor



def random_signs(rng: tf.random.Generator, x: tf.Tensor) -> tf.Tensor:
    """+1 or -1 per chain of x, each with probability 1/2."""
    coin = rng.uniform(tf.shape(x)[:1], dtype=x.dtype)
    return tf.where(coin < 0.5, tf.ones_like(coin), -tf.ones_like(coin))


def draw_momenta_and_directions(rng: tf.random.Generator, x: tf.Tensor):
    """v ~ N(0, 1) like x and d ~ U{+1, -1} per chain."""
    v = rng.normal(tf.shape(x), dtype=x.dtype)
    return v, random_signs(rng, x)


def log_accept_ratio(action_init, v, action_prop, proposal: Proposal):
    """log of p(x', v')/p(x, v) * |J| per chain, from the actions S(x) and S(x')."""
    return (action_init + kinetic_energy(v) - action_prop - kinetic_energy(proposal.v)
            + proposal.logdet)


def accept_probability(log_ratio):
    """min(1, exp(log_ratio)); a NaN proposal (diverged) is never accepted."""
    prob = tf.exp(tf.minimum(log_ratio, 0.0))
    return tf.where(tf.math.is_nan(log_ratio), tf.zeros_like(prob), prob)


def metropolis_hastings(rng: tf.random.Generator, x, x_proposed, accept_prob):
    """Advance each chain to x_proposed with probability accept_prob."""
    accepted = rng.uniform(tf.shape(accept_prob), dtype=accept_prob.dtype) < accept_prob
    return tf.where(accepted[:, None, None, None], x_proposed, x), accepted


def charge_jump(accept_prob, charge_before, charge_after):
    """A * (Q_R(x') - Q_R(x))^2 per chain: the expected squared charge move of a proposal,
    which training maximises."""
    return accept_prob * tf.square(charge_after - charge_before)


class Transition(NamedTuple):
    """Everything one MCMC transition of a batch of chains computed, each per chain."""
    x: tf.Tensor                        # the state it started from
    v: tf.Tensor                        # the momenta drawn
    direction: tf.Tensor                # +1 forward, -1 backward
    proposal: Proposal
    before: lattice.Observables         # of x
    after: lattice.Observables          # of the proposal
    log_ratio: tf.Tensor                # log of the MH ratio, Jacobian included
    accept_prob: tf.Tensor
    accepted: tf.Tensor
    x_new: tf.Tensor                    # the chains after the MH step

    def new_observables(self) -> lattice.Observables:
        """The observables of x_new: the proposal's where accepted, else the start's."""
        return self.after.where(self.accepted, self.before)

    def results(self, new: lattice.Observables | None = None) -> StepResults:
        """The diagnostics of the transition; the charges and plaquette are those of the new
        state (`new`: of a state reached after further moves, e.g. instanton proposals)."""
        new = self.new_observables() if new is None else new
        return StepResults(
            accept_prob=self.accept_prob, accepted=self.accepted,
            energy_change=self.proposal.logdet - self.log_ratio, logdet=self.proposal.logdet,
            charge_jump=charge_jump(self.accept_prob, self.before.charge_sin,
                                    self.after.charge_sin),
            charge_int=new.charge_int, charge_sin=new.charge_sin, plaq=new.plaquette)


def instanton_moves(rng: tf.random.Generator, x, beta, n_moves: int,
                    current: lattice.Observables):
    """n_moves Metropolis proposals x -> wrap(x +- A) (sign +-1 with probability 1/2, unit
    Jacobian, accepted with min(1, exp(S(x) - S(x')))), each moving Q_Z by +-1: an exact
    move that exists only because the model is 2D U(1) (docs/physics.md section 10).
    Returns the chains and their observables."""
    field = lattice.instanton_field(tf.shape(x)[1], tf.shape(x)[2], x.dtype)
    for _ in range(n_moves):
        proposed = lattice.wrap(x + random_signs(rng, x)[:, None, None, None] * field)
        after = lattice.observables(proposed, beta)
        x, accepted = metropolis_hastings(rng, x, proposed,
                                          accept_probability(current.action - after.action))
        current = after.where(accepted, current)
    return x, current


def transition(dynamics: Dynamics, rng: tf.random.Generator, x, beta) -> Transition:
    """The one MCMC kernel, used by sampling and (under a GradientTape) by training: draw v
    and d, propose (x', v') = F_d(x, v), accept with min(1, exp(H - H' + logdet)). The random
    draws come from `rng` in a fixed order (v, d, MH uniform)."""
    v, direction = draw_momenta_and_directions(rng, x)
    proposal = dynamics.propose(x, v, direction, beta)
    before, after = lattice.observables(x, beta), lattice.observables(proposal.x, beta)
    log_ratio = log_accept_ratio(before.action, v, after.action, proposal)
    prob = accept_probability(log_ratio)
    x_new, accepted = metropolis_hastings(rng, x, proposal.x, prob)
    return Transition(x, v, direction, proposal, before, after, log_ratio, prob, accepted,
                      x_new)


class Sampler:
    """MCMC kernel over a batch of chains: one compiled transition, a seeded RNG it owns.

    one_step(x, beta) -> (x_new, StepResults). It traces once per lattice shape; beta is a
    tensor argument, so annealing does not retrace.
    """

    def __init__(self, dynamics: Dynamics, seed: int = 0, jit_compile: bool = False,
                 instanton_moves: int = 0):
        if jit_compile and not dynamics.one_pass:
            raise ValueError("jit_compile=True needs static shapes; this model splits chains "
                             "by direction dynamically. Use jit_compile for HMC, the scalar "
                             "kind or mirrored networks (dynamics.mirror_networks).")
        self.dynamics = dynamics
        # K Metropolis proposals x -> x +- A after each trajectory
        self.instanton_moves = check_positive_int(instanton_moves,
                                                  "instanton moves per trajectory", minimum=0)
        self._rng = tf.random.Generator.from_seed(seed)
        self._step = tf.function(self._one_step, jit_compile=jit_compile, autograph=False)

    @property
    def tracing_count(self) -> int:
        return self._step.experimental_get_tracing_count()

    def rng_state(self) -> np.ndarray:
        """The RNG state, to store beside the chains (resumable output)."""
        return self._rng.state.numpy()

    def set_rng_state(self, state) -> None:
        """Continue from a stored RNG state: the chain goes on as if it had not stopped."""
        self._rng.reset(state)

    def one_step(self, x, beta):
        """One transition of every chain. Checks what is free to check (shapes, dtype, a
        Python beta) before the compiled step; finiteness is checked by the drivers."""
        dyn = self.dynamics
        if x.shape.rank != 4 or x.shape[-1] != 2 or x.dtype != dyn.compute_dtype:
            raise ValueError(f"x must be a {dyn.compute_dtype} tensor [batch, Lt, Lx, 2], got "
                             f"{x.dtype.name} {x.shape.as_list()}")
        dyn.check_lattice(tuple(x.shape[1:3]))
        if isinstance(beta, (int, float)):
            check_beta(beta)
        return self._step(x, tf.convert_to_tensor(beta, dtype=x.dtype))

    def trace(self, x, beta) -> None:
        """Compile the step for x's shape without running it (the RNG does not move), so
        that timings that follow measure sampling, not tracing."""
        self._step.get_concrete_function(x, tf.convert_to_tensor(beta, dtype=x.dtype))

    def transition(self, x, beta) -> Transition:
        """One transition with this sampler's RNG, uncompiled: training calls it under a
        GradientTape inside its own compiled step, so it differentiates what sampling runs."""
        return transition(self.dynamics, self._rng, x, beta)

    def _one_step(self, x, beta):
        step = self.transition(x, beta)
        if not self.instanton_moves:
            return step.x_new, step.results()
        x_new, new = instanton_moves(self._rng, step.x_new, beta, self.instanton_moves,
                                     step.new_observables())
        return x_new, step.results(new)
