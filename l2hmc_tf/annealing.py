"""Annealing schedules (seed paper section 3.3): train on exp(-gamma_t S_beta_final).

gamma_t rises monotonically from beta_start / beta_final to exactly 1 at the last step, so
beta_t = gamma_t * beta_final; after the last step the schedule stays at beta_final.
"""
from __future__ import annotations

from typing import get_args

import numpy as np

from .checks import check_beta, check_positive_int
from .config import AnnealingKind

KINDS = get_args(AnnealingKind)


class Schedule:
    """beta_t for t = 0 .. n_steps - 1 (clamped beyond), precomputed once."""

    def __init__(self, kind: AnnealingKind, beta_start: float, beta_final: float, n_steps: int,
                 stages: int = 5):
        if kind not in KINDS:
            raise ValueError(f"annealing kind must be one of {KINDS}, got {kind!r}")
        beta_final = check_beta(beta_final, "beta_final")
        beta_start = check_beta(beta_start, "beta_start")
        n_steps = check_positive_int(n_steps, "n_steps")
        stages = check_positive_int(stages, "stages")
        if kind != "none" and beta_start > beta_final:
            raise ValueError(f"annealing needs beta_start <= beta_final, got {beta_start} > "
                             f"{beta_final}; gamma_t must rise to 1")
        g0 = beta_start / beta_final
        t = np.arange(n_steps) / max(n_steps - 1, 1)
        if kind == "none":
            gamma = np.ones(n_steps)
        elif kind == "linear":
            gamma = g0 + (1.0 - g0) * t
        elif kind == "geometric":
            gamma = g0 ** (1.0 - t)
        else:   # equal plateaus from g0 up to 1; the last plateau is exactly 1
            level = np.minimum((t * stages).astype(int), stages - 1)
            gamma = g0 + (1.0 - g0) * (level / (stages - 1) if stages > 1 else 1.0)
        gamma[-1] = 1.0
        self.gamma = np.maximum.accumulate(np.minimum(gamma, 1.0))
        self.beta_final = beta_final

    def beta(self, step: int) -> float:
        """beta at training step `step` (0-based)."""
        return float(self.gamma[min(step, len(self.gamma) - 1)] * self.beta_final)
