"""The layers of the generalised leapfrog (docs/physics.md section 4) and their exact inverses.

`LeapfrogLayer` is one layer of the paper's LeapfrogLayers: (a) a v half-step, (b) (c) x-updates
of the two checkerboard halves of the links, (d) a v half-step; without networks it is the
standard leapfrog step. `GaugeLeapfrogLayer` is the gauge-equivariant layer of
docs/physics.md section 11: networks see only plaquettes (and v), and its x-update acts on one
plaquette per active link in sub-updates. The x-scaling of both is the circle diffeomorphism
x -> 2 atan(e^a tan(x/2)), written as x + 2 atan((e^a - 1) sin x / ((e^a + 1) - (e^a - 1) cos x)):
no tan() pole at x = +-pi, and exactly x when a = 0, so zero network outputs give the plain
leapfrog bit for bit.
"""
from __future__ import annotations

import functools
import operator

import keras
import numpy as np
import tensorflow as tf

from . import lattice
from .networks import Heads, LinkEncoding, UpdateNetwork
from .schemes import SCHEMES, Scheme


def checkerboard_mask(lt, lx, parity: int, dtype=tf.float32) -> tf.Tensor:
    """m(n, mu) = (n_t + n_x + mu + parity) mod 2, shape [Lt, Lx, 2]; two links of every
    plaquette are in m and two in 1 - m. Sides may be ints or scalar tensors."""
    t = tf.range(lt)[:, None, None]
    x = tf.range(lx)[None, :, None]
    mu = tf.range(2)[None, None, :]
    return tf.cast((t + x + mu + parity) % 2, dtype)


def circle_shift(x: tf.Tensor, a: tf.Tensor) -> tf.Tensor:
    """2 atan(e^a tan(x/2)) - x: bounded, periodic in x, exactly 0 when a = 0."""
    k1 = tf.math.expm1(a)
    return 2.0 * tf.atan(k1 * tf.sin(x) / (k1 + 2.0 - k1 * tf.cos(x)))


def circle_scale(x: tf.Tensor, a: tf.Tensor) -> tf.Tensor:
    """2 atan(e^a tan(x/2)) as x plus a bounded shift (exactly x when a = 0), not wrapped."""
    return x + circle_shift(x, a)


def circle_scale_logdet(x: tf.Tensor, a: tf.Tensor) -> tf.Tensor:
    """log d/dx [2 atan(e^a tan(x/2))] = a - log(1 + (e^{2a} - 1) sin^2(x/2))."""
    return a - tf.math.log1p(tf.math.expm1(2.0 * a) * 0.5 * (1.0 - tf.cos(x)))


def sum_links(y: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(y, axis=(1, 2, 3))


def direction_factors(forward, dtype):
    """(f, sign) = (1, +1) for a forward map and (0, -1) for its inverse. `forward` is a
    Python bool (every chain one way) or a bool tensor [batch] (each chain its own way; then
    f and sign are [batch, 1, 1, 1], to broadcast over the links)."""
    if isinstance(forward, bool):
        f = 1.0 if forward else 0.0
    else:
        f = tf.cast(forward, dtype)[:, None, None, None]
    return f, 2.0 * f - 1.0


def _as_chain_vector(factor):
    """A direction factor as it multiplies per-chain numbers [batch] (not links)."""
    return factor if isinstance(factor, float) else tf.reshape(factor, [-1])


def v_update(v, force, eps, heads: Heads | None, forward, weight: float = 0.5):
    """Kick (a)/(d) of v by `weight` times eps (a leapfrog half-step: 0.5) and its log-det;
    `forward=False` is the exact inverse, and a per-chain `forward` (see direction_factors)
    runs each chain its own way."""
    half = weight * eps
    f, sign = direction_factors(forward, v.dtype)
    if heads is None:
        return v - sign * (half * force), tf.zeros_like(v[:, 0, 0, 0])
    kick = half * (force * tf.exp(eps * heads.q) + heads.t)
    logdet = sum_links(half * heads.s)
    # forward: v e^{h s} - kick; inverse: (v + kick) e^{-h s}
    v_new = (v + (1.0 - f) * kick) * tf.exp(sign * half * heads.s) - f * kick
    return v_new, _as_chain_vector(sign) * logdet


def x_shift(v, eps, heads: Heads) -> tf.Tensor:
    """The shift eps (v exp(eps q) + t) of the links an x-update moves."""
    return eps * (v * tf.exp(eps * heads.q) + heads.t)


def x_update(x, v, eps, heads: Heads | None, update_mask, forward: bool):
    """Update (b)/(c) of the links where update_mask = 1; `forward=False` is the exact inverse
    (first subtract the shift, then undo the scaling). The shift and scaling are masked, so
    the map is the identity (log-det 0) on the other links without a select over the batch.
    Without heads (HMC) every link moves and update_mask is ignored."""
    if heads is None:
        step = eps * v
        return lattice.wrap(x + step if forward else x - step), tf.zeros_like(x[:, 0, 0, 0])
    shift = update_mask * x_shift(v, eps, heads)
    scale = update_mask * eps * heads.s
    if forward:
        new = lattice.wrap(circle_scale(x, scale) + shift)
        logdet = circle_scale_logdet(x, scale)
    else:
        shifted = lattice.wrap(x - shift)
        new = lattice.wrap(circle_scale(shifted, -scale))
        logdet = circle_scale_logdet(shifted, -scale)
    return new, sum_links(logdet)


class LeapfrogLayer(keras.layers.Layer):
    """One generalised leapfrog step with its own step sizes and (optionally) networks.

    Without networks it is the standard leapfrog step of HMC with step size eps_x = eps_v.
    """

    def __init__(self, parity: int, step_size: float,
                 networks: tuple[UpdateNetwork, UpdateNetwork, UpdateNetwork] | None = None,
                 train_step_size: bool = True, scheme: Scheme = SCHEMES["leapfrog"], **kwargs):
        super().__init__(**kwargs)
        self.parity = parity
        self.networks = networks                   # (v_net, x_net_b, x_net_c) or None
        self.scheme = scheme                       # leapfrog: (a) (b) (c) (d); 2mn: K D K D K
        self.encode = LinkEncoding(dtype=self.dtype_policy)
        trainable = bool(train_step_size and networks is not None)
        init = keras.initializers.Constant(float(np.log(step_size)))
        self.log_eps_x = self.add_weight(shape=(), initializer=init, name="log_eps_x",
                                         trainable=trainable)
        self.log_eps_v = self.add_weight(shape=(), initializer=init, name="log_eps_v",
                                         trainable=trainable)

    @property
    def eps_x(self):
        return tf.exp(self.log_eps_x)

    @property
    def eps_v(self):
        return tf.exp(self.log_eps_v)

    def _v_features(self, x, force):
        """What a v-network sees: [cos x, sin x, F]."""
        return tf.concat([self.encode(x), force], axis=-1)

    def _v_step(self, x, v, force, forward, weight: float):
        heads = None
        if self.networks is not None:
            v_net = self.networks[0]
            heads = v_net(self._v_features(x, force) if v_net.uses_links else force)
        return v_update(v, force, self.eps_v, heads, forward, weight)

    def _x_step(self, x, v, which: int, forward, eps):
        m = checkerboard_mask(tf.shape(x)[1], tf.shape(x)[2], self.parity, dtype=x.dtype)
        update_mask = 1.0 - m if which == 0 else m     # (b) updates mbar links, (c) m links
        features = tf.concat([self.encode(x, 1.0 - update_mask), v], axis=-1)
        heads = self.networks[1 + which](features)
        return x_update(x, v, eps, heads, update_mask, forward)

    def _x_steps(self, x, v, forward: bool, eps):
        """(b) then (c) (or (c)^-1 then (b)^-1). Without networks both halves move by eps*v,
        so one pass over all links gives the same numbers with half the work."""
        if self.networks is None or self.networks[1] is None:
            return x_update(x, v, eps, None, None, forward)
        order = (0, 1) if forward else (1, 0)
        x, ld_first = self._x_step(x, v, order[0], forward, eps)
        x, ld_second = self._x_step(x, v, order[1], forward, eps)
        return x, ld_first + ld_second

    def _integrate(self, x, v, beta, force, forward: bool):
        """The scheme's kicks and drifts, in order (forward) or inverted in reverse order.
        `force` is dS/dx at the input x; the force at the output x is returned for the next
        layer, so a trajectory of N layers evaluates it N * forces_per_step + 1 times."""
        kicks, drifts = self.scheme
        if not forward:
            kicks, drifts = kicks[::-1], drifts[::-1]
        v, ld_v = self._v_step(x, v, force, forward, kicks[0])
        terms = [ld_v]
        for drift, kick in zip(drifts, kicks[1:]):
            x, ld_x = self._x_steps(x, v, forward, drift * self.eps_x)
            force = lattice.force(x, beta)
            v, ld_v = self._v_step(x, v, force, forward, kick)
            terms += [ld_x, ld_v]
        # summed in the forward layer's order, so both directions round alike
        logdet = functools.reduce(operator.add, terms if forward else terms[::-1])
        return x, v, logdet, force

    def forward(self, x, v, beta, force):
        """(a) (b) (c) (d) for leapfrog (section 4); K D K D K for 2mn."""
        return self._integrate(x, v, beta, force, True)

    def backward(self, x, v, beta, force):
        """The exact inverse of forward: (d)^-1 (c)^-1 (b)^-1 (a)^-1 (same force caching)."""
        return self._integrate(x, v, beta, force, False)



# -- the gauge-equivariant layer (docs/physics.md section 11) --------------------------------
# The x sub-updates of one layer, (mu, offset): together they move every link exactly once.
SUBUPDATES = tuple((mu, offset) for offset in range(4) for mu in (0, 1))


def _site_index(lt, lx, mu: int):
    """n_nu for nu = 1 - mu, shape [Lt, Lx]: the coordinate that selects a sub-update's rows."""
    t, x = tf.meshgrid(tf.range(lt), tf.range(lx), indexing="ij")
    return x if mu == 0 else t


def active_link_mask(lt, lx, mu: int, offset: int, dtype=tf.float32) -> tf.Tensor:
    """1 on the links (n, mu) with n_nu = offset (mod 4), shape [Lt, Lx, 2]. Each lies in the
    plaquette x_P(n), which holds no other active link."""
    rows = tf.cast(_site_index(lt, lx, mu) % 4 == offset, dtype)[..., None]
    return rows * tf.one_hot(mu, 2, dtype=dtype)


def frozen_plaquette_mask(lt, lx, mu: int, offset: int, dtype=tf.float32) -> tf.Tensor:
    """1 on the plaquettes n_nu = offset + 1, offset + 2 (mod 4), shape [Lt, Lx, 1]: they hold
    no active link, so a network that sees only them does not see what it moves."""
    rel = (_site_index(lt, lx, mu) - offset) % 4
    return tf.cast((rel == 1) | (rel == 2), dtype)[..., None]


def plaquette_encoding(x: tf.Tensor) -> tf.Tensor:
    """[cos x_P, sin x_P] per site, [batch, Lt, Lx, 2]: gauge invariant."""
    p = lattice.plaquette_angles(x)
    return tf.stack([tf.cos(p), tf.sin(p)], axis=-1)


def gauge_x_update(x, v, eps, heads: Heads, active, forward):
    """One sub-update of the active links (n, mu): the active plaquette x_P(n) is scaled by the
    circle map and the link shifted, x_l <- x_l + sigma_mu (g_a(x_P) - x_P) + shift with
    sigma = (+1, -1) the sign of link mu in x_P(n); `forward=False` is the exact inverse (first
    subtract the shift, then undo the scaling of the plaquette that then holds), and a
    per-chain `forward` (see direction_factors) runs each chain its own way. a and the shift
    are masked to the active links, so the others stay exactly as they are."""
    sigma = tf.constant([1.0, -1.0], x.dtype)
    f, sign = direction_factors(forward, x.dtype)
    shift = active * x_shift(v, eps, heads)
    a = sign * (active * eps * heads.s)
    y = lattice.wrap(x - (1.0 - f) * shift)          # the inverse removes the shift first
    phi = lattice.plaquette_angles(y)[..., None]
    new = lattice.wrap(y + sigma * circle_shift(phi, a) + f * shift)
    return new, sum_links(circle_scale_logdet(phi, a))


class GaugeLeapfrogLayer(LeapfrogLayer):
    """A gauge-equivariant generalised leapfrog layer: the v-network sees [cos x_P, sin x_P]
    and the force; the x-update runs len(x_nets) sub-updates of SUBUPDATES with a network
    each (fed the frozen plaquettes and v), from first_subupdate on (cyclically), and the
    plain drift x + eps_x v on the links of the others, so every link moves once.
    F(g.x, v) = g.F(x, v) for every gauge transformation g; zero network outputs give the
    leapfrog step."""

    def __init__(self, step_size: float, v_net: UpdateNetwork, x_nets: list[UpdateNetwork],
                 train_step_size: bool = True, first_subupdate: int = 0, **kwargs):
        super().__init__(parity=0, step_size=step_size, networks=(v_net, *x_nets),
                         train_step_size=train_step_size, **kwargs)
        order = [SUBUPDATES[(first_subupdate + k) % len(SUBUPDATES)]
                 for k in range(len(SUBUPDATES))]
        self.subupdates = order[:len(x_nets)]          # (mu, offset) of each x-network
        self.drift_subupdates = order[len(x_nets):]    # the links that only drift

    def _v_features(self, x, force):
        """What the v-network sees: the plaquettes [cos x_P, sin x_P] and the force."""
        return tf.concat([plaquette_encoding(x), force], axis=-1)

    def _drift_mask(self, x) -> tf.Tensor:
        lt, lx = tf.shape(x)[1], tf.shape(x)[2]
        return tf.add_n([tf.zeros([lt, lx, 2], x.dtype)] + [
            active_link_mask(lt, lx, mu, offset, x.dtype)
            for mu, offset in self.drift_subupdates])

    def _subupdate(self, x, v, k: int, forward: bool, eps):
        mu, offset = self.subupdates[k]
        lt, lx = tf.shape(x)[1], tf.shape(x)[2]
        frozen = frozen_plaquette_mask(lt, lx, mu, offset, x.dtype)
        heads = self.networks[1 + k](tf.concat([plaquette_encoding(x) * frozen, v], axis=-1))
        return gauge_x_update(x, v, eps, heads, active_link_mask(lt, lx, mu, offset, x.dtype),
                              forward)

    def _x_steps(self, x, v, forward: bool, eps):
        """The sub-updates with networks in order, then the drift of the remaining links
        (backward: the drift undone first, then the sub-updates inverted in reverse order)."""
        drift = eps * v * self._drift_mask(x)
        order = range(len(self.networks) - 1)
        logdet = tf.zeros_like(x[:, 0, 0, 0])
        if not forward:
            x = lattice.wrap(x - drift)
        for k in (order if forward else reversed(order)):
            x, ld = self._subupdate(x, v, k, forward, eps)
            logdet += ld
        if forward:
            x = lattice.wrap(x + drift)
        return x, logdet
