"""Outputs written whole or not at all, and the one error a failed write gives.

Small files are written to a hidden temporary and renamed over. Any OSError while writing an
output (a full disk, a quota, an I/O error) becomes a `WriteError` that names the file and the
cause, raised after the partial temporary is removed, so that what was committed before (the
previous chunk, checkpoint or summary) stays as it was and `--resume` can continue from it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path


WRITE_FAILED = 4    # exit code of bin/train.py and bin/infer.py when an output cannot be written


class WriteError(OSError):
    """An output that could not be written: `path` and the cause, in one line."""

    def __init__(self, path: str | Path, cause: OSError):
        self.path = Path(path)
        super().__init__(cause.errno, f"could not write {path}: {reason(cause)}")

    def __str__(self) -> str:
        return self.strerror


def reason(err: OSError) -> str:
    """The cause of a failed write in words: strerror, or the errno HDF5 buries in its
    message (h5py raises OSError without errno), else the message's first line."""
    if err.errno:
        return os.strerror(err.errno)
    found = re.search(r"errno = (\d+)", str(err))
    return os.strerror(int(found.group(1))) if found else str(err).splitlines()[0][:200]


@contextmanager
def writing(path: str | Path, *partial: Path):
    """Inside: writes of `path`. An OSError becomes a WriteError naming `path`, after the
    `partial` files or directories (temporaries) are removed."""
    try:
        yield
    except WriteError:
        raise
    except OSError as err:
        for p in partial:
            if Path(p).is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                Path(p).unlink(missing_ok=True)
        raise WriteError(path, err) from err


def write_text(path: str | Path, text: str) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with writing(path, tmp):
        tmp.write_text(text)
        tmp.replace(path)
    return path


def write_json(path: str | Path, data) -> Path:
    return write_text(path, json.dumps(data, indent=1, default=float))
