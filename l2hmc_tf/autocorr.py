"""Integrated autocorrelation times with errors, by U. Wolff's Gamma-method (via pyerrors).

Convention (docs/physics.md section 6): tau_int = 1 + 2 sum_{t>=1} rho(t), so uncorrelated
data give 1 and N_eff = N / tau_int. pyerrors reports 1/2 + sum rho; we multiply by 2. All chains
enter as replicas of one ensemble, so the Gamma function is averaged over chains. This module
takes plain arrays [steps, chains] and knows nothing about samplers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyerrors as pe
from emcee.autocorr import integrated_time

WINDOW_S = 1.5   # Wolff's S parameter for the automatic window
MIN_STEPS = 5    # the shortest series pyerrors analyses


@dataclass(frozen=True)
class Estimate:
    """Mean of an observable with its autocorrelation-aware error and tau_int."""
    mean: float
    error: float         # the Gamma-method's
    tau_int: float       # NaN when no chain changes (frozen chains have no tau_int)
    tau_int_error: float
    window: int
    n_samples: int
    replica_error: float = math.nan     # from the spread of per-chain means (replica_error)

    @property
    def reported_error(self) -> float:
        """The larger of the Gamma-method and replica errors: each can only read low (a
        window that cuts a slow tail, too few chains), so the larger one is quoted."""
        return float(np.nanmax([self.error, self.replica_error]))

    @property
    def n_eff(self) -> float:
        """Effective number of independent samples, N / tau_int."""
        return self.n_samples / self.tau_int if self.tau_int > 0 else math.nan

    @property
    def frozen(self) -> bool:
        return math.isnan(self.tau_int)


def _as_series(series) -> np.ndarray:
    data = np.asarray(series, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise ValueError(f"series must have shape [steps, chains], got {data.shape}")
    if data.shape[0] < MIN_STEPS:
        raise ValueError(f"series needs at least {MIN_STEPS} steps for tau_int, got "
                         f"{data.shape[0]}")
    if not np.all(np.isfinite(data)):
        raise ValueError("series contains NaN or Inf")
    return data


def replica_error(series) -> float:
    """Standard error of the mean from the spread of the per-chain means, [steps, chains]:
    valid whatever tau_int is when the chains are independent and stationary (equilibrium
    starts), and honest for chains frozen in different sectors, where a window sees
    nothing; NaN for one chain. With 64 chains its own relative error is ~9%."""
    means = _as_series(series).mean(axis=0)
    return float(np.std(means, ddof=1) / math.sqrt(len(means))) if len(means) > 1 else math.nan


def estimate(series, name: str = "obs") -> Estimate:
    """Gamma-method analysis of a [steps, chains] series (chains are replicas), with the
    replica error beside it."""
    data = _as_series(series)
    spread = replica_error(data)
    if not np.any(np.ptp(data, axis=0)):     # no chain moved, whatever values they sit at
        return Estimate(float(data.mean()), 0.0, math.nan, math.nan, 0, data.size, spread)
    return _analysed(_replicas(data, name), name, data.size, spread)


def _replicas(data: np.ndarray, name: str) -> pe.Obs:
    """The chains of a [steps, chains] series as replicas of one ensemble `name`."""
    chains = data.shape[1]
    names = [name] if chains == 1 else [f"{name}|r{c}" for c in range(chains)]
    return pe.Obs([data[:, c] for c in range(chains)], names)


def _analysed(obs: pe.Obs, name: str, n_samples: int, spread: float) -> Estimate:
    obs.gamma_method(S=WINDOW_S)
    return Estimate(
        mean=float(obs.value), error=float(obs.dvalue),
        tau_int=2.0 * float(obs.e_tauint[name]),
        tau_int_error=2.0 * float(obs.e_dtauint[name]),
        window=int(obs.e_windowsize[name]), n_samples=n_samples, replica_error=spread)


def estimate_function(series: list, function, name: str = "obs") -> Estimate:
    """Gamma-method analysis of function(mean_1, mean_2, ...) of several [steps, chains]
    series measured on the same chains (a Creutz ratio of four Wilson loops): pyerrors
    propagates the errors with the correlations between the series. The replica error is the
    jackknife over chains (leave one chain out), which for a plain mean equals
    replica_error."""
    data = [_as_series(s) for s in series]
    chains = data[0].shape[1]
    value = float(function(*(d.mean() for d in data)))
    spread = math.nan
    if chains > 1:
        means = np.stack([d.mean(axis=0) for d in data])            # [series, chains]
        totals = means.sum(axis=1)
        leave_one_out = [function(*((totals - means[:, c]) / (chains - 1)))
                         for c in range(chains)]
        spread = float(math.sqrt((chains - 1) * np.var(leave_one_out)))
    if not any(np.any(np.ptp(d, axis=0)) for d in data):
        return Estimate(value, 0.0, math.nan, math.nan, 0, data[0].size, spread)
    with np.errstate(invalid="ignore"):     # pyerrors also evaluates single noisy replicas
        derived = function(*(_replicas(d, name) for d in data))
    return _analysed(derived, name, data[0].size, spread)


def tau_int_tfp(series) -> float:
    """Cross-check: N / ESS from tfp.mcmc.effective_sample_size across all chains."""
    import tensorflow as tf
    import tensorflow_probability as tfp

    data = _as_series(series)
    ess = tfp.mcmc.effective_sample_size(
        tf.constant(data), filter_beyond_positive_pairs=True, cross_chain_dims=1)
    return data.size / float(ess)


def tau_int_per_chain_sokal(series, c: float = 5.0) -> float:
    """The reference implementation's estimator, for comparison with the paper only: each
    chain's tau_int with its own mean subtracted and Sokal's window (the smallest W with
    W >= c tau(W); emcee's implementation), averaged over the chains that move. It reads low
    on chains only a few tau_int long (docs/physics.md section 7); the Gamma-method value of
    `estimate` is the headline. NaN when no chain moves."""
    data = _as_series(series)
    moving = data[:, np.ptp(data, axis=0) > 0]
    if moving.shape[1] == 0:
        return math.nan
    return float(np.mean(integrated_time(moving, c=c, tol=0, has_walkers=False)))
