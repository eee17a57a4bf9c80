"""Keras 3 networks of the generalised leapfrog: they map link features to (s, t, q) heads.

Every network sees a features tensor [batch, Lt, Lx, C] built by the dynamics (links enter as
[cos x, sin x] through LinkEncoding) and returns three tensors shaped like the links:
    s = lambda_s * tanh(W_s h + b_s),  t = W_t h + b_t,  q = lambda_q * tanh(W_q h + b_q)
with lambda_s, lambda_q trainable weights. Two trunks:
  - "mlp": dense layers over the flattened lattice (the paper's network); fixed lattice size.
  - "conv": periodic 3x3 convolutions, no layer over sites, so one set of weights runs on any
    lattice size (train small, sample big).
  - "scalar" (ScalarHeads): no network at all, one trainable s and q per layer on every link
    (tempered HMC), to measure how much of a gain the heating schedule alone gives.
The architecture (kind, units, activation, ...) is a config.NetworkConfig, whose defaults and
allowed values are defined there.
"""
from __future__ import annotations

from typing import NamedTuple

import keras
import tensorflow as tf

from .config import NetworkConfig


class Heads(NamedTuple):
    """Network outputs, each shaped like the links [batch, Lt, Lx, 2]."""
    s: tf.Tensor
    t: tf.Tensor
    q: tf.Tensor


class LinkEncoding(keras.layers.Layer):
    """x -> [mask*cos x, mask*sin x] on the channel axis: angles enter networks as points on
    the circle, and masked-out links (those being updated) enter as exact zeros."""

    def call(self, x, mask=None):
        cos, sin = tf.cos(x), tf.sin(x)
        if mask is not None:
            cos, sin = cos * mask, sin * mask
        return tf.concat([cos, sin], axis=-1)


def circular_pad(x: tf.Tensor, halo: int) -> tf.Tensor:
    """x [batch, Lt, Lx, C] extended by `halo` sites on each side of both lattice axes with
    the periodic images (any halo, also one larger than the lattice)."""
    for axis in (1, 2):
        size = tf.shape(x)[axis]
        x = tf.gather(x, tf.range(-halo, size + halo) % size, axis=axis)
    return x


class PeriodicConv2D(keras.layers.Layer):
    """Conv2D on the torus. A stack of them pads its input once (`circular_pad` by the sum
    of their halos) and runs each with `valid`: a valid convolution of a circularly padded
    field is the circular convolution, padded by one halo less, so no layer pads again
    (3-5% per network call measured on one CPU thread; docs/performance.md)."""

    def __init__(self, filters: int, kernel_size: int, activation=None,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.halo = kernel_size // 2
        self.conv = keras.layers.Conv2D(filters, kernel_size, padding="valid",
                                        activation=activation, dtype=self.dtype_policy,
                                        kernel_initializer=kernel_initializer)

    def valid(self, x):
        """The convolution of x, already padded by at least this layer's halo."""
        return self.conv(x)

    def call(self, x):
        return self.valid(circular_pad(x, self.halo))


class UpdateNetwork(keras.layers.Layer):
    """One Gamma or Lambda network: trunk (mlp or conv) then the s, t, q heads."""
    uses_links = True

    def __init__(self, config: NetworkConfig, lattice_shape: tuple[int, int], **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.lattice_shape = tuple(lattice_shape)
        policy = self.dtype_policy
        head_init = keras.initializers.VarianceScaling(scale=max(config.init_scale, 1e-30) ** 2,
                                                       mode="fan_avg")
        if config.init_scale == 0:
            head_init = "zeros"
        if config.kind == "mlp":
            n_out = 2 * self.lattice_shape[0] * self.lattice_shape[1]
            self.trunk = [keras.layers.Flatten(dtype=policy)] + [
                keras.layers.Dense(u, activation=config.activation, dtype=policy)
                for u in config.units]
            self.heads = [keras.layers.Dense(n_out, kernel_initializer=head_init, dtype=policy)
                          for _ in range(3)]
        else:
            self.trunk = [PeriodicConv2D(u, config.kernel_size, activation=config.activation,
                                         dtype=policy) for u in config.units]
            self.heads = [keras.layers.Conv2D(2, 1, kernel_initializer=head_init, dtype=policy)
                          for _ in range(3)]

    def build(self, input_shape):
        self.lambda_s = self.add_weight(shape=(), initializer="ones", name="lambda_s")
        self.lambda_q = self.add_weight(shape=(), initializer="ones", name="lambda_q")

    def call(self, features) -> Heads:
        if self.config.kind == "mlp":
            if tuple(features.shape[1:3]) != self.lattice_shape:
                raise ValueError(
                    f"an mlp network built for lattice {self.lattice_shape} got "
                    f"{tuple(features.shape[1:3])}; use a conv network to change the lattice "
                    "size")
            h = features
            for layer in self.trunk:
                h = layer(h)
        else:
            h = circular_pad(features, sum(layer.halo for layer in self.trunk))
            for layer in self.trunk:
                h = layer.valid(h)
        out_shape = tf.concat([tf.shape(features)[:3], [2]], axis=0)
        s, t, q = (tf.reshape(head(h), out_shape) for head in self.heads)
        return Heads(self.lambda_s * tf.tanh(s), t, self.lambda_q * tf.tanh(q))


class ScalarHeads(keras.layers.Layer):
    """The "scalar" kind: s = s_v and q = q_v, two trainable numbers the same on every link,
    and t = 0. In a v-update, v -> v exp(eps s / 2) - eps / 2 F exp(eps q) heats (s > 0) or
    cools (s < 0) the momenta and rescales the force: tempered HMC with a learned schedule,
    at about the cost of an HMC trajectory."""
    uses_links = False      # its outputs do not depend on the features it is given

    def __init__(self, init_scale: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.init_scale = init_scale
        init = (keras.initializers.RandomNormal(stddev=init_scale) if init_scale else "zeros")
        # created here, not in build(): Dynamics' fast path reads them without calling us
        self.s = self.add_weight(shape=(), initializer=init, name="s_v")
        self.q = self.add_weight(shape=(), initializer=init, name="q_v")
        self.built = True

    def call(self, features) -> Heads:
        ones = tf.ones(tf.concat([tf.shape(features)[:3], [2]], axis=0), features.dtype)
        return Heads(self.s * ones, tf.zeros_like(ones), self.q * ones)
