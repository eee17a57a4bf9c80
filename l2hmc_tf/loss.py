"""Training loss (physics.md section 5): reward accepted proposals that move the charge.

Computed on the proposal x' (not the accepted state), so gradients flow through the
acceptance probability A and through Q_R(x').
"""
from __future__ import annotations

import tensorflow as tf

from . import lattice


def expected_charge_jump(accept_prob, x_init, x_prop) -> tf.Tensor:
    """A * (Q_R(x') - Q_R(x))^2 per chain: the quantity training maximises."""
    dq = lattice.charge_sin(x_prop) - lattice.charge_sin(x_init)
    return accept_prob * tf.square(dq)


def expected_plaquette_jump(accept_prob, x_init, x_prop) -> tf.Tensor:
    """A * sum_P 2 (1 - cos(x'_P - x_P)) per chain: rewards moving the plaquettes at all."""
    dp = lattice.plaquette_angles(x_prop) - lattice.plaquette_angles(x_init)
    return accept_prob * tf.reduce_sum(2.0 * (1.0 - tf.cos(dp)), axis=(1, 2))


def _term(jump, weight: float, form: str, eps: float):
    if form == "mixed":   # w/l - l/w: large when l is tiny, so gradients stay alive early on
        return tf.reduce_mean(weight / (jump + eps)) - tf.reduce_mean(jump / weight)
    return -weight * tf.reduce_mean(jump)


def loss(accept_prob, x_init, x_prop, charge_weight: float = 1.0, plaq_weight: float = 0.0,
         form: str = "standard", eps: float = 1e-4) -> tf.Tensor:
    """Scalar loss to minimise; weights of zero drop their term."""
    if form not in ("standard", "mixed"):
        raise ValueError(f"loss form must be 'standard' or 'mixed', got {form!r}")
    total = tf.zeros([], accept_prob.dtype)
    if charge_weight > 0:
        total += _term(expected_charge_jump(accept_prob, x_init, x_prop), charge_weight, form, eps)
    if plaq_weight > 0:
        total += _term(expected_plaquette_jump(accept_prob, x_init, x_prop), plaq_weight, form,
                       eps)
    return total
