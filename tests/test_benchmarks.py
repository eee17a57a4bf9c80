"""The benchmark scripts run end to end in their quick modes and write well-formed output.
(They measure; they assert no speed. Timings belong in benchmarks/, not in tests.)"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.common import result_rows
from l2hmc_tf import config, exact

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def run(module, out):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", module, "--quick", "--json", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


def test_throughput_quick(tmp_path):
    data, stdout = run("benchmarks.throughput", tmp_path / "t.json")
    row = data["rows"][0]
    for key in ("hmc_tf", "hmc_tf_xla", "hmc_numpy", "hmc_tfp", "l2hmc_transition",
                "l2hmc_train_step", "speedup_vs_numpy", "speedup_vs_tfp",
                "train_step_fraction_of_matmul", "bytes_per_chain"):
        assert row[key] > 0, key
    assert row["speedup_vs_numpy"] == pytest.approx(row["hmc_tf"] / row["hmc_numpy"])
    assert "HMC/numpy" in stdout and data["machine"]["tensorflow"].startswith("2.21")


def test_train_profile_quick(tmp_path):
    data, stdout = run("benchmarks.train_profile", tmp_path / "p.json")
    first, second = data["rows"]
    assert first["cost_vs_config"] == 1.0 and second["n_leapfrog"] == 1
    assert second["cost_vs_config"] == pytest.approx(
        second["seconds_per_step"] / first["seconds_per_step"])
    assert all(r["training_hours"] > 0 for r in data["rows"]) and "ms/step" in stdout


def test_horovod_scaling_quick(tmp_path):
    data, _ = run("benchmarks.horovod_scaling", tmp_path / "s.json")
    assert data["steps_per_s_1rank_2threads"] > 0 and data["steps_per_s_2ranks_1thread"] > 0
    assert data["weak_scaling_efficiency"] == pytest.approx(
        data["steps_per_s_2ranks_1thread"] / data["steps_per_s_1rank_2threads"])
    assert data["allreduce_bytes_per_step"] > 1000


def test_tau_int_measures_given_runs_with_their_own_configs(tmp_path):
    from benchmarks import tau_int

    args = tau_int.parse_args(["--betas", "6", "7", "--run", "a", "b"])
    assert args.config == [str(Path("a/config.yaml")), str(Path("b/config.yaml"))]
    with pytest.raises(SystemExit):
        tau_int.parse_args(["--betas", "6", "7", "--run", "a"])


def test_export_picks_one_row_of_a_run_measured_at_two_betas(tmp_path):
    """A run measured at beta 5 and 6 has two tau_int rows: its run name alone is refused
    with both full names offered, and a full name picks its row."""
    from benchmarks.export_model import find_row

    rows = [{"run": "campaign/x", "beta": beta, "lattice": "16x16", "variant": "gauge"}
            for beta in (5.0, 6.0)]
    path = tmp_path / "tau.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(SystemExit, match="2 rows.*campaign/x b5 16x16 moves 0"):
        find_row(path, "campaign/x")
    assert find_row(path, "campaign/x b6 16x16 moves 0")["beta"] == 6.0
    with pytest.raises(SystemExit, match="no row"):
        find_row(path, "campaign/y")


def test_export_of_a_run_started_from_another_drops_where_it_started(tmp_path):
    """A run started from another one's layers, moved by training.init_layer_offset, exports
    a config that loads by itself: no init_from, no partial copy, no offset."""
    from benchmarks.export_model import export
    from l2hmc_tf import checkpoints, config

    run = tmp_path / "run"
    run.mkdir()
    cfg = config.load(None, ["training.init_from=elsewhere", "training.init_partial=true",
                             "training.init_layer_offset=1"])
    config.dump(cfg, run / "config.yaml")
    (run / checkpoints.MODEL_FILE).write_bytes(b"weights")
    to = export({"run": str(run), "instanton_layer": False, "beta": 6.0}, tmp_path / "model")
    exported = config.load(to / "config.yaml").training
    assert (exported.init_from, exported.init_partial, exported.init_layer_offset) == (
        None, False, 0)
    assert json.loads((to / "result.json").read_text())["run"] == str(run)


def test_screens_finishing_in_turn_keep_each_others_rows(tmp_path):
    """Two screens run at once: each appends to the ledger as it is when its row is ready,
    so the one that finishes last does not write back a copy without the other's row."""
    from benchmarks.common import append_row

    ledger = tmp_path / "campaign.json"
    append_row(ledger, {"run": "first"})
    append_row(ledger, {"run": "second"})
    assert [r["run"] for r in json.loads(ledger.read_text())["rows"]] == ["first", "second"]


def test_hmc_is_stored_and_reused_only_by_the_same_settings_and_code(tmp_path, monkeypatch):
    """benchmarks --reuse-hmc: a later command takes a stored HMC measurement only where its
    settings, seed and the HMC code are those that made it; every new one is stored."""
    from benchmarks import common
    from l2hmc_tf import inference
    from l2hmc_tf.model import hmc

    measured = []

    def measure():
        measured.append(1)
        return inference.evaluate(hmc((4, 4), 2, 0.2), 1.0, 4, 20, 2, seed=len(measured))

    def new_command(key, reuse=True):
        monkeypatch.setattr(common, "_HMC_RESULTS", {})
        return common.hmc_baseline(key, measure, store, reuse)

    store, key = tmp_path / common.HMC_STORE, {"beta": 1.0, "lattice": [4, 4], "chains": 4}
    first, reused = new_command(key)
    assert reused is None and len(measured) == 1
    again, reused = new_command(key)
    assert len(measured) == 1 and reused == common.command()
    assert again.stats.tau_int_charge_sin == first.stats.tau_int_charge_sin
    assert new_command(key, reuse=False)[1] is None and len(measured) == 2
    assert new_command(dict(key, chains=8))[1] is None and len(measured) == 3
    monkeypatch.setattr(common, "hmc_code_digest", lambda: "another version of the HMC code")
    assert new_command(key)[1] is None and len(measured) == 4
    assert len(common.result_rows(store)) == 4


TAU_KEYS = {"beta", "lattice", "n_leapfrog", "tau_int_hmc", "tau_int_hmc_err", "tau_int_l2hmc",
            "tau_int_l2hmc_err", "nlf_tau_int_hmc", "nlf_tau_int_l2hmc", "tau_int_seconds_hmc",
            "tau_int_seconds_l2hmc", "accept_l2hmc", "train_seconds", "variant", "instanton",
            "dq2_l2hmc", "dq2_hmc", "trajectory_cost"}


def test_tau_int_volume_transfer_and_report_quick(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    out = tmp_path / "tau.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.tau_int", "--quick", "--betas", "1.5",
                           "2", "--finetune", "--runs", str(tmp_path / "runs"), "--json",
                           str(out), "--hmc-step-size", "0.25"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(out.read_text())
    assert len(rows) == 2 and all(TAU_KEYS <= set(r) for r in rows)
    assert rows[0]["lattice"] == "8x8" and [r["beta"] for r in rows] == [1.5, 2.0]
    assert rows[0]["nlf_tau_int_hmc"] == pytest.approx(2 * rows[0]["tau_int_hmc"])
    assert all(r["variant"] == "scalar" and r["instanton"] is False for r in rows)   # --quick
    assert all(r["hmc_step_size"] == 0.25 and r["hmc_reused_from"] is None for r in rows)
    assert len(result_rows(tmp_path / "hmc_baselines.json")) == 2      # stored for --reuse-hmc
    assert (tmp_path / "runs" / "b1.5" / "model.weights.h5").is_file()
    finetuned = config.load(tmp_path / "runs" / "b2" / "config.yaml")
    assert finetuned.training.init_from == str(tmp_path / "runs" / "b1.5")
    assert rows[1]["init_from"] == finetuned.training.init_from and rows[0]["init_from"] is None
    assert all(r["training_steps"] == 10 and r["train_cpu_seconds"] > 0 for r in rows)
    volume = tmp_path / "v.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.volume_transfer", "--run",
                           str(tmp_path / "runs" / "b1.5"), "--sizes", "12", "--steps", "40",
                           "--chains", "4", "--hmc-therm", "5", "--finetune-steps", "3", "--runs",
                           str(tmp_path / "vol"), "--json", str(volume)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    vdata = json.loads(volume.read_text())
    assert vdata["source"]["run"] == str(tmp_path / "runs" / "b1.5")
    assert vdata["source"]["steps"] == 10 and vdata["source"]["train_seconds"] > 0
    vrows = vdata["rows"]
    assert [r["lattice"] for r in vrows] == ["8x8", "12x12", "12x12"]
    assert [r["trained_on"] for r in vrows] == ["8x8", "8x8", "8x8 + 3 steps at 12x12"]
    assert all(0 <= r["accept_l2hmc"] <= 1 and r["hmc_therm"] == 5 for r in vrows)
    assert vrows[1]["tau_int_hmc"] == vrows[2]["tau_int_hmc"]     # HMC measured once
    tuned = config.load(tmp_path / "vol" / "ft12" / "config.yaml")
    assert tuned.lattice.size == (12, 12) and tuned.training.steps == 3
    assert tuned.training.hmc_therm == 5
    assert tuned.training.init_from == str(tmp_path / "runs" / "b1.5")
    report = tmp_path / "results.md"
    done = subprocess.run([sys.executable, "-m", "benchmarks.report", "--tau-int", str(out),
                           "--volume", str(volume), "--throughput", str(tmp_path / "none.json"),
                           "--scaling", str(tmp_path / "none.json"), "--train-profile",
                           str(tmp_path / "none.json"), "--ablation", "--out", str(report)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    text = report.read_text()
    assert "| 1.5 | 8x8 | runs/b1.5 (scalar) | 2 | 0.25 |" in text    # N_LF, HMC eps
    assert "| 2 | 8x8 | runs/b2 (scalar) (from runs/b1.5) |" in text
    assert "12x12" in text and "not measured" in text and "8x8 + 3 steps at 12x12" in text
    assert "## Targets" in text and "](tau_int.png)" in text
    assert "not measured yet: `python -m benchmarks.ablation`" in text
    assert (tmp_path / "tau_int.png").is_file()
    assert "](trace-b1.5-8x8-runs-b1.5.png)" in text
    assert (tmp_path / "trace-b2-8x8-runs-b2.png").is_file()



def test_ablation_quick_trains_to_a_budget_and_resumes_its_rows(tmp_path):
    out, runs = tmp_path / "ablation.json", tmp_path / "runs"
    args = ["--runs", str(runs)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "benchmarks.ablation", "--quick", "--json",
                           str(out), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert [r["name"] for r in rows] == ["hmc + 1 instanton proposals", "scalar",
                                         "scalar + instanton layer"]
    assert all(TAU_KEYS - {"train_seconds"} <= set(r) for r in rows)
    baseline, trained, shifted = rows
    assert baseline["variant"] == "hmc" and baseline["instanton_moves"] == 1
    assert trained["variant"] == shifted["variant"] == "scalar"
    assert [trained["instanton"], shifted["instanton"]] == [False, True]
    assert shifted["instanton_layer"] and not shifted["trained_with_instanton"]
    steps = config.load(runs / "scalar" / "config.yaml").training.steps
    assert trained["training_steps"] == steps >= 10 and trained["budget_seconds"] == 2.0
    assert len({r["tau_int_hmc"] for r in rows}) == 1      # HMC measured once
    again = subprocess.run([sys.executable, "-m", "benchmarks.ablation", "--quick", "--json",
                            str(out), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(out.read_text())["rows"] == rows and "training" not in again.stdout
    report = tmp_path / "results.md"
    done = subprocess.run([sys.executable, "-m", "benchmarks.report", "--ablation", str(out),
                           "--out", str(report)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    text = report.read_text()
    assert "| HMC | " in text and "| scalar + instanton layer | " in text
    cost = tmp_path / "cost.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.cost", "--quick", "--json",
                           str(out), "--out", str(cost)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    costs = json.loads(cost.read_text())["cost"]
    assert set(costs) == {r["name"] for r in rows} and all(c > 0 for c in costs.values())
    for name, layer in (("scalar", False), ("scalar + instanton layer", True)):
        to = tmp_path / "models" / name.replace(" ", "-")
        done = subprocess.run([sys.executable, "-m", "benchmarks.export_model", "--json",
                               str(out), "--row", name, "--to", str(to)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        assert config.load(to / "config.yaml").dynamics.instanton is layer
        assert json.loads((to / "result.json").read_text())["name"] == name
        assert (to / "model.weights.h5").is_file()


def test_network_cost_profile_screen_and_their_report_sections(tmp_path):
    """The issue-19 cost rows, the op profile and the campaign's <dQ_Z^2> screen run in quick
    form, their numbers are consistent, and the report shows both tables."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))

    def module(*args):
        command = list(args) if args[0].endswith(".py") else ["-m", *args]
        done = subprocess.run([sys.executable, *command], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    cost, _ = run("benchmarks.network_cost", tmp_path / "cost.json")
    assert [r["variant"] for r in cost["rows"]] == ["gauge 1 rot 16,16 no v-net",
                                                    "gauge 1 rot 16,16 no v-net mirrored"]
    for r in cost["rows"]:
        assert r["step_in_trajectories"] == pytest.approx(r["training_step_ms"]
                                                          / r["trajectory_ms"])
        assert r["trajectory_cost"] == pytest.approx(r["trajectory_ms"] / r["hmc_ms"])
    profile = tmp_path / "profile.json"
    module("benchmarks.profile", "--set", "network.kind=gauge", "--set", "network.units=[4]",
           "--set", "dynamics.n_leapfrog=2", "--lattice", "4", "--chains", "4", "--calls", "2",
           "--json", str(profile))
    ops = {r["op"]: r for r in json.loads(profile.read_text())["by_op"]}
    assert any("Conv2D" in op for op in ops) and all(r["ms"] > 0 for r in ops.values())
    run_dir, ledger = tmp_path / "run", tmp_path / "campaign.json"
    tiny = ["lattice.size=[4,4]", "network.kind=gauge", "network.units=[4]",
            "network.x_subupdates=1", "network.rotate_subupdates=true",
            "network.v_network=false", "dynamics.mirror_networks=true",
            "dynamics.n_leapfrog=2", "training.steps=6", "training.chains=4",
            "checkpoint.every=3", "evaluation.steps=0"]
    module("bin/train.py", "--outdir", str(run_dir),
           *(a for key in tiny for a in ("--set", key)))
    out = module("benchmarks.screen", str(run_dir), "--hmc", "--hmc-step-sizes", "0.15", "0.3",
                 "--beta", "2", "--lattice", "4x4", "--chains", "4", "--steps", "40",
                 "--therm", "5", "--ledger", str(ledger))
    screened, hmc, hmc_long_step = json.loads(ledger.read_text())["rows"]
    assert screened["training_steps"] == 6 and screened["train_cpu_seconds"] > 0
    assert hmc["run"] == "hmc" and hmc_long_step["run"] == "hmc eps 0.3" and "<dQ^2>" in out
    assert hmc_long_step["dq2"] != hmc["dq2"]    # the step size reached the sampler
    q2 = exact.torus_observables(4, 4, 2.0)["q2"]
    for r in (screened, hmc, hmc_long_step):
        assert r["dq2"] > 0 and 0 < r["accept"] <= 1
        assert r["tau_int_predicted"] == pytest.approx(4 * q2 / r["dq2"] - 1)
        assert r["nlf_tau_int_predicted"] == pytest.approx(2 * r["tau_int_predicted"])
    report = tmp_path / "results.md"
    module("benchmarks.report", "--network-cost", str(tmp_path / "cost.json"), "--campaign",
           str(ledger), "--out", str(report))
    text = report.read_text()
    assert "## Network trajectory cost" in text and "| gauge 1 rot 16,16 no v-net |" in text
    assert "## Campaign ledger" in text and f"| {run_dir} | 2 | 4x4 |" in text


def test_hmc_tuning_stores_the_best_setting_that_screen_and_tau_int_measure_against(tmp_path):
    """benchmarks.hmc_tuning on a tiny grid: each row's <dQ_Z^2> per force evaluation is its
    <dQ_Z^2> over the force evaluations of its integrator, and the stored best is the
    largest of them; screen --hmc-best and tau_int --hmc-best then run that HMC (2MN or
    leapfrog, its own steps), interleaved timing and force-evaluation counts in their rows."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))

    def module(*args):
        done = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    tuning = tmp_path / "hmc_tuning.json"
    module("benchmarks.hmc_tuning", "--betas", "2", "--lattice", "8x8", "--chains", "8",
           "--steps", "60", "--therm", "5", "--lengths", "1", "--leapfrog-steps", "0.2",
           "--2mn-steps", "0.25", "0.5", "--json", str(tuning))
    rows = result_rows(tuning)
    assert [(r["integrator"], r["n_leapfrog"]) for r in rows] == [
        ("leapfrog", 5), ("2mn", 4), ("2mn", 2)]
    for r in rows:
        per_step = 2 if r["integrator"] == "2mn" else 1
        assert r["force_evaluations"] == per_step * r["n_leapfrog"]
        assert r["dq2_per_force"] == pytest.approx(r["dq2"] / r["force_evaluations"])
    best = json.loads((tmp_path / "hmc_baselines.json").read_text())["best_settings"]["2"]
    winner = max(rows, key=lambda r: r["dq2_per_force"])
    assert best["best"]["step_size"] == winner["step_size"]
    assert best["leapfrog"]["integrator"] == "leapfrog" and best["2mn"]["integrator"] == "2mn"
    ledger = tmp_path / "campaign.json"
    out = module("benchmarks.screen", "--hmc-best", "--beta", "2", "--lattice", "8x8",
                 "--chains", "4", "--steps", "30", "--therm", "5", "--ledger", str(ledger))
    screened = result_rows(ledger)[0]
    assert screened["integrator"] == winner["integrator"] and "CPU s per tau pred" in out
    assert screened["timing"] == "interleaved" and screened["cpu_seconds_per_trajectory"] > 0
    assert screened["cpu_seconds_per_tau_int_predicted"] == pytest.approx(
        screened["tau_int_predicted"] * screened["cpu_seconds_per_trajectory"])
    failed = subprocess.run([sys.executable, "-m", "benchmarks.screen", "--hmc-best", "--beta",
                             "3", "--lattice", "8x8", "--ledger", str(ledger)], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    assert failed.returncode != 0 and "no best HMC setting for beta 3" in failed.stderr
    out = tmp_path / "tau.json"
    module("benchmarks.tau_int", "--quick", "--betas", "2", "--runs", str(tmp_path / "runs"),
           "--json", str(out), "--hmc-best")
    row = json.loads(out.read_text())[0]
    assert row["hmc_best"] is True and row["hmc_integrator"] == winner["integrator"]
    assert row["n_leapfrog_hmc"] == winner["n_leapfrog"] and row["n_leapfrog_l2hmc"] == 2
    assert row["nlf_tau_int_hmc"] == pytest.approx(row["force_evaluations_hmc"]
                                                   * row["tau_int_hmc"])
