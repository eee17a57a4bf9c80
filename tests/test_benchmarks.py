"""The benchmark scripts run end to end in their quick modes and write well-formed output.
(They measure; they assert no speed. Timings belong in benchmarks/, not in tests.)"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def run(script, out):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, script, "--quick", "--json", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


def test_throughput_quick(tmp_path):
    data, stdout = run("benchmarks/throughput.py", tmp_path / "t.json")
    row = data["rows"][0]
    for key in ("hmc_tf", "hmc_tf_xla", "hmc_numpy", "hmc_tfp", "l2hmc_transition",
                "l2hmc_train_step", "speedup_vs_numpy", "speedup_vs_tfp",
                "train_step_fraction_of_matmul", "bytes_per_chain"):
        assert row[key] > 0, key
    assert row["speedup_vs_numpy"] == pytest.approx(row["hmc_tf"] / row["hmc_numpy"])
    assert "HMC/numpy" in stdout and data["machine"]["tensorflow"].startswith("2.21")


def test_horovod_scaling_quick(tmp_path):
    data, _ = run("benchmarks/horovod_scaling.py", tmp_path / "s.json")
    assert data["steps_per_s_1rank_2threads"] > 0 and data["steps_per_s_2ranks_1thread"] > 0
    assert data["weak_scaling_efficiency"] == pytest.approx(
        data["steps_per_s_2ranks_1thread"] / data["steps_per_s_1rank_2threads"])
    assert data["allreduce_bytes_per_step"] > 1000
