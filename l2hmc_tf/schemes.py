"""The splitting schemes of one integrator step: leapfrog and the minimum-norm (Omelyan) 2MN.

A step is a palindrome of momentum kicks and link drifts, K D K ... D K: kick j moves
v by a fraction kicks[j] of eps_v times the force, drift j moves x by a fraction drifts[j] of
eps_x times v. Both schemes are symmetric, so a step is reversible and volume-preserving, and
both are second order (energy error ~ eps^2 at fixed trajectory length). 2MN's
lambda = 0.1931833 minimises the norm of the eps^3 error terms (Omelyan, Mryglod and
Folk, Comput. Phys. Commun. 151 (2003) 272), which makes its energy error ~10x smaller than
leapfrog's at the same step; it pays two force evaluations per step against leapfrog's one
(a step's last kick shares its force with the next step's first), so every cost the project
reports counts force evaluations (docs/physics.md section 3).
"""
from __future__ import annotations

from typing import NamedTuple

OMELYAN_LAMBDA = 0.1931833275037836


class Scheme(NamedTuple):
    kicks: tuple[float, ...]    # fractions of eps_v, one more than drifts, summing to 1
    drifts: tuple[float, ...]   # fractions of eps_x, summing to 1

    @property
    def forces_per_step(self) -> int:
        """New force evaluations per step: one after every drift."""
        return len(self.drifts)


SCHEMES = {
    "leapfrog": Scheme(kicks=(0.5, 0.5), drifts=(1.0,)),
    "2mn": Scheme(kicks=(OMELYAN_LAMBDA, 1.0 - 2.0 * OMELYAN_LAMBDA, OMELYAN_LAMBDA),
                  drifts=(0.5, 0.5)),
}


def scheme(name: str) -> Scheme:
    """The scheme called `name` (config.Integrator), or a ValueError naming the choices."""
    if name not in SCHEMES:
        raise ValueError(f"integrator must be one of {', '.join(SCHEMES)}, got {name!r}")
    return SCHEMES[name]
