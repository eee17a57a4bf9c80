"""Training: it learns, resumes exactly, survives a kill, and rejects bad input up front."""
import json
import os
import re
import signal
import subprocess
import time
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import tensorflow as tf

from l2hmc_tf.distributed import SingleProcess
from l2hmc_tf import (annealing, autocorr, checkpoints, config, kernel, lattice, loss, starts,
                      train_cli, training)
from l2hmc_tf.model import Proposal

ROOT = Path(__file__).resolve().parents[1]
TINY = ["lattice.size=[4,4]", "dynamics.n_leapfrog=2", "network.units=[4]",
        "training.chains=8", "training.steps=6", "training.log_every=2", "checkpoint.every=2",
        "checkpoint.keep=2", "evaluation.steps=0", "annealing.beta_start=1.0",
        "annealing.beta_final=2.0"]


def run_cli(*args, script="bin/train.py"):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, script, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def tiny(*extra):
    return config.load(None, TINY + list(extra))


def weights_of(model):
    return [w.numpy() for w in model.weights]


def charge_jump(dyn, beta, seed, chains=64, steps=60, therm=20):
    """E[A dQ_R^2] on fresh chains with its Gamma-method error."""
    sampler = kernel.Sampler(dyn, seed=seed)
    x = lattice.random_start(chains, *dyn.lattice_shape, seed=seed)
    rows = []
    for i in range(steps):
        x, res = sampler.one_step(x, beta)
        if i >= therm:
            rows.append(res.charge_jump.numpy())
    est = autocorr.estimate(np.array(rows))
    return est.mean, est.error


@pytest.mark.slow
def test_short_training_increases_expected_charge_jump():
    cfg = config.load(None, [
        "lattice.size=[8,8]", "dynamics.n_leapfrog=2", "network.units=[8,8]",
        "network.init_scale=0.1", "annealing.kind=none", "annealing.beta_final=3.0",
        "training.steps=200", "training.chains=32", "training.lr=0.003"])
    trainer = training.Trainer(cfg)
    before, err_before = charge_jump(trainer.dynamics, 3.0, seed=5)
    trainer.fit()
    after, err_after = charge_jump(trainer.dynamics, 3.0, seed=5)
    assert after - before > 3 * np.hypot(err_before, err_after), (before, after)


def test_resume_is_exact(tmp_path):
    cfg = tiny()
    straight = training.Trainer(cfg, tmp_path / "a")
    straight.fit()
    first = training.Trainer(cfg, tmp_path / "b")
    for _ in range(3):
        first.train_step(first.schedule.beta(first.step))
    first.save_checkpoint()
    resumed = training.Trainer(cfg, tmp_path / "b", resume=True)
    assert resumed.step == 3
    resumed.fit()
    for a, b in zip(weights_of(straight.dynamics), weights_of(resumed.dynamics)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(straight.x, resumed.x, atol=1e-6)
    for a, b in zip(straight.optimizer.variables, resumed.optimizer.variables):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_checkpoints_rotate_and_corrupt_newest_is_skipped(tmp_path):
    trainer = training.Trainer(tiny(), tmp_path)
    trainer.fit()
    names = [p.name for p in checkpoints.list_checkpoints(tmp_path)]
    assert names == ["ckpt-00000004", "ckpt-00000006"]
    newest = checkpoints.list_checkpoints(tmp_path)[-1] / checkpoints.STATE_FILE
    newest.write_bytes(newest.read_bytes()[:200])            # truncated by a crash
    again = training.Trainer(tiny(), tmp_path, resume=True)
    assert again.step == 4


def test_sigkill_during_checkpoint_write_leaves_a_resumable_run(tmp_path):
    run = tmp_path / "run"
    killed = run_cli("--outdir", str(run), *sum((["--set", s] for s in TINY), []),
                     script="tests/_kill_during_checkpoint.py")
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert [p.name for p in checkpoints.list_checkpoints(run)] == ["ckpt-00000002"]
    resumed = run_cli("--outdir", str(run), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed" in resumed.stdout and "at step 2" in resumed.stdout
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 6
    assert not list((run / "checkpoints").glob(".*tmp*"))


def test_sigterm_checkpoints_the_step_in_progress_and_resume_finishes(tmp_path):
    """A scheduler's SIGTERM at the walltime loses no steps: the run checkpoints the step in
    progress, exits with training.STOPPED and no summary, and --resume finishes it."""
    run = tmp_path / "run"
    long_run = sum((["--set", s] for s in [*TINY, "training.steps=100000",
                                           "checkpoint.every=1000"]), [])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    job = subprocess.Popen([sys.executable, "bin/train.py", "--outdir", str(run), *long_run],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    try:
        log, deadline = run / "train.log", time.time() + 240
        while time.time() < deadline and not (log.exists() and "step      2/" in log.read_text()):
            time.sleep(0.5)
        job.send_signal(signal.SIGTERM)
        output = job.communicate(timeout=120)[0]
    finally:
        job.kill()
    assert job.returncode == training.STOPPED, output[-2000:]
    assert f"--outdir {run} --resume" in output
    (newest,) = checkpoints.list_checkpoints(run)
    step = int(newest.name.split("-")[1])
    assert 2 <= step < 1000 and not (run / "summary.json").exists()
    resumed = run_cli("--outdir", str(run), "--resume", "--set", f"training.steps={step + 2}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((run / "summary.json").read_text())["steps"] == step + 2


def test_trained_model_loads_in_a_fresh_process(tmp_path):
    trainer = training.Trainer(tiny(), tmp_path)
    trainer.fit()
    checkpoints.save_model(tmp_path, trainer.dynamics)
    config.dump(trainer.cfg, tmp_path / "config.yaml")
    x = lattice.random_start(4, 4, 4, seed=3)
    v = tf.random.stateless_normal(x.shape, [1, 1])
    d = tf.constant([1.0, -1.0, 1.0, -1.0])
    expected = trainer.dynamics.propose(x, v, d, 2.0)
    np.savez(tmp_path / "inputs.npz", x=x, v=v, d=d)
    script = (
        "import sys, numpy as np\n"
        "from l2hmc_tf import checkpoints\n"
        "model, cfg = checkpoints.load_model(sys.argv[1])\n"
        "i = np.load(sys.argv[1] + '/inputs.npz')\n"
        "p = model.propose(i['x'], i['v'], i['d'], 2.0)\n"
        "np.savez(sys.argv[1] + '/outputs.npz', x=p.x, v=p.v, logdet=p.logdet)\n")
    (tmp_path / "load.py").write_text(script)
    done = run_cli(str(tmp_path), script=str(tmp_path / "load.py"))
    assert done.returncode == 0, done.stderr[-2000:]
    out = np.load(tmp_path / "outputs.npz")
    for key, value in zip(("x", "v", "logdet"), expected):
        np.testing.assert_array_equal(out[key], value.numpy())


def test_cli_end_to_end_writes_run_directory(tmp_path):
    run = tmp_path / "run"
    done = run_cli("--outdir", str(run), *sum((["--set", s] for s in TINY), []),
                   "--set", "evaluation.steps=20", "--set", "evaluation.chains=8",
                   "--set", "evaluation.therm=4")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (run / "model.weights.h5").is_file() and (run / "train.log").is_file()
    assert list((run / "tensorboard").iterdir())
    assert config.load(run / "config.yaml").training.steps == 6
    summary = json.loads((run / "summary.json").read_text())
    for sampler in ("l2hmc", "hmc"):
        assert {"tau_int_charge_int", "tau_int_charge_int_err", "tau_int_charge_sin",
                "tau_int_charge_sin_err"} <= set(summary["evaluation"][sampler])
    assert "tau_int(Q_Z)" in done.stdout and "beta 2.000" in done.stdout
    with h5py.File(checkpoints.list_checkpoints(run)[-1] / "state.h5") as f:
        assert f["x"].shape == (1, 8, 4, 4, 2) and int(f.attrs["step"]) == 6


def test_init_from_starts_a_new_run_from_trained_weights(tmp_path):
    source = training.Trainer(tiny(), tmp_path / "b2")
    source.fit()
    checkpoints.save_model(tmp_path / "b2", source.dynamics)
    config.dump(source.cfg, tmp_path / "b2" / "config.yaml")
    # a new beta range and a larger lattice (conv weights do not depend on the size)
    finetune = training.Trainer(tiny(f"training.init_from={tmp_path / 'b2'}",
                                     "annealing.beta_start=2.0", "annealing.beta_final=3.0",
                                     "lattice.size=[6,6]"), tmp_path / "b3")
    assert finetune.weights_digest() == source.weights_digest()
    fresh = training.Trainer(tiny("lattice.size=[6,6]"), tmp_path / "c")
    assert fresh.weights_digest() != source.weights_digest()
    finetune.fit()
    assert finetune.weights_digest() != source.weights_digest()


def test_init_from_a_run_still_in_training_takes_its_newest_checkpoint(tmp_path):
    source = training.Trainer(tiny(), tmp_path / "campaign")
    source.fit()
    config.dump(source.cfg, tmp_path / "campaign" / "config.yaml")
    assert not (tmp_path / "campaign" / checkpoints.MODEL_FILE).exists()
    started = training.Trainer(tiny(f"training.init_from={tmp_path / 'campaign'}"),
                               tmp_path / "next")
    assert started.weights_digest() == source.weights_digest()


GAUGE2 = ("network.kind=gauge", "network.x_subupdates=2")


def _trained_gauge_run(path: Path) -> training.Trainer:
    source = training.Trainer(tiny(*GAUGE2), path)
    source.fit()
    checkpoints.save_model(path, source.dynamics)
    config.dump(source.cfg, path / "config.yaml")
    return source


def _partial_start(source: Path, out: Path, *overrides: str) -> training.Trainer:
    return training.Trainer(tiny(*GAUGE2, *overrides, f"training.init_from={source}",
                                 "training.init_partial=true"), out)


def _assert_same_weights(mine, theirs):
    """The same parts, shapes and values. Conv layers are numbered model-wide, so parts are
    compared by their owners, less the layer's position (v_net_3 -> v_net): a layer may take
    its weights from one at another position (training.init_layer_offset)."""
    def parts(weights):
        return [(re.sub(r"_\d+$", "", w.path.split("/")[0]), tuple(w.shape)) for w in weights]
    assert parts(mine) == parts(theirs)
    for a, b in zip(mine, theirs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_init_partial_starts_a_mixed_gauge_layout_from_a_full_one(tmp_path):
    """A gauge model with networks in every layer starts one with networks in layer 1 only:
    layer 1 takes all its weights, layer 0 (tempered leapfrog) only its step sizes."""
    source = _trained_gauge_run(tmp_path / "full")
    mixed = _partial_start(tmp_path / "full", tmp_path / "mixed", "network.network_layers=[1]")
    full_layers, mixed_layers = source.dynamics.leapfrog_layers, mixed.dynamics.leapfrog_layers
    _assert_same_weights(mixed_layers[1].weights, full_layers[1].weights)
    assert float(mixed_layers[0].log_eps_x) == float(full_layers[0].log_eps_x) != float(
        np.log(mixed.cfg.dynamics.step_size))
    assert len(mixed_layers[0].trainable_weights) == 4      # two step sizes, two numbers
    with pytest.raises(config.ConfigError, match="layers 0 to 1"):
        tiny(*GAUGE2, "network.network_layers=[2]")
    with pytest.raises(config.ConfigError, match="network_layers applies to kind gauge"):
        tiny("network.network_layers=[1]")


def test_init_layer_offset_puts_the_trained_layers_in_the_middle_of_a_longer_trajectory(
        tmp_path):
    """Two trained layers become layers 1 and 2 of four: each takes every part of the source
    layer one position before it; the new end layers keep their fresh step sizes."""
    source = _trained_gauge_run(tmp_path / "full")
    longer = _partial_start(tmp_path / "full", tmp_path / "longer", "dynamics.n_leapfrog=4",
                            "network.network_layers=[1,2]", "training.init_layer_offset=1")
    theirs, mine = source.dynamics.leapfrog_layers, longer.dynamics.leapfrog_layers
    for k in (1, 2):
        _assert_same_weights(mine[k].weights, theirs[k - 1].weights)
    fresh = np.log(longer.cfg.dynamics.step_size)
    for k in (0, 3):
        assert float(mine[k].log_eps_x) == pytest.approx(fresh) != float(theirs[0].log_eps_x)
    with pytest.raises(config.ConfigError, match="set init_from and init_partial true"):
        tiny("training.init_layer_offset=1")
    with pytest.raises(config.ConfigError, match="layers 0 to 1"):
        tiny(f"training.init_from={tmp_path / 'full'}", "training.init_partial=true",
             "training.init_layer_offset=2")


def test_init_partial_keeps_the_trained_x_networks_of_a_layout_without_v_networks(tmp_path):
    """Dropping the v-networks (network.v_network false) keeps each layer's trained
    x-networks and step sizes; the tempering numbers that replace the v-network start
    fresh."""
    source = _trained_gauge_run(tmp_path / "full")
    lean = _partial_start(tmp_path / "full", tmp_path / "lean", "network.v_network=false")
    for mine, theirs in zip(lean.dynamics.leapfrog_layers, source.dynamics.leapfrog_layers):
        kept = [w for w in mine.weights if not w.path.startswith("scalars_")]
        _assert_same_weights(kept, [w for w in theirs.weights
                                    if not w.path.startswith("v_net_")])
        assert len(kept) == len(mine.weights) - 2


def test_init_from_rejects_a_model_of_another_shape(tmp_path, capsys):
    source = tmp_path / "b2"
    source.mkdir()
    trainer = training.Trainer(tiny(), source)
    checkpoints.save_model(source, trainer.dynamics)
    config.dump(trainer.cfg, source / "config.yaml")
    base = ["--outdir", str(tmp_path / "new"), *sum((["--set", s] for s in TINY), []),
            "--set", f"training.init_from={source}"]
    assert train_cli.main(base + ["--set", "network.units=[8]"]) == 2
    err = capsys.readouterr().err
    assert "network.units=(4,)" in err and "(8,)" in err
    assert train_cli.main(base + ["--set", f"training.init_from={tmp_path / 'none'}"]) == 2
    assert "holds no trained model" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("args, needle", [
    (["--set", "training.stepz=5"], "training.stepz"),
    (["--set", "training.steps=many"], "training.steps"),
    (["--set", "training.steps=-3"], "training.steps"),
    (["--set", "lattice.size=[5,4]"], "odd"),
    (["--config", "no/such/file.yaml"], "no/such/file.yaml"),
    (["--set", "dynamics.integrator=2mn"], "network kind conv has leapfrog layers"),
    (["--set", "dynamics.integrator=omelyan"], "dynamics.integrator"),
])
def test_bad_config_fails_before_creating_anything(tmp_path, capsys, args, needle):
    out = tmp_path / "run"
    assert train_cli.main(["--outdir", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("path", sorted((ROOT / "configs").rglob("*.yaml")),
                         ids=lambda p: str(p.relative_to(ROOT / "configs")))
def test_every_shipped_config_is_valid(path, monkeypatch):
    """Every config loads, its schedule builds, and one that starts from a committed model
    (training.init_from: models/...) matches that model's architecture."""
    cfg = config.load(path)
    assert cfg.annealing.kind == "none" or cfg.annealing.beta_start <= cfg.annealing.beta_final
    annealing.Schedule(cfg.annealing.kind, cfg.annealing.beta_start, cfg.annealing.beta_final,
                       cfg.training.steps, cfg.annealing.stages)
    if str(cfg.training.init_from).startswith("models/"):
        monkeypatch.chdir(ROOT)
        assert checkpoints.check_init_from(cfg).is_file()


def test_set_reads_numbers_as_people_write_them():
    """--set training.lr=2e-4 is a number (plain YAML 1.1 would read a string, and the config
    refuse it), like 0.0002 and 1E3; other values are YAML as before."""
    cfg = config.load(None, ["training.lr=2e-4", "training.clip_norm=1E3",
                             "dynamics.step_size=.5e-1", "lattice.size=[8, 8]",
                             "training.init_from=runs/1e3"])
    assert (cfg.training.lr, cfg.training.clip_norm, cfg.dynamics.step_size) == (2e-4, 1e3, 0.05)
    assert cfg.lattice.size == (8, 8) and cfg.training.init_from == "runs/1e3"


def test_unknown_key_in_yaml_file_is_named(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("training:\n  steps: 10\n  lerning_rate: 0.1\n")
    assert train_cli.main(["--config", str(cfg), "--outdir", str(tmp_path / "r")]) == 2
    assert "training.lerning_rate" in capsys.readouterr().err


def test_unwritable_or_occupied_outdir_is_rejected(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert train_cli.main(["--outdir", str(blocker / "run")]) == 2
    assert str(blocker) in capsys.readouterr().err
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "something").write_text("x")
    assert train_cli.main(["--outdir", str(occupied)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert train_cli.main(["--outdir", str(tmp_path / "fresh"), "--resume"]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_command_line_exit_code_for_bad_config(tmp_path):
    done = run_cli("--set", "training.steps=-1", "--outdir", str(tmp_path / "r"))
    assert done.returncode == 2 and "training.steps" in done.stderr
    assert not (tmp_path / "r").exists()


def test_non_finite_steps_are_skipped_then_stop_the_run():
    trainer = training.Trainer(tiny("training.max_nan_steps=3"))
    before = weights_of(trainer.dynamics)
    trainer.x = trainer.x + np.nan          # every loss is NaN from here on
    trainer.train_step(1.0)
    trainer.train_step(1.0)
    assert trainer.skipped == 2
    for a, b in zip(before, weights_of(trainer.dynamics)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(training.TrainingDiverged, match="3 steps in a row"):
        trainer.train_step(1.0)


@pytest.mark.parametrize("kind", ["linear", "geometric", "steps", "none"])
def test_annealing_is_monotone_and_ends_at_beta_final(kind):
    sched = annealing.Schedule(kind, 2.0, 5.0, 101, stages=4)
    betas = np.array([sched.beta(t) for t in range(120)])
    assert np.all(np.diff(betas) >= 0)
    assert betas[100] == 5.0 and betas[119] == 5.0
    if kind != "none":
        assert betas[0] == pytest.approx(2.0)
    if kind == "steps":
        assert len(np.unique(betas)) == 4


def test_annealing_rejects_decreasing_schedule():
    with pytest.raises(ValueError, match="beta_start <= beta_final"):
        annealing.Schedule("linear", 5.0, 2.0, 10)


def transition_between(x, y, accept_prob):
    """A kernel.Transition that proposed y from x with the given acceptance."""
    zeros = tf.zeros_like(accept_prob)
    return kernel.Transition(
        x=x, v=tf.zeros_like(x), direction=tf.ones_like(zeros),
        proposal=Proposal(y, tf.zeros_like(y), zeros),
        before=lattice.observables(x, 1.0), after=lattice.observables(y, 1.0), log_ratio=zeros,
        accept_prob=accept_prob, accepted=tf.ones_like(zeros, tf.bool), x_new=y)


def test_loss_forms_reward_charge_jumps():
    x = lattice.random_start(16, 4, 4, seed=1)
    y = lattice.random_start(16, 4, 4, seed=2)
    a = tf.fill([16], 0.5)
    step = transition_between(x, y, a)
    jump = a * (lattice.charge_sin(y) - lattice.charge_sin(x)) ** 2
    standard = loss.loss(step)
    np.testing.assert_allclose(standard, -tf.reduce_mean(jump), rtol=1e-6)
    mixed = loss.loss(step, form="mixed", eps=1e-4)
    np.testing.assert_allclose(mixed, tf.reduce_mean(1 / (jump + 1e-4)) - tf.reduce_mean(jump),
                               rtol=1e-5)
    with_plaq = loss.loss(step, plaq_weight=0.5)
    assert float(with_plaq) < float(standard)          # the plaquette term only adds reward
    assert float(loss.loss(transition_between(x, y, tf.zeros([16])))) == 0.0


def test_learning_rate_schedule_and_rank_scaling():
    t = config.TrainingConfig(steps=100, lr=0.01, lr_warmup_steps=10, lr_decay="cosine",
                              lr_decay_rate=0.1, scale_lr_with_ranks=True)
    opt = training.make_optimizer(t, n_ranks=4)
    sched = opt._learning_rate
    assert float(sched(0)) == pytest.approx(0.0)
    assert float(sched(10)) == pytest.approx(0.04)
    assert float(sched(100)) == pytest.approx(0.004)


class OneRankSawNaN(SingleProcess):
    """Stands in for a Horovod job in which another rank reported a non-finite gradient."""

    def all_true(self, flag):
        return tf.constant(False)


def test_a_non_finite_step_on_any_rank_makes_every_rank_skip():
    trainer = training.Trainer(tiny(), dist=OneRankSawNaN())
    before = weights_of(trainer.dynamics)
    metrics = trainer.train_step(1.0)
    assert np.isfinite(metrics["loss"]) and trainer.skipped == 1
    for a, b in zip(before, weights_of(trainer.dynamics)):
        np.testing.assert_array_equal(a, b)


def test_hmc_therm_thermalises_the_first_chains_but_not_a_resumed_run(tmp_path):
    hot = lattice.random_start(8, 4, 4, seed=0)
    cfg = tiny("training.hmc_therm=5")
    thermalised = starts.hmc_thermalize(hot, 1.0, 5, 2, 0.2, seed=0)   # beta_start, N_LF, eps
    first = training.Trainer(cfg, tmp_path)
    assert np.array_equal(first.x.numpy(), thermalised.numpy())
    first.train_step(1.0)
    first.save_checkpoint()
    resumed = training.Trainer(cfg, tmp_path, resume=True)      # the checkpoint's chains, as is
    assert resumed.step == 1 and np.array_equal(resumed.x.numpy(), first.x.numpy())


def test_a_training_step_is_the_sampler_transition():
    """Training differentiates the very transition sampling runs: from the same weights, chains
    and RNG state, the trainer's proposal and acceptance equal the sampler's, and train_step
    advances its chains to the sampler's next state (MH included)."""
    trainer = training.Trainer(tiny("network.init_scale=1.0"))
    state, x0, beta = trainer.sampler.rng_state(), trainer.x, 1.5
    sampler = kernel.Sampler(trainer.dynamics, seed=99)
    sampler.set_rng_state(state)
    reference = kernel.Sampler(trainer.dynamics, seed=99)
    reference.set_rng_state(state)
    x_new, res = sampler.one_step(x0, beta)
    mirrored = reference.transition(x0, tf.constant(beta))
    step, _, finite, _ = trainer.gradients(x0, tf.constant(beta))
    assert bool(finite) and 0 < int(tf.reduce_sum(tf.cast(res.accepted, tf.int32))) < 8
    np.testing.assert_allclose(step.proposal.x.numpy(), mirrored.proposal.x.numpy(), atol=1e-5)
    np.testing.assert_allclose(step.accept_prob.numpy(), res.accept_prob.numpy(), rtol=1e-5)
    np.testing.assert_array_equal(step.accepted.numpy(), res.accepted.numpy())
    trainer.sampler.set_rng_state(state)
    metrics = trainer.train_step(beta)
    np.testing.assert_allclose(trainer.x.numpy(), x_new.numpy(), atol=1e-5)
    assert metrics["accept"] == pytest.approx(float(tf.reduce_mean(res.accept_prob)), rel=1e-5)
