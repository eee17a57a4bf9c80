"""make demo's second half (l2hmc_tf.showcase): it picks the committed network model that gains
most per CPU second, and its gains are the measured ratios."""
import json
import shutil

import pytest

from l2hmc_tf import checkpoints, config, exact, showcase, training

TINY_GAUGE = ["lattice.size=[4,4]", "network.kind=gauge", "network.units=[4]",
              "network.x_subupdates=2", "dynamics.n_leapfrog=2", "training.steps=4",
              "training.chains=4", "evaluation.steps=0", "annealing.kind=none",
              "annealing.beta_final=2.0"]


def committed(models, name, row):
    """A trained tiny gauge model under models/name with a result row (trained once)."""
    run, first = models / name, next(models.glob("*/config.yaml"), None)
    if first is None:
        cfg = config.load(None, TINY_GAUGE)
        trainer = training.Trainer(cfg, run)
        trainer.fit()
        checkpoints.save_model(run, trainer.dynamics)
        config.dump(cfg, run / "config.yaml")
    else:
        shutil.copytree(first.parent, run)
    base = {"beta": 2.0, "lattice": "4x4", "nlf_tau_int_l2hmc": 10.0, "nlf_tau_int_hmc": 30.0}
    (run / "result.json").write_text(json.dumps(base | row))
    return run


def test_the_demo_samples_the_best_network_model_beside_hmc(tmp_path, capsys):
    models = tmp_path / "models"
    best = committed(models, "gauge-best", {"variant": "gauge", "seconds_gain": 3.0,
                                            "hmc_step_size": 0.3, "hmc_integrator": "2mn",
                                            "n_leapfrog_hmc": 1, "hmc_best": True})
    committed(models, "gauge-worse", {"variant": "gauge", "seconds_gain": 2.0, "hmc_best": True,
                                       "tau_int_gain": 50.0})
    committed(models, "gauge-vs-leapfrog", {"variant": "gauge", "seconds_gain": 5.0})
    committed(models, "scalar", {"variant": "scalar", "seconds_gain": 9.0})
    committed(models, "instanton", {"variant": "gauge", "instanton": True, "seconds_gain": 9.0})
    run, row = showcase.best_network_model(models)
    assert run == best and row["seconds_gain"] == 3.0
    out = showcase.compare_at_freezing(run, row, chains=8, steps=40, hmc_steps=80, seed=1)
    q2 = exact.torus_observables(4, 4, 2.0)["q2"]
    for name, steps in (("hmc", 80), ("model", 40)):
        r = out[name]
        assert r["dq2"] > 0 and r["tau_int_predicted"] == pytest.approx(4 * q2 / r["dq2"] - 1)
        assert r["seconds_per_trajectory"] == pytest.approx(r["seconds"] / steps)
    h, m = out["hmc"], out["model"]
    assert h["force_evaluations"] == 2 and m["force_evaluations"] == 2
    assert out["gain_per_force_evaluation"] == pytest.approx(h["nlf_tau_int_predicted"]
                                                             / m["nlf_tau_int_predicted"])
    assert out["gain_per_trajectory"] == pytest.approx(h["tau_int_predicted"]
                                                       / m["tau_int_predicted"])
    assert out["trajectory_cost"] == pytest.approx(m["cpu_seconds_per_trajectory"]
                                                   / h["cpu_seconds_per_trajectory"])
    assert out["gain_per_second"] == pytest.approx(out["gain_per_trajectory"]
                                                   / out["trajectory_cost"])
    text = showcase.report(out, row)
    assert f"per trajectory {out['gain_per_trajectory']:.1f}x" in text
    assert f"per CPU second {out['gain_per_second']:.2f}x" in text
    assert "HMC: 2mn, 1 steps of 0.3" in text                              # its row's HMC
    assert showcase.main(["--models", str(tmp_path / "none")]) == 2
    assert "no network model" in capsys.readouterr().err
