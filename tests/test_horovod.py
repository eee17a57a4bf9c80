"""Horovod with two real ranks (horovodrun --gloo -np 2), the batch job scripts, failures."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from l2hmc_tf import checkpoints
from l2hmc_tf.chainfile import ChainFile

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HOROVODRUN = BIN / "horovodrun"
TINY = ["lattice.size=[4,4]", "dynamics.n_leapfrog=2", "network.units=[4]",
        "training.chains=8", "training.log_every=2", "checkpoint.every=2", "checkpoint.keep=5",
        "evaluation.steps=0", "annealing.kind=none", "annealing.beta_final=2.0"]
pytestmark = pytest.mark.slow


def sets(*items):
    return [a for s in items for a in ("--set", s)]


def env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))


def horovod_train(run_dir, *extra, ranks=2, timeout=300):
    cmd = [str(HOROVODRUN), "--gloo", "-np", str(ranks), "-H", f"localhost:{ranks}",
           sys.executable, str(ROOT / "bin/train.py"), "--outdir", str(run_dir), *extra]
    return subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True,
                          timeout=timeout)


def records(run_dir):
    return [json.loads((run_dir / "ranks" / f"rank-{r}.json").read_text()) for r in (0, 1)]


def final_state(run_dir):
    with h5py.File(checkpoints.list_checkpoints(run_dir)[-1] / checkpoints.STATE_FILE) as f:
        return f["x"][...], int(f.attrs["step"])


def test_horovod_is_built_with_tensorflow_and_gloo():
    out = subprocess.run([str(HOROVODRUN), "--check-build"], capture_output=True, text=True,
                         env=env(), check=True).stdout
    assert "[X] TensorFlow" in out and "[X] Gloo" in out


def test_two_rank_training(tmp_path):
    run = tmp_path / "run"
    done = horovod_train(run, *sets(*TINY, "training.steps=6"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    r0, r1 = records(run)
    assert (r0["size"], r1["size"]) == (2, 2) and (r0["seed"], r1["seed"]) == (0, 1)
    assert r0["weights_sha256"] == r1["weights_sha256"]          # one model
    assert r0["chains_sha256"] != r1["chains_sha256"]            # independent chains
    assert done.stdout.count("step      6/6") == 1                # metrics logged once
    assert "horovod, 2 rank(s)" in done.stdout
    assert [p.name for p in checkpoints.list_checkpoints(run)] == [
        "ckpt-00000002", "ckpt-00000004", "ckpt-00000006"]
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoints", "config.yaml", "model.weights.h5", "ranks", "summary.json",
        "tensorboard", "train.log"]
    x, step = final_state(run)
    assert x.shape == (2, 8, 4, 4, 2) and step == 6 and not np.allclose(x[0], x[1])


def test_two_rank_resume_continues_each_ranks_chains(tmp_path):
    straight = horovod_train(tmp_path / "a", *sets(*TINY, "training.steps=6"))
    assert straight.returncode == 0, straight.stderr[-3000:]
    first = horovod_train(tmp_path / "b", *sets(*TINY, "training.steps=4"))
    assert first.returncode == 0, first.stderr[-3000:]
    resumed = horovod_train(tmp_path / "b", "--resume", *sets("training.steps=6"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed" in resumed.stdout and "at step 4" in resumed.stdout
    (xa, sa), (xb, sb) = final_state(tmp_path / "a"), final_state(tmp_path / "b")
    assert sa == sb == 6
    np.testing.assert_allclose(xa, xb, atol=1e-5)
    wa = [r["weights_sha256"] for r in records(tmp_path / "a")]
    wb = [r["weights_sha256"] for r in records(tmp_path / "b")]
    assert wa[0] == wa[1] and wb[0] == wb[1]


BATCH_SCRIPTS = [
    ("jobs/polaris.pbs", {"PBS_NODEFILE": "NODEFILE", "PBS_JOBID": "42.fake"}),
    ("jobs/slurm.sbatch", {"SLURM_JOB_NUM_NODES": "1", "SLURM_JOB_NODELIST": "localhost",
                           "SLURM_JOB_ID": "42"}),
]


def batch_env(tmp_path, fake: dict, run: Path, **settings) -> dict:
    """A batch job's environment on this machine: the scheduler's variables faked, two
    ranks with horovodrun, follow-up submissions echoed."""
    nodefile = tmp_path / "nodes"
    nodefile.write_text("localhost\nlocalhost\n")     # PBS lists a node once per slot
    return dict(env(), **{k: str(nodefile) if v == "NODEFILE" else v for k, v in fake.items()},
                RANKS_PER_NODE="2", LAUNCHER="horovodrun", SUBMIT="echo SUBMITTED",
                RUN_DIR=str(run), VENV=str(BIN.parent), **settings)


def run_batch(script: str, job_env: dict) -> str:
    done = subprocess.run(["bash", script], cwd=ROOT, env=job_env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("script, fake", BATCH_SCRIPTS)
def test_batch_scripts_run_end_to_end_and_resume(tmp_path, script, fake):
    run = tmp_path / "run"
    job_env = batch_env(tmp_path, fake, run, CONFIG="configs/debug.yaml",
                        TRAIN_ARGS=" ".join(sets(*TINY, "training.steps=4")))
    out = run_batch(script, job_env)
    assert "2 rank(s) on 1 node(s)" in out and "SUBMITTED" in out
    assert "depend" in out                          # the follow-up waits for this job
    assert (run / "summary.json").is_file() and len(records(run)) == 2
    (run / "summary.json").unlink()                 # as if the walltime had hit before the end
    job_env["TRAIN_ARGS"] = " ".join(sets("training.steps=6"))
    out = run_batch(script, job_env)
    assert "--resume" in out and "at step 4" in out
    assert final_state(run)[1] == 6


def inference_steps(run: Path) -> list[int]:
    files = [ChainFile.open_read(run / f"inference.rank{r}.h5") for r in (0, 1)]
    steps = [f.steps for f in files]
    for f in files:
        f.close()
    return steps


@pytest.mark.parametrize("script, fake", BATCH_SCRIPTS)
def test_batch_scripts_run_inference_resume_it_and_stop_when_it_is_done(tmp_path, script, fake):
    """JOB=infer: bin/infer.py on every rank into RUN_DIR; a later job with more STEPS
    resumes the committed chains, and one after the last trajectory does nothing."""
    run = tmp_path / "infer"
    job_env = batch_env(tmp_path, fake, run, JOB="infer", STEPS="6",
                        INFER_ARGS="--hmc --config configs/debug.yaml --chains 4 --chunk 2 "
                                   "--therm 0 --save-every 2")
    out = run_batch(script, job_env)
    assert "bin/infer.py" in out and "SUBMITTED" in out and "--resume" not in out
    assert inference_steps(run) == [6, 6]
    job_env["STEPS"] = "10"
    out = run_batch(script, job_env)
    assert "--resume" in out and inference_steps(run) == [10, 10]
    out = run_batch(script, job_env)
    assert "is finished" in out and "SUBMITTED" not in out and "bin/infer.py" not in out


def test_an_inference_job_without_steps_is_refused_before_it_starts(tmp_path):
    script, fake = BATCH_SCRIPTS[1]
    job_env = batch_env(tmp_path, fake, tmp_path / "infer", JOB="infer", INFER_ARGS="--hmc")
    done = subprocess.run(["bash", script], cwd=ROOT, env=job_env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0 and "JOB=infer needs STEPS" in done.stderr
    assert "SUBMITTED" not in done.stdout and not (tmp_path / "infer").exists()


def _rank_pid(run_dir, rank):
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(run_dir).encode() in cmd and f"HOROVOD_RANK={rank}".encode() in environ \
                and any(c.endswith(b"python") or b"python3" in c for c in cmd[:1]):
            return int(proc.name)
    return None


def signal_rank_one(run, signum):
    """Start a two-rank training far longer than any test, send signum to rank 1 once step 2
    is logged, and return the job's exit code, output and seconds from signal to exit."""
    cmd = [str(HOROVODRUN), "--gloo", "-np", "2", "-H", "localhost:2", sys.executable,
           str(ROOT / "bin/train.py"), "--outdir", str(run),
           *sets(*TINY, "training.steps=100000", "checkpoint.every=1000")]
    job = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        log = run / "train.log"
        deadline = time.time() + 240
        while time.time() < deadline and not (log.exists() and "step      2/" in log.read_text()):
            time.sleep(1)
        pid = _rank_pid(run, 1)
        assert pid is not None, "rank 1 not found"
        os.kill(pid, signum)
        sent = time.time()
        output = job.communicate(timeout=120)[0]
        return job.returncode, output, time.time() - sent
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)


def test_killing_one_rank_ends_the_job_quickly(tmp_path):
    rc, _, elapsed = signal_rank_one(tmp_path / "run", signal.SIGKILL)
    assert rc != 0
    assert elapsed < 60, elapsed


def test_a_signal_to_one_rank_stops_every_rank_at_one_checkpointed_step(tmp_path):
    """Slurm's --signal warning (SIGUSR1) may reach one rank first: all ranks agree to stop
    after the same step, write its checkpoint, and --resume finishes the run."""
    run = tmp_path / "run"
    _, output, _ = signal_rank_one(run, signal.SIGUSR1)
    assert "stopped by a signal" in output and "--resume" in output, output[-3000:]
    x, step = final_state(run)
    assert 2 <= step < 1000 and x.shape == (2, 8, 4, 4, 2)
    assert not (run / "summary.json").exists()
    resumed = horovod_train(run, "--resume", *sets(f"training.steps={step + 2}"))
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    r0, r1 = records(run)
    assert r0["step"] == r1["step"] == step + 2 and r0["weights_sha256"] == r1["weights_sha256"]


def test_two_rank_inference_writes_one_file_per_rank(tmp_path):
    out = tmp_path / "inf"
    cmd = [str(HOROVODRUN), "--gloo", "-np", "2", "-H", "localhost:2", sys.executable,
           str(ROOT / "bin/infer.py"), "--hmc", "--config", "configs/debug.yaml", "--beta", "1.0",
           "--steps", "60", "--chains", "4", "--chunk", "20", "--outdir", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    seeds = []
    for rank in (0, 1):
        with h5py.File(out / f"inference.rank{rank}.h5") as f:
            assert f["charge_int"].shape == (60, 4)
            seeds.append(int(f.attrs["seed"]))
    assert seeds == [1, 2]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["chains"] == 8 and summary["files"] == ["inference.rank0.h5",
                                                           "inference.rank1.h5"]


def test_two_rank_training_of_the_gauge_kind(tmp_path):
    """The gauge-equivariant kind trains under Horovod like the others: one model, resumable."""
    gauge = ["lattice.size=[8,8]", "network.kind=gauge", "network.x_subupdates=2"]
    run = tmp_path / "gauge"
    first = horovod_train(run, *sets(*TINY, *gauge, "training.steps=2"))
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    resumed = horovod_train(run, "--resume", *sets("training.steps=4"))
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    r0, r1 = records(run)
    assert r0["step"] == r1["step"] == 4 and r0["weights_sha256"] == r1["weights_sha256"]
