"""Input validation shared by every entry point; pure Python so light modules stay TF-free."""
from __future__ import annotations

import math
import numbers


def check_beta(beta, name: str = "beta") -> float:
    """A coupling must be a positive, finite number."""
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
        raise ValueError(f"{name} must be a positive number, got {beta!r}")
    if not math.isfinite(beta) or beta <= 0:
        raise ValueError(f"{name} must be positive and finite, got {beta!r}")
    return float(beta)


def check_shape(lt, lx, even: bool = False) -> tuple[int, int]:
    """Lattice sides must be integers >= 2 (and even where checkerboard masks need it)."""
    for name, side in (("Lt", lt), ("Lx", lx)):
        if isinstance(side, bool) or not isinstance(side, numbers.Integral) or side < 2:
            raise ValueError(f"lattice side {name} must be an integer >= 2, got {side!r}")
        if even and side % 2:
            raise ValueError(
                f"lattice side {name}={side} is odd, but checkerboard link masks need even "
                "sides; choose an even lattice size")
    return int(lt), int(lx)


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """Counts (steps, chains, layers) must be integers >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def parse_lattice(text: str) -> tuple[int, int]:
    """'16x16' -> (16, 16); '16' -> (16, 16)."""
    parts = str(text).lower().split("x")
    try:
        sides = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"lattice must look like 16x16 or 16, got {text!r}") from None
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) != 2:
        raise ValueError(f"lattice must look like 16x16 or 16, got {text!r}")
    return check_shape(*sides)
