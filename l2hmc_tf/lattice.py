"""2D U(1) lattice gauge theory on a periodic Lt x Lx torus (docs/physics.md section 1).

A batch of configurations is a float tensor of link angles with shape [batch, Lt, Lx, 2]:
the last axis is the direction mu, mu=0 points along axis 1 and mu=1 along axis 2.
Every function here works for float32 and float64 alike and is safe inside tf.function.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import tensorflow as tf

from .checks import check_shape

TWO_PI = 2.0 * math.pi
FLOAT_DTYPES = (tf.float32, tf.float64)


def wrap(x: tf.Tensor) -> tf.Tensor:
    """Map angles to [-pi, pi)."""
    return x - TWO_PI * tf.floor((x + math.pi) / TWO_PI)


def plaquette_angles(x: tf.Tensor) -> tf.Tensor:
    """x_P(n) = x_0(n) + x_1(n + e0) - x_0(n + e1) - x_1(n), shape [batch, Lt, Lx]."""
    return plaquettes_of_components(x[..., 0], x[..., 1])


def plaquettes_of_components(x0: tf.Tensor, x1: tf.Tensor, t_axis: int = 1,
                             x_axis: int = 2) -> tf.Tensor:
    """plaquette_angles from the two link directions held as separate tensors whose lattice
    axes are t_axis and x_axis ([batch, Lt, Lx] by default)."""
    return (x0 + tf.roll(x1, shift=-1, axis=t_axis) - tf.roll(x0, shift=-1, axis=x_axis)
            - x1)


def action(x: tf.Tensor, beta) -> tf.Tensor:
    """Wilson action beta * sum_P (1 - cos x_P) per configuration, shape [batch]."""
    return beta * tf.reduce_sum(1.0 - tf.cos(plaquette_angles(x)), axis=(1, 2))


def force(x: tf.Tensor, beta) -> tf.Tensor:
    """Analytic dS/dx, same shape as x (the test suite checks it against autodiff)."""
    return beta * tf.stack(force_per_beta(x[..., 0], x[..., 1]), axis=-1)


def force_per_beta(x0: tf.Tensor, x1: tf.Tensor, t_axis: int = 1,
                   x_axis: int = 2) -> tuple[tf.Tensor, tf.Tensor]:
    """(dS/dx_0, dS/dx_1) / beta for links held as two tensors (axes as in
    plaquettes_of_components): the form HMC integrates in, with beta folded into its kicks."""
    sin_p = tf.sin(plaquettes_of_components(x0, x1, t_axis, x_axis))
    return (sin_p - tf.roll(sin_p, shift=1, axis=x_axis),
            tf.roll(sin_p, shift=1, axis=t_axis) - sin_p)


def charge_int(x: tf.Tensor) -> tf.Tensor:
    """Integer topological charge Q_Z = sum_P wrap(x_P) / 2pi, shape [batch]."""
    return tf.reduce_sum(wrap(plaquette_angles(x)), axis=(1, 2)) / TWO_PI


def charge_sin(x: tf.Tensor) -> tf.Tensor:
    """Smooth charge Q_R = sum_P sin(x_P) / 2pi, shape [batch]; differentiable, used by the loss."""
    return tf.reduce_sum(tf.sin(plaquette_angles(x)), axis=(1, 2)) / TWO_PI


def mean_plaquette(x: tf.Tensor) -> tf.Tensor:
    """Average plaquette <cos x_P> per configuration, shape [batch]."""
    return tf.reduce_mean(tf.cos(plaquette_angles(x)), axis=(1, 2))


class Observables(NamedTuple):
    """Everything the samplers report about a batch, from one plaquette computation."""
    action: tf.Tensor        # [batch]
    charge_int: tf.Tensor
    charge_sin: tf.Tensor
    plaquette: tf.Tensor

    def where(self, condition: tf.Tensor, other: "Observables") -> "Observables":
        """Per chain, these observables where condition holds, else other's (an MH step)."""
        return Observables(*(tf.where(condition, a, b) for a, b in zip(self, other)))


def observables(x: tf.Tensor, beta) -> Observables:
    """action, Q_Z, Q_R and <cos x_P> per configuration, sharing the plaquette angles."""
    p = plaquette_angles(x)
    cos = tf.cos(p)
    return Observables(
        action=beta * tf.reduce_sum(1.0 - cos, axis=(1, 2)),
        charge_int=tf.reduce_sum(wrap(p), axis=(1, 2)) / TWO_PI,
        charge_sin=tf.reduce_sum(tf.sin(p), axis=(1, 2)) / TWO_PI,
        plaquette=tf.reduce_mean(cos, axis=(1, 2)))


def instanton_field(lt, lx, dtype=tf.float32) -> tf.Tensor:
    """The field A of docs/physics.md section 10, shape [Lt, Lx, 2]: A_1(n) = 2 pi n_0 / V and
    A_0(Lt - 1, n_1) = -2 pi n_1 / Lx, zero elsewhere. Every plaquette of A is 2 pi / V
    (mod 2 pi), so x -> wrap(x +- A) moves Q_Z by +-1 unless a plaquette of x lies within
    2 pi / V of +-pi; the map has unit Jacobian. Sides may be ints or scalar tensors. The move
    exists because the model is 2D U(1); it has no analogue in 4D SU(3)."""
    t = tf.cast(tf.range(lt), dtype)[:, None]
    n_x = tf.cast(tf.range(lx), dtype)[None, :]
    volume = tf.cast(lt * lx, dtype)
    a1 = TWO_PI * t / volume + 0.0 * n_x
    last_row = tf.cast(tf.equal(tf.range(lt), lt - 1), dtype)[:, None]
    a0 = -TWO_PI * n_x / tf.cast(lx, dtype) * last_row
    return tf.stack([a0, a1], axis=-1)


def gauge_transform(x: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
    """x_mu(n) -> x_mu(n) + alpha(n) - alpha(n + e_mu) for site angles alpha [batch, Lt, Lx]."""
    shifted = tf.stack([tf.roll(alpha, -1, axis=1), tf.roll(alpha, -1, axis=2)], axis=-1)
    return wrap(x + alpha[..., None] - shifted)


def check_dtype(dtype) -> tf.DType:
    """Accept float32 and float64 only (as a tf.DType, numpy dtype or name)."""
    try:
        dt = tf.as_dtype(dtype)
    except TypeError as err:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from err
    if dt not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dt.name}")
    return dt


def check_links(x, shape: tuple[int, int] | None = None, dtype=None) -> tf.Tensor:
    """Validate a batch of configurations at an API boundary (eager, before compiled work)."""
    x = tf.convert_to_tensor(x)
    if x.dtype not in FLOAT_DTYPES:
        raise ValueError(f"links must be float32 or float64, got {x.dtype.name}")
    if dtype is not None and x.dtype != check_dtype(dtype):
        raise ValueError(f"links have dtype {x.dtype.name}, expected {tf.as_dtype(dtype).name}")
    if x.shape.rank != 4 or x.shape[-1] != 2:
        raise ValueError(f"links must have shape [batch, Lt, Lx, 2], got {x.shape.as_list()}")
    check_shape(x.shape[1], x.shape[2])
    if shape is not None and tuple(x.shape[1:3]) != tuple(shape):
        raise ValueError(
            f"links have lattice shape {tuple(x.shape[1:3])}, expected {tuple(shape)}")
    if not bool(tf.reduce_all(tf.math.is_finite(x))):
        raise ValueError("links contain NaN or Inf; start from random_start or cold_start")
    return x


def random_start(batch: int, lt: int, lx: int, dtype=tf.float32, seed: int = 0) -> tf.Tensor:
    """Hot start: independent uniform link angles in [-pi, pi)."""
    lt, lx = check_shape(lt, lx)
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    u = tf.random.stateless_uniform([batch, lt, lx, 2], seed=[seed, 0], dtype=check_dtype(dtype))
    return wrap(TWO_PI * u - math.pi)


def cold_start(batch: int, lt: int, lx: int, dtype=tf.float32) -> tf.Tensor:
    """Cold start: all links zero (unit gauge field, Q = 0)."""
    lt, lx = check_shape(lt, lx)
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    return tf.zeros([batch, lt, lx, 2], dtype=check_dtype(dtype))
