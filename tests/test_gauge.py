"""The gauge-equivariant kind (docs/physics.md section 11): exact inverse, log-det against
autodiff for a sub-update, a layer and a trajectory, gauge equivariance, the HMC limit,
detailed balance, and lattices of any size that is a multiple of 4."""
import numpy as np
import pytest
import tensorflow as tf

from l2hmc_tf import config, kernel, lattice
from l2hmc_tf.model import Dynamics, hmc
from l2hmc_tf.layers import SUBUPDATES, active_link_mask
from tests.conftest import assert_matches_exact, nontrivial_model, run_and_summarize
from tests.test_leapfrog import _full_jacobian_logdet


def state(batch, L, seed):
    x = lattice.random_start(batch, L, L, dtype=tf.float64, seed=seed)
    return x, tf.random.stateless_normal(x.shape, [seed, 1], dtype=tf.float64)


def test_the_sub_updates_move_every_link_exactly_once():
    total = tf.add_n([active_link_mask(8, 12, mu, o, tf.float64) for mu, o in SUBUPDATES])
    np.testing.assert_array_equal(total, np.ones([8, 12, 2]))


# The campaign's cheap layout: one rotating network sub-update per layer, no v-network.
CHEAP = dict(x_subupdates=1, rotate_subupdates=True, v_network=False)
# Networks in the second layer only; the others are tempered leapfrog layers.
MIXED = dict(x_subupdates=2, network_layers=(1,))


def test_rotated_sub_updates_visit_every_link_over_a_trajectory():
    """Layer k starts at sub-update k * x_subupdates (mod 8): with N_LF * x_subupdates = 8
    each (mu, offset) gets a network exactly once, and each layer's drift covers the rest."""
    for n_lf, n_sub in ((8, 1), (4, 2), (3, 3)):
        dyn = nontrivial_model("gauge", shape=(8, 8), n_leapfrog=n_lf, x_subupdates=n_sub,
                               rotate_subupdates=True, units=(2,))
        visited = [sub for layer in dyn.leapfrog_layers for sub in layer.subupdates]
        assert sorted(set(visited)) == sorted(SUBUPDATES) or n_lf * n_sub < 8
        assert len(set(visited)) == min(8, n_lf * n_sub)
        for layer in dyn.leapfrog_layers:
            assert sorted(layer.subupdates + layer.drift_subupdates) == sorted(SUBUPDATES)


# (N_LF, network options) of mirrored models: odd N_LF (the middle layer mirrors itself),
# several sub-updates, with and without v-networks and rotation.
MIRRORED = [(4, CHEAP), (3, dict(x_subupdates=2, rotate_subupdates=True)),
            (5, dict(x_subupdates=3)), (4, dict(x_subupdates=2, v_network=False))]


@pytest.mark.parametrize("n_lf, options", MIRRORED)
def test_the_mirrored_one_pass_equals_the_layer_path(n_lf, options):
    """integrators.mirrored (all chains in one pass, one network call for both directions)
    gives each chain what the layer path gives it, to rounding, in both directions: layer
    N_LF-1-k holds layer k's networks, x-networks in reverse order."""
    dyn = nontrivial_model("gauge", shape=(8, 8), n_leapfrog=n_lf, mirror_networks=True,
                           **options)
    layers = dyn.leapfrog_layers
    for k, layer in enumerate(layers):
        mirror = layers[n_lf - 1 - k].networks
        assert all(a is b for a, b in zip(layer.networks[1:], mirror[1:][::-1]))
        assert (layer.networks[0] is mirror[0]) == options.get("v_network", True)
    x, v = state(6, 8, seed=4)
    d = tf.constant([1.0, -1.0, 1.0, -1.0, -1.0, 1.0], tf.float64)
    beta = tf.constant(2.5, tf.float64)
    one_pass = dyn.propose(x, v, d, beta)
    forward, backward = dyn._run(x, v, beta, True), dyn._run(x, v, beta, False)
    for got, fwd, bwd in zip(one_pass, forward, backward):
        pick = d > 0 if got.shape.rank == 1 else (d > 0)[:, None, None, None]
        np.testing.assert_allclose(got, tf.where(pick, fwd, bwd), atol=1e-12, rtol=0)
    assert float(tf.reduce_min(tf.abs(one_pass.logdet))) > 1.0
    back = dyn.propose(one_pass.x, one_pass.v, -d, beta)
    assert float(tf.reduce_max(tf.abs(lattice.wrap(back.x - x)))) < 1e-12
    np.testing.assert_allclose(back.logdet, -one_pass.logdet, atol=1e-12)


def test_mirrored_model_trains_every_weight_and_compiles_with_xla():
    """A training step reaches every (shared) network weight and step size, and the
    one-pass layout has static shapes, so XLA compiles the transition (for GPUs)."""
    from l2hmc_tf import training
    cfg = config.load(None, ["lattice.size=[4,4]", "network.kind=gauge", "network.units=[4]",
                             "network.x_subupdates=1", "network.rotate_subupdates=true",
                             "network.v_network=false", "dynamics.mirror_networks=true",
                             "dynamics.n_leapfrog=3", "training.chains=8",
                             "annealing.kind=none", "annealing.beta_final=2.0"])
    trainer = training.Trainer(cfg)
    x = trainer.x
    _, grads, finite, _ = trainer.gradients(x, tf.constant(2.0))
    names = [w.path for w in trainer.dynamics.trainable_variables]
    assert bool(finite) and len(names) == len(set(names))
    assert all(float(tf.reduce_max(tf.abs(g))) > 0 for g in grads), names
    sampler = kernel.Sampler(trainer.dynamics, seed=3, jit_compile=True)
    _, res = sampler.one_step(x, 2.0)
    assert res.accept_prob.shape == (8,) and sampler.tracing_count == 1
    with pytest.raises(ValueError, match="static shapes"):
        kernel.Sampler(nontrivial_model("gauge", dtype="float32"), jit_compile=True)
    with pytest.raises(config.ConfigError, match="mirror_networks needs network.kind gauge"):
        config.load(None, ["network.kind=conv", "dynamics.mirror_networks=true"])


@pytest.mark.parametrize("options", [dict(x_subupdates=8), dict(x_subupdates=2), CHEAP,
                                     MIXED])
def test_forward_then_backward_returns_the_input(options):
    dyn = nontrivial_model("gauge", shape=(8, 8), n_leapfrog=3, **options)
    x, v = state(6, 8, seed=3)
    d = tf.constant([1.0, -1.0, 1.0, -1.0, -1.0, 1.0], tf.float64)
    there = dyn.propose(x, v, d, 2.5)
    assert float(tf.reduce_max(tf.abs(lattice.wrap(there.x - x)))) > 0.1
    assert float(tf.reduce_min(tf.abs(there.logdet))) > 0.1
    back = dyn.propose(there.x, there.v, -d, 2.5)
    assert float(tf.reduce_max(tf.abs(lattice.wrap(back.x - x)))) < 1e-12
    np.testing.assert_allclose(back.v, v, atol=1e-12, rtol=0)
    np.testing.assert_allclose(back.logdet, -there.logdet, atol=1e-12)


@pytest.mark.parametrize("options", [{}, dict(rotate_subupdates=True, v_network=False),
                                     dict(network_layers=(1,), seed=1)])
@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_logdet_equals_autodiff_jacobian(direction, options):
    """On 4x4: one sub-update, one layer and one trajectory (x_subupdates 3: network
    sub-updates and drift both occur; rotated, the last layer starts at sub-update 3)."""
    dyn = nontrivial_model("gauge", n_leapfrog=2, x_subupdates=3, **options)
    x, v = state(1, 4, seed=5)
    beta = tf.constant(2.0, tf.float64)
    layer, forward = dyn.leapfrog_layers[-1], direction > 0
    sub = layer._subupdate(x, v, 1, forward, layer.eps_x)[1]
    sub_jac = _full_jacobian_logdet(
        lambda a, b: (layer._subupdate(a, b, 1, forward, layer.eps_x)[0], b), x, v)
    assert float(sub[0]) == pytest.approx(sub_jac, abs=1e-9) and abs(sub_jac) > 0.05
    step = layer.forward if forward else layer.backward
    _, _, layer_logdet, _ = step(x, v, beta, lattice.force(x, beta))
    layer_jac = _full_jacobian_logdet(
        lambda a, b: step(a, b, beta, lattice.force(a, beta))[:2], x, v)
    assert float(layer_logdet[0]) == pytest.approx(layer_jac, abs=1e-9)
    whole = dyn.propose(x, v, tf.constant([direction], tf.float64), beta)
    whole_jac = _full_jacobian_logdet(
        lambda a, b: dyn.propose(a, b, tf.fill([a.shape[0]], direction), beta)[:2], x, v)
    assert float(whole.logdet[0]) == pytest.approx(whole_jac, abs=1e-9)


@pytest.mark.parametrize("options", [{}, CHEAP, MIXED])
def test_the_map_is_gauge_equivariant(options):
    """F(g.x, v) = g.F(x, v) for a random gauge transformation g and random weights."""
    dyn = nontrivial_model("gauge", shape=(8, 8), n_leapfrog=2, **options)
    x, v = state(4, 8, seed=7)
    alpha = tf.random.stateless_uniform([4, 8, 8], [7, 7], -np.pi, np.pi, dtype=tf.float64)
    d = tf.constant([1.0, -1.0, 1.0, -1.0], tf.float64)
    transformed = dyn.propose(lattice.gauge_transform(x, alpha), v, d, 2.0)
    plain = dyn.propose(x, v, d, 2.0)
    diff = lattice.wrap(transformed.x - lattice.gauge_transform(plain.x, alpha))
    assert float(tf.reduce_max(tf.abs(diff))) < 1e-12
    np.testing.assert_allclose(transformed.v, plain.v, atol=1e-12)
    np.testing.assert_allclose(transformed.logdet, plain.logdet, atol=1e-12)
    conv = nontrivial_model("conv", shape=(8, 8), n_leapfrog=2)     # the link networks are not
    moved = conv.propose(lattice.gauge_transform(x, alpha), v, d, 2.0)
    reference = lattice.gauge_transform(conv.propose(x, v, d, 2.0).x, alpha)
    assert float(tf.reduce_max(tf.abs(lattice.wrap(moved.x - reference)))) > 1e-3


@pytest.mark.parametrize("rotate", [False, True])
def test_zero_network_outputs_give_the_hmc_proposal(rotate):
    zero = config.NetworkConfig(kind="gauge", units=(8,), init_scale=0.0, x_subupdates=5,
                                rotate_subupdates=rotate, v_network=not rotate)
    gauge = Dynamics((8, 8), 4, 0.2, network=zero, dtype="float64")
    plain_hmc = hmc((8, 8), 4, 0.2, dtype="float64")
    x, v = state(6, 8, seed=2)
    d = tf.constant([1.0, -1.0, 1.0, 1.0, -1.0, -1.0], tf.float64)
    a, b = gauge.propose(x, v, d, 2.0), plain_hmc.propose(x, v, d, 2.0)
    assert float(tf.reduce_max(tf.abs(lattice.wrap(b.x - x)))) > 0.1
    assert float(tf.reduce_max(tf.abs(lattice.wrap(a.x - b.x)))) < 1e-12
    np.testing.assert_allclose(a.v, b.v, atol=1e-12, rtol=0)
    np.testing.assert_allclose(a.logdet, 0.0, atol=1e-12)


def test_a_model_built_on_8x8_runs_on_16x16_and_12x12_but_not_6x6():
    dyn = nontrivial_model("gauge", shape=(8, 8), n_leapfrog=2, dtype="float32", x_subupdates=2)
    sampler = kernel.Sampler(dyn, seed=0)
    n_weights = len(dyn.weights)
    for L in (16, 12):
        x, res = sampler.one_step(lattice.random_start(4, L, L, seed=L), 2.0)
        assert x.shape == (4, L, L, 2) and res.accept_prob.shape == (4,)
    assert len(dyn.weights) == n_weights
    with pytest.raises(ValueError, match="multiples of 4"):
        sampler.one_step(lattice.random_start(4, 6, 6), 2.0)
    with pytest.raises(config.ConfigError, match="multiples of 4"):
        config.load(None, ["network.kind=gauge", "lattice.size=[6,6]"])
    with pytest.raises(config.ConfigError, match="network.x_subupdates"):
        config.load(None, ["network.kind=gauge", "network.x_subupdates=9"])
    with pytest.raises(config.ConfigError, match="rotate_subupdates applies to kind gauge"):
        config.load(None, ["network.kind=conv", "network.rotate_subupdates=true"])
    with pytest.raises(config.ConfigError, match="scalar kind has no networks"):
        config.load(None, ["network.kind=scalar", "network.v_network=false"])


@pytest.mark.slow
@pytest.mark.parametrize("L, beta, chains, steps, s_bias, options, therm, q2_cap", [
    (4, 2.0, 256, 300, 0.2, dict(x_subupdates=8), 10, 0.012),
    (8, 1.5, 128, 300, 0.05, dict(x_subupdates=2), 50, 0.06),
    (4, 2.0, 256, 300, 0.2, dict(CHEAP, mirror_networks=True), 10, 0.012),
    (4, 2.0, 256, 300, 0.2, MIXED, 10, 0.012)])
def test_random_weights_sample_the_exact_distribution(L, beta, chains, steps, s_bias,
                                                      options, therm, q2_cap):
    """Untrained, seeded weights (|mean logdet| > 1 in each direction) at two (L, beta)
    points; the caps and the chain length in tau_int keep the 3-sigma check meaningful."""
    dyn = nontrivial_model("gauge", shape=(L, L), s_bias=s_bias, init_scale=0.3, **options)
    x, v = state(32, L, seed=8)
    for sign in (1.0, -1.0):
        assert sign * float(tf.reduce_mean(dyn.propose(x, v, tf.fill([32], sign), beta).logdet)) > 1
    summary = run_and_summarize(dyn, L, beta, chains=chains, steps=steps, therm=therm, seed=6,
                                hmc_therm=50)
    assert_matches_exact(summary)
    assert summary.plaq_err < 0.002 and summary.q2_err < q2_cap, summary
    assert steps - therm > 15 * summary.q2_tau_int, summary


def test_train_resume_and_infer_on_another_lattice(tmp_path):
    """bin/train.py, --resume and bin/infer.py --run --lattice work for the gauge kind, and the
    in-trajectory trace plot is drawn."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(root))

    def run(script, *args):
        done = subprocess.run([sys.executable, script, *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done

    sets = [a for s in ("lattice.size=[8,8]", "network.kind=gauge", "network.units=[4]",
                        "network.x_subupdates=2", "dynamics.n_leapfrog=2", "training.chains=8",
                        "training.steps=2", "checkpoint.every=2", "evaluation.steps=0")
            for a in ("--set", s)]
    out = tmp_path / "run"
    run("bin/train.py", "--outdir", str(out), *sets)
    assert "resumed" in run("bin/train.py", "--outdir", str(out), "--resume", "--set",
                            "training.steps=4").stdout
    run("bin/infer.py", "--run", str(out), "--lattice", "12x12", "--steps", "20", "--chains",
        "4", "--outdir", str(tmp_path / "inf"))
    assert (tmp_path / "inf" / "trace.png").stat().st_size > 1000
    refused = subprocess.run([sys.executable, "bin/infer.py", "--run", str(out), "--lattice",
                              "10x10", "--outdir", str(tmp_path / "no")], cwd=root, env=env,
                             capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "multiples of 4" in refused.stderr
    assert not (tmp_path / "no").exists()
