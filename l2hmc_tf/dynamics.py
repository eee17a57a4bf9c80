"""Trajectories of the generalised leapfrog (LeapfrogLayers), the MCMC kernel and its driver.

`Dynamics` runs N_LF layers (layers.py; docs/physics.md section 4, gauge kind section 11)
forward, or backward as the exact inverse, optionally with the instanton shift in the middle
(section 10); HMC is the no-network case and has its own fast leapfrog. `transition` is the
one MCMC kernel: draw v ~ N(0, 1) and d = +-1 per chain, propose (x', v') = F_d(x, v), accept
with min(1, exp(H - H' + logdet)). Because F_{-d} = F_d^{-1}, this is an exact kernel for
exp(-S) whatever the weights are (the tests check it). `Sampler` compiles it; training calls
it under a GradientTape.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from . import integrators, lattice, schemes
from .checks import check_beta, check_positive_int, check_shape
from .config import NetworkConfig
from .layers import SUBUPDATES, GaugeLeapfrogLayer, LeapfrogLayer, sum_links
from .networks import ScalarHeads, UpdateNetwork


class Proposal(NamedTuple):
    x: tf.Tensor
    v: tf.Tensor
    logdet: tf.Tensor   # log |det dF_d/d(x, v)| per chain, [batch]


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


INSTANTON = "instanton"    # marks the instanton shift among a trajectory's layers


class Dynamics(keras.Model):
    """N_LF leapfrog layers with trainable networks and step sizes (network=None: HMC).

    Masks alternate between layers. Separate networks per layer unless share_networks.
    """

    def __init__(self, lattice_shape, n_leapfrog: int, step_size: float,
                 network: NetworkConfig | None = None, share_networks: bool = False,
                 train_step_size: bool = True, instanton: bool = False, dtype="float32",
                 mirror_networks: bool = False, integrator: str = "leapfrog", **kwargs):
        super().__init__(dtype=dtype, **kwargs)
        self.integrator = integrator    # the scheme of every layer (schemes.py)
        self.scheme = schemes.scheme(integrator)
        if integrator != "leapfrog" and network is not None and network.kind != "scalar":
            raise ValueError(f"integrator {integrator} runs HMC and the scalar kind; network "
                             f"kind {network.kind} has leapfrog layers (dynamics.integrator: "
                             "leapfrog)")
        self.instanton = bool(instanton)     # the 2D-U(1)-specific shift mid-trajectory
        # layer N_LF-1-k reuses layer k's networks: one pass for both directions (integrators)
        self.mirror_networks = bool(mirror_networks)
        if mirror_networks and (network is None or network.kind != "gauge" or share_networks):
            raise ValueError("mirror_networks needs network kind gauge and share_networks "
                             "false (it ties layer N_LF-1-k's networks to layer k's)")
        check_positive_int(n_leapfrog, "n_leapfrog")
        if not (isinstance(step_size, (int, float)) and step_size > 0):
            raise ValueError(f"step_size must be a positive number, got {step_size!r}")
        self.network_config = network
        self.lattice_shape = self.check_lattice(lattice_shape, built=False)
        self.n_leapfrog = int(n_leapfrog)
        shared = None
        if network is not None and share_networks:
            shared = self._networks(network, "")
        self.leapfrog_layers = []
        for k in range(self.n_leapfrog):
            nets = shared
            if network is not None and not share_networks:
                nets = self._layer_networks(network, k)
            self.leapfrog_layers.append(self._layer(k, step_size, nets, train_step_size))
        zeros = tf.zeros([1, *self.lattice_shape, 2], dtype=self.compute_dtype)
        self.propose(zeros, zeros, tf.ones([1], self.compute_dtype), 1.0)   # build all weights
        self.built = True

    def _layer_networks(self, network: NetworkConfig, k: int) -> tuple:
        """Layer k's networks. With mirror_networks, layer N_LF-1-k (built first) lends its
        own: the same v-network and its x-networks in reverse order, since a backward chain
        runs that layer's sub-updates in reverse; the middle layer of an odd N_LF mirrors
        itself. The scalar kind's numbers (no v-network) stay per layer."""
        mirror = self.n_leapfrog - 1 - k
        if not self.mirror_networks or mirror > k:
            return self._networks(network, f"_{k}")
        if mirror == k:
            n = network.x_subupdates
            v_net, *x_nets = self._networks(network, f"_{k}", n_x=(n + 1) // 2)
            return (v_net, *x_nets, *x_nets[:n // 2][::-1])
        v_net, *x_nets = self.leapfrog_layers[mirror].networks
        if not network.v_network:
            v_net = self._scalar_heads(network, f"_{k}")
        return (v_net, *x_nets[::-1])

    def _scalar_heads(self, network: NetworkConfig, suffix: str) -> ScalarHeads:
        """A layer's own two tempering numbers (the scalar kind, or no v-network)."""
        return ScalarHeads(network.init_scale, dtype=self.dtype_policy, name=f"scalars{suffix}")

    def _networks(self, network: NetworkConfig, suffix: str, n_x: int | None = None) -> tuple:
        """(v_net, x_net_b, x_net_c) of one layer; the scalar kind has no x-networks, the
        gauge kind one x-network per sub-update with a network (network.x_subupdates, or
        n_x), and network.v_network false puts the scalar kind's two numbers in place of
        v_net."""
        if network.kind == "scalar" or not network.v_network:
            v_net = self._scalar_heads(network, suffix)
            if network.kind == "scalar":
                return v_net, None, None
        x_names = ([f"x_net_{k}" for k in range(n_x or network.x_subupdates)]
                   if network.kind == "gauge" else ["x_net_b", "x_net_c"])
        names = ["v_net", *x_names] if network.v_network else x_names
        nets = tuple(UpdateNetwork(network, self.lattice_shape, dtype=self.dtype_policy,
                                   name=f"{name}{suffix}") for name in names)
        return nets if network.v_network else (v_net, *nets)

    @property
    def has_networks(self) -> bool:
        return self.network_config is not None

    @property
    def force_evaluations(self) -> int:
        """Force evaluations per trajectory (the one at the start is the previous
        trajectory's last): the cost unit in which the two integrators compare."""
        return self.n_leapfrog * self.scheme.forces_per_step

    def _layer(self, k: int, step_size: float, nets, train_step_size: bool):
        kwargs = dict(train_step_size=train_step_size, dtype=self.dtype_policy,
                      name=f"leapfrog_{k}")
        if nets is not None and self.network_config.kind == "gauge":
            n_sub = self.network_config.x_subupdates
            first = (k * n_sub) % len(SUBUPDATES) if self.network_config.rotate_subupdates else 0
            return GaugeLeapfrogLayer(step_size, nets[0], list(nets[1:]), first_subupdate=first,
                                      **kwargs)
        return LeapfrogLayer(parity=k % 2, step_size=step_size, networks=nets,
                             scheme=self.scheme, **kwargs)

    def check_lattice(self, shape, built: bool = True) -> tuple[int, int]:
        """Validate a lattice this model should run on: any even size for conv networks and
        HMC, sides that are multiples of 4 for gauge networks, only the built size for mlp
        networks."""
        shape = check_shape(*shape, even=self.has_networks)
        kind = self.network_config.kind if self.has_networks else None
        if kind == "gauge" and (shape[0] % 4 or shape[1] % 4):
            raise ValueError(
                f"lattice {shape[0]}x{shape[1]}: network kind gauge needs lattice sides that "
                "are multiples of 4 (its sub-update masks repeat every 4 sites)")
        if built and kind == "mlp" and shape != self.lattice_shape:
            raise ValueError(
                f"this mlp model was built for lattice {self.lattice_shape[0]}x"
                f"{self.lattice_shape[1]} and cannot run on {shape[0]}x{shape[1]}; "
                "train a conv model to change the lattice size")
        return shape

    def _steps(self, forward: bool) -> list:
        """The layers in the order a direction runs them; with `instanton`, INSTANTON marks the
        shift x -> x + d A after the first N_LF // 2 forward layers (mirrored backward)."""
        layers = self.leapfrog_layers if forward else self.leapfrog_layers[::-1]
        if not self.instanton:
            return list(layers)
        half = self.n_leapfrog // 2 if forward else self.n_leapfrog - self.n_leapfrog // 2
        return [*layers[:half], INSTANTON, *layers[half:]]

    def _step(self, item, x, v, beta, force, forward: bool):
        """One item of _steps: (x, v, logdet, force at the new x)."""
        if item is INSTANTON:
            field = lattice.instanton_field(tf.shape(x)[1], tf.shape(x)[2], x.dtype)
            x = lattice.wrap(x + field if forward else x - field)
            return x, v, tf.zeros_like(x[:, 0, 0, 0]), lattice.force(x, beta)
        return (item.forward if forward else item.backward)(x, v, beta, force)

    def _run(self, x, v, beta, forward: bool):
        logdet = tf.zeros_like(x[:, 0, 0, 0])
        force = lattice.force(x, beta)
        for item in self._steps(forward):
            x, v, ld, force = self._step(item, x, v, beta, force, forward)
            logdet += ld
        return Proposal(x, v, logdet)

    def propose(self, x, v, direction, beta) -> Proposal:
        """F_d(x, v) per chain, d = direction[i] in {+1, -1}.

        HMC and the scalar kind (integrators.leapfrog) and mirrored networks
        (integrators.mirrored) run both directions in one pass over all chains; other
        networks split the chains by direction and run the layers on each part (XLA can
        compile HMC's pass).
        """
        beta = tf.cast(beta, self.compute_dtype)
        if self.has_fast_path:
            return Proposal(*integrators.leapfrog(self, x, v, beta, direction))
        if self.one_pass:
            return Proposal(*integrators.mirrored(self, x, v, beta, direction))
        part = tf.cast(direction > 0, tf.int32)
        index = tf.dynamic_partition(tf.range(tf.shape(x)[0]), part, 2)
        xs, vs = tf.dynamic_partition(x, part, 2), tf.dynamic_partition(v, part, 2)
        back = self._run_padded(xs[0], vs[0], beta, forward=False)
        fwd = self._run_padded(xs[1], vs[1], beta, forward=True)
        return Proposal(*(tf.dynamic_stitch(index, [b, f]) for b, f in zip(back, fwd)))

    @property
    def has_fast_path(self) -> bool:
        """HMC and the scalar kind without the instanton shift: every layer is a leapfrog
        step with per-layer numbers, which integrators.leapfrog runs in one pass."""
        return not self.instanton and (not self.has_networks
                                       or self.network_config.kind == "scalar")

    @property
    def one_pass(self) -> bool:
        """Both directions in one pass over all chains, with static shapes (XLA can compile
        it): the fast path, or mirrored networks without the instanton shift."""
        return self.has_fast_path or (self.mirror_networks and not self.instanton)

    def _run_padded(self, x, v, beta, forward: bool) -> Proposal:
        """_run on x plus one zero configuration, which is then dropped: oneDNN convolutions
        fail on an empty batch, and a tf.cond guard would make gradients very slow to trace."""
        pad = tf.zeros(tf.concat([[1], tf.shape(x)[1:]], 0), x.dtype)
        out = self._run(tf.concat([x, pad], 0), tf.concat([v, pad], 0), beta, forward)
        return Proposal(*(t[:-1] for t in out))

    def hamiltonian(self, x, v, beta):
        return lattice.action(x, beta) + kinetic_energy(v)

    def trace(self, x, v, beta, direction: int = 1) -> dict[str, np.ndarray]:
        """Per-layer diagnostics of one trajectory (eager; for plots, not the fast path):
        H - sum log|J|, plaquette, Q_R, Q_Z at the start and after each layer, [N_LF+1, batch]."""
        beta = tf.cast(beta, self.compute_dtype)
        rows = {"h_minus_logdet": [], "plaquette": [], "charge_sin": [], "charge_int": []}
        logdet = tf.zeros_like(x[:, 0, 0, 0])

        def record():
            rows["h_minus_logdet"].append(self.hamiltonian(x, v, beta) - logdet)
            rows["plaquette"].append(lattice.mean_plaquette(x))
            rows["charge_sin"].append(lattice.charge_sin(x))
            rows["charge_int"].append(lattice.charge_int(x))

        record()
        force = lattice.force(x, beta)
        for item in self._steps(direction > 0):
            x, v, ld, force = self._step(item, x, v, beta, force, direction > 0)
            logdet += ld
            record()
        return {k: np.stack([r.numpy() for r in vals]) for k, vals in rows.items()}


def random_signs(rng: tf.random.Generator, x: tf.Tensor) -> tf.Tensor:
    """+1 or -1 per chain of x, each with probability 1/2."""
    coin = rng.uniform(tf.shape(x)[:1], dtype=x.dtype)
    return tf.where(coin < 0.5, tf.ones_like(coin), -tf.ones_like(coin))


def draw_momenta_and_directions(rng: tf.random.Generator, x: tf.Tensor):
    """v ~ N(0, 1) like x and d ~ U{+1, -1} per chain."""
    v = rng.normal(tf.shape(x), dtype=x.dtype)
    return v, random_signs(rng, x)


def kinetic_energy(v):
    return 0.5 * sum_links(tf.square(v))


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


def hmc(lattice_shape, n_leapfrog: int, step_size: float, dtype="float32",
        integrator: str = "leapfrog") -> Dynamics:
    """Plain HMC: the same Dynamics with the networks switched off; n_leapfrog integrator
    steps of the scheme `integrator` (schemes.py)."""
    return Dynamics(lattice_shape, n_leapfrog, step_size, network=None, dtype=dtype,
                    integrator=integrator)


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


def from_config(cfg) -> Dynamics:
    """The Dynamics a run config describes (a config.Config)."""
    d = cfg.dynamics
    return Dynamics(tuple(cfg.lattice.size), d.n_leapfrog, d.step_size, network=cfg.network,
                    share_networks=d.share_networks, train_step_size=d.train_step_size,
                    instanton=d.instanton, dtype=d.dtype, mirror_networks=d.mirror_networks,
                    integrator=d.integrator)
