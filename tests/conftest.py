"""Shared fixtures and helpers for the test suite."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from l2hmc_tf import dynamics, inference, lattice  # noqa: E402,F401


def run_and_summarize(dyn, L, beta, chains, steps, therm, seed=0):
    """Sample with `dyn` from a hot start and return inference.summarize of the kept steps."""
    sampler = dynamics.Sampler(dyn, seed=seed)
    x = lattice.random_start(chains, L, L, dtype=dyn.compute_dtype, seed=seed)
    _, history = inference.sample_chain(sampler, x, beta, steps)
    return inference.summarize(history.drop(therm), (L, L), beta)


def assert_matches_exact(summary, n_sigma=3.0):
    """Plaquette and <Q_Z^2> within n_sigma of autocorrelation-aware errors of the exact values."""
    for key in ("plaq", "q2"):
        assert abs(summary[f"{key}_sigma"]) < n_sigma, (key, summary)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _seed_tf():
    tf.random.set_seed(1234)
