"""The instanton move of docs/physics.md section 10 (exists only because the model is 2D U(1)):
the shift moves Q_Z by exactly one, and both ways of using it stay exact."""
import numpy as np
import pytest
import tensorflow as tf

from l2hmc_tf import exact, kernel, lattice, starts
from l2hmc_tf.model import hmc
from tests.conftest import assert_matches_exact, nontrivial_model, run_and_summarize


def test_the_shift_moves_the_integer_charge_by_one():
    L = 8
    field = lattice.instanton_field(L, L, tf.float64)
    np.testing.assert_allclose(np.mod(lattice.plaquette_angles(field[None]), 2 * np.pi),
                               2 * np.pi / L**2, atol=1e-12)
    cold = 0.2 * tf.random.stateless_normal([16, L, L, 2], [1, 2], dtype=tf.float64)
    hot = starts.hmc_thermalize(lattice.random_start(64, L, L, dtype=tf.float64, seed=3), 4.0, 40,
                                8, 0.15, seed=3)
    for x in (cold, hot):
        plaquettes = lattice.wrap(lattice.plaquette_angles(x))
        far = np.max(np.abs(plaquettes), axis=(1, 2)) < np.pi - 2 * np.pi / L**2
        assert far.sum() >= 8                 # the statement holds where no plaquette is near pi
        q = lattice.charge_int(x).numpy()[far]
        for sign in (1.0, -1.0):
            moved = lattice.charge_int(lattice.wrap(x + sign * field)).numpy()[far]
            np.testing.assert_allclose(moved - q, sign, atol=1e-9)


@pytest.mark.parametrize("kind", ["hmc", "conv", "mlp", "scalar", "gauge"])
@pytest.mark.parametrize("n_lf", [1, 2, 3, 4])
def test_the_instanton_layer_keeps_the_map_an_exact_involution(kind, n_lf):
    """F_{-d}(F_d(x, v)) = (x, v) with the logdet negated, for every kind and N_LF 1-4 (the
    shift sits after layer N_LF // 2 forward and mirrored backward, also for odd N_LF)."""
    dyn = nontrivial_model(kind, n_leapfrog=n_lf, instanton=True)
    x = lattice.random_start(8, 4, 4, dtype=tf.float64, seed=5)
    v = tf.random.stateless_normal(x.shape, [5, 1], dtype=tf.float64)
    d = tf.constant([1.0, -1.0] * 4, tf.float64)
    there = dyn.propose(x, v, d, 2.0)
    plain = nontrivial_model(kind, n_leapfrog=n_lf).propose(x, v, d, 2.0)
    dq = lattice.charge_int(there.x) - lattice.charge_int(plain.x)
    assert float(tf.reduce_max(tf.abs(dq))) > 0.5          # the shift does move the charge
    back = dyn.propose(there.x, there.v, -d, 2.0)
    assert float(tf.reduce_max(tf.abs(lattice.wrap(back.x - x)))) < 1e-12
    np.testing.assert_allclose(back.v, v, atol=1e-12)
    np.testing.assert_allclose(back.logdet, -there.logdet, atol=1e-12)


@pytest.mark.parametrize("kind", ["hmc", "gauge"])
@pytest.mark.parametrize("n_lf", [1, 2, 3, 4])
def test_the_trace_shows_the_charge_jump_right_after_layer_half(kind, n_lf):
    """trace() of a near-smooth trajectory (small links and momenta, so no plaquette nears
    pi and only the shift can move Q_Z): one row per layer and one for the shift, and Q_Z
    changes by d exactly once, right after layer N_LF // 2 forward (N_LF - N_LF // 2
    backward)."""
    dyn = nontrivial_model(kind, shape=(8, 8), n_leapfrog=n_lf, instanton=True, s_bias=0.0)
    x = 0.05 * tf.random.stateless_normal([4, 8, 8, 2], [2, 3], dtype=tf.float64)
    v = 0.05 * tf.random.stateless_normal(x.shape, [2, 4], dtype=tf.float64)
    for direction in (1, -1):
        charge = dyn.trace(x, v, 2.0, direction=direction)["charge_int"]
        assert charge.shape == (n_lf + 2, 4)
        jumps = np.rint(np.diff(charge, axis=0))
        half = n_lf // 2 if direction > 0 else n_lf - n_lf // 2
        expected = np.zeros_like(jumps)
        expected[half] = direction
        np.testing.assert_array_equal(jumps, expected)


class ShiftWithoutMetropolis(kernel.Sampler):
    """A deliberately broken sampler: the shift x -> x +- A always taken."""

    def _one_step(self, x, beta):
        x_new, res = super()._one_step(x, beta)
        sign = tf.where(tf.range(tf.shape(x)[0]) % 2 == 0, 1.0, -1.0)
        field = lattice.instanton_field(x.shape[1], x.shape[2], x.dtype)
        shifted = lattice.wrap(x_new + tf.cast(sign, x.dtype)[:, None, None, None] * field)
        return shifted, res._replace(charge_int=lattice.charge_int(shifted),
                                     plaq=lattice.mean_plaquette(shifted))


@pytest.mark.slow
def test_hmc_with_instanton_proposals_samples_the_exact_distribution():
    beta, L, chains = 3.0, 8, 128
    plain_hmc = hmc((L, L), 8, 0.12)
    sampler = kernel.Sampler(plain_hmc, seed=4, instanton_moves=2)
    summary = run_and_summarize(plain_hmc, L, beta, chains, 300, 20, seed=4, hmc_therm=30,
                                sampler=sampler)
    assert_matches_exact(summary)
    assert summary.plaq_err < 0.002 and summary.q2_err < 0.05, summary
    plain = run_and_summarize(plain_hmc, L, beta, chains, 300, 20, seed=4, hmc_therm=30)
    assert summary.dq2_mean > 3 * plain.dq2_mean                # the move does its job
    broken = run_and_summarize(plain_hmc, L, beta, chains, 300, 20, seed=4, hmc_therm=30,
                               sampler=ShiftWithoutMetropolis(plain_hmc, seed=4))
    with pytest.raises(AssertionError):
        assert_matches_exact(broken)


@pytest.mark.slow
def test_l2hmc_with_the_instanton_layer_samples_the_exact_distribution():
    dyn = nontrivial_model("conv", instanton=True)
    summary = run_and_summarize(dyn, 4, 2.0, chains=256, steps=400, therm=10, seed=6,
                                hmc_therm=30)
    assert_matches_exact(summary)
    assert summary.plaq_err < 0.002 and summary.q2_err < 0.012, summary


def test_negative_instanton_moves_are_refused():
    with pytest.raises(ValueError, match="instanton moves per trajectory"):
        kernel.Sampler(hmc((4, 4), 2, 0.1), instanton_moves=-1)
    assert exact.torus_observables(4, 4, 1.0)["q2"] > 0
