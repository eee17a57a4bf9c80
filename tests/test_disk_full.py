"""A full disk (ENOSPC) or quota (EDQUOT) loses nothing: the error injected at each write of
inference and training stops the run with one line naming the file and the cause, leaves no
temporary behind and what was committed before readable, and --resume then continues to the
result an uninterrupted run gives."""
import errno
import os
from pathlib import Path

import matplotlib.figure
import numpy as np
import pytest

from l2hmc_tf import atomic, checkpoints, infer_cli, train_cli
from l2hmc_tf.chainfile import ChainFile
from l2hmc_tf.model import Dynamics
from tests.test_training import TINY

ROOT = Path(__file__).resolve().parents[1]
HMC = ["--hmc", "--config", str(ROOT / "configs/debug.yaml"), "--beta", "1.0", "--steps", "60",
       "--chains", "4", "--chunk", "20", "--therm", "6"]
TRAIN = [arg for key in TINY for arg in ("--set", key)]


def full(code: int = errno.ENOSPC) -> OSError:
    return OSError(code, os.strerror(code))


def fills_on_second_call(monkeypatch, owner, name: str) -> None:
    """owner.name writes once, then meets a full disk."""
    write, calls = getattr(owner, name), []

    def on_a_disk_that_fills(*args):
        calls.append(1)
        if len(calls) == 2:
            raise full()
        return write(*args)

    monkeypatch.setattr(owner, name, on_a_disk_that_fills)


def one_error_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: could not write") and "--resume" in err, err
    for needle in needles:
        assert needle in err, err
    return err


def no_temporaries(folder: Path) -> None:
    hidden = [p.name for p in Path(folder).rglob(".*") if "tmp" in p.name]
    assert not hidden, hidden


def charges(outdir: Path) -> np.ndarray:
    reader = ChainFile.open_read(outdir / "inference.h5")
    try:
        return reader.read("charge_int")
    finally:
        reader.close()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> np.ndarray:
    out = tmp_path_factory.mktemp("straight") / "out"
    assert infer_cli.main([*HMC, "--outdir", str(out)]) == 0
    return charges(out)


def test_a_chunk_commit_on_a_full_disk(tmp_path, capsys, monkeypatch, uninterrupted):
    """The second chunk's rows are written but its flush fails: the file keeps the first
    chunk, and --resume redoes the second from the committed state."""
    calls = []
    append = ChainFile.append

    def append_on_a_disk_that_fills(self, rows, x, rng_state, saved=None):
        calls.append(1)
        if len(calls) == 2:
            def flush():
                raise full()
            monkeypatch.setattr(self.h5, "flush", flush)
        return append(self, rows, x, rng_state, saved)

    monkeypatch.setattr(ChainFile, "append", append_on_a_disk_that_fills)
    out = tmp_path / "out"
    assert infer_cli.main([*HMC, "--outdir", str(out)]) == atomic.WRITE_FAILED
    one_error_line(capsys, "inference.h5", "No space left on device")
    assert charges(out).shape == (20, 4)
    monkeypatch.undo()
    assert infer_cli.main([*HMC, "--outdir", str(out), "--resume"]) == 0
    np.testing.assert_array_equal(charges(out), uninterrupted)


def test_a_configuration_write_on_a_full_disk(tmp_path, capsys, monkeypatch):
    """--save-every: the second chunk's saved configurations cannot be written; the file
    keeps the first chunk's rows and configurations, and --resume gives the bytes an
    uninterrupted run writes."""
    saving = [*HMC, "--save-every", "3"]
    straight = tmp_path / "straight"
    assert infer_cli.main([*saving, "--outdir", str(straight)]) == 0
    fills_on_second_call(monkeypatch, ChainFile, "_append_configs")
    out = tmp_path / "out"
    assert infer_cli.main([*saving, "--outdir", str(out)]) == atomic.WRITE_FAILED
    one_error_line(capsys, "inference.h5", "No space left on device")
    reader = ChainFile.open_read(out / "inference.h5")
    try:
        assert reader.steps == 20 and reader.configs().shape[0] == 6
    finally:
        reader.close()
    monkeypatch.undo()
    assert infer_cli.main([*saving, "--outdir", str(out), "--resume"]) == 0
    no_temporaries(out)
    reader, uninterrupted = (ChainFile.open_read(d / "inference.h5") for d in (out, straight))
    try:
        np.testing.assert_array_equal(reader.configs(), uninterrupted.configs())
        np.testing.assert_array_equal(reader.read("charge_int"), uninterrupted.read("charge_int"))
    finally:
        reader.close()
        uninterrupted.close()


def test_the_summary_on_a_full_quota(tmp_path, capsys, monkeypatch, uninterrupted):
    write_text = Path.write_text

    def write_text_over_quota(self, *args, **kwargs):
        if self.name == ".summary.json.tmp":
            raise full(errno.EDQUOT)
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text_over_quota)
    out = tmp_path / "out"
    assert infer_cli.main([*HMC, "--outdir", str(out)]) == atomic.WRITE_FAILED
    one_error_line(capsys, "summary.json", "Disk quota exceeded")
    no_temporaries(out)
    assert not (out / "summary.json").exists() and charges(out).shape == (20, 4)
    monkeypatch.undo()
    assert infer_cli.main([*HMC, "--outdir", str(out), "--resume"]) == 0
    np.testing.assert_array_equal(charges(out), uninterrupted)
    assert (out / "summary.json").is_file()


def test_a_plot_on_a_full_disk(tmp_path, capsys, monkeypatch, uninterrupted):
    def savefig(self, *args, **kwargs):
        raise full()

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    out = tmp_path / "out"
    assert infer_cli.main([*HMC, "--outdir", str(out)]) == atomic.WRITE_FAILED
    one_error_line(capsys, "charge_history.png", "No space left on device")
    no_temporaries(out)
    assert (out / "summary.json").is_file() and not list(out.glob("*.png"))
    monkeypatch.undo()
    assert infer_cli.main([*HMC, "--outdir", str(out), "--resume"]) == 0
    np.testing.assert_array_equal(charges(out), uninterrupted)
    assert (out / "charge_history.png").is_file()


def trained_weights(run: Path) -> list[np.ndarray]:
    model, _ = checkpoints.load_model(run)
    return [w.numpy() for w in model.weights]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> list[np.ndarray]:
    run = tmp_path_factory.mktemp("trained") / "run"
    assert train_cli.main([*TRAIN, "--outdir", str(run)]) == 0
    return trained_weights(run)


def test_a_checkpoint_on_a_full_disk(tmp_path, capsys, monkeypatch, trained):
    """The second checkpoint (step 4) fails: the first (step 2) stays the newest, readable,
    and --resume from it ends with the weights of an uninterrupted run."""
    fills_on_second_call(monkeypatch, checkpoints, "_write_state")
    run = tmp_path / "run"
    assert train_cli.main([*TRAIN, "--outdir", str(run)]) == atomic.WRITE_FAILED
    one_error_line(capsys, "ckpt-00000004", "No space left on device", "ckpt-00000002 is intact")
    no_temporaries(run)
    assert [p.name for p in checkpoints.list_checkpoints(run)] == ["ckpt-00000002"]
    monkeypatch.undo()
    assert train_cli.main(["--outdir", str(run), "--resume"]) == 0
    for a, b in zip(trained_weights(run), trained):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_the_trained_model_on_a_full_disk(tmp_path, capsys, monkeypatch, trained):
    save_weights = Dynamics.save_weights

    def save_weights_on_a_full_disk(self, filepath, *args, **kwargs):
        if Path(filepath).name == ".tmp-" + checkpoints.MODEL_FILE:
            Path(filepath).write_bytes(b"partial")
            raise full()
        return save_weights(self, filepath, *args, **kwargs)

    monkeypatch.setattr(Dynamics, "save_weights", save_weights_on_a_full_disk)
    run = tmp_path / "run"
    assert train_cli.main([*TRAIN, "--outdir", str(run)]) == atomic.WRITE_FAILED
    one_error_line(capsys, checkpoints.MODEL_FILE, "No space left on device")
    no_temporaries(run)
    assert not (run / checkpoints.MODEL_FILE).exists()
    monkeypatch.undo()
    assert train_cli.main(["--outdir", str(run), "--resume"]) == 0
    for a, b in zip(trained_weights(run), trained):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_the_cause_is_read_from_an_hdf5_message():
    """h5py raises OSError without errno; the cause is the errno inside HDF5's message."""
    hdf5 = OSError("Can't write data (file write failed: time = Tue Dec  1 08:00:00 2026, "
                   "filename = 'inference.h5', file descriptor = 5, errno = 28, error message "
                   "= 'No space left on device', buf = 0x1, total write size = 4096)")
    assert atomic.reason(hdf5) == "No space left on device"
    written = "could not write a/b.h5: No space left on device"
    assert str(atomic.WriteError("a/b.h5", hdf5)) == written
    assert atomic.reason(OSError("odd\nmore")) == "odd"
