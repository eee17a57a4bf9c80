"""HMC (the Dynamics with networks off) samples exp(-S): checked against the exact torus."""
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from l2hmc_tf import autocorr, driver, inference, kernel, lattice, starts
from l2hmc_tf.model import hmc
from tests.conftest import assert_matches_exact, run_and_summarize


@pytest.mark.parametrize("beta, step", [(1.0, 0.15), (3.0, 0.12)])
def test_hmc_reproduces_exact_plaquette_and_q2(beta, step):
    dyn = hmc((8, 8), n_leapfrog=8, step_size=step)
    summary = run_and_summarize(dyn, 8, beta, chains=128, steps=300, therm=50, seed=1)
    assert_matches_exact(summary)
    assert summary.accept_mean > 0.7
    assert summary.plaq_err < 0.003 and summary.q2_err < 0.1   # errors small enough to bite


class AlwaysAccept(kernel.Sampler):
    """A deliberately broken sampler: the MH step removed."""

    def _one_step(self, x, beta):
        step = self.transition(x, beta)
        prop = step.proposal
        ones = tf.ones_like(step.accept_prob)
        return prop.x, step.results()._replace(
            accept_prob=ones, plaq=lattice.mean_plaquette(prop.x),
            charge_int=lattice.charge_int(prop.x))


def test_the_exactness_check_catches_a_sampler_without_metropolis():
    beta = 3.0
    dyn = hmc((8, 8), n_leapfrog=4, step_size=0.45)
    sampler = AlwaysAccept(dyn, seed=2)
    x = lattice.random_start(128, 8, 8, seed=2)
    _, history = driver.sample_chain(sampler, x, beta, 200)
    summary = inference.summarize(history.drop(50), (8, 8), beta)
    assert abs(summary.plaq_sigma) > 10, summary
    with pytest.raises(AssertionError):
        assert_matches_exact(summary)


def test_hmc_agrees_with_tfp_hamiltonian_monte_carlo():
    beta, step, n_lf, chains = 2.0, 0.15, 8, 128
    ours = run_and_summarize(hmc((8, 8), n_lf, step), 8, beta, chains, 250, 50, seed=3)
    tfp_kernel = tfp.mcmc.HamiltonianMonteCarlo(
        target_log_prob_fn=lambda x: -lattice.action(x, beta), step_size=step,
        num_leapfrog_steps=n_lf)
    x0 = lattice.random_start(chains, 8, 8, seed=4)
    run = tf.function(lambda: tfp.mcmc.sample_chain(
        200, x0, kernel=tfp_kernel, num_burnin_steps=50,
        trace_fn=lambda x, r: lattice.mean_plaquette(x), seed=[5, 6]))
    _, tfp_plaq = run()
    theirs = autocorr.estimate(tfp_plaq.numpy())
    diff = ours.plaq_mean - theirs.mean
    assert abs(diff) < 3 * np.hypot(ours.plaq_err, theirs.error), (ours, theirs)


def test_transition_traces_once_and_reports_metrics():
    sampler = kernel.Sampler(hmc((4, 6), 3, 0.2), seed=0)
    x = lattice.random_start(8, 4, 6, seed=0)
    for beta in (1.0, 1.5, 2.0, 2.5):
        x, res = sampler.one_step(x, beta)
    assert sampler.tracing_count == 1
    for field in res:
        assert field.shape == (8,)
    np.testing.assert_allclose(res.charge_int, np.rint(res.charge_int), atol=1e-4)


def test_hmc_with_xla_matches_plain_graph_in_float64():
    """XLA's RNG streams differ, so compare the deterministic proposal, then run the sampler."""
    dyn = hmc((8, 8), 5, 0.2, dtype="float64")
    x = lattice.random_start(16, 8, 8, dtype=tf.float64, seed=9)
    v = tf.random.stateless_normal(x.shape, [1, 2], dtype=tf.float64)
    d = tf.where(tf.range(16) % 2 == 0, 1.0, -1.0)
    d = tf.cast(d, tf.float64)
    plain = dyn.propose(x, v, d, 2.0)
    compiled = tf.function(dyn.propose, jit_compile=True)(x, v, d, tf.constant(2.0, tf.float64))
    for a, b in zip(plain, compiled):
        np.testing.assert_allclose(a, b, atol=1e-10)
    sampler = kernel.Sampler(dyn, seed=7, jit_compile=True)
    for _ in range(3):
        x, res = sampler.one_step(x, 2.0)
    assert sampler.tracing_count == 1 and float(tf.reduce_mean(res.accept_prob)) > 0.5


def test_hmc_reversibility_in_float64():
    dyn = hmc((6, 6), 7, 0.3, dtype="float64")
    x = lattice.random_start(5, 6, 6, dtype=tf.float64, seed=1)
    v = tf.random.stateless_normal(x.shape, [3, 4], dtype=tf.float64)
    d = tf.constant([1.0, -1.0, 1.0, -1.0, 1.0], tf.float64)
    fwd = dyn.propose(x, v, d, 2.0)
    back = dyn.propose(fwd.x, fwd.v, -d, 2.0)
    assert float(tf.reduce_max(tf.abs(lattice.wrap(back.x - x)))) < 1e-12
    np.testing.assert_allclose(back.v, v, atol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_leapfrog=0, step_size=0.1), "n_leapfrog"),
    (dict(n_leapfrog=2, step_size=-0.1), "step_size"),
])
def test_bad_dynamics_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        hmc((4, 4), **kwargs)


@pytest.mark.parametrize("x, beta, match", [
    (np.zeros([2, 4, 4, 2], np.float32), 0.0, "beta"),
    (np.zeros([2, 1, 6, 2], np.float32), 1.0, "Lt"),
    (np.zeros([2, 4, 4, 2], np.float64), 1.0, "dtype float64"),
    (np.full([2, 4, 4, 2], np.inf, np.float32), 1.0, "NaN or Inf"),
])
def test_sample_chain_rejects_bad_input_before_work(x, beta, match):
    sampler = kernel.Sampler(hmc((4, 4), 2, 0.1), seed=0)
    with pytest.raises(ValueError, match=match):
        driver.sample_chain(sampler, x, beta, 5)
    assert sampler.tracing_count == 0


def test_one_step_checks_cheap_things_before_compiling():
    sampler = kernel.Sampler(hmc((4, 4), 2, 0.1), seed=0)
    with pytest.raises(ValueError, match="beta"):
        sampler.one_step(lattice.random_start(2, 4, 4), -1.0)
    with pytest.raises(ValueError, match="float32 tensor"):
        sampler.one_step(lattice.random_start(2, 4, 4, dtype=tf.float64), 1.0)
    with pytest.raises(ValueError, match="float32 tensor"):
        sampler.one_step(tf.zeros([2, 4, 4, 3]), 1.0)
    assert sampler.tracing_count == 0


def test_hmc_thermalize_brings_a_hot_start_to_the_exact_plaquette():
    from l2hmc_tf import exact

    beta, chains = 2.0, 128
    hot = lattice.random_start(chains, 8, 8, dtype=tf.float64, seed=4)
    x = starts.hmc_thermalize(hot, beta, 60, 4, 0.2, seed=4)
    truth = float(exact.torus_observables(8, 8, beta)["plaquette"])
    plaq = lattice.mean_plaquette(x).numpy()
    err = plaq.std(ddof=1) / np.sqrt(chains)            # independent chains at one time
    assert abs(lattice.mean_plaquette(hot).numpy().mean() - truth) > 20 * err
    assert abs(plaq.mean() - truth) < 4 * err
    assert starts.hmc_thermalize(hot, beta, 0, 4, 0.2) is hot
    with pytest.raises(ValueError, match="n_trajectories"):
        starts.hmc_thermalize(hot, beta, -1, 4, 0.2)


@pytest.mark.parametrize("thermalised_by", ["leapfrog", "default"])
def test_a_sampler_seeded_like_its_equilibrium_start_samples_the_exact_plaquette_at_once(
        thermalised_by):
    """The start's HMC has a stream of its own: a sampler with the same seed once replayed
    the start's momenta and, after a start thermalised by leapfrog HMC at low acceptance
    (beta 7, eps 0.15: 0.29), its plaquette fell ~6 replica errors below exact over
    trajectories 50-200. The default start (2MN, starts.equilibrium_chains) must sit there
    too."""
    from l2hmc_tf import exact

    beta, shape, chains, seed = 7.0, (16, 16), 64, 3
    dyn = hmc(shape, n_leapfrog=8, step_size=0.15)
    if thermalised_by == "default":
        x = starts.equilibrium_chains(dyn, beta, chains, shape, seed)
    else:
        x = starts.equilibrium_start(chains, shape, beta, starts.START_HMC_TRAJECTORIES, 8,
                                     0.15, seed=seed)
    sampler = kernel.Sampler(dyn, seed=seed)
    plaq = []
    for _ in range(200):
        x, results = sampler.one_step(x, beta)
        plaq.append(results.plaq.numpy())
    series = np.array(plaq)[50:]
    truth = float(exact.torus_observables(*shape, beta)["plaquette"])
    err = autocorr.replica_error(series)                 # independent equilibrium chains
    assert err < 0.0006                                  # small enough to see the replay
    assert abs(series.mean() - truth) < 4 * err
