"""LeapfrogLayers: exact inverse, log-det against autodiff, HMC limit, detailed balance."""
import numpy as np
import pytest
import tensorflow as tf

from l2hmc_tf import driver, kernel, lattice
from l2hmc_tf.model import Dynamics, hmc
from l2hmc_tf.config import NetworkConfig
from tests.conftest import assert_matches_exact, nontrivial_model, run_and_summarize

KINDS = {"conv": NetworkConfig(kind="conv", units=(8, 8), init_scale=1.0),
         "mlp": NetworkConfig(kind="mlp", units=(32, 32), init_scale=1.0),
         "scalar": NetworkConfig(kind="scalar", init_scale=1.0),
         # x-networks only: the v-updates temper with two numbers per layer
         "conv, no v-network": NetworkConfig(kind="conv", units=(8, 8), init_scale=1.0,
                                             v_network=False)}


# Errors a 4x4, beta 2 detailed-balance run must reach for its 3-sigma check to have teeth.
PLAQ_ERR_CAP, Q2_ERR_CAP = 0.002, 0.012


def model(kind, shape=(4, 4), n_lf=3, step=0.3, **kwargs):
    return Dynamics(shape, n_lf, step, network=KINDS[kind], dtype="float64", **kwargs)


def state(batch, shape, seed):
    x = lattice.random_start(batch, *shape, dtype=tf.float64, seed=seed)
    v = tf.random.stateless_normal(x.shape, [seed, 1], dtype=tf.float64)
    return x, v


def max_angle_diff(a, b):
    return float(tf.reduce_max(tf.abs(lattice.wrap(a - b))))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("share", [False, True])
def test_forward_then_backward_returns_the_input(kind, share):
    dyn = model(kind, shape=(6, 6), n_lf=4, share_networks=share)
    x, v = state(6, (6, 6), seed=3)
    d = tf.constant([1.0, -1.0, 1.0, -1.0, -1.0, 1.0], tf.float64)
    there = dyn.propose(x, v, d, 2.5)
    assert max_angle_diff(there.x, x) > 0.1 and float(tf.reduce_max(tf.abs(there.logdet))) > 0.1
    back = dyn.propose(there.x, there.v, -d, 2.5)
    assert max_angle_diff(back.x, x) < 1e-12
    np.testing.assert_allclose(back.v, v, atol=1e-12, rtol=0)
    np.testing.assert_allclose(back.logdet, -there.logdet, atol=1e-12)


def _full_jacobian_logdet(fn, x, v):
    """log|det| of d(x', v')/d(x, v) for one configuration, by autodiff in one backward pass:
    the configuration is repeated once per output component k, and copy k contributes only
    its output k, so the gradient on copy k is row k of the Jacobian. fn maps batches."""
    n = 2 * int(tf.size(x))
    xs, vs = tf.repeat(x, n, axis=0), tf.repeat(v, n, axis=0)
    with tf.GradientTape() as tape:
        tape.watch([xs, vs])
        out = tf.concat([tf.reshape(t, [n, -1]) for t in fn(xs, vs)], axis=1)
        picked = tf.reduce_sum(out * tf.eye(n, dtype=out.dtype))
    rows = [tf.reshape(g, [n, -1]) for g in tape.gradient(picked, [xs, vs])]
    return float(tf.linalg.slogdet(tf.concat(rows, axis=1))[1])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_logdet_equals_autodiff_jacobian(kind, direction):
    dyn = model(kind, shape=(4, 4), n_lf=2)
    x, v = state(1, (4, 4), seed=5)
    beta = tf.constant(2.0, tf.float64)
    layer = dyn.leapfrog_layers[0]
    step = layer.forward if direction > 0 else layer.backward
    _, _, layer_logdet, _ = step(x, v, beta, lattice.force(x, beta))
    layer_jac = _full_jacobian_logdet(
        lambda a, b: step(a, b, beta, lattice.force(a, beta))[:2], x, v)
    assert float(layer_logdet[0]) == pytest.approx(layer_jac, abs=1e-9)
    assert abs(layer_jac) > 0.05            # a non-trivial volume change is being checked
    whole = dyn.propose(x, v, tf.constant([direction], tf.float64), beta)
    whole_jac = _full_jacobian_logdet(
        lambda a, b: dyn.propose(a, b, tf.fill([a.shape[0]], direction), beta)[:2], x, v)
    assert float(whole.logdet[0]) == pytest.approx(whole_jac, abs=1e-9)


def _zero(kind) -> NetworkConfig:
    """The network config of KINDS[kind] with every head weight zero: the leapfrog step."""
    return KINDS[kind].model_copy(update={"units": (8,), "init_scale": 0.0})


def _run_pair(kind, steps=3):
    zero = _zero(kind)
    l2hmc = Dynamics((8, 8), 3, 0.2, network=zero)
    plain_hmc = hmc((8, 8), 3, 0.2)
    x0 = lattice.random_start(32, 8, 8, seed=4)
    samplers = [kernel.Sampler(l2hmc, seed=11), kernel.Sampler(plain_hmc, seed=11)]
    xs, trail = [x0, x0], []
    for _ in range(steps):
        outs = [s.one_step(x, 1.5) for s, x in zip(samplers, xs)]
        xs = [o[0] for o in outs]
        trail.append(outs)
    assert max_angle_diff(xs[0], x0) > 0.1
    return trail


@pytest.mark.parametrize("kind", KINDS)
def test_zero_network_outputs_give_the_hmc_proposal(kind):
    """Zero networks run the generalised layers step by step; HMC runs its own fast leapfrog
    (directions held apart, half-kicks merged). Both directions agree to float64 rounding."""
    l2hmc = Dynamics((6, 6), 5, 0.2, network=_zero(kind), dtype="float64")
    plain_hmc = hmc((6, 6), 5, 0.2, dtype="float64")
    x, v = state(6, (6, 6), seed=2)
    d = tf.constant([1.0, -1.0, 1.0, 1.0, -1.0, -1.0], tf.float64)
    layered, fast = l2hmc.propose(x, v, d, 2.0), plain_hmc.propose(x, v, d, 2.0)
    assert max_angle_diff(fast.x, x) > 0.1
    assert max_angle_diff(layered.x, fast.x) < 1e-12
    np.testing.assert_allclose(layered.v, fast.v, atol=1e-12, rtol=0)
    np.testing.assert_allclose(layered.logdet, 0.0, atol=1e-12)


@pytest.mark.parametrize("n_lf", [1, 2, 5])
def test_the_scalar_fast_path_equals_its_layer_path(n_lf):
    """The scalar kind's one-pass leapfrog (integrators.leapfrog, both directions in one
    batch) against its layers run one by one per direction (Dynamics._run), with trained
    numbers s, q != 0 that differ by layer and eps_x != eps_v: equal to float64 rounding."""
    dyn = nontrivial_model("scalar", shape=(6, 6), n_leapfrog=n_lf)
    rng = np.random.default_rng(n_lf)
    for layer in dyn.leapfrog_layers:
        for number in (layer.networks[0].s, layer.networks[0].q):
            number.assign(rng.uniform(0.1, 0.5) * rng.choice([-1.0, 1.0]))
        layer.log_eps_x.assign(np.log(rng.uniform(0.2, 0.3)))
        layer.log_eps_v.assign(np.log(rng.uniform(0.35, 0.45)))
    assert dyn.has_fast_path
    x, v = state(6, (6, 6), seed=4)
    d = tf.constant([1.0, -1.0, 1.0, 1.0, -1.0, -1.0], tf.float64)
    fast = dyn.propose(x, v, d, 2.0)
    assert float(tf.reduce_max(tf.abs(fast.logdet))) > 0.1      # the numbers do act
    assert_fast_path_equals_layer_path(dyn, x, v, d, fast)


def assert_fast_path_equals_layer_path(dyn, x, v, d, fast, beta=2.0):
    """`fast` (dyn.propose: every chain in one pass) against the layers run one by one on the
    chains of each direction (Dynamics._run): equal to float64 rounding."""
    for sign, forward in ((1.0, True), (-1.0, False)):
        chosen = np.flatnonzero(d.numpy() == sign)
        layered = dyn._run(tf.gather(x, chosen), tf.gather(v, chosen), beta, forward)
        assert max_angle_diff(layered.x, tf.gather(fast.x, chosen)) < 1e-12
        np.testing.assert_allclose(layered.v, tf.gather(fast.v, chosen), atol=1e-12, rtol=0)
        np.testing.assert_allclose(layered.logdet, tf.gather(fast.logdet, chosen), atol=1e-12)


def test_zero_network_outputs_match_compiled_hmc():
    """The samplers too: same seeds give the same accept decisions, and states equal to
    float32 rounding (the two integrators order their products differently)."""
    for (x_a, res_a), (x_b, res_b) in _run_pair("conv"):
        np.testing.assert_array_equal(res_a.accepted.numpy(), res_b.accepted.numpy())
        np.testing.assert_allclose(x_a, x_b, atol=5e-6, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_random_weights_sample_the_exact_distribution(kind):
    """Detailed balance: an untrained but strongly non-trivial map (the same one every run,
    |mean logdet| > 2 in each direction) still samples exp(-S). A small lattice and many
    chains give errors small enough that a wrong Jacobian term shows (the caps make sure),
    and chains many tau_int long keep the Gamma-method errors honest."""
    beta, L = 2.0, 4
    dyn = nontrivial_model(KINDS[kind].kind, shape=(L, L), v_network=KINDS[kind].v_network)
    x, v = state(64, (L, L), seed=8)
    for sign in (1.0, -1.0):
        moved = dyn.propose(x, v, tf.fill([64], sign), beta)
        assert sign * float(tf.reduce_mean(moved.logdet)) > 2.0
    summary = run_and_summarize(dyn, L, beta, chains=256, steps=400, therm=10, seed=6,
                                hmc_therm=30)
    assert_matches_exact(summary)
    assert summary.plaq_err < PLAQ_ERR_CAP and summary.q2_err < Q2_ERR_CAP, summary
    assert 390 > 15 * summary.q2_tau_int, summary
    assert 0.2 < summary.accept_mean < 0.95


def test_conv_model_runs_unchanged_on_other_lattice_sizes():
    dyn = Dynamics((8, 8), 2, 0.2, network=KINDS["conv"])
    sampler = kernel.Sampler(dyn, seed=0)
    n_weights = len(dyn.weights)
    for L in (16, 12):
        x, res = sampler.one_step(lattice.random_start(4, L, L, seed=L), 2.0)
        assert x.shape == (4, L, L, 2) and res.accept_prob.shape == (4,)
        dyn.check_lattice((L, L))
    assert len(dyn.weights) == n_weights


def test_compiled_transition_does_not_retrace():
    sampler = kernel.Sampler(model("conv", shape=(4, 4), n_lf=2), seed=0)
    x = lattice.random_start(8, 4, 4, dtype=tf.float64, seed=0)
    for beta in (1.0, 2.0, 3.0, 4.0):
        x, _ = sampler.one_step(x, beta)
    assert sampler.tracing_count == 1


def test_trace_records_every_layer_and_matches_the_proposal():
    dyn = model("conv", shape=(4, 4), n_lf=3)
    x, v = state(2, (4, 4), seed=1)
    beta = tf.constant(1.5, tf.float64)
    for direction in (1, -1):
        tr = dyn.trace(x, v, beta, direction)
        assert set(tr) == {"h_minus_logdet", "plaquette", "charge_sin", "charge_int"}
        assert all(a.shape == (4, 2) for a in tr.values())
        prop = dyn.propose(x, v, tf.constant([direction] * 2, tf.float64), beta)
        expected = dyn.hamiltonian(prop.x, prop.v, beta) - prop.logdet
        np.testing.assert_allclose(tr["h_minus_logdet"][-1], expected, atol=1e-10)
        np.testing.assert_allclose(tr["plaquette"][-1], lattice.mean_plaquette(prop.x), atol=1e-12)


def test_lambda_and_step_sizes_are_tracked_trainable_weights():
    dyn = model("mlp", shape=(4, 4), n_lf=2)
    names = [w.path for w in dyn.trainable_weights]
    assert sum("lambda_s" in n for n in names) == 6 and sum("lambda_q" in n for n in names) == 6
    assert sum("log_eps" in n for n in names) == 4
    assert hmc((4, 4), 2, 0.1).trainable_weights == []


@pytest.mark.parametrize("make, match", [
    (lambda: Dynamics((5, 4), 2, 0.1, network=KINDS["conv"]), "odd"),
    (lambda: Dynamics((4, 4), 0, 0.1, network=KINDS["conv"]), "n_leapfrog"),
    (lambda: NetworkConfig(kind="resnet"), "kind"),
    (lambda: NetworkConfig(activation="sigmoidal"), "activation"),
    (lambda: NetworkConfig(units=()), "units"),
])
def test_bad_model_configuration_is_rejected(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_mlp_rejects_other_lattice_sizes_before_compute():
    dyn = Dynamics((4, 4), 2, 0.1, network=KINDS["mlp"])
    with pytest.raises(ValueError, match="mlp.*conv"):
        dyn.check_lattice((6, 6))
    sampler = kernel.Sampler(dyn, seed=0)
    with pytest.raises(ValueError, match="mlp.*conv"):
        driver.sample_chain(sampler, lattice.random_start(2, 6, 6), 1.0, 3)
    assert sampler.tracing_count == 0
