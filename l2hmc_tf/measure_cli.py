"""`bin/measure.py`: observables on ensembles saved by `bin/infer.py --save-every N`.

    bin/measure.py ENSEMBLE [ENSEMBLE ...] [--observables plaquette chi_q wilson ...]
        [--therm N] [--out FILE]
ENSEMBLE is an inference*.h5 file or a directory of them; several at the same beta and
lattice are measured together (their chains side by side). Writes measurements.json (values,
errors, tau_int, exact values, sigma) and prints a table. Needs no TensorFlow.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import atomic, observables
from .measure import measure, open_ensemble, table

DEFAULT_OBSERVABLES = ("plaquette", "q2", "chi_q", "wilson")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bin/measure.py", description=__doc__.split("\n")[0])
    p.add_argument("ensemble", nargs="+", help="inference*.h5 files or directories of them")
    p.add_argument("--observables", nargs="+", default=list(DEFAULT_OBSERVABLES),
                   metavar="NAME",
                   help=f"from {', '.join(sorted(observables.REGISTRY))}, W<R>x<T> (a Wilson "
                        "loop) or 'wilson' (every W with R, T <= L/2, and Creutz ratios); "
                        f"default: {' '.join(DEFAULT_OBSERVABLES)}")
    p.add_argument("--therm", type=int, default=None, metavar="N",
                   help="drop configurations saved in the first N trajectories (default: "
                        "what the inference run dropped)")
    p.add_argument("--out", help="output JSON (default: measurements.json beside the first "
                                 "ensemble)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.therm is not None and args.therm < 0:
            raise ValueError(f"--therm must be >= 0, got {args.therm}")
        ensemble = open_ensemble(args.ensemble)
        observables.resolve(args.observables, *ensemble.lattice)     # names checked first
        first = Path(args.ensemble[0])
        out = Path(args.out) if args.out else (first if first.is_dir() else first.parent) \
            / "measurements.json"
        if not out.parent.is_dir():
            raise ValueError(f"--out {out}: directory {out.parent} does not exist")
        result = measure(ensemble, args.observables, args.therm)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        atomic.write_json(out, result)
    except atomic.WriteError as err:
        print(f"error: {err}", file=sys.stderr)
        return atomic.WRITE_FAILED
    print(table(result))
    print(f"wrote {out}")
    return 0
