"""Shared fixtures and helpers for the test suite."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from l2hmc_tf import driver, inference, kernel, lattice, starts  # noqa: E402,F401
from l2hmc_tf.model import Dynamics  # noqa: E402,F401


def run_and_summarize(dyn, L, beta, chains, steps, therm, seed=0, hmc_therm=0, sampler=None):
    """Sample with `dyn` (or `sampler`) from a hot start (first brought near equilibrium by
    hmc_therm HMC trajectories) and return inference.summarize of the kept steps."""
    sampler = sampler or kernel.Sampler(dyn, seed=seed)
    x = lattice.random_start(chains, L, L, dtype=dyn.compute_dtype, seed=seed)
    x = starts.hmc_thermalize(x, beta, hmc_therm, 2, 0.3, seed=seed)
    _, history = driver.sample_chain(sampler, x, beta, steps)
    return inference.summarize(history.drop(therm), (L, L), beta)


def assert_matches_exact(summary, n_sigma=3.0):
    """Plaquette and <Q_Z^2> within n_sigma of autocorrelation-aware errors of the exact values."""
    for key in ("plaq", "q2"):
        assert abs(getattr(summary, f"{key}_sigma")) < n_sigma, (key, summary)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _seed_everything():
    """Every test starts from the same seeds, Keras initialisers included (tf.random.set_seed
    alone does not reach them), so a test builds the same random networks every run."""
    import keras

    keras.utils.set_random_seed(1234)


def nontrivial_model(kind, shape=(4, 4), n_leapfrog=2, step_size=0.3, s_bias=0.2, seed=0,
                     units=None, dtype="float64", instanton=False, x_subupdates=8,
                     init_scale=1.0, mirror_networks=False, **network_options):
    """A Dynamics whose untrained networks make a visibly non-trivial, x-dependent map, the
    same one for a given seed: keras.utils.set_random_seed fixes the initial weights (TF's
    seed alone does not reach Keras 3 initialisers), and a bias on every v-network's s head
    makes the momenta expand in the forward direction, so |mean logdet| is large in both
    directions and a wrong Jacobian term cannot hide in the noise, and step sizes differ
    from layer to layer (a v-update without a
    network gets s = 2 s_bias in the first layer). kind "hmc": no networks; network_options:
    further NetworkConfig keys; mirror_networks: see Dynamics."""
    import keras

    from l2hmc_tf.config import NetworkConfig

    keras.utils.set_random_seed(seed)
    if kind == "hmc":
        return Dynamics(shape, n_leapfrog, step_size, instanton=instanton, dtype=dtype)
    units = units or {"conv": (8, 8), "gauge": (8,)}.get(kind, (32, 32))
    net = NetworkConfig(kind=kind, units=units, init_scale=init_scale,
                        x_subupdates=x_subupdates, **network_options)
    dyn = Dynamics(shape, n_leapfrog, step_size, network=net, instanton=instanton,
                   dtype=dtype, mirror_networks=mirror_networks)
    for k, layer in enumerate(dyn.leapfrog_layers):
        # step sizes that differ by layer, so that a wrong layer's eps cannot go unnoticed
        layer.log_eps_x.assign(np.log(step_size * (1.0 + 0.04 * k)))
        layer.log_eps_v.assign(np.log(step_size * (1.0 - 0.03 * k)))
        v_net = layer.networks[0]
        if not v_net.uses_links:    # scalar numbers: heat in the first layer, cool in others
            v_net.s.assign(s_bias * (2.0 if k == 0 else -0.5))
            continue
        s_head = v_net.heads[0]
        s_head.bias.assign(tf.fill(s_head.bias.shape, tf.cast(s_bias, s_head.bias.dtype)))
    return dyn


def numpy_action(x, beta):
    """S(x) per configuration, in float64 numpy, written from docs/physics.md section 1
    independently of lattice.py."""
    x = np.asarray(x, np.float64)
    x0, x1 = x[..., 0], x[..., 1]
    plaq = x0 + np.roll(x1, -1, axis=1) - np.roll(x0, -1, axis=2) - x1
    return beta * np.sum(1.0 - np.cos(plaq), axis=(1, 2))
