"""The MCMC transition, checked deterministically: its random draws, its Metropolis-Hastings
ratio against an independent float64 recomputation, and the MH decision it takes."""
import numpy as np
import pytest
import tensorflow as tf

from l2hmc_tf import kernel, lattice, starts
from tests.conftest import nontrivial_model, numpy_action

BETA = 2.0


def replay_draws(state, x):
    """v, d and the MH uniforms a transition draws from RNG `state`, in its documented order
    (v ~ N(0, 1), then a coin per chain with d = +1 below 1/2, then one uniform per chain)."""
    rng = tf.random.Generator.from_seed(0)
    rng.reset(state)
    v = rng.normal(tf.shape(x), dtype=x.dtype)
    coin = rng.uniform(tf.shape(x)[:1], dtype=x.dtype)
    u = rng.uniform(tf.shape(x)[:1], dtype=x.dtype)
    return v, tf.where(coin < 0.5, tf.ones_like(coin), -tf.ones_like(coin)), u.numpy()


def kinetic(v):
    return 0.5 * np.sum(np.asarray(v, np.float64) ** 2, axis=(1, 2, 3))


def expected_log_ratio(x, v, proposal, beta):
    """S(x) + K(v) - S(x') - K(v') + logdet, in float64 numpy."""
    return (numpy_action(x, beta) + kinetic(v) - numpy_action(proposal.x, beta)
            - kinetic(proposal.v) + np.asarray(proposal.logdet, np.float64))


@pytest.mark.parametrize("kind", ["hmc", "conv", "mlp", "scalar", "gauge"])
def test_one_step_takes_the_metropolis_hastings_decision_with_the_jacobian(kind):
    """For the draws replayed from the sampler's RNG state, the compiled step's acceptance
    probability, MH decision, next state and recorded observables equal a recomputation."""
    dyn = nontrivial_model(kind)
    x = starts.hmc_thermalize(lattice.random_start(64, 4, 4, dtype=tf.float64, seed=1),
                              BETA, 10, 2, 0.3, seed=1)
    sampler = kernel.Sampler(dyn, seed=3)
    v, d, u = replay_draws(sampler.rng_state(), x)
    x_new, res = sampler.one_step(x, BETA)
    proposal = dyn.propose(x, v, d, BETA)
    log_ratio = expected_log_ratio(x, v, proposal, BETA)
    prob = np.exp(np.minimum(log_ratio, 0.0))
    np.testing.assert_allclose(res.accept_prob, prob, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.logdet, proposal.logdet, atol=1e-12)
    accepted = u < prob
    np.testing.assert_array_equal(res.accepted, accepted)
    assert 0 < accepted.sum() < len(accepted)          # both outcomes are exercised
    expected_x = np.where(accepted[:, None, None, None], proposal.x, x)
    np.testing.assert_allclose(x_new, expected_x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.plaq, lattice.mean_plaquette(expected_x), atol=1e-12)
    np.testing.assert_allclose(res.charge_int, lattice.charge_int(expected_x), atol=1e-9)
    if kind != "hmc":   # a Jacobian term that is wrong by a factor or a sign cannot hide
        for sign in (1.0, -1.0):
            chosen = np.asarray(d) == sign
            assert sign * np.mean(np.asarray(proposal.logdet)[chosen]) > 1.0


@pytest.mark.parametrize("kind", ["hmc", "conv", "gauge"])
def test_transition_reports_its_parts(kind):
    """kernel.transition (what training differentiates) draws v and d as replayed, and its
    log_ratio is the float64 energy change plus logdet."""
    dyn = nontrivial_model(kind)
    x = lattice.random_start(32, 4, 4, dtype=tf.float64, seed=2)
    rng = tf.random.Generator.from_seed(9)
    v, d, u = replay_draws(rng.state.numpy(), x)
    step = kernel.transition(dyn, rng, x, BETA)
    np.testing.assert_array_equal(step.v, v)
    np.testing.assert_array_equal(step.direction, d)
    np.testing.assert_allclose(step.log_ratio, expected_log_ratio(x, v, step.proposal, BETA),
                               atol=1e-9)
    np.testing.assert_array_equal(step.accepted, u < step.accept_prob.numpy())


def test_momenta_and_directions_have_the_right_distribution():
    """Over ~1e5 draws: the direction coin is fair (binomial error) and the momenta are
    N(0, 1) (their variance within its chi-square error), to 5 standard errors."""
    rng = tf.random.Generator.from_seed(4)
    x = tf.zeros([100_000, 2, 2, 2], tf.float64)
    v, d = kernel.draw_momenta_and_directions(rng, x)
    n_d, n_v = d.shape[0], int(tf.size(v))
    d, v = d.numpy(), v.numpy().ravel()
    assert set(np.unique(d)) == {-1.0, 1.0}
    assert abs(d.mean()) < 5 / np.sqrt(n_d)                      # sd of the mean of +-1: 1/sqrt(n)
    assert abs(v.mean()) < 5 / np.sqrt(n_v)
    assert abs(v.var() - 1.0) < 5 * np.sqrt(2.0 / n_v)           # sd of a N(0,1) variance
    assert abs(np.mean(v**4) - 3.0) < 5 * np.sqrt(96.0 / n_v)    # and not a rescaled other law


@pytest.mark.parametrize("n_moves", [1, 2])
def test_instanton_proposals_take_the_metropolis_decision_of_the_action(n_moves):
    """Sampler(instanton_moves=K) (bin/infer.py --instanton K): after the trajectory, K
    proposals x -> x + s A with s = +1 below a coin of 1/2, each accepted when a uniform is
    below min(1, exp(S(x) - S(x'))); draws replayed from the RNG in that order (after the
    trajectory's v, d and MH uniform) and the actions recomputed in float64 numpy."""
    x = starts.hmc_thermalize(lattice.random_start(64, 4, 4, dtype=tf.float64, seed=6),
                              BETA, 10, 2, 0.3, seed=6)
    dyn = nontrivial_model("hmc")
    sampler = kernel.Sampler(dyn, seed=8, instanton_moves=n_moves)
    rng = tf.random.Generator.from_seed(0)
    rng.reset(sampler.rng_state())
    v = rng.normal(tf.shape(x), dtype=x.dtype)
    d = np.where(rng.uniform([64], dtype=x.dtype).numpy() < 0.5, 1.0, -1.0)
    u = rng.uniform([64], dtype=x.dtype).numpy()
    x_new, res = sampler.one_step(x, BETA)
    proposal = dyn.propose(x, v, tf.constant(d), BETA)
    prob = np.exp(np.minimum(expected_log_ratio(x, v, proposal, BETA), 0.0))
    expected = np.where((u < prob)[:, None, None, None], proposal.x, x)
    field = np.asarray(lattice.instanton_field(4, 4, tf.float64))
    taken = 0
    for _ in range(n_moves):
        sign = np.where(rng.uniform([64], dtype=x.dtype).numpy() < 0.5, 1.0, -1.0)
        shifted = np.asarray(lattice.wrap(expected + sign[:, None, None, None] * field))
        move_prob = np.exp(np.minimum(numpy_action(expected, BETA)
                                      - numpy_action(shifted, BETA), 0.0))
        accepted = rng.uniform([64], dtype=x.dtype).numpy() < move_prob
        taken += accepted.sum()
        expected = np.where(accepted[:, None, None, None], shifted, expected)
    assert 0 < taken < 64 * n_moves                    # both outcomes are exercised
    assert float(tf.reduce_max(tf.abs(lattice.wrap(x_new - expected)))) < 1e-12
    np.testing.assert_allclose(res.charge_int, lattice.charge_int(expected), atol=1e-9)
    np.testing.assert_allclose(res.plaq, lattice.mean_plaquette(expected), atol=1e-12)
