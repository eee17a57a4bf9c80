"""PNG figures (matplotlib, no display needed): charge histories, autocorrelation with its
window, tau_int against beta (the paper's figure 4), in-trajectory diagnostics (figures 6, 7)."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyerrors as pe  # noqa: E402

from . import atomic  # noqa: E402


def _save(fig, path: Path) -> Path:
    """The figure at `path`, whole or not at all (a hidden temporary renamed over)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.tight_layout()
    try:
        with atomic.writing(path, tmp):
            fig.savefig(tmp, dpi=110)
            tmp.replace(path)
    finally:
        plt.close(fig)
    return path


def charge_history(charge: np.ndarray, path: Path, n_chains: int = 4, title: str = "") -> Path:
    """Q_Z against trajectory for the first few chains ([steps, chains] input)."""
    fig, ax = plt.subplots(figsize=(8, 3))
    for c in range(min(n_chains, charge.shape[1])):
        ax.plot(np.rint(charge[:, c]), lw=0.8, drawstyle="steps-mid", label=f"chain {c}")
    ax.set(xlabel="trajectory", ylabel="$Q_Z$", title=title)
    ax.legend(loc="upper right", fontsize=7)
    return _save(fig, path)


def autocorrelation(series: np.ndarray, path: Path, name: str = "Q_Z") -> Path:
    """Normalised autocorrelation rho(t) with its error and the Gamma-method window."""
    obs = pe.Obs([series[:, c] for c in range(series.shape[1])],
                 [f"ens|r{c}" for c in range(series.shape[1])])
    obs.gamma_method(S=1.5)
    rho, drho = obs.e_rho["ens"], obs.e_drho["ens"]
    window = obs.e_windowsize["ens"]
    t = np.arange(min(len(rho), max(4 * window, 20)))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.errorbar(t, rho[t], drho[t], fmt=".", ms=3, lw=0.7)
    ax.axvline(window, color="k", ls="--", lw=0.8, label=f"window W = {window}")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="t (trajectories)", ylabel=f"$\\rho_{{{name}}}(t)$",
           title=f"tau_int = {2 * obs.e_tauint['ens']:.2f} ± {2 * obs.e_dtauint['ens']:.2f}")
    ax.legend()
    return _save(fig, path)


class TauPoint(NamedTuple):
    """One point of a tau_int-against-beta plot: a sampler's (N_LF *) tau_int with its error."""
    label: str
    beta: float
    value: float
    error: float


def tau_vs_beta(points: list[TauPoint], path: Path, ylabel: str = "$\\tau_{int}(Q_Z)$",
                reference: dict[str, dict[float, float]] | None = None) -> Path:
    """tau_int(Q_Z) (or N_LF * tau_int, with its ylabel) with errors against beta, one line
    per label; reference adds published values, {label: {beta: value}}, as dashed lines."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label in sorted({p.label for p in points}):
        b, value, err = (np.array(v) for v in zip(*sorted(
            (p.beta, p.value, p.error) for p in points if p.label == label)))
        ax.errorbar(b, value, err, marker="o", capsize=3, label=label)
    for label, values in (reference or {}).items():
        b = sorted(values)
        ax.plot(b, [values[k] for k in b], ls="--", marker="x", label=label)
    ax.set(xlabel="$\\beta$", ylabel=ylabel, yscale="log")
    ax.legend()
    return _save(fig, path)


def trajectory_trace(trace: dict[str, np.ndarray], path: Path) -> Path:
    """H - sum log|J|, plaquette, Q_R and Q_Z across the leapfrog layers of one trajectory."""
    keys = [("h_minus_logdet", "$H - \\sum\\log|J|$"), ("plaquette", "plaquette"),
            ("charge_sin", "$Q_R$"), ("charge_int", "$Q_Z$")]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3))
    for ax, (key, label) in zip(axes, keys):
        values = trace[key]
        layer = np.arange(values.shape[0])
        ax.plot(layer, values, color="C0", alpha=0.25, lw=0.7)
        ax.plot(layer, values.mean(axis=1), color="C1", lw=2, label="mean")
        ax.set(xlabel="leapfrog layer", title=label)
    axes[0].legend()
    return _save(fig, path)
