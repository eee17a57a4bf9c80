"""tau_int estimator (Gamma-method via pyerrors) on series whose tau_int is known exactly."""
import numpy as np
import pytest

from l2hmc_tf import autocorr


def ar1(phi, steps, chains, seed):
    """AR(1) chains started in equilibrium; tau_int = (1 + phi) / (1 - phi) exactly."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(steps, chains)) * np.sqrt(1 - phi**2)
    x = np.empty((steps, chains))
    x[0] = rng.normal(size=chains)
    for t in range(1, steps):
        x[t] = phi * x[t - 1] + noise[t]
    return x


@pytest.mark.parametrize("phi", [0.5, 0.9])
def test_recovers_known_tau_int(phi):
    est = autocorr.estimate(ar1(phi, 4000, 16, seed=11))
    exact_tau = (1 + phi) / (1 - phi)
    assert abs(est.tau_int - exact_tau) < 2 * est.tau_int_error, est
    assert est.tau_int_error < 0.1 * exact_tau            # the check has teeth
    assert est.n_eff == pytest.approx(est.n_samples / est.tau_int)


def test_quoted_errors_are_calibrated():
    """Over 40 independent series, pulls (estimate - truth) / error behave like N(0, 1)."""
    phi, truth = 0.8, 9.0
    pulls = []
    for seed in range(40):
        est = autocorr.estimate(ar1(phi, 2000, 4, seed=100 + seed))
        pulls.append((est.tau_int - truth) / est.tau_int_error)
    pulls = np.array(pulls)
    assert abs(pulls.mean()) < 0.6 and 0.6 < pulls.std() < 1.5, pulls
    # the error on the mean accounts for autocorrelation: 0.8-AR(1) means are 3x noisier
    means = [autocorr.estimate(ar1(phi, 2000, 4, seed=200 + s)) for s in range(40)]
    mean_pulls = np.array([m.mean / m.error for m in means])
    assert 0.6 < mean_pulls.std() < 1.5


def test_white_noise_has_tau_one():
    est = autocorr.estimate(np.random.default_rng(0).normal(size=(5000, 8)))
    assert abs(est.tau_int - 1.0) < 3 * est.tau_int_error + 0.02


def test_frozen_series_reports_nan_not_one():
    est = autocorr.estimate(np.zeros((100, 4)))
    assert est.frozen and np.isnan(est.tau_int) and est.error == 0.0


def test_chains_frozen_at_different_values_are_frozen():
    """Frozen chains in different charge sectors: no chain moves, so no tau_int (the Gamma
    method would read their offsets as a correlation that never decays)."""
    est = autocorr.estimate(np.tile([-1.0, 0.0, 2.0, 1.0], (100, 1)))
    assert est.frozen and est.mean == pytest.approx(0.5)


def test_single_chain_is_accepted():
    est = autocorr.estimate(ar1(0.5, 5000, 1, seed=3)[:, 0])
    assert abs(est.tau_int - 3.0) < 3 * est.tau_int_error


def test_agrees_with_tfp_effective_sample_size():
    series = ar1(0.9, 4000, 16, seed=5)
    est = autocorr.estimate(series)
    assert abs(autocorr.tau_int_tfp(series) - est.tau_int) < 3 * est.tau_int_error


@pytest.mark.parametrize("bad, match", [(np.zeros((4, 3)), "at least 5"),
                                        (np.zeros((5, 2, 2)), "shape"),
                                        (np.full((10, 2), np.inf), "NaN or Inf")])
def test_bad_series_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        autocorr.estimate(bad)
