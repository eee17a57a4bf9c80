"""bin/infer.py end to end: exact results, kill and resume, bounded memory, bad input."""
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from l2hmc_tf import checkpoints, config, training
from l2hmc_tf.chainfile import SERIES

ROOT = Path(__file__).resolve().parents[1]
HMC = ["--hmc", "--config", "configs/debug.yaml", "--beta", "1.0"]


def infer(*args, timeout=600):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "bin/infer.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def summary(outdir):
    return json.loads((Path(outdir) / "summary.json").read_text())


def assert_exact(s, n_sigma=3.0):
    assert abs(s["plaq_sigma"]) < n_sigma and abs(s["q2_sigma"]) < n_sigma, s
    assert s["plaq_err"] < 0.005 and s["q2_err"] < 0.2          # the check has teeth


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A short-trained conv model at beta = 1.5 on 8x8 (fast mixing)."""
    run = tmp_path_factory.mktemp("trained")
    cfg = config.load(None, ["lattice.size=[8,8]", "dynamics.n_leapfrog=3",
                             "network.units=[8]", "annealing.kind=none",
                             "annealing.beta_final=1.5", "training.steps=40",
                             "training.chains=16", "evaluation.steps=0"])
    trainer = training.Trainer(cfg, run)
    trainer.fit()
    config.dump(cfg, run / "config.yaml")
    checkpoints.save_model(run, trainer.dynamics)
    return run


@pytest.mark.slow
def test_hmc_through_infer_reproduces_exact_values(tmp_path):
    out = tmp_path / "hmc"
    done = infer(*HMC, "--steps", "600", "--chains", "48", "--outdir", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    s = summary(out)
    assert_exact(s)
    assert s["sampler"] == "hmc" and s["steps"] == 600 and s["thermalization"] == 60
    for key in ("tau_int_charge_int", "tau_int_charge_int_err", "tau_int_charge_sin",
                "tau_int_charge_sin_err", "accept_mean", "tunneling_rate", "wall_seconds",
                "trajectories_per_second", "nlf_tau_int_charge_int", "plaq_exact", "q2_exact"):
        assert np.isfinite(s[key]), key
    with h5py.File(out / "inference.h5") as f:
        assert all(f[k].shape == (600, 48) for k in SERIES)
        assert {"beta", "lattice", "n_leapfrog", "sampler", "seed", "version"} <= set(f.attrs)


@pytest.mark.slow
def test_trained_l2hmc_through_infer_reproduces_exact_values(trained_run, tmp_path):
    out = tmp_path / "l2hmc"
    done = infer("--run", str(trained_run), "--steps", "400", "--chains", "48",
                 "--outdir", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    s = summary(out)
    assert s["sampler"] == "l2hmc" and s["beta"] == 1.5 and s["lattice"] == "8x8"
    assert_exact(s)


def test_conv_model_samples_other_lattice_sizes(trained_run, tmp_path):
    done = infer("--run", str(trained_run), "--lattice", "12x12", "--steps", "20",
                 "--chains", "4", "--outdir", str(tmp_path / "big"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert summary(tmp_path / "big")["lattice"] == "12x12"


def _committed(path):
    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            return int(f["progress"][0])
    except (OSError, KeyError):
        return 0


def test_killed_run_resumes_to_the_same_chain(tmp_path):
    """Saved configurations included (--save-every): the resumed file holds the bytes an
    uninterrupted run writes."""
    args = [*HMC, "--steps", "600", "--chains", "8", "--chunk", "50", "--save-every", "7"]
    straight = infer(*args, "--outdir", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr[-3000:]
    out = tmp_path / "killed"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    job = subprocess.Popen([sys.executable, "bin/infer.py", *args, "--outdir", str(out)],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while _committed(out / "inference.h5") < 150 and time.time() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert 150 <= _committed(out / "inference.h5") < 600
    resumed = infer(*args, "--outdir", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    with h5py.File(out / "inference.h5") as a, h5py.File(tmp_path / "straight/inference.h5") as b:
        for key in SERIES:
            assert a[key].shape == (600, 8)
            np.testing.assert_array_equal(a[key][...], b[key][...])
        assert a["configs"].shape == (85, 8, 8, 8, 2)
        for key in ("configs", "configs_trajectory"):
            np.testing.assert_array_equal(a[key][...], b[key][...])
    assert summary(out)["steps"] == 600


MEASURE = ("import resource, runpy, sys\n"
           "sys.argv = ['bin/infer.py'] + sys.argv[1:]\n"
           "try:\n    runpy.run_path('bin/infer.py', run_name='__main__')\n"
           "except SystemExit as e:\n    assert not e.code, e.code\n"
           "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")


@pytest.mark.slow
def test_memory_stays_flat_for_longer_chains(tmp_path):
    peaks = []
    for steps in (300, 3000):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, "-c", MEASURE, *HMC, "--steps", str(steps),
                               "--chains", "16", "--chunk", "100",
                               "--outdir", str(tmp_path / str(steps))],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        peaks.append(int(done.stdout.split("MAXRSS_KB")[1].split()[0]) / 1024)
    assert peaks[1] - peaks[0] < 8.0, peaks     # MiB


def test_bad_inputs_fail_cleanly_and_overwrite_nothing(tmp_path):
    empty = tmp_path / "not_a_run"
    empty.mkdir()
    cases = [
        (["--run", str(empty)], "no trained model"),
        ([*HMC[:3], "--beta", "0"], "--beta"),
        ([*HMC[:3], "--beta", "-2"], "--beta"),
        ([*HMC, "--steps", "0"], "--steps"),
        ([*HMC, "--steps", "4"], "--steps must be at least 5"),
        (["--hmc"], "--config"),
        (["--run", str(empty), "--target-accept", "0.8"], "--target-accept"),
        ([*HMC, "--instanton", "-1"], "--instanton must be an integer >= 0"),
    ]
    for args, needle in cases:
        done = infer(*args, "--outdir", str(tmp_path / "out"))
        err = done.stderr.strip()
        assert done.returncode != 0 and needle in err and len(err.splitlines()) == 1, (args, err)
        assert not (tmp_path / "out").exists()
    first = infer(*HMC, "--steps", "20", "--chains", "4", "--outdir", str(tmp_path / "o"))
    assert first.returncode == 0
    before = (tmp_path / "o" / "inference.h5").read_bytes()
    again = infer(*HMC, "--steps", "20", "--chains", "4", "--outdir", str(tmp_path / "o"))
    assert again.returncode != 0 and "--resume" in again.stderr
    assert (tmp_path / "o" / "inference.h5").read_bytes() == before
    other = infer(*HMC[:3], "--beta", "2.0", "--steps", "40", "--chains", "4",
                  "--outdir", str(tmp_path / "o"), "--resume")
    assert other.returncode != 0 and "beta" in other.stderr


def test_mlp_model_refuses_another_lattice(tmp_path):
    cfg = config.load(None, ["lattice.size=[4,4]", "network.kind=mlp", "network.units=[8]",
                             "dynamics.n_leapfrog=1", "training.steps=1", "training.chains=2",
                             "evaluation.steps=0"])
    trainer = training.Trainer(cfg)
    config.dump(cfg, tmp_path / "config.yaml")
    checkpoints.save_model(tmp_path, trainer.dynamics)
    done = infer("--run", str(tmp_path), "--lattice", "8x8", "--outdir", str(tmp_path / "o"))
    assert done.returncode == 2 and "mlp" in done.stderr and not (tmp_path / "o").exists()


def test_compare_table_and_plots(trained_run, tmp_path):
    common = ["--steps", "60", "--chains", "8", "--beta", "1.5"]
    ours = infer("--run", str(trained_run), *common, "--outdir", str(tmp_path / "l2hmc"))
    base = infer("--hmc", "--config", str(trained_run / "config.yaml"), *common,
                 "--outdir", str(tmp_path / "hmc"))
    assert ours.returncode == 0 and base.returncode == 0, ours.stderr[-2000:] + base.stderr[-2000:]
    length = json.loads((tmp_path / "l2hmc" / "summary.json").read_text())["length_in_tau"]
    assert f"(chains {length:.1f} tau_int(Q_Z) long)" in ours.stderr
    assert ("cannot be trusted" in ours.stderr) == (length < 20)
    for name in ("charge_history.png", "autocorrelation.png", "trace.png"):
        assert (tmp_path / "l2hmc" / name).stat().st_size > 1000
    assert not (tmp_path / "hmc" / "trace.png").exists()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "bin/compare.py", str(tmp_path / "l2hmc"),
                           str(tmp_path / "hmc"), "--plot", str(tmp_path / "tau.png"),
                           "--json", str(tmp_path / "cmp.json")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    row = json.loads((tmp_path / "cmp.json").read_text())[0]
    assert row["beta"] == 1.5 and row["lattice"] == "8x8"
    assert row["tau_int_gain"] == pytest.approx(row["tau_int_hmc"] / row["tau_int_l2hmc"])
    assert row["nlf_tau_int_gain"] == pytest.approx(
        row["nlf_tau_int_hmc"] / row["nlf_tau_int_l2hmc"])
    assert "1.5" in done.stdout and "8x8" in done.stdout
    assert (tmp_path / "tau.png").stat().st_size > 1000
    missing = subprocess.run([sys.executable, "bin/compare.py", str(tmp_path)], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "summary.json" in missing.stderr


def test_evaluate_extends_chains_until_tau_int_is_precise():
    from l2hmc_tf import autocorr, inference, lattice, starts
    from l2hmc_tf.model import hmc

    sampler = hmc((8, 8), 4, 0.2)
    out = inference.evaluate(sampler, 1.0, chains=8, steps=20, therm=2, seed=5, rel_error=0.15,
                             max_steps=5000)
    assert out.tau_int_precise
    assert out.stats.tau_int_charge_int_err < 0.15 * out.stats.tau_int_charge_int
    n_chunks = np.log2(out.steps / 20)
    assert n_chunks >= 1 and n_chunks == int(n_chunks)          # lengths 20, 40, 80, ...
    assert (out.steps - out.thermalization
            >= inference.MIN_LENGTH_IN_TAU * out.stats.tau_int_charge_int)
    capped = inference.evaluate(sampler, 1.0, chains=8, steps=20, therm=2, seed=5,
                                rel_error=1e-3, max_steps=50)
    assert capped.steps == 50 and not capped.tau_int_precise
    seen = []
    fixed = inference.evaluate(sampler, 1.0, chains=8, steps=30, therm=2, seed=5,
                               on_chunk=lambda n, r: seen.append(n))
    assert fixed.steps == 30 and fixed.thermalization == 2 and seen == [30]
    short = inference.evaluate(sampler, 1.0, chains=8, steps=8, therm=20, seed=5)
    assert short.thermalization == 8 - autocorr.MIN_STEPS       # keeps what pyerrors needs
    given = inference.evaluate(sampler, 1.0, chains=8, steps=30, therm=2, seed=5,
                               start=starts.equilibrium_chains(sampler, 1.0, 8, (8, 8), 5))
    assert given.stats.plaq_mean == fixed.stats.plaq_mean     # the start it would have drawn
    assert fixed.start == "equilibrium" and given.start == "given"
    with pytest.raises(ValueError, match="start holds 4 chains but 8"):
        inference.evaluate(sampler, 1.0, chains=8, steps=30, therm=2, seed=5,
                           start=lattice.random_start(4, 8, 8))


def test_topology_diagnostics_predict_the_measured_tau_int():
    """<dQ_Z^2> per trajectory and the diffusive prediction 4 <Q_Z^2> / <dQ_Z^2> - 1 agree
    with the Gamma-method tau_int(Q_Z) within 30% for HMC (8x8, beta 3; a check of the
    estimators' plumbing), and the per-chain Sokal figure is reported beside them."""
    from l2hmc_tf.model import hmc
    from tests.conftest import run_and_summarize

    s = run_and_summarize(hmc((8, 8), 8, 0.12), 8, 3.0, chains=128, steps=500,
                          therm=50, seed=3)
    assert s.tau_int_charge_int_err < 0.1 * s.tau_int_charge_int
    assert 0.02 < s.dq2_mean < 1 and s.dq2_err < 0.2 * s.dq2_mean
    assert s.tau_int_predicted == pytest.approx(4 * s.q2_exact / s.dq2_mean - 1)
    assert abs(s.tau_int_predicted / s.tau_int_charge_int - 1) < 0.3
    assert abs(s.tau_int_sokal_per_chain / s.tau_int_charge_int - 1) < 0.5


def test_per_chain_sokal_estimator_on_ar1_chains():
    """tau_int_per_chain_sokal reads (1 + phi) / (1 - phi) on long AR(1) chains, NaN when no
    chain moves, and ignores frozen chains."""
    from l2hmc_tf import autocorr

    rng = np.random.default_rng(0)
    phi, steps, chains = 0.8, 20_000, 8
    x = np.zeros((steps, chains))
    for t in range(1, steps):
        x[t] = phi * x[t - 1] + rng.standard_normal(chains)
    with_frozen = np.concatenate([x, np.ones((steps, 2))], axis=1)
    assert autocorr.tau_int_per_chain_sokal(with_frozen) == pytest.approx(9.0, rel=0.1)
    assert np.isnan(autocorr.tau_int_per_chain_sokal(np.ones((50, 3))))


def test_infer_with_instanton_proposals_labels_and_resumes(tmp_path):
    """bin/infer.py --instanton K: the summary says which 2D-U(1)-only move ran, the HDF5 file
    records K, and a resume with another K is refused."""
    out = tmp_path / "inst"
    done = infer(*HMC, "--steps", "40", "--chains", "8", "--instanton", "2", "--outdir", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    s = summary(out)
    assert s["instanton_moves"] == 2 and "(2D U(1) only)" in s["label"]
    assert s["dq2_mean"] > 0 and np.isfinite(s["tau_int_predicted"])
    with h5py.File(out / "inference.h5") as f:
        assert int(f.attrs["instanton_moves"]) == 2
    other = infer(*HMC, "--steps", "60", "--chains", "8", "--outdir", str(out), "--resume")
    assert other.returncode == 2 and "instanton_moves" in other.stderr


def test_summaries_written_before_the_topology_diagnostics_still_load():
    """bin/compare.py reads older summary.json files: their missing diagnostics are NaN, while
    a missing core key is still an error."""
    from l2hmc_tf.summary import ChainSummary, Statistics

    stats = Statistics(*range(16))
    new = ChainSummary("hmc", 2.0, "8x8", 4, 8, 100, 10, stats).to_dict()
    old = {k: v for k, v in new.items() if not k.startswith(("dq2", "tau_int_predicted",
                                                             "tau_int_sokal"))}
    loaded = ChainSummary.from_dict(old)
    assert loaded.stats.q2_mean == stats.q2_mean and np.isnan(loaded.stats.dq2_mean)
    del old["q2_mean"]
    with pytest.raises(KeyError):
        ChainSummary.from_dict(old)


def test_compare_pairs_every_sampler_with_the_strongest_plain_hmc(tmp_path, capsys):
    """bin/compare.py on summaries like a user's: plain HMC at N_LF 2 and 8 (leapfrog) and
    2MN at 4 steps, HMC + 2 instanton proposals, two trained runs (one with other chains
    per rank) and one trained run at a beta with no HMC. Each sampler gets its own row
    against the plain HMC with the fewest force evaluations per independent Q_Z (2MN counts
    two a step), the gain per second only where the chains per rank agree, and the unmatched
    one is named with what it lacks. Known taus, so every ratio is checked."""
    from dataclasses import replace

    from l2hmc_tf import compare
    from l2hmc_tf.summary import ChainSummary, Statistics

    def summary(sampler, n_lf, tau, chains=32, traj_per_s=100.0, moves=0, beta=3.0,
                integrator="leapfrog"):
        stats = replace(Statistics(*range(16)), tau_int_charge_int=tau,
                        tau_int_charge_int_err=tau / 10)
        return ChainSummary(sampler, beta, "8x8", n_lf, chains, 500, 50, stats,
                            trajectories_per_second=traj_per_s, instanton_moves=moves,
                            integrator=integrator)

    given = {"hmc2": summary("hmc", 2, 40.0),                             # 80 forces per Q
             "hmc8": summary("hmc", 8, 8.0, traj_per_s=50),               # 64: the strongest
             "hmc2mn": summary("hmc", 4, 9.0, integrator="2mn"),          # 72
             "hmc2+inst": summary("hmc", 2, 4.0, moves=2),
             "runA": summary("l2hmc", 8, 2.0, traj_per_s=5.0),
             "runB": summary("l2hmc", 8, 5.0, chains=64, traj_per_s=4.0),
             "runC": summary("l2hmc", 4, 3.0, beta=4.0)}
    for name, s in given.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps(s.to_dict()))
    rows, refusals = compare.pair_rows(compare.load_summaries(
        [tmp_path / name for name in given]))
    by_source = {Path(r["source"]).name: r for r in rows}
    assert set(by_source) == {"hmc2+inst", "runA", "runB"}
    assert {Path(r["baseline"]).name for r in rows} == {"hmc8"}
    inst, run_a, run_b = by_source["hmc2+inst"], by_source["runA"], by_source["runB"]
    assert inst["tau_int_gain"] == pytest.approx(2.0) and "2 instanton moves" in inst["sampler"]
    assert run_a["tau_int_gain"] == pytest.approx(4.0)
    assert run_a["nlf_tau_int_gain"] == pytest.approx(64 / 16)
    # seconds per independent Q_Z: tau / (trajectories per second): (8/50) / (2/5)
    assert run_a["seconds_gain"] == pytest.approx(0.4)
    assert run_a["trajectory_cost"] == pytest.approx(10.0)
    assert run_b["tau_int_gain"] == pytest.approx(1.6) and math.isnan(run_b["seconds_gain"])
    assert "64 chains per rank against HMC's 32" in run_b["seconds_gain_note"]
    assert len(refusals) == 1 and "runC" in refusals[0] and "beta 4 8x8" in refusals[0]
    assert compare.main([str(tmp_path / n) for n in given]) == 0
    out, err = capsys.readouterr()
    assert "against hmc N_LF 8 (" in out and "not compared" in err and "runC" in err
    # 2MN's force evaluations count double: at tau 7 (56 forces) it becomes the baseline
    (tmp_path / "hmc2mn" / "summary.json").write_text(json.dumps(
        summary("hmc", 4, 7.0, integrator="2mn").to_dict()))
    rows, _ = compare.pair_rows(compare.load_summaries([tmp_path / n for n in given]))
    assert {Path(r["baseline"]).name for r in rows} == {"hmc2mn"}
    assert rows[0]["force_evaluations_hmc"] == 8 and rows[0]["integrator_hmc"] == "2mn"
    assert compare.main([str(tmp_path / "runC")]) == 2
    assert "nothing to compare" in capsys.readouterr().err


def test_summaries_say_how_many_tau_int_long_the_chains_were():
    """An AR(1) charge with tau_int = (1 + phi) / (1 - phi) = 9: the summary carries
    steps / tau_int, and warns below 20 tau_int (and when Q_Z never moved), not above."""
    from l2hmc_tf import inference
    from l2hmc_tf.summary import History

    rng = np.random.default_rng(3)
    phi, chains = 0.8, 32

    def history(steps, frozen=False):
        q = np.zeros((steps, chains))
        for t in range(1, steps):
            q[t] = phi * q[t - 1] + rng.normal(size=chains) * 10.0
        q = np.rint(q)
        if frozen:      # each chain stuck in its sector, with charge_int's float rounding
            q = q[-1] + 1e-6 * rng.normal(size=q.shape)
        plaq = 0.9 + 0.01 * rng.normal(size=q.shape)
        return History(q, q / 2, plaq, np.full(q.shape, 0.8))

    short = inference.summarize(history(120), (8, 8), 3.0)
    assert short.length_in_tau == pytest.approx(120 / short.tau_int_charge_int)
    assert 6 < short.tau_int_charge_int < 13 and short.length_in_tau < 20
    assert "only" in short.trust_warning() and "cannot be trusted" in short.trust_warning()
    long = inference.summarize(history(3000), (8, 8), 3.0)
    assert long.length_in_tau > 200 and long.trust_warning() is None
    frozen = inference.summarize(history(120, frozen=True), (8, 8), 3.0)
    assert "did not move" in frozen.trust_warning() and np.isnan(frozen.tau_int_charge_int)


def test_a_window_cut_short_is_reported_as_a_lower_bound_and_cannot_shorten_the_chains():
    """HMC-like charges at beta 6 that are two true tau_int long (benchmarks.coverage.
    sector_walk): the Gamma-method tau_int reads far below the diffusive prediction with the
    exact <Q_Z^2>, so the summary says its tau_int and error are lower bounds, counts the
    chains' length in the larger tau_int (not the ~8 the window suggests), and quotes the
    replica error of <Q_Z^2>, the larger one here."""
    from l2hmc_tf import exact, inference
    from l2hmc_tf.summary import History
    from benchmarks.coverage import sector_walk

    q = sector_walk(seed=5)
    plaq = 0.9 + 0.01 * np.random.default_rng(5).normal(size=q.shape)
    s = inference.summarize(History(q, q, plaq, np.full(q.shape, 0.8)), (16, 16), 6.0)
    truth = float(exact.torus_observables(16, 16, 6.0)["q2"])
    assert s.tau_int_predicted == pytest.approx(4 * truth / s.dq2_mean - 1)
    assert s.tau_int_charge_int < 0.5 * s.tau_int_predicted and s.tau_int_is_lower_bound
    assert s.length_in_tau == pytest.approx(len(q) / s.tau_int_predicted) and s.length_in_tau < 3
    assert "lower bounds" in s.trust_warning()
    assert s.q2_err == s.q2_err_replica > 1.2 * s.q2_err_gamma
    assert s.q2_sigma == pytest.approx((s.q2_mean - truth) / s.q2_err_replica)


def test_infer_starts_in_equilibrium_or_continues_an_earlier_output(tmp_path, capsys):
    """--start: the default equilibrium start is recorded; --start OUTPUT continues its final
    states (at beta 6 on 8x8 HMC keeps each hot chain's charge sector, so the continued
    chains begin in the earlier output's sectors, which an equilibrium start, mostly Q = 0,
    would not); a start of another shape is refused before any work."""
    from l2hmc_tf import infer_cli

    beta6 = [*HMC[:2], str(ROOT / HMC[2]), "--beta", "6.0", "--chains", "8", "--steps", "10"]
    assert infer_cli.main([*beta6, "--outdir", str(tmp_path / "eq")]) == 0
    assert infer_cli.main([*beta6, "--start", "hot", "--outdir", str(tmp_path / "hot")]) == 0
    assert summary(tmp_path / "eq")["start"] == "equilibrium"
    assert summary(tmp_path / "hot")["start"] == "hot"
    go_on = [*beta6, "--start", str(tmp_path / "hot"), "--outdir", str(tmp_path / "on")]
    assert infer_cli.main(go_on) == 0
    assert summary(tmp_path / "on")["start"] == str(tmp_path / "hot")
    with h5py.File(tmp_path / "hot" / "inference.h5") as before, \
            h5py.File(tmp_path / "on" / "inference.h5") as after:
        last, first = np.rint(before["charge_int"][-1]), np.rint(after["charge_int"][0])
    assert np.any(last != 0) and np.array_equal(first, last), (last, first)
    capsys.readouterr()
    for args, needle in [(["--chains", "4"], "ends with 8 chains"),
                         (["--start", str(tmp_path / "none")], "does not exist"),
                         (["--start", str(tmp_path / "eq" / "summary.json")],
                          "not a bin/infer.py output")]:
        start = [] if "--start" in args else ["--start", str(tmp_path / "hot")]
        assert infer_cli.main([*beta6, *start, *args, "--outdir", str(tmp_path / "bad")]) == 2
        err = capsys.readouterr().err.strip()
        assert needle in err and len(err.splitlines()) == 1, err
        assert not (tmp_path / "bad").exists()
