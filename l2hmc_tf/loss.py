"""Training loss (docs/physics.md section 5): reward accepted proposals that move the charge.

Computed from a kernel.Transition on the proposal x' (not the accepted state), so gradients
flow through the acceptance probability A and through Q_R(x').
"""
from __future__ import annotations

from typing import get_args

import tensorflow as tf

from . import lattice
from .config import LossForm
from .kernel import Transition, charge_jump


def expected_plaquette_jump(accept_prob, x_init, x_prop) -> tf.Tensor:
    """A * sum_P 2 (1 - cos(x'_P - x_P)) per chain: rewards moving the plaquettes at all."""
    dp = lattice.plaquette_angles(x_prop) - lattice.plaquette_angles(x_init)
    return accept_prob * tf.reduce_sum(2.0 * (1.0 - tf.cos(dp)), axis=(1, 2))


def _term(jump, weight: float, form: str, eps: float):
    if form == "mixed":   # w/l - l/w: large when l is tiny, so gradients stay alive early on
        return tf.reduce_mean(weight / (jump + eps)) - tf.reduce_mean(jump / weight)
    return -weight * tf.reduce_mean(jump)


def loss(step: Transition, charge_weight: float = 1.0, plaq_weight: float = 0.0,
         form: LossForm = "standard", eps: float = 1e-4) -> tf.Tensor:
    """Scalar loss to minimise; weights of zero drop their term."""
    if form not in get_args(LossForm):
        raise ValueError(f"loss form must be one of {get_args(LossForm)}, got {form!r}")
    prob = step.accept_prob
    total = tf.zeros([], prob.dtype)
    if charge_weight > 0:
        jump = charge_jump(prob, step.before.charge_sin, step.after.charge_sin)
        total += _term(jump, charge_weight, form, eps)
    if plaq_weight > 0:
        jump = expected_plaquette_jump(prob, step.x, step.proposal.x)
        total += _term(jump, plaq_weight, form, eps)
    return total
