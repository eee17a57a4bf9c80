"""Physics conventions of docs/physics.md section 1."""
import math

import numpy as np
import pytest
import tensorflow as tf

from l2hmc_tf import lattice


@pytest.mark.parametrize("shape", [(4, 4), (6, 8), (3, 5)])
def test_force_equals_autodiff_gradient(shape):
    x = lattice.random_start(3, *shape, dtype=tf.float64, seed=7)
    beta = tf.constant(2.7, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        s = tf.reduce_sum(lattice.action(x, beta))
    np.testing.assert_allclose(lattice.force(x, beta), tape.gradient(s, x), atol=1e-12, rtol=0)


def test_integer_charge_is_integer_and_nonzero_somewhere():
    x = lattice.random_start(256, 8, 8, dtype=tf.float64, seed=3)
    q = lattice.charge_int(x).numpy()
    np.testing.assert_allclose(q, np.rint(q), atol=1e-6)
    assert np.any(np.rint(q) != 0)      # hot starts span many sectors
    x32 = lattice.random_start(256, 8, 8, dtype=tf.float32, seed=3)
    q32 = lattice.charge_int(x32).numpy()
    np.testing.assert_allclose(q32, np.rint(q32), atol=1e-4)


def test_observables_invariant_under_gauge_transformation():
    x = lattice.random_start(16, 6, 8, dtype=tf.float64, seed=5)
    alpha = tf.random.stateless_uniform([16, 6, 8], [1, 2], -math.pi, math.pi, tf.float64)
    y = lattice.gauge_transform(x, alpha)
    assert float(tf.reduce_max(tf.abs(lattice.wrap(y - x)))) > 0.1   # links really changed
    for fn in (lambda z: lattice.action(z, 1.3), lattice.charge_int, lattice.charge_sin,
               lattice.mean_plaquette):
        np.testing.assert_allclose(fn(y), fn(x), atol=1e-10)


def test_cold_start_and_wrap():
    x = lattice.cold_start(2, 4, 4, dtype=tf.float64)
    assert float(tf.reduce_sum(lattice.action(x, 3.0))) == 0.0
    np.testing.assert_array_equal(lattice.mean_plaquette(x), [1.0, 1.0])
    y = lattice.wrap(tf.constant([-math.pi, math.pi, 3 * math.pi + 0.5, -7.0], tf.float64))
    assert np.all((y >= -math.pi) & (y < math.pi))
    np.testing.assert_allclose(np.cos(y), np.cos([-math.pi, math.pi, 3 * math.pi + 0.5, -7.0]))


def test_plaquette_angle_definition_on_single_excitation():
    # Raise x_0 at the origin: it enters x_P(0) with + and x_P(-e1) with -.
    x = np.zeros([1, 4, 4, 2])
    x[0, 0, 0, 0] = 0.3
    p = lattice.plaquette_angles(tf.constant(x)).numpy()[0]
    assert p[0, 0] == pytest.approx(0.3) and p[0, -1] == pytest.approx(-0.3)
    assert np.count_nonzero(p) == 2


@pytest.mark.parametrize("bad, match", [
    (np.zeros([2, 4, 4, 3]), "shape"),
    (np.zeros([4, 4, 2]), "shape"),
    (np.zeros([2, 1, 4, 2]), "Lt"),
    (np.full([2, 4, 4, 2], np.nan), "NaN"),
    (np.zeros([2, 4, 4, 2], dtype=np.int32), "float32 or float64"),
])
def test_check_links_rejects_bad_configurations(bad, match):
    with pytest.raises(ValueError, match=match):
        lattice.check_links(bad)


def test_check_links_rejects_mismatched_lattice_and_dtype():
    x = np.zeros([2, 4, 4, 2], dtype=np.float32)
    with pytest.raises(ValueError, match="expected"):
        lattice.check_links(x, shape=(8, 8))
    with pytest.raises(ValueError, match="expected float64"):
        lattice.check_links(x, dtype="float64")


@pytest.mark.parametrize("args, match", [
    ((0, 4, 4), "batch"), ((2, 1, 4), "Lt"), ((2, 4, 2.5), "Lx")])
def test_starts_reject_bad_sizes(args, match):
    with pytest.raises(ValueError, match=match):
        lattice.random_start(*args)


def test_bad_dtype_is_named():
    with pytest.raises(ValueError, match="float32 or float64"):
        lattice.cold_start(1, 4, 4, dtype="int32")


def test_shared_observables_match_the_single_functions():
    x = lattice.random_start(8, 6, 4, dtype=tf.float64, seed=2)
    obs = lattice.observables(x, 1.7)
    np.testing.assert_allclose(obs.action, lattice.action(x, 1.7), rtol=1e-14)
    np.testing.assert_allclose(obs.charge_int, lattice.charge_int(x), atol=1e-12)
    np.testing.assert_allclose(obs.charge_sin, lattice.charge_sin(x), atol=1e-12)
    np.testing.assert_allclose(obs.plaquette, lattice.mean_plaquette(x), atol=1e-14)
