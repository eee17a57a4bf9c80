"""Typed records of what a sampler run measured: each key is spelled, and each ratio computed,
in this one place.

- `History`: per-trajectory series of every chain, arrays [steps, chains] (also the datasets of
  `inference.h5`).
- `Statistics`: what the Gamma-method analysis of a History gives (means with errors beside
  the exact torus values, tau_int of both charges).
- `ChainSummary`: Statistics plus what was run and what it cost; `summary.json` of
  `bin/infer.py` and each sampler of a training run's evaluation.
- `Comparison`: L2HMC beside HMC at the same settings, with the HMC / L2HMC gains (> 1 means
  L2HMC wins) and the flat row the benchmarks and `bin/compare.py` tabulate.

Every record converts to and from plain dicts (JSON) with `to_dict` / `from_dict`; derived
figures (N_LF * tau_int, seconds per independent configuration, gains) appear in the dicts
but are never read back.
"""
from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields

import numpy as np

from .schemes import SCHEMES

SAMPLERS = ("l2hmc", "hmc")
# Chains shorter than this many tau_int(Q_Z) give error bars (and tau_int) that read low.
TRUSTED_LENGTH_IN_TAU = 20


def sampler_label(sampler: str, instanton_layer: bool = False, instanton_moves: int = 0,
                  integrator: str = "leapfrog") -> str:
    """A sampler's name for logs and tables, with its integrator unless leapfrog, marking the
    instanton move, which only 2D U(1) has, so that nobody mistakes its gains for the
    learned method's."""
    extras = (["instanton layer"] if instanton_layer else []) + (
        [f"{instanton_moves} instanton moves/trajectory"] if instanton_moves else [])
    name = sampler if integrator == "leapfrog" else f"{sampler} ({integrator})"
    return name + (f" + {', '.join(extras)} (2D U(1) only)" if extras else "")


@dataclass
class History:
    """Per-trajectory observables of every chain, arrays of shape [steps, chains]. The field
    names are the datasets of inference.h5 and fields of kernel.StepResults."""
    charge_int: np.ndarray
    charge_sin: np.ndarray
    plaq: np.ndarray
    accept_prob: np.ndarray

    def drop(self, n_therm: int) -> "History":
        """The history without its first n_therm steps (thermalisation)."""
        return History(*(series[n_therm:] for series in self.series()))

    def series(self) -> tuple[np.ndarray, ...]:
        return tuple(getattr(self, name) for name in SERIES)

    @staticmethod
    def concat(parts: list["History"], axis: int = 0) -> "History":
        """Consecutive pieces of the same chains joined along the step axis (axis=1: more
        chains side by side, e.g. every rank's)."""
        return History(*(np.concatenate(p, axis=axis)
                         for p in zip(*(part.series() for part in parts))))


SERIES = tuple(f.name for f in fields(History))


@dataclass(frozen=True)
class Statistics:
    """Means with autocorrelation-aware errors next to the exact values, and tau_int."""
    plaq_mean: float
    plaq_err: float
    plaq_exact: float
    plaq_tau_int: float
    plaq_sigma: float        # (mean - exact) / err
    q2_mean: float           # <Q_Z^2>
    q2_err: float
    q2_exact: float
    q2_tau_int: float
    q2_sigma: float
    tau_int_charge_int: float        # convention 1 + 2 sum rho; NaN for a frozen charge
    tau_int_charge_int_err: float
    tau_int_charge_sin: float
    tau_int_charge_sin_err: float
    accept_mean: float
    tunneling_rate: float    # mean |dQ_Z| per trajectory
    # Topology diagnostics (NaN in summaries written before they existed):
    dq2_mean: float = math.nan       # <dQ_Z^2>: squared change of Q_Z per trajectory (rejected: 0)
    dq2_err: float = math.nan
    tau_int_predicted: float = math.nan      # 4 <Q_Z^2> / <dQ_Z^2> - 1: a diffusing charge's
    tau_int_sokal_per_chain: float = math.nan    # the reference's per-chain estimator
    # analysed trajectories per chain / the larger of tau_int(Q_Z) and tau_int_predicted
    length_in_tau: float = math.nan
    # plaq_err, q2_err are the larger of these two (autocorr.Estimate.reported_error)
    plaq_err_gamma: float = math.nan
    plaq_err_replica: float = math.nan   # spread of the per-chain means
    q2_err_gamma: float = math.nan
    q2_err_replica: float = math.nan

    @property
    def tau_int_is_lower_bound(self) -> bool:
        """tau_int(Q_Z) below half the diffusive prediction: the Gamma-method window cut the
        slow tail of chains too short for it (docs/physics.md section 6)."""
        return self.tau_int_charge_int < 0.5 * self.tau_int_predicted

    def trust_warning(self) -> str | None:
        """A warning when the chains are too short in units of tau_int(Q_Z) for their error
        bars (and tau_int's own) to be trusted; None when they are long enough."""
        if not math.isfinite(self.tau_int_charge_int):
            return ("warning: Q_Z did not move in these chains, so tau_int(Q_Z) is unknown and "
                    "the error bars of <Q_Z^2> cannot be trusted; run longer chains")
        if self.tau_int_is_lower_bound:
            return (f"warning: tau_int(Q_Z) {self.tau_int_charge_int:.1f} is below half the "
                    f"diffusive prediction 4 <Q_Z^2> / <dQ_Z^2> - 1 = "
                    f"{self.tau_int_predicted:.0f}: the chains are too short for the "
                    "Gamma-method window, so tau_int and its error are lower bounds; run "
                    "more trajectories")
        if self.length_in_tau < TRUSTED_LENGTH_IN_TAU:
            return (f"warning: the chains are only {self.length_in_tau:.1f} tau_int(Q_Z) long "
                    f"(< {TRUSTED_LENGTH_IN_TAU}), so these error bars cannot be trusted; "
                    "run more trajectories")
        return None


@dataclass(frozen=True)
class ChainSummary:
    """One sampler's run: settings, Statistics and wall-clock cost."""
    sampler: str             # "l2hmc" or "hmc"
    beta: float
    lattice: str             # "16x16"
    n_leapfrog: int
    chains: int
    steps: int               # trajectories per chain
    thermalization: int      # trajectories dropped before the analysis
    stats: Statistics
    wall_seconds: float = math.nan
    trajectories_per_second: float = math.nan
    tau_int_precise: bool | None = None     # chains long enough for the requested tau error
    seed: int | None = None
    files: tuple[str, ...] = field(default=())
    instanton_layer: bool = False   # dynamics.instanton: x -> x + d A inside each trajectory
    instanton_moves: int = 0        # Metropolis proposals x -> x +- A after each trajectory
    start: str | None = None        # "equilibrium", "hot", "given" or the output continued
    integrator: str = "leapfrog"    # schemes.py: 2mn steps cost two force evaluations

    @property
    def force_evaluations(self) -> int:
        """Force evaluations per trajectory: N_LF for leapfrog, 2 N_LF for 2mn."""
        return self.n_leapfrog * SCHEMES[self.integrator].forces_per_step

    @property
    def label(self) -> str:
        return sampler_label(self.sampler, self.instanton_layer, self.instanton_moves,
                             self.integrator)

    @property
    def nlf_tau_int_charge_int(self) -> float:
        """Force evaluations per independent Q_Z ("N_LF * tau_int"; for leapfrog N_LF is the
        force evaluations per trajectory): the cost comparable across N_LF and integrators."""
        return self.force_evaluations * self.stats.tau_int_charge_int

    @property
    def nlf_tau_int_charge_sin(self) -> float:
        return self.force_evaluations * self.stats.tau_int_charge_sin

    @property
    def tau_int_seconds_charge_int(self) -> float:
        """Wall seconds per independent Q_Z (per chain)."""
        return self.stats.tau_int_charge_int / self.trajectories_per_second

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "stats"}
        out.update(asdict(self.stats), files=list(self.files), label=self.label,
                   nlf_tau_int_charge_int=self.nlf_tau_int_charge_int,
                   nlf_tau_int_charge_sin=self.nlf_tau_int_charge_sin,
                   force_evaluations=self.force_evaluations,
                   tau_int_seconds_charge_int=self.tau_int_seconds_charge_int)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "ChainSummary":
        own = {f.name for f in fields(cls)} - {"stats"}
        stats = Statistics(**{f.name: data[f.name] for f in fields(Statistics)
                              if f.name in data or f.default is MISSING})
        kwargs = {k: v for k, v in data.items() if k in own}
        kwargs["files"] = tuple(kwargs.get("files", ()))
        return cls(stats=stats, **kwargs)


def _ratio(a: float, b: float) -> float:
    return a / b if math.isfinite(a) and math.isfinite(b) and b != 0 else math.nan


@dataclass(frozen=True)
class Comparison:
    """L2HMC and HMC measured at the same (beta, lattice); either may be missing."""
    l2hmc: ChainSummary | None
    hmc: ChainSummary | None

    def samplers(self) -> dict[str, ChainSummary]:
        return {name: getattr(self, name) for name in SAMPLERS if getattr(self, name)}

    def gains(self) -> dict[str, float]:
        """HMC / L2HMC of tau_int, N_LF * tau_int and seconds per independent Q_Z, and the
        cost of one L2HMC trajectory in HMC trajectories (measured in the same run)."""
        if self.l2hmc is None or self.hmc is None:
            return {}
        l2, hmc = self.l2hmc, self.hmc
        return {"tau_int_gain": _ratio(hmc.stats.tau_int_charge_int, l2.stats.tau_int_charge_int),
                "nlf_tau_int_gain": _ratio(hmc.nlf_tau_int_charge_int, l2.nlf_tau_int_charge_int),
                "seconds_gain": _ratio(hmc.tau_int_seconds_charge_int,
                                       l2.tau_int_seconds_charge_int),
                "trajectory_cost": _ratio(hmc.trajectories_per_second,
                                          l2.trajectories_per_second)}

    def row(self) -> dict:
        """One flat table row: beta, lattice, each sampler's figures suffixed _l2hmc / _hmc,
        and the gains (benchmarks/results/*.json and bin/compare.py --json)."""
        present = self.samplers()
        first = next(iter(present.values()))
        row = {"beta": first.beta, "lattice": first.lattice, "n_leapfrog": first.n_leapfrog,
               "chains": first.chains}
        for name, s in present.items():
            row.update({f"n_leapfrog_{name}": s.n_leapfrog,
                        f"tau_int_{name}": s.stats.tau_int_charge_int,
                        f"tau_int_{name}_err": s.stats.tau_int_charge_int_err,
                        f"nlf_tau_int_{name}": s.nlf_tau_int_charge_int,
                        f"nlf_tau_int_{name}_err": (s.force_evaluations
                                                    * s.stats.tau_int_charge_int_err),
                        f"integrator_{name}": s.integrator,
                        f"force_evaluations_{name}": s.force_evaluations,
                        f"tau_int_seconds_{name}": s.tau_int_seconds_charge_int,
                        f"accept_{name}": s.stats.accept_mean, f"steps_{name}": s.steps,
                        f"tau_int_precise_{name}": s.tau_int_precise,
                        f"plaq_sigma_{name}": s.stats.plaq_sigma,
                        f"q2_sigma_{name}": s.stats.q2_sigma, f"dq2_{name}": s.stats.dq2_mean,
                        f"tau_int_predicted_{name}": s.stats.tau_int_predicted,
                        f"tau_int_sokal_{name}": s.stats.tau_int_sokal_per_chain,
                        f"length_in_tau_{name}": s.stats.length_in_tau,
                        f"trust_warning_{name}": s.stats.trust_warning(),
                        f"label_{name}": s.label})
        return row | self.gains()

    def to_dict(self) -> dict:
        return {name: s.to_dict() for name, s in self.samplers().items()} | self.gains()

    @classmethod
    def from_dict(cls, data: dict) -> "Comparison":
        return cls(*(ChainSummary.from_dict(data[name]) if name in data else None
                     for name in SAMPLERS))
