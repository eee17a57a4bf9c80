"""Exact plaquette, <Q_Z^2>, chi_Q and Wilson loops of 2D U(1) on a finite periodic torus
(docs/physics.md sections 2 and 12).

Every sampler in this project is validated against these numbers. The character expansion
sums sectors n with weights w_n = I_n(beta)^V / sum_m I_m(beta)^V; Bessel functions are
exponentially scaled and weights are built in log space, so it stays finite up to beta = 12
and V = 64*64. The phi-integrals use Gauss-Legendre quadrature, vectorised over beta.

    python -m l2hmc_tf.exact --L 8 --beta 1 2 3 [--json]
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special

from .checks import check_beta, check_shape

N_SECTORS = 64        # sectors -N..N; (I_n/I_0)^V is below 1e-20 long before this for V >= 3
N_QUADRATURE = 400    # Gauss-Legendre nodes on [0, pi]; integrands are smooth and periodic


@dataclass(frozen=True)
class TorusResult:
    """Exact expectation values at one (lattice, beta)."""
    L: int | str
    beta: float
    plaquette: float
    q2: float
    chi_q: float


def _sector_weights(log_bessel: np.ndarray, volume: int) -> np.ndarray:
    """w_n = I_n^V / sum I_m^V from log I_n, shape [beta, sector]; zero where I_n underflows."""
    log_w = volume * log_bessel
    log_w -= np.max(log_w, axis=1, keepdims=True)
    w = np.exp(log_w)
    return w / np.sum(w, axis=1, keepdims=True)


def torus_observables(lt: int, lx: int, betas) -> dict[str, np.ndarray]:
    """Plaquette, <Q_Z^2> and chi_Q = <Q_Z^2>/V on an lt x lx torus for each beta.

    Returns a dict of arrays with the shape of `betas`.
    """
    lt, lx = check_shape(lt, lx)
    volume = lt * lx
    beta = np.atleast_1d(np.asarray(betas, dtype=np.float64))
    for b in beta:
        check_beta(float(b))
    n = np.arange(-N_SECTORS, N_SECTORS + 1, dtype=np.float64)
    b = beta[:, None]
    ive = special.ive(n[None, :], b)                             # I_n(beta) e^{-beta}
    ive_up, ive_down = special.ive(n + 1, b), special.ive(n - 1, b)
    with np.errstate(divide="ignore"):
        weights = _sector_weights(np.log(ive), volume)
    alive = weights > 0
    safe_ive = np.where(alive, ive, 1.0)
    plaquette = np.sum(np.where(alive, weights * (ive_up + ive_down) / (2 * safe_ive), 0), axis=1)

    nodes, quad_w = np.polynomial.legendre.leggauss(N_QUADRATURE)
    phi = 0.5 * math.pi * (nodes + 1.0)                           # [0, pi]
    quad_w = 0.5 * math.pi * quad_w
    kernel = quad_w[None, :] * np.exp(b * (np.cos(phi)[None, :] - 1.0))   # [beta, phi]
    n_phi = n[:, None] * phi[None, :]                             # [sector, phi]
    a_n = kernel @ (phi**2 * np.cos(n_phi)).T / math.pi / safe_ive   # <phi^2>_n
    b_n = kernel @ (phi * np.sin(n_phi)).T / math.pi / safe_ive
    per_sector = np.where(alive, weights * (a_n - (volume - 1) * b_n**2), 0)
    # A_n - (V-1) B_n^2 cancels to ~1e-16 absolute; where <Q^2> itself is that small (a few
    # plaquettes at large beta: the charge is frozen) round-off could make it slightly negative.
    q2 = np.maximum(volume / (4 * math.pi**2) * np.sum(per_sector, axis=1), 0.0)
    shape = np.shape(betas)
    return {"plaquette": plaquette.reshape(shape), "q2": q2.reshape(shape),
            "chi_q": (q2 / volume).reshape(shape)}


def charge_distribution(lt: int, lx: int, beta: float, q_max: int = 16) -> np.ndarray:
    """P(Q_Z = Q) for Q = -q_max..q_max on an lt x lx torus: the Fourier coefficients of
    Z(theta) = sum_n g(n + theta/2pi)^V (section 2), g(nu) = (1/pi) int_0^pi e^{beta cos phi}
    cos(nu phi) dphi. Z is smooth and 2pi-periodic, so the trapezoid rule on a uniform theta
    grid is exact to round-off; g^V is taken relative to g(0)^V in log space."""
    lt, lx = check_shape(lt, lx)
    check_beta(beta)
    volume = lt * lx
    n_theta = 4 * (q_max + 1) + 64                     # no aliasing for |Q| <= q_max
    theta = 2 * math.pi * np.arange(n_theta) / n_theta - math.pi
    n = np.arange(-N_SECTORS, N_SECTORS + 1, dtype=np.float64)
    nu = n[:, None] + theta[None, :] / (2 * math.pi)    # [sector, theta]
    nodes, quad_w = np.polynomial.legendre.leggauss(N_QUADRATURE)
    phi = 0.5 * math.pi * (nodes + 1.0)
    kernel = 0.5 * quad_w * np.exp(beta * (np.cos(phi) - 1.0))   # e^{-beta} scaled
    g = np.cos(nu[..., None] * phi) @ kernel                      # [sector, theta]
    g0 = float(np.sum(kernel))
    with np.errstate(divide="ignore"):
        log_ratio = volume * (np.log(np.abs(g)) - math.log(g0))
    z = np.sum(np.sign(g) ** volume * np.exp(log_ratio), axis=0)   # Z(theta) / g(0)^V
    charges = np.arange(-q_max, q_max + 1)
    p = np.cos(np.outer(charges, theta)) @ z
    p = np.maximum(p, 0.0)                              # round-off in the far tails
    return p / np.sum(p)


def infinite_volume_plaquette(betas) -> np.ndarray:
    """<cos x_P> = I_1(beta) / I_0(beta) in infinite volume."""
    b = np.asarray(betas, dtype=np.float64)
    return special.ive(1, b) / special.ive(0, b)


def wilson_loop(lt: int, lx: int, beta: float, area: int) -> float:
    """<W> of a contractible Wilson loop enclosing `area` plaquettes on an lt x lx torus
    (section 12): in the character expansion the plaquettes inside carry I_{n+1}, the rest
    I_n, so <W_A> = sum_n I_n^(V-A) I_{n+1}^A / sum_n I_n^V (area 1: the plaquette). The
    shape of the loop does not enter, only its area."""
    lt, lx = check_shape(lt, lx)
    check_beta(beta)
    volume = lt * lx
    if not (isinstance(area, (int, np.integer)) and 1 <= area < volume):
        raise ValueError(f"area must be an integer in [1, {volume - 1}] on {lt}x{lx}, got {area}")
    n = np.arange(-N_SECTORS, N_SECTORS + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_i, log_up = np.log(special.ive(n, beta)), np.log(special.ive(n + 1, beta))
    inside = special.logsumexp((volume - area) * log_i + area * log_up)
    return float(np.exp(inside - special.logsumexp(volume * log_i)))


def infinite_volume_wilson_loop(beta: float, area: int) -> float:
    """(I_1(beta) / I_0(beta))^area: the area law, whose string tension is -ln(I_1 / I_0)."""
    return float(infinite_volume_plaquette(beta)) ** area


def creutz_ratio(lt: int, lx: int, beta: float, r: int, t: int) -> float:
    """chi(R, T) = -ln[W(R, T) W(R-1, T-1) / (W(R, T-1) W(R-1, T))], W(0, .) = W(., 0) = 1:
    the string tension of an R x T loop; exactly -ln(I_1 / I_0) in infinite volume."""
    def w(a: int, b: int) -> float:
        return 1.0 if a * b == 0 else wilson_loop(lt, lx, beta, a * b)
    return -math.log(w(r, t) * w(r - 1, t - 1) / (w(r, t - 1) * w(r - 1, t)))


def exact_results(L: int, betas) -> list[TorusResult]:
    """One TorusResult per beta on an L x L torus."""
    obs = torus_observables(L, L, np.atleast_1d(betas))
    return [TorusResult(L=L, beta=float(b), plaquette=float(p), q2=float(q), chi_q=float(c))
            for b, p, q, c in zip(np.atleast_1d(betas), obs["plaquette"], obs["q2"], obs["chi_q"])]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m l2hmc_tf.exact",
        description="Exact plaquette, <Q_Z^2> and chi_Q of 2D U(1) on an L x L torus.")
    parser.add_argument("--L", type=int, required=True, help="lattice side (L x L torus)")
    parser.add_argument("--beta", type=float, nargs="+", required=True, help="couplings")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    args = parser.parse_args(argv)
    try:
        rows = exact_results(args.L, args.beta)
    except ValueError as err:
        parser.error(str(err))
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=1))
        return
    print(f"{'L':>4} {'beta':>8} {'plaquette':>14} {'<Q_Z^2>':>14} {'chi_Q':>14}")
    for r in rows:
        print(f"{r.L:>4} {r.beta:>8.4g} {r.plaquette:>14.10f} {r.q2:>14.8f} {r.chi_q:>14.8g}")


if __name__ == "__main__":
    main()
