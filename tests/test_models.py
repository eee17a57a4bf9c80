"""The trained models committed under models/ load, stay exact, and sample as their result rows
say: `bin/infer.py --run models/<name>` reproduces a row of docs/results.md without training."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from l2hmc_tf import checkpoints, driver, lattice
from l2hmc_tf.kernel import Sampler
from l2hmc_tf.starts import hmc_thermalize

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted(p.parent for p in (ROOT / "models").glob("*/model.weights.h5"))
CHAINS, TRAJECTORIES = 16, 10


def test_the_headline_models_are_committed():
    assert len(MODELS) >= 2, "models/ should hold the trained models behind docs/results.md"
    for path in MODELS:
        assert (path / "config.yaml").is_file() and (path / "result.json").is_file(), path


@pytest.mark.parametrize("path", MODELS, ids=[p.name for p in MODELS])
def test_a_committed_model_is_exact_and_accepts_as_its_row_says(path):
    model, cfg = checkpoints.load_model(path)
    row = json.loads((path / "result.json").read_text())
    beta, shape = float(row["beta"]), tuple(cfg.lattice.size)
    assert f"{shape[0]}x{shape[1]}" == row["lattice"] and model.instanton == row["instanton_layer"]
    x = hmc_thermalize(lattice.random_start(CHAINS, *shape, seed=5), beta, 100,
                       model.n_leapfrog, cfg.dynamics.step_size, seed=5)
    v = tf.random.stateless_normal(x.shape, [5, 6])
    d = tf.where(tf.range(CHAINS) % 2 == 0, 1.0, -1.0)
    there = model.propose(x, v, d, beta)
    back = model.propose(there.x, there.v, -d, beta)
    assert float(tf.reduce_max(tf.abs(lattice.wrap(back.x - x)))) < 1e-4
    np.testing.assert_allclose(back.logdet, -there.logdet, atol=1e-3)
    sampler = Sampler(model, seed=5, instanton_moves=row["instanton_moves"])
    _, history = driver.sample_chain(sampler, x, beta, TRAJECTORIES)
    per_chain = history.accept_prob.mean(axis=0)
    error = per_chain.std(ddof=1) / np.sqrt(CHAINS)
    assert abs(per_chain.mean() - row["accept_l2hmc"]) < 4 * error + 0.01, (
        f"acceptance {per_chain.mean():.3f} ± {error:.3f}, row {row['accept_l2hmc']:.3f}")


def test_infer_runs_a_committed_model(tmp_path):
    done = subprocess.run(
        [sys.executable, "bin/infer.py", "--run", str(MODELS[0]), "--steps", "6", "--chains",
         "4", "--therm", "2", "--outdir", str(tmp_path / "out")], cwd=ROOT,
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["lattice"] == json.loads(
        (MODELS[0] / "result.json").read_text())["lattice"]
