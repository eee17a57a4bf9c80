"""Observables of stored or sampled configurations, in one registry.

An observable is a function of the link angles, a numpy array [configs, Lt, Lx, 2] (the
layout of lattice.py), returning one value per configuration. Each has a name, and where the
finite torus has one, its exact expectation value (exact.py). `bin/measure.py`, the Python
API and the tests find them here by name. Adding your own takes a few lines:

    from l2hmc_tf import observables

    @observables.register("polyakov_t", "mean Polyakov loop along t")
    def polyakov_t(x):
        return np.cos(x[..., 0].sum(axis=1)).mean(axis=1)

Wilson loops are the family "W<R>x<T>" (R links along x, T along t, averaged over positions
and both orientations); "wilson" asks for every W with R, T <= L/2, and then bin/measure.py
also reports the Creutz ratios built from them.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import exact

TWO_PI = 2.0 * math.pi
WILSON = re.compile(r"W(\d+)x(\d+)")


@dataclass(frozen=True)
class Observable:
    name: str
    description: str
    function: Callable[[np.ndarray], np.ndarray]       # links [n, Lt, Lx, 2] -> [n]
    exact: Callable[[int, int, float], float] | None = None   # (Lt, Lx, beta) -> <O>


REGISTRY: dict[str, Observable] = {}


def register(name: str, description: str, exact_value=None):
    """Decorator: add function(links) -> [configs] to the registry under `name`."""
    def add(function):
        if name in REGISTRY or WILSON.fullmatch(name) or name == "wilson":
            raise ValueError(f"observable {name!r} exists already; choose another name")
        REGISTRY[name] = Observable(name, description, function, exact_value)
        return function
    return add


def plaquette_angles(x: np.ndarray) -> np.ndarray:
    """x_P(n) = x_0(n) + x_1(n + e0) - x_0(n + e1) - x_1(n), [configs, Lt, Lx] (lattice.py)."""
    x0, x1 = x[..., 0], x[..., 1]
    return x0 + np.roll(x1, -1, axis=1) - np.roll(x0, -1, axis=2) - x1


def wrapped(angles: np.ndarray) -> np.ndarray:
    return angles - TWO_PI * np.floor((angles + math.pi) / TWO_PI)


@register("plaquette", "mean plaquette <cos x_P>",
          lambda lt, lx, beta: float(exact.torus_observables(lt, lx, beta)["plaquette"]))
def plaquette(x: np.ndarray) -> np.ndarray:
    return np.cos(plaquette_angles(x)).mean(axis=(1, 2))


@register("charge", "integer topological charge Q_Z", lambda lt, lx, beta: 0.0)
def charge(x: np.ndarray) -> np.ndarray:
    return np.rint(wrapped(plaquette_angles(x)).sum(axis=(1, 2)) / TWO_PI)


@register("q2", "Q_Z^2", lambda lt, lx, beta: float(exact.torus_observables(lt, lx, beta)["q2"]))
def charge_squared(x: np.ndarray) -> np.ndarray:
    return charge(x) ** 2


@register("chi_q", "topological susceptibility Q_Z^2 / V",
          lambda lt, lx, beta: float(exact.torus_observables(lt, lx, beta)["chi_q"]))
def susceptibility(x: np.ndarray) -> np.ndarray:
    return charge(x) ** 2 / (x.shape[1] * x.shape[2])


def wilson_loop(x: np.ndarray, r: int, t: int) -> np.ndarray:
    """W(R, T) per configuration: cos of the angle around every R x T and T x R rectangle,
    averaged. By Stokes' theorem on the lattice, the angle around a rectangle is the sum of
    the plaquette angles inside it (mod 2 pi), which is how it is summed here."""
    angles = plaquette_angles(x)
    return 0.5 * (_rectangles(angles, t, r) + _rectangles(angles, r, t))


def _rectangles(angles: np.ndarray, along_t: int, along_x: int) -> np.ndarray:
    """Mean over positions of cos(sum of the plaquette angles in an along_t x along_x box)."""
    rows = sum(np.roll(angles, -k, axis=1) for k in range(along_t))
    boxes = sum(np.roll(rows, -j, axis=2) for j in range(along_x))
    return np.cos(boxes).mean(axis=(1, 2))


def max_loop(lt: int, lx: int) -> int:
    """The largest R and T measured: L/2 of the shorter side."""
    return min(lt, lx) // 2


def wilson_observable(r: int, t: int, lt: int, lx: int) -> Observable:
    """W<R>x<T> on an lt x lx lattice, refused when R or T exceeds L/2."""
    largest = max_loop(lt, lx)
    if not (1 <= r <= largest and 1 <= t <= largest):
        raise ValueError(f"W{r}x{t}: Wilson loops need 1 <= R, T <= L/2 = {largest} on "
                         f"{lt}x{lx}; ask for a smaller loop")
    return Observable(f"W{r}x{t}", f"Wilson loop {r} x {t}",
                      lambda x: wilson_loop(x, r, t),
                      lambda lt_, lx_, beta: exact.wilson_loop(lt_, lx_, beta, r * t))


def resolve(names, lt: int, lx: int) -> list[Observable]:
    """The observables `names` asks for on an lt x lx lattice ("wilson": every W<R>x<T> with
    R, T <= L/2), checked by name before any work."""
    chosen: list[Observable] = []
    for name in names:
        match = WILSON.fullmatch(name)
        if name == "wilson":
            largest = max_loop(lt, lx)
            chosen += [wilson_observable(r, t, lt, lx) for r in range(1, largest + 1)
                       for t in range(r, largest + 1)]
        elif match:
            chosen.append(wilson_observable(int(match[1]), int(match[2]), lt, lx))
        elif name in REGISTRY:
            chosen.append(REGISTRY[name])
        else:
            known = ", ".join(sorted(REGISTRY) + ["W<R>x<T>", "wilson"])
            raise ValueError(f"unknown observable {name!r}; known: {known}")
    return list({o.name: o for o in chosen}.values())
