"""`bin/compare.py`: L2HMC against HMC from inference summaries, as a table (and a plot).

    bin/compare.py RUN/inference-b4-16x16 runs/hmc-b4-16x16 [...] [--plot tau.png] [--json f]
Pairs summaries of the same (beta, lattice); ratios are HMC / L2HMC, so > 1 means L2HMC wins.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from .summary import ChainSummary, Comparison


def load_summaries(dirs) -> list[ChainSummary]:
    rows = []
    for d in dirs:
        path = Path(d) / "summary.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist; pass directories bin/infer.py wrote")
        rows.append(ChainSummary.from_dict(json.loads(path.read_text())))
    return rows


def pair_rows(summaries: list[ChainSummary]) -> list[dict]:
    """One Comparison row per (beta, lattice) with both samplers' figures and the gains."""
    out = []
    for key in sorted({(s.beta, s.lattice) for s in summaries}):
        both = {s.sampler: s for s in summaries if (s.beta, s.lattice) == key}
        out.append(Comparison(both.get("l2hmc"), both.get("hmc")).row())
    return out


def table(rows: list[dict]) -> str:
    def cell(row, key, fmt):
        value = row.get(key, math.nan)
        return format(value, fmt) if math.isfinite(value) else format("-", fmt[:-2] + "s")

    head = (f"{'beta':>5} {'lattice':>8} | {'tau HMC':>15} {'tau L2HMC':>15} {'ratio':>6} | "
            f"{'NLF*tau HMC':>11} {'NLF*tau L2':>10} {'ratio':>6} | {'sec/indep HMC':>13} "
            f"{'sec/indep L2':>12} {'ratio':>6}")
    lines = [head, "-" * len(head)]
    for r in rows:
        tau = [f"{r[f'tau_int_{s}']:7.2f} ± {r[f'tau_int_{s}_err']:5.2f}"
               if f"tau_int_{s}" in r else f"{'-':>15}" for s in ("hmc", "l2hmc")]
        lines.append(
            f"{r['beta']:5.3g} {r['lattice']:>8} | {tau[0]:>15} {tau[1]:>15} "
            f"{cell(r, 'tau_int_gain', '6.2f')} | {cell(r, 'nlf_tau_int_hmc', '11.1f')} "
            f"{cell(r, 'nlf_tau_int_l2hmc', '10.1f')} {cell(r, 'nlf_tau_int_gain', '6.2f')} | "
            f"{cell(r, 'tau_int_seconds_hmc', '13.4f')} "
            f"{cell(r, 'tau_int_seconds_l2hmc', '12.4f')} "
            f"{cell(r, 'seconds_gain', '6.2f')}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bin/compare.py", description=__doc__.split("\n")[0])
    p.add_argument("dirs", nargs="+", help="inference output directories (with summary.json)")
    p.add_argument("--plot", help="write tau_int(Q_Z) against beta to this PNG")
    p.add_argument("--json", help="write the paired rows to this JSON file")
    args = p.parse_args(argv)
    try:
        rows = load_summaries(args.dirs)
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    paired = pair_rows(rows)
    print(table(paired))
    if args.json:
        Path(args.json).write_text(json.dumps(paired, indent=1))
    if args.plot:
        from . import plots
        plots.tau_vs_beta([plots.TauPoint(r.sampler, r.beta, r.stats.tau_int_charge_int,
                                          r.stats.tau_int_charge_int_err) for r in rows],
                          Path(args.plot))
    return 0
