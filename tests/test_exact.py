"""Exact torus solution (docs/physics.md section 2) against independent numerics."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import integrate, special

from l2hmc_tf import exact


def _g(nu, beta):
    """g(nu) = (1/2pi) int exp(beta cos phi) cos(nu phi) dphi, by adaptive quadrature."""
    val, _ = integrate.quad(lambda p: math.exp(beta * (math.cos(p) - 1)) * math.cos(nu * p),
                            0, math.pi, epsabs=1e-14, epsrel=1e-13, limit=200)
    return val / math.pi          # scaled by e^{-beta}; the scale cancels in log-derivatives


def _log_z(theta, beta, volume, n_max=12):
    terms = [volume * math.log(abs(_g(n + theta / (2 * math.pi), beta)))
             for n in range(-n_max, n_max + 1)]
    m = max(terms)
    return m + math.log(sum(math.exp(t - m) for t in terms))


@pytest.mark.parametrize("L, beta", [(2, 1.0), (3, 2.0), (4, 3.5)])
def test_q2_matches_second_derivative_of_independent_log_z(L, beta):
    """<Q^2> = -d^2 log Z / d theta^2 by a central difference of quadrature-based log Z."""
    h = 1e-3
    second = (_log_z(h, beta, L * L) - 2 * _log_z(0, beta, L * L) + _log_z(-h, beta, L * L)) / h**2
    q2 = exact.torus_observables(L, L, beta)["q2"]
    assert q2 == pytest.approx(-second, rel=1e-5)


@pytest.mark.parametrize("L, beta", [(2, 0.7), (3, 2.0), (4, 5.0)])
def test_plaquette_matches_beta_derivative_of_log_z(L, beta):
    """<cos x_P> = (1/V) d log Z / d beta with Z = sum_n I_n(beta)^V (unscaled, by quadrature)."""
    volume = L * L

    def log_z(b):
        return _log_z(0, b, volume) + volume * b      # undo the e^{-beta} scaling of g
    h = 1e-4
    plaq = (log_z(beta + h) - log_z(beta - h)) / (2 * h) / volume
    assert exact.torus_observables(L, L, beta)["plaquette"] == pytest.approx(plaq, rel=1e-6)


def test_reference_values_from_physics_notes():
    r8 = exact.torus_observables(8, 8, [2.0, 4.0])
    np.testing.assert_allclose(r8["plaquette"], [0.6977746580, 0.8635300425], atol=1e-9)
    np.testing.assert_allclose(r8["q2"], [1.239299, 0.4820159], rtol=1e-6)
    r16 = exact.torus_observables(16, 16, 7.0)
    assert r16["plaquette"] == pytest.approx(0.9255322109, abs=1e-9)
    assert r16["q2"] == pytest.approx(1.006414, rel=1e-6)


def test_large_volume_tends_to_infinite_volume_plaquette():
    betas = np.array([2.0, 6.0, 12.0])
    big = exact.torus_observables(64, 64, betas)["plaquette"]
    np.testing.assert_allclose(big, exact.infinite_volume_plaquette(betas), rtol=1e-6)
    small = exact.torus_observables(4, 4, betas)["plaquette"]
    assert np.all(np.abs(small - exact.infinite_volume_plaquette(betas)) > 1e-6)


def test_stable_and_vectorised_over_the_whole_range():
    betas = np.linspace(0.1, 12.0, 40)
    for L in (2, 8, 64):
        r = exact.torus_observables(L, L, betas)
        for v in r.values():
            assert v.shape == betas.shape and np.all(np.isfinite(v)) and np.all(v >= 0)
        assert np.all(r["plaquette"] > 0)
        assert np.all(np.diff(r["plaquette"]) > 0)          # plaquette grows with beta
    # chi_Q tends to the infinite-volume 1/(4pi^2) <phi^2>_0 at large L
    chi = exact.torus_observables(64, 64, 1.0)["chi_q"]
    phi2 = integrate.quad(lambda p: p * p * math.exp(math.cos(p)), -math.pi, math.pi)[0]
    chi_inf = phi2 / (2 * math.pi * special.iv(0, 1.0)) / (4 * math.pi**2)
    assert chi == pytest.approx(chi_inf, rel=1e-6)


def test_non_square_torus_depends_only_on_volume():
    a = exact.torus_observables(4, 16, 3.0)
    b = exact.torus_observables(8, 8, 3.0)
    assert a["q2"] == pytest.approx(float(b["q2"]), rel=1e-12)


@pytest.mark.parametrize("L, beta, match", [(1, 1.0, "Lt"), (8, 0.0, "beta"),
                                            (8, -1.0, "beta"), (8, float("nan"), "beta")])
def test_bad_input_is_rejected(L, beta, match):
    with pytest.raises(ValueError, match=match):
        exact.torus_observables(L, L, beta)


def test_command_line_table_and_json():
    cmd = [sys.executable, "-m", "l2hmc_tf.exact", "--L", "8", "--beta", "2", "4"]
    table = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert "0.6977746580" in table and "0.8635300425" in table
    rows = json.loads(subprocess.run(cmd + ["--json"], capture_output=True, text=True,
                                     check=True).stdout)
    assert [set(r) for r in rows] == [{"L", "beta", "plaquette", "q2", "chi_q"}] * 2
    assert rows[0]["L"] == 8 and rows[1]["beta"] == 4.0
    assert rows[1]["chi_q"] == pytest.approx(rows[1]["q2"] / 64)
    bad = subprocess.run(cmd[:4] + ["--beta", "-1"], capture_output=True, text=True)
    assert bad.returncode != 0 and "beta" in bad.stderr


def test_charge_distribution_has_the_exact_second_moment():
    """P(Q) from the Fourier transform of Z(theta) sums to 1, is even, and its <Q^2> is the
    character expansion's, at small and large beta and volume."""
    for L, beta in ((4, 1.0), (8, 2.0), (8, 4.0), (16, 6.0), (16, 7.0)):
        p = exact.charge_distribution(L, L, beta)
        q = np.arange(-16, 17)
        assert np.sum(p) == pytest.approx(1.0) and np.allclose(p, p[::-1], atol=1e-14)
        assert np.sum(q**2 * p) == pytest.approx(float(exact.torus_observables(L, L, beta)["q2"]),
                                                 rel=1e-9)


def test_equilibrium_start_matches_the_exact_charge_and_plaquette():
    """256 independent chains from equilibrium_start at beta 4 on 8x8 (where a hot start needs
    hundreds of trajectories): <Q_Z^2> and the plaquette across chains within 3 standard
    errors of the exact values, after 40 HMC trajectories."""
    from l2hmc_tf import lattice, starts

    x = starts.equilibrium_start(256, (8, 8), 4.0, 40, 8, 0.2, seed=3, dtype="float64")
    q2 = np.rint(lattice.charge_int(x).numpy()) ** 2
    plaq = lattice.mean_plaquette(x).numpy()
    truth = exact.torus_observables(8, 8, 4.0)
    for values, exact_value in ((q2, truth["q2"]), (plaq, truth["plaquette"])):
        err = np.std(values) / np.sqrt(len(values))
        assert abs(np.mean(values) - float(exact_value)) < 3 * err, (np.mean(values), exact_value)
    assert len(set(np.rint(lattice.charge_int(x).numpy()))) >= 3
