"""The gauge-equivariant kind (docs/physics.md section 11): exact inverse, log-det against
autodiff for a sub-update, a layer and a trajectory, gauge equivariance, the HMC limit,
detailed balance, and lattices of any size that is a multiple of 4."""
import numpy as np
import pytest
import tensorflow as tf

from l2hmc_tf import config, dynamics, lattice
from l2hmc_tf.layers import SUBUPDATES, active_link_mask
from tests.conftest import assert_matches_exact, nontrivial_model, run_and_summarize
from tests.test_leapfrog import _full_jacobian_logdet


def state(batch, L, seed):
    x = lattice.random_start(batch, L, L, dtype=tf.float64, seed=seed)
    return x, tf.random.stateless_normal(x.shape, [seed, 1], dtype=tf.float64)


def test_the_sub_updates_move_every_link_exactly_once():
    total = tf.add_n([active_link_mask(8, 12, mu, o, tf.float64) for mu, o in SUBUPDATES])
    np.testing.assert_array_equal(total, np.ones([8, 12, 2]))


@pytest.mark.parametrize("x_subupdates", [8, 2])
def test_forward_then_backward_returns_the_input(x_subupdates):
    dyn = nontrivial_model("gauge", shape=(8, 8), n_leapfrog=3, x_subupdates=x_subupdates)
    x, v = state(6, 8, seed=3)
    d = tf.constant([1.0, -1.0, 1.0, -1.0, -1.0, 1.0], tf.float64)
    there = dyn.propose(x, v, d, 2.5)
    assert float(tf.reduce_max(tf.abs(lattice.wrap(there.x - x)))) > 0.1
    assert float(tf.reduce_min(tf.abs(there.logdet))) > 0.1
    back = dyn.propose(there.x, there.v, -d, 2.5)
    assert float(tf.reduce_max(tf.abs(lattice.wrap(back.x - x)))) < 1e-12
    np.testing.assert_allclose(back.v, v, atol=1e-12, rtol=0)
    np.testing.assert_allclose(back.logdet, -there.logdet, atol=1e-12)


@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_logdet_equals_autodiff_jacobian(direction):
    """On 4x4: one sub-update, one layer and one trajectory (x_subupdates 3: network
    sub-updates and drift both occur)."""
    dyn = nontrivial_model("gauge", n_leapfrog=2, x_subupdates=3)
    x, v = state(1, 4, seed=5)
    beta = tf.constant(2.0, tf.float64)
    layer, forward = dyn.leapfrog_layers[0], direction > 0
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


def test_the_map_is_gauge_equivariant():
    """F(g.x, v) = g.F(x, v) for a random gauge transformation g and random weights."""
    dyn = nontrivial_model("gauge", shape=(8, 8), n_leapfrog=2)
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


def test_zero_network_outputs_give_the_hmc_proposal():
    zero = config.NetworkConfig(kind="gauge", units=(8,), init_scale=0.0, x_subupdates=5)
    gauge = dynamics.Dynamics((8, 8), 4, 0.2, network=zero, dtype="float64")
    hmc = dynamics.hmc((8, 8), 4, 0.2, dtype="float64")
    x, v = state(6, 8, seed=2)
    d = tf.constant([1.0, -1.0, 1.0, 1.0, -1.0, -1.0], tf.float64)
    a, b = gauge.propose(x, v, d, 2.0), hmc.propose(x, v, d, 2.0)
    assert float(tf.reduce_max(tf.abs(lattice.wrap(b.x - x)))) > 0.1
    assert float(tf.reduce_max(tf.abs(lattice.wrap(a.x - b.x)))) < 1e-12
    np.testing.assert_allclose(a.v, b.v, atol=1e-12, rtol=0)
    np.testing.assert_allclose(a.logdet, 0.0, atol=1e-12)


def test_a_model_built_on_8x8_runs_on_16x16_and_12x12_but_not_6x6():
    dyn = nontrivial_model("gauge", shape=(8, 8), n_leapfrog=2, dtype="float32", x_subupdates=2)
    sampler = dynamics.Sampler(dyn, seed=0)
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


@pytest.mark.slow
@pytest.mark.parametrize("L, beta, chains, steps, s_bias, x_subupdates, therm, q2_cap", [
    (4, 2.0, 256, 300, 0.2, 8, 10, 0.012), (8, 1.5, 128, 300, 0.05, 2, 50, 0.06)])
def test_random_weights_sample_the_exact_distribution(L, beta, chains, steps, s_bias,
                                                      x_subupdates, therm, q2_cap):
    """Untrained, seeded weights (|mean logdet| > 1 in each direction) at two (L, beta)
    points; the caps and the chain length in tau_int keep the 3-sigma check meaningful."""
    dyn = nontrivial_model("gauge", shape=(L, L), x_subupdates=x_subupdates, s_bias=s_bias,
                           init_scale=0.3)
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
