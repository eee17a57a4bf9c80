"""Ensembles a physicist keeps: exact Wilson loops, observables, saved configurations,
bin/measure.py and the Python API (issue 29)."""
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from l2hmc_tf import autocorr, exact, infer_cli, measure_cli, observables

ROOT = Path(__file__).resolve().parents[1]
HMC = ["--hmc", "--config", str(ROOT / "configs/debug.yaml"), "--beta", "2.0", "--chains", "6",
       "--chunk", "25"]


def loop_by_integration(volume: int, area: int, beta: float, points: int = 256) -> float:
    """<W_A> by direct quadrature in plaquette variables: the plaquettes of a torus are
    independent but for one constraint (their angles sum to 0 mod 2 pi), so the densities of
    the angle summed inside and outside the loop are repeated circular convolutions of
    e^{beta cos phi}, computed here as matrix powers on a grid (no Bessel function)."""
    phi = 2 * math.pi * np.arange(points) / points
    f = np.exp(beta * (np.cos(phi) - 1.0))
    circulant = f[(np.arange(points)[:, None] - np.arange(points)[None, :]) % points]
    step = circulant * (2 * math.pi / points)
    inside = np.linalg.matrix_power(step, area - 1) @ f
    outside = np.linalg.matrix_power(step, volume - area - 1) @ f
    weight = inside * outside[(-np.arange(points)) % points]     # outside angle = -inside
    return float(np.sum(weight * np.cos(phi)) / np.sum(weight))


@pytest.mark.parametrize("lt, lx, beta", [(4, 4, 0.7), (4, 4, 2.5), (6, 4, 1.3), (4, 6, 3.0)])
def test_exact_wilson_loops_agree_with_direct_integration(lt, lx, beta):
    for area in (1, 2, 3, 4, 6):
        assert exact.wilson_loop(lt, lx, beta, area) == pytest.approx(
            loop_by_integration(lt * lx, area, beta), rel=1e-10, abs=1e-13)
    assert exact.wilson_loop(lt, lx, beta, 1) == pytest.approx(
        float(exact.torus_observables(lt, lx, beta)["plaquette"]), rel=1e-12)


def test_exact_wilson_loops_obey_the_area_law_in_a_large_volume():
    beta = 3.0
    for area in (1, 4, 9):
        assert exact.wilson_loop(64, 64, beta, area) == pytest.approx(
            exact.infinite_volume_wilson_loop(beta, area), rel=1e-9)
    string_tension = -math.log(float(exact.infinite_volume_plaquette(beta)))
    assert exact.creutz_ratio(64, 64, beta, 3, 2) == pytest.approx(string_tension, rel=1e-9)
    # where the torus is small against the correlation length, the sectors bend the law
    assert exact.wilson_loop(4, 4, 4.0, 4) / exact.infinite_volume_wilson_loop(4.0, 4) > 1.1
    with pytest.raises(ValueError, match="area"):
        exact.wilson_loop(4, 4, 1.0, 16)


def test_wilson_loop_is_the_product_of_the_links_around_the_rectangle():
    x = np.random.default_rng(3).uniform(-np.pi, np.pi, (2, 6, 8, 2))

    def around(c, a, b, extent_t, extent_x):      # links mu=0 along t (axis 0), mu=1 along x
        lt, lx = c.shape[:2]
        up = sum(c[(a + k) % lt, b, 0] - c[(a + k) % lt, (b + extent_x) % lx, 0]
                 for k in range(extent_t))
        across = sum(c[(a + extent_t) % lt, (b + j) % lx, 1] - c[a, (b + j) % lx, 1]
                     for j in range(extent_x))
        return math.cos(up + across)

    for r, t in [(1, 1), (2, 3), (3, 1)]:
        direct = [np.mean([0.5 * (around(c, a, b, t, r) + around(c, a, b, r, t))
                           for a in range(6) for b in range(8)]) for c in x]
        np.testing.assert_allclose(observables.wilson_loop(x, r, t), direct, atol=1e-12)
    np.testing.assert_allclose(observables.wilson_loop(x, 1, 1), observables.plaquette(x))


@pytest.mark.parametrize("source, beta", [("configs/debug.yaml", 3.3),
                                          ("models/b4-gauge2", 4.4)])
def test_samplers_reproduce_exact_wilson_loops(source, beta):
    """HMC and a committed trained model, through the Python API, at couplings no other test
    uses: W(R, T) within 4 of its larger error (Gamma-method or replica) of exact."""
    import l2hmc_tf

    sampler = l2hmc_tf.load(ROOT / source)
    loops = [(1, 1), (1, 2), (2, 2), (2, 3)]
    series = {loop: [] for loop in loops}
    for draw in sampler.sample(beta=beta, lattice=(8, 8), chains=64, steps=150, seed=5):
        for loop in loops:
            series[loop].append(observables.wilson_loop(draw.links, *loop))
    for (r, t), values in series.items():
        est = autocorr.estimate(np.array(values[20:]), f"W{r}x{t}")
        truth = exact.wilson_loop(8, 8, beta, r * t)
        assert abs(est.mean - truth) < 4 * est.reported_error, (r, t, est, truth)
        assert est.reported_error < 0.02                        # small enough to bite


def _infer(tmp_path, *extra) -> Path:
    out = tmp_path / "out"
    assert infer_cli.main([*HMC, "--steps", "80", "--therm", "10", *extra,
                           "--outdir", str(out)]) == 0
    return out


def test_the_saved_ensemble_remeasured_equals_what_inference_reported(tmp_path, capsys):
    out = _infer(tmp_path, "--save-every", "1", "--save-dtype", "float64")
    with h5py.File(out / "inference.h5") as f:
        assert f["configs"].shape == (80, 6, 8, 8, 2) and f["configs"].dtype == np.float64
        np.testing.assert_array_equal(f["configs_trajectory"][...], np.arange(1, 81))
        charges = f["charge_int"][...]
        assert f.attrs["save_every"] == 1 and f.attrs["start"] == "equilibrium"
    assert measure_cli.main([str(out), "--observables", "plaquette", "q2", "charge"]) == 0
    assert "plaquette" in capsys.readouterr().out
    measured = json.loads((out / "measurements.json").read_text())
    reported = json.loads((out / "summary.json").read_text())
    obs = measured["observables"]
    assert measured["slices"] == 70 and measured["first_trajectory"] == 11
    assert obs["plaquette"]["mean"] == pytest.approx(reported["plaq_mean"], abs=1e-6)
    assert obs["q2"]["mean"] == pytest.approx(reported["q2_mean"], abs=1e-12)
    assert obs["q2"]["exact"] == pytest.approx(reported["q2_exact"])
    assert obs["charge"]["mean"] == pytest.approx(np.rint(charges[10:]).mean(), abs=1e-12)


def test_measured_wilson_loops_and_creutz_ratios_match_exact(tmp_path):
    """bin/measure.py's 'wilson' on an HMC ensemble (8x8, beta 2): every W(R, T) and every
    Creutz ratio it reports within 4 of its error of the exact torus value."""
    out = tmp_path / "hmc"
    assert infer_cli.main([*HMC, "--chains", "32", "--steps", "400", "--therm", "40",
                           "--save-every", "2", "--outdir", str(out)]) == 0
    assert measure_cli.main([str(out)]) == 0
    result = json.loads((out / "measurements.json").read_text())["observables"]
    creutz = [name for name in result if name.startswith("creutz")]
    assert len([n for n in result if n.startswith("W")]) == 10 and len(creutz) >= 4
    for name, r in result.items():
        if r["exact"] is not None and name != "charge":
            assert abs(r["sigma"]) < 4, (name, r)
    assert result["creutz1x2"]["error"] < 0.05                  # precise enough to bite


def test_save_every_keeps_every_nth_trajectory_and_records_its_source(tmp_path):
    out = _infer(tmp_path, "--save-every", "7")
    with h5py.File(out / "inference.h5") as f:
        assert f["configs"].shape == (11, 6, 8, 8, 2) and f["configs"].dtype == np.float32
        np.testing.assert_array_equal(f["configs_trajectory"][...], np.arange(7, 80, 7))
        charges = np.rint(f["charge_int"][6::7])
        saved = f["configs"][...].astype(np.float64)
    np.testing.assert_array_equal(observables.charge(saved.reshape(-1, 8, 8, 2)).reshape(11, 6),
                                  charges)


def test_a_model_ensemble_records_the_model_and_its_weights(tmp_path):
    out = tmp_path / "model"
    assert infer_cli.main(["--run", str(ROOT / "models/b4-scalar"), "--lattice", "8x8",
                           "--steps", "10", "--chains", "2", "--therm", "0", "--save-every",
                           "5", "--outdir", str(out)]) == 0
    with h5py.File(out / "inference.h5") as f:
        assert f.attrs["model"] == str((ROOT / "models/b4-scalar").resolve())
        assert re.fullmatch(r"[0-9a-f]{64}", f.attrs["weights_sha256"])
        assert f["configs"].shape == (2, 2, 8, 8, 2)


def test_bad_ensemble_inputs_fail_by_name_before_any_work(tmp_path, capsys, monkeypatch):
    def refused(argv, *needles, main=infer_cli.main):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert all(n in err for n in needles), err

    out = tmp_path / "never"
    refused([*HMC, "--save-every", "0", "--outdir", str(out)], "--save-every", ">= 1")
    refused([*HMC, "--save-dtype", "float64", "--outdir", str(out)], "--save-dtype needs")
    monkeypatch.setattr(infer_cli.shutil, "disk_usage", lambda path: SimpleNamespace(free=1000))
    refused([*HMC, "--steps", "100", "--save-every", "1", "--outdir", str(out)],
            "--save-every 1", "free")
    monkeypatch.undo()
    assert not out.exists()
    small = _infer(tmp_path, "--save-every", "2")
    refused([str(small), "--observables", "W5x1"], "W5x1", "L/2 = 4",
            main=measure_cli.main)
    refused([str(small), "--observables", "plaquette", "polyakov"], "unknown observable",
            "'polyakov'", main=measure_cli.main)
    other = tmp_path / "other"
    assert infer_cli.main([*HMC, "--lattice", "6x6", "--steps", "20", "--therm", "0",
                           "--save-every", "2", "--outdir", str(other)]) == 0
    refused([str(small), str(other)], "mixes lattice", main=measure_cli.main)
    plain = tmp_path / "plain"
    assert infer_cli.main([*HMC, "--steps", "20", "--outdir", str(plain)]) == 0
    refused([str(plain)], "no saved configurations", "--save-every", main=measure_cli.main)
    assert not (small / "measurements.json").exists()


def test_an_observable_of_ones_own_takes_a_few_lines(tmp_path):
    @observables.register("polyakov_t_test", "mean Polyakov loop along t")
    def polyakov_t(x):
        return np.cos(x[..., 0].sum(axis=1)).mean(axis=1)

    try:
        out = _infer(tmp_path, "--save-every", "4")
        assert measure_cli.main([str(out), "--observables", "polyakov_t_test"]) == 0
        result = json.loads((out / "measurements.json").read_text())["observables"]
        assert abs(result["polyakov_t_test"]["mean"]) < 4 * result["polyakov_t_test"]["error"]
        assert result["polyakov_t_test"]["exact"] is None
        with pytest.raises(ValueError, match="exists already"):
            observables.register("plaquette", "again")(polyakov_t)
    finally:
        observables.REGISTRY.pop("polyakov_t_test")


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]


def test_the_readme_python_example_runs_as_printed():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", readme_example()], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    found = re.search(r"W\(1,2\) = ([\d.]+) \+- ([\d.]+), exact ([\d.]+)", done.stdout)
    measured, error, truth = map(float, found.groups())
    assert abs(measured - truth) < 4 * error and error < 0.01, done.stdout
