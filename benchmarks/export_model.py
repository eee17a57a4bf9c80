"""Copy the trained model behind one result row into models/, with the row beside it.

    python -m benchmarks.export_model --json benchmarks/results/ablation-a.json --row conv
        [--to models/b4-conv]

models/<name>/ then holds config.yaml (the run's, with dynamics.instanton as the row measured
it and no training.init_from: the row records where training started), model.weights.h5 and
result.json (the row), so `bin/infer.py --run models/<name>`
samples the row's sampler without training and tests/test_models.py checks it.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from l2hmc_tf import atomic, checkpoints, config

from .common import result_rows, row_name


def find_row(path: Path, name: str) -> dict:
    """The row called `name`: its full name (common.row_name, e.g. 'campaign/x b6 16x16 moves
    0'), or its ablation name or run when that picks one row (a run measured at several
    betas has one row per beta)."""
    rows = result_rows(path)
    matches = [r for r in rows if name in (row_name(r), r.get("name", r.get("run")))]
    if len(matches) == 1:
        return matches[0]
    problem = "no row" if not matches else f"{len(matches)} rows"
    raise SystemExit(f"error: {problem} named {name!r} in {path}: give one of "
                     f"{[row_name(r) for r in matches or rows]}")


# Where training started (a local run, how its layers were copied): the row records it.
STARTED_FROM = ("training.init_from=null", "training.init_partial=false",
                "training.init_layer_offset=0")


def export(row: dict, to: Path) -> Path:
    """models/<name>/ from the row's run directory."""
    run = Path(row["run"])
    cfg = config.load(run / "config.yaml",     # init_from named a local run; the row keeps it
                      [f"dynamics.instanton={str(row['instanton_layer']).lower()}",
                       *STARTED_FROM])
    to.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / checkpoints.MODEL_FILE, to / checkpoints.MODEL_FILE)
    config.dump(cfg, to / "config.yaml")
    atomic.write_json(to / "result.json", row)
    return to


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", required=True, help="a benchmarks/results file")
    p.add_argument("--row", required=True,
                   help="the row's full name, or its name (ablation) or run (tau_int)")
    p.add_argument("--to", help="default: models/b<beta>-<row name>")
    args = p.parse_args(argv)
    row = find_row(args.json, args.row)
    to = Path(args.to or f"models/b{row['beta']:g}-{args.row.replace(' ', '-')}")
    print(f"wrote {export(row, to)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
