"""The model: the trajectory map of the generalised leapfrog (LeapfrogLayers).

`Dynamics` runs N_LF layers (layers.py; docs/physics.md section 4, gauge kind section 11)
forward, or backward as the exact inverse, optionally with the instanton shift in the middle
(section 10); HMC is the no-network case and has its own fast leapfrog. It proposes; the
kernel (kernel.py) accepts or rejects, so that F_{-d} = F_d^{-1} makes every weight exact.
"""
from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from . import integrators, lattice, schemes
from .checks import check_positive_int, check_shape
from .config import NetworkConfig
from .layers import SUBUPDATES, GaugeLeapfrogLayer, LeapfrogLayer, sum_links
from .networks import ScalarHeads, UpdateNetwork


class Proposal(NamedTuple):
    x: tf.Tensor
    v: tf.Tensor
    logdet: tf.Tensor   # log |det dF_d/d(x, v)| per chain, [batch]



INSTANTON = "instanton"    # marks the instanton shift among a trajectory's layers


def kinetic_energy(v):
    """v.v / 2 per chain: the momenta's part of H."""
    return 0.5 * sum_links(tf.square(v))


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
                nets = (self._layer_networks(network, k) if self._has_networks(k)
                        else (self._scalar_heads(network, f"_{k}"), None, None))
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

    def _has_networks(self, k: int) -> bool:
        """Whether layer k has networks (network.network_layers; else a tempered leapfrog
        layer with two trained numbers, as the scalar kind's)."""
        layers = self.network_config.network_layers
        return layers is None or k in layers

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
        if nets is not None and self.network_config.kind == "gauge" and nets[1] is not None:
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


def hmc(lattice_shape, n_leapfrog: int, step_size: float, dtype="float32",
        integrator: str = "leapfrog") -> Dynamics:
    """Plain HMC: the same Dynamics with the networks switched off; n_leapfrog integrator
    steps of the scheme `integrator` (schemes.py)."""
    return Dynamics(lattice_shape, n_leapfrog, step_size, network=None, dtype=dtype,
                    integrator=integrator)


def hmc_from_config(cfg) -> Dynamics:
    """Plain HMC with a run config's lattice, N_LF, step size, dtype and integrator."""
    d = cfg.dynamics
    return hmc(tuple(cfg.lattice.size), d.n_leapfrog, d.step_size, dtype=d.dtype,
               integrator=d.integrator)


def from_config(cfg) -> Dynamics:
    """The Dynamics a run config describes (a config.Config)."""
    d = cfg.dynamics
    return Dynamics(tuple(cfg.lattice.size), d.n_leapfrog, d.step_size, network=cfg.network,
                    share_networks=d.share_networks, train_step_size=d.train_step_size,
                    instanton=d.instanton, dtype=d.dtype, mirror_networks=d.mirror_networks,
                    integrator=d.integrator)
