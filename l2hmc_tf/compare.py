"""`bin/compare.py`: samplers against plain HMC from inference summaries, as a table (and a plot).

    bin/compare.py RUN/inference-b4-16x16 runs/hmc-b4-16x16 [...] [--plot tau.png] [--json f]

Every summary that is not plain HMC (a trained model, with or without the instanton layer;
HMC with instanton proposals) gets its own row, compared with the strongest plain-HMC
summary given at the same beta and lattice: the fewest force evaluations per independent
Q_Z, whatever its integrator (leapfrog or 2MN), step size and N_LF. The "NLF*tau" columns
count force evaluations (N_LF for leapfrog, 2 N_LF for 2MN) per independent Q_Z. One without
a baseline is not compared, with a line that says what differs. Ratios are HMC / sampler, so
> 1 means the sampler wins. A gain per second needs both runs to have the same chains per
rank (throughput per chain depends on the batch), else it is left out and the row says why.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from .summary import ChainSummary, Comparison


def load_summaries(dirs) -> list[tuple[str, ChainSummary]]:
    """(directory, summary) of each inference output directory."""
    rows = []
    for d in dirs:
        path = Path(d) / "summary.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist; pass directories bin/infer.py wrote")
        rows.append((str(d), ChainSummary.from_dict(json.loads(path.read_text()))))
    return rows


def is_plain_hmc(summary: ChainSummary) -> bool:
    """HMC without the instanton move: the baseline every other sampler is compared with."""
    return (summary.sampler == "hmc" and not summary.instanton_moves
            and not summary.instanton_layer)


def _setting(summary: ChainSummary) -> tuple:
    return summary.beta, summary.lattice


def _cost_per_charge(summary: ChainSummary) -> float:
    """Force evaluations per independent Q_Z; a sampler that never moved Q_Z costs inf."""
    cost = summary.nlf_tau_int_charge_int
    return cost if math.isfinite(cost) else math.inf


def best_baselines(named: list[tuple[str, ChainSummary]]) -> dict[tuple, tuple]:
    """Per (beta, lattice), the plain-HMC summary with the fewest force evaluations per
    independent Q_Z (the first given, of equals): the strongest HMC given, whatever its
    integrator, step and trajectory length."""
    best: dict[tuple, tuple[str, ChainSummary]] = {}
    for name, s in named:
        key = _setting(s)
        if is_plain_hmc(s) and (key not in best
                                or _cost_per_charge(s) < _cost_per_charge(best[key][1])):
            best[key] = (name, s)
    return best


def pair_rows(named: list[tuple[str, ChainSummary]]) -> tuple[list[dict], list[str]]:
    """(rows, refusals): a Comparison row for each summary that is not plain HMC, against
    the best plain-HMC summary at its (beta, lattice) (best_baselines), and a line for each
    that has none."""
    baselines = best_baselines(named)
    rows, refusals = [], []
    for name, s in named:
        if is_plain_hmc(s):
            continue
        if _setting(s) not in baselines:
            given = ", ".join(f"beta {b:g} {lat}" for b, lat in baselines) or "none"
            refusals.append(f"{name} ({s.label}, beta {s.beta:g} {s.lattice}): no plain-HMC "
                            f"summary with the same beta and lattice to compare with (plain "
                            f"HMC given: {given})")
            continue
        base_name, base = baselines[_setting(s)]
        row = Comparison(s, base).row() | {"sampler": s.label, "source": name,
                                           "baseline": base_name, "baseline_label":
                                           f"{base.label} N_LF {base.n_leapfrog}"}
        if s.chains != base.chains:
            row["seconds_gain"] = math.nan
            row["seconds_gain_note"] = (f"no gain per second: {s.chains} chains per rank "
                                        f"against HMC's {base.chains}")
        rows.append(row)
    return rows, refusals


def table(rows: list[dict]) -> str:
    def cell(row, key, fmt):
        value = row.get(key, math.nan)
        width = fmt.split(".")[0]          # a missing figure: '-' in the same width
        return format(value, fmt) if math.isfinite(value) else format("-", f">{width}")

    head = (f"{'beta':>5} {'lattice':>8} {'N_LF':>4} | {'tau HMC':>15} {'tau sampler':>15} "
            f"{'ratio':>6} | {'NLF*tau HMC':>11} {'NLF*tau':>10} {'ratio':>6} | "
            f"{'sec/indep HMC':>13} {'sec/indep':>12} {'ratio':>6} | sampler")
    lines = [head, "-" * len(head)]
    for r in rows:
        tau = [f"{r[f'tau_int_{s}']:7.2f} ± {r[f'tau_int_{s}_err']:5.2f}" for s in SAMPLER_KEYS]
        lines.append(
            f"{r['beta']:5.3g} {r['lattice']:>8} {r['n_leapfrog']:>4} | {tau[0]:>15} "
            f"{tau[1]:>15} {cell(r, 'tau_int_gain', '6.2f')} | "
            f"{cell(r, 'nlf_tau_int_hmc', '11.1f')} {cell(r, 'nlf_tau_int_l2hmc', '10.1f')} "
            f"{cell(r, 'nlf_tau_int_gain', '6.2f')} | "
            f"{cell(r, 'tau_int_seconds_hmc', '13.4f')} "
            f"{cell(r, 'tau_int_seconds_l2hmc', '12.4f')} "
            f"{cell(r, 'seconds_gain', '6.2f')} | {r['sampler']} ({r['source']}) against "
            f"{r['baseline_label']} ({r['baseline']})")
        if "seconds_gain_note" in r:
            lines.append(f"{'':>20}{r['seconds_gain_note']}")
        for side, key in (("HMC", "hmc"), ("sampler", "l2hmc")):
            if r.get(f"trust_warning_{key}"):
                lines.append(f"{'':>20}{side}: {r[f'trust_warning_{key}']}")
    return "\n".join(lines)


SAMPLER_KEYS = ("hmc", "l2hmc")     # Comparison's slots: the baseline and the sampler


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
    paired, refusals = pair_rows(rows)
    for line in refusals:
        print(f"not compared: {line}", file=sys.stderr)
    if not paired:
        print("error: nothing to compare: give each sampler's summary and plain HMC's at the "
              "same beta and lattice", file=sys.stderr)
        return 2
    print(table(paired))
    if args.json:
        Path(args.json).write_text(json.dumps(paired, indent=1))
    if args.plot:
        from . import plots
        plots.tau_vs_beta([plots.TauPoint(f"{s.label} ({name})", s.beta,
                                          s.stats.tau_int_charge_int,
                                          s.stats.tau_int_charge_int_err)
                           for name, s in rows], Path(args.plot))
    return 0
