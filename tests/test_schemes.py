"""The 2MN (Omelyan) integrator beside leapfrog: reversible, volume-preserving, second order
with a smaller energy error, honest about its force evaluations, and exact on the torus."""
import numpy as np
import pytest
import tensorflow as tf

from l2hmc_tf import config, lattice, schemes, starts
from l2hmc_tf.model import Dynamics, hmc
from tests.conftest import assert_matches_exact, nontrivial_model, run_and_summarize
from tests.test_leapfrog import (_full_jacobian_logdet, assert_fast_path_equals_layer_path,
                                 max_angle_diff, state)

DIRECTIONS = tf.constant([1.0, -1.0, 1.0, -1.0, -1.0, 1.0], tf.float64)


def test_every_config_choice_has_a_scheme_and_each_is_a_consistent_palindrome():
    assert set(config.Integrator.__args__) == set(schemes.SCHEMES)
    for name, (kicks, drifts) in schemes.SCHEMES.items():
        assert len(kicks) == len(drifts) + 1, name
        assert sum(kicks) == pytest.approx(1.0) and sum(drifts) == pytest.approx(1.0), name
        assert kicks == kicks[::-1] and drifts == drifts[::-1], name
    with pytest.raises(ValueError, match="integrator must be one of leapfrog, 2mn"):
        schemes.scheme("omelyan")


@pytest.mark.parametrize("kind", ["hmc", "scalar"])
def test_2mn_forward_then_backward_returns_the_input(kind):
    dyn = nontrivial_model(kind, shape=(6, 6), n_leapfrog=3, step_size=0.3)
    dyn = _with_integrator(dyn, "2mn")
    x, v = state(6, (6, 6), seed=3)
    there = dyn.propose(x, v, DIRECTIONS, 2.5)
    assert max_angle_diff(there.x, x) > 0.1
    back = dyn.propose(there.x, there.v, -DIRECTIONS, 2.5)
    assert max_angle_diff(back.x, x) < 1e-12
    np.testing.assert_allclose(back.v, v, atol=1e-12, rtol=0)
    np.testing.assert_allclose(back.logdet, -there.logdet, atol=1e-12)


def _with_integrator(dyn: Dynamics, integrator: str) -> Dynamics:
    """A copy of dyn (same weights) whose layers run `integrator`."""
    twin = Dynamics(dyn.lattice_shape, dyn.n_leapfrog, 0.3,
                    network=dyn.network_config, dtype=dyn.compute_dtype,
                    integrator=integrator)
    twin.set_weights(dyn.get_weights())
    return twin


@pytest.mark.parametrize("kind", ["hmc", "scalar"])
@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_2mn_logdet_equals_autodiff_jacobian(kind, direction):
    """HMC's 2MN map preserves volume (log|det| = 0 by autodiff); the scalar kind's tempered
    2MN map changes it by exactly the logdet it reports."""
    dyn = _with_integrator(nontrivial_model(kind, shape=(4, 4), n_leapfrog=2), "2mn")
    x, v = state(1, (4, 4), seed=5)
    beta = tf.constant(2.0, tf.float64)
    moved = dyn.propose(x, v, tf.constant([direction], tf.float64), beta)
    jac = _full_jacobian_logdet(
        lambda a, b: dyn.propose(a, b, tf.fill([a.shape[0]], direction), beta)[:2], x, v)
    assert float(moved.logdet[0]) == pytest.approx(jac, abs=1e-9)
    assert abs(jac) > 0.05 if kind == "scalar" else abs(jac) < 1e-9


@pytest.mark.parametrize("kind", ["hmc", "scalar"])
def test_2mn_fast_path_equals_its_layer_path(kind):
    """integrators.leapfrog (both directions in one batch, kicks merged across layers)
    against the layers run one by one per direction, with per-layer numbers."""
    dyn = _with_integrator(nontrivial_model(kind, shape=(6, 6), n_leapfrog=3), "2mn")
    assert dyn.has_fast_path
    x, v = state(6, (6, 6), seed=4)
    fast = dyn.propose(x, v, DIRECTIONS, 2.0)
    assert_fast_path_equals_layer_path(dyn, x, v, DIRECTIONS, fast)


def energy_errors(integrator: str, step: float, length: float = 1.0, beta: float = 3.0):
    """|H' - H| of 64 equilibrium configurations after a trajectory of fixed length."""
    x = starts.equilibrium_start(64, (8, 8), beta, 40, 4, 0.15, seed=2, dtype="float64")
    v = tf.random.stateless_normal(x.shape, [7, 7], dtype=tf.float64)
    dyn = hmc((8, 8), round(length / step), step, "float64", integrator)
    moved = dyn.propose(x, v, tf.ones([64], tf.float64), beta)
    return np.abs(dyn.hamiltonian(moved.x, moved.v, beta) - dyn.hamiltonian(x, v, beta))


def test_energy_error_falls_as_eps_squared_and_2mn_has_the_smaller_coefficient():
    """Both schemes are second order: at fixed trajectory length the rms energy error falls
    ~4x when eps halves. At equal eps 2MN's error is several times smaller than leapfrog's
    (lambda = 1/4, i.e. two leapfrog half-steps, would be only 4x smaller)."""
    rms = {(name, eps): np.sqrt(np.mean(energy_errors(name, eps) ** 2))
           for name in schemes.SCHEMES for eps in (0.1, 0.05)}
    for name in schemes.SCHEMES:
        assert 3.5 < rms[name, 0.1] / rms[name, 0.05] < 4.5, rms
    assert rms["2mn", 0.1] < rms["leapfrog", 0.1] / 6, rms


@pytest.mark.parametrize("integrator, forces", [("leapfrog", 5), ("2mn", 10)])
def test_force_evaluations_counts_what_a_trajectory_computes(integrator, forces, monkeypatch):
    """The cost unit the reports divide by: one more evaluation than counted happens at the
    start of a trajectory (the previous trajectory's last one, if it were cached)."""
    dyn = hmc((4, 4), 5, 0.1, "float64", integrator)
    calls = []
    real = lattice.force_per_beta
    monkeypatch.setattr(lattice, "force_per_beta",
                        lambda *args, **kw: calls.append(1) or real(*args, **kw))
    x, v = state(2, (4, 4), seed=1)
    dyn.propose(x, v, tf.constant([1.0, -1.0], tf.float64), 1.0)
    assert dyn.force_evaluations == forces and len(calls) == forces + 1


@pytest.mark.slow
def test_2mn_hmc_reproduces_the_exact_torus():
    dyn = hmc((8, 8), n_leapfrog=4, step_size=0.25, integrator="2mn")
    summary = run_and_summarize(dyn, 8, 3.0, chains=128, steps=300, therm=50, seed=1)
    assert_matches_exact(summary)
    assert summary.accept_mean > 0.8
    assert summary.plaq_err < 0.003 and summary.q2_err < 0.1   # errors small enough to bite


@pytest.mark.slow
def test_tempered_2mn_with_random_numbers_samples_the_exact_distribution():
    """Detailed balance of the scalar kind on 2MN steps, heating in one layer and cooling in
    the other (|mean logdet| > 1): a wrong Jacobian or kick weight would show here."""
    from tests.test_leapfrog import PLAQ_ERR_CAP, Q2_ERR_CAP
    beta, L = 2.0, 4
    dyn = _with_integrator(nontrivial_model("scalar", shape=(L, L)), "2mn")
    x, v = state(64, (L, L), seed=8)
    assert float(tf.reduce_mean(dyn.propose(x, v, tf.fill([64], 1.0), beta).logdet)) > 1.0
    summary = run_and_summarize(dyn, L, beta, chains=256, steps=400, therm=10, seed=6,
                                hmc_therm=30)
    assert_matches_exact(summary)
    assert summary.plaq_err < PLAQ_ERR_CAP and summary.q2_err < Q2_ERR_CAP, summary


@pytest.mark.parametrize("kind", ["conv", "gauge"])
def test_2mn_is_refused_for_network_layers_by_name(kind):
    net = config.NetworkConfig(kind=kind, units=(4,))
    with pytest.raises(ValueError, match=f"integrator 2mn runs HMC and the scalar kind; "
                                         f"network kind {kind}"):
        Dynamics((4, 4), 2, 0.1, network=net, integrator="2mn")
    with pytest.raises(config.ConfigError, match="dynamics.integrator"):
        config.from_dict({"dynamics": {"integrator": "omelyan"}})
