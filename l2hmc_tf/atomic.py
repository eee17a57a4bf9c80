"""Small files written whole or not at all: write a hidden temporary, then rename over."""
from __future__ import annotations

import json
from pathlib import Path


def write_text(path: str | Path, text: str) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def write_json(path: str | Path, data) -> Path:
    return write_text(path, json.dumps(data, indent=1, default=float))
