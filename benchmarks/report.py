"""Write docs/results.md from the benchmarks' JSON outputs (missing ones are marked so).

    python -m benchmarks.report [--throughput F] [--tau-int F] [--volume F...] [--scaling F]
        [--train-profile F] [--ablation F...] [--cost F] [--network-cost F] [--campaign F]
        [--exactness F] [--wilson F] [--notes benchmarks/results/notes.md]
        [--out docs/results.md]

Also draws N_LF * tau_int against beta with the reference paper's values (docs/tau_int.png),
embeds the in-trajectory traces tau_int.py saved, and checks each target of issue 7.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from l2hmc_tf import plots
from l2hmc_tf.schemes import SCHEMES
from l2hmc_tf.summary import SAMPLERS

from .common import is_hmc_baseline, result_rows, row_name

RESULTS = Path("benchmarks/results")
FROZEN = 0.01    # below this acceptance the chains do not move: no tau_int or error to show
# docs/physics.md section 7, 16x16: the reference's HMC as plotted (N_LF * tau_int), and its
# trained runs in N_LF * tau_int, mean over runs and best run (the plotted trained curve,
# 34 / 62 / 65 / 99, is their tau_int in trajectories, not multiplied by N_LF).
PAPER = {4.0: (1070, 342, 228), 5.0: (7400, 546, 399), 6.0: (46000, 681, 400),
         7.0: (135000, 1126, 571)}
PAPER_LINES = ("reference HMC", "reference trained (mean)", "reference trained (best run)")


def with_interleaved_cost(rows: list[dict], costs: dict) -> list[dict]:
    """Rows whose trajectory cost was timed interleaved with HMC (benchmarks.cost) take that
    cost, and their gain per second becomes tau_int gain / cost."""
    out = []
    for r in rows:
        cost = costs.get(row_name(r))
        if cost is not None:
            r = r | {"trajectory_cost": cost, "seconds_gain": r["tau_int_gain"] / cost,
                     "cost_timing": "interleaved"}
        out.append(r)
    return out


def _load(path):
    p = Path(path)
    return json.loads(p.read_text()) if p.is_file() else None


def _command(meta) -> list[str]:
    return [f"Command: `{meta['command']}`", ""] if meta and "command" in meta else []


def _fmt(value, err=None, spec=".2f"):
    if value is None:
        return "-"
    text = format(value, spec)
    return f"{text} ± {format(err, spec)}" if err is not None else text


def _table(columns: list[str], rows: list[list]) -> list[str]:
    """A markdown table from its column names and rows of cells."""
    def line(cells):
        return "| " + " | ".join(str(c) for c in cells) + " |"
    return [line(columns), "|---" * len(columns) + "|", *(line(r) for r in rows), ""]


def _not_measured(title: str, command: str) -> list[str]:
    return [title, "", f"not measured yet: `{command}`", ""]


def throughput_section(data) -> list[str]:
    title = "## Throughput (trajectories per second, ratios in one run)"
    if not data:
        return _not_measured(title, "python -m benchmarks.throughput")
    columns = ["lattice", "chains", "HMC", "HMC XLA", "numpy HMC", "TFP HMC", "HMC/numpy",
               "HMC/TFP", "L2HMC transition cost", "train step cost", "train FLOP/s vs matmul",
               "link state KiB/chain"]
    rows = [[r["lattice"], r["chains"], f"{r['hmc_tf']:.1f}", f"{r['hmc_tf_xla']:.2g}",
             f"{r['hmc_numpy']:.1f}", f"{r['hmc_tfp']:.1f}", f"{r['speedup_vs_numpy']:.2f}",
             f"{r['speedup_vs_tfp']:.2f}", f"{r['l2hmc_transition_cost_vs_hmc']:.1f}x",
             f"{r['l2hmc_train_step_cost_vs_hmc']:.1f}x",
             f"{r['train_step_fraction_of_matmul']:.1%}", f"{r['bytes_per_chain'] / 1024:g}"]
            for r in data["rows"]]
    hardware = {k: v for k, v in data["machine"].items() if k != "command"}
    note = ("HMC runs the leapfrog on the two link directions held apart as [Lt, Lx, batch] "
            "tensors (`integrators.leapfrog`). HMC XLA is timed once: on CPU, XLA's sin is ~4x "
            "slower than TensorFlow's kernel and its fusions recompute the force across "
            "leapfrog steps; on GPUs it is worth measuring again.")
    return [title, "", *_table(columns, rows), note, "", *_command(data["machine"]),
            f"Machine: `{json.dumps(hardware)}`", ""]


def tau_section(rows, meta, out_dir: Path, results_dir: Path,
                more_rows: list[dict] = ()) -> list[str]:
    """The tau_int table of `rows`; its figure also draws `more_rows` (the ablation's)."""
    title = "## tau_int(Q_Z): trained L2HMC against HMC"
    if not rows:
        return _not_measured(title, "python -m benchmarks.tau_int --betas 4 5")
    columns = ["beta", "lattice", "sampler", "N_LF", "HMC", "tau HMC", "tau sampler",
               "N_LF*tau HMC", "N_LF*tau sampler", "reference HMC",
               "reference trained (mean / best)", "<dQ^2> sampler", "gain per force evaluation",
               "gain per second", "accept",
               "trajectories HMC / sampler", "train s"]
    cells = []
    for r in rows:
        paper = ("-", "-")
        if r["lattice"] == "16x16" and float(r["beta"]) in PAPER:
            hmc_ref, mean, best = PAPER[float(r["beta"])]
            paper = (hmc_ref, f"{mean} / {best}")
        cells.append([f"{r['beta']:g}", r["lattice"], _model(r), r["n_leapfrog"],
                      _hmc_setting(r),
                      _fmt(r["tau_int_hmc"], r["tau_int_hmc_err"]),
                      _fmt(r["tau_int_l2hmc"], r["tau_int_l2hmc_err"]),
                      _fmt(*_nlf(r, "hmc"), spec=".1f"), _fmt(*_nlf(r, "l2hmc"), spec=".1f"),
                      *paper,
                      _fmt(r.get("dq2_l2hmc"), spec=".3f"), _per_force_gain(r),
                      f"{r['seconds_gain']:.2f}x",
                      f"{r['accept_l2hmc']:.3f}", f"{_steps(r, 'hmc')} / {_steps(r, 'l2hmc')}",
                      _fmt(r.get("train_seconds"), spec=".0f")])
    commands = list(dict.fromkeys(r["command"] for r in rows if "command" in r))
    lines = (["Commands:", "", *(f"- `{c}`" for c in commands), ""] if commands
             else _command(meta))
    legend = ("`sampler` names the trained run measured, with its network kind; `(from X)` "
              "means its training started from X's weights (`training.init_from`), so its "
              "`train s` adds to X's. `hmc + K instanton proposals` rows are the baseline only "
              "2D U(1) allows (docs/physics.md section 10). The figure and the targets use the "
              "best learned model without the instanton move at each beta; the figure draws "
              "the instanton baselines as their own lines. `HMC` is the step size HMC "
              "ran at (`initial`: the model's initial step size, rows measured before the "
              "HMC step-size screens of docs/physics.md section 3), with its integrator and "
              "steps where these are not leapfrog at the model's N_LF; `N_LF*tau` counts force "
              "evaluations per independent Q_Z (2MN: two a step), so the integrators compare "
              "at equal cost. Rows against 2MN are the best HMC that `benchmarks.hmc_tuning` "
              "found; the leapfrog rows stay for comparison with the paper.")
    return ([title, "", legend, "", *_table(columns, cells), *lines]
            + _figures(rows + list(more_rows), out_dir, results_dir))


def _per_force_gain(row) -> str:
    """HMC / sampler of force evaluations per independent Q_Z."""
    return f"{row['nlf_tau_int_hmc'] / row['nlf_tau_int_l2hmc']:.1f}x"


def _hmc_setting(row) -> str:
    """The HMC a row was measured against: its step, with integrator and steps where these
    are not leapfrog at the model's N_LF."""
    if "hmc_step_size" not in row:
        return "initial"
    step = f"{row['hmc_step_size']:g}"
    integrator = row.get("hmc_integrator", "leapfrog")
    n_lf = row.get("n_leapfrog_hmc", row["n_leapfrog"])
    if integrator == "leapfrog" and n_lf == row["n_leapfrog"]:
        return step
    return f"{integrator} {step} x {n_lf}"


def _nlf(row, name) -> tuple[float, float]:
    """Force evaluations per independent Q_Z and its error (rows from before 2MN: N_LF *
    tau_int, leapfrog's count)."""
    err = row.get(f"nlf_tau_int_{name}_err", row["n_leapfrog"] * row[f"tau_int_{name}_err"])
    return row[f"nlf_tau_int_{name}"], err


def _model(row) -> str:
    """The run that was measured (with its kind), and the run its training started from."""
    if is_hmc_baseline(row):
        return f"hmc + {row['instanton_moves']} instanton proposals"
    def name(path):
        return "/".join(Path(path).parts[-2:])
    run = f"{name(row.get('run', '-'))} ({row.get('variant', 'conv')})"
    return f"{run} (from {name(row['init_from'])})" if row.get("init_from") else run


def is_learned(row) -> bool:
    """A trained model without the 2D-U(1)-only instanton move (the targets' rows)."""
    return not is_hmc_baseline(row) and not row.get("instanton", False)


def is_network(row) -> bool:
    """A learned row of a network kind (issue 21's targets: not the scalar kind)."""
    return is_learned(row) and row.get("variant") not in ("scalar", "hmc")


def _steps(row, name) -> str:
    """Trajectories used, marked when the chain cap stopped them short of the 20% target."""
    steps = row.get(f"steps_{name}", "-")
    return f"{steps} (cap)" if row.get(f"tau_int_precise_{name}") is False else f"{steps}"


def best_models(rows) -> dict:
    """The row with the lowest N_LF * tau_int(L2HMC) for each (beta, lattice)."""
    best = {}
    for r in filter(is_learned, rows or []):
        key = (float(r["beta"]), r["lattice"])
        if key not in best or r["nlf_tau_int_l2hmc"] < best[key]["nlf_tau_int_l2hmc"]:
            best[key] = r
    return best


def _figures(rows, out_dir: Path, results_dir: Path) -> list[str]:
    """N_LF * tau_int against beta for the best model at each beta (with the paper's
    values), and the saved traces."""
    ours = [plots.TauPoint(f"best learned sampler {r['lattice']}", r["beta"], *_nlf(r, "l2hmc"))
            for r in best_models(rows).values()]
    for integrator in SCHEMES:       # the HMC each integrator's best row was measured against
        against = [r for r in rows if r.get("hmc_integrator", "leapfrog") == integrator]
        ours += [plots.TauPoint(f"HMC {integrator} (same run) {r['lattice']}", r["beta"],
                                *_nlf(r, "hmc")) for r in best_models(against).values()]
    ours += [plots.TauPoint(f"HMC + {r['instanton_moves']} instanton proposals {r['lattice']}",
                            r["beta"], *_nlf(r, "l2hmc"))
             for r in rows if is_hmc_baseline(r)]
    lines = []
    if ours:
        reference = {f"{name} 16x16": {b: v[i] for b, v in PAPER.items()}
                     for i, name in enumerate(PAPER_LINES)}
        plots.tau_vs_beta(ours, out_dir / "tau_int.png", ylabel="$N_{LF}\\,\\tau_{int}(Q_Z)$",
                          reference=reference)
        lines += ["![N_LF tau_int against beta](tau_int.png)", ""]
    for png in sorted(results_dir.glob("trace-*.png")):
        link = Path(os.path.relpath(png, out_dir)).as_posix()
        lines += [f"In-trajectory trace of the trained model ({png.stem[6:]}; the paper's "
                  "figures 6, 7):", "", f"![trace]({link})", ""]
    return lines


def _target(label: str, value, goal: float, at_most: bool = False) -> list:
    if value is None:
        return [label, "not measured", "-"]
    met = value <= goal if at_most else value >= goal
    return [label, f"{value:.3g}", "met" if met else "not met"]


def _best(rows, key: str, beta: float, lowest: bool, keep=is_learned):
    """The best value of `key` among the kept 16x16 rows at beta (None: none measured)."""
    values = [r[key] for r in rows if keep(r) and r["lattice"] == "16x16"
              and float(r["beta"]) == beta and r["accept_l2hmc"] >= FROZEN]
    return (min if lowest else max)(values) if values else None


def _within_3_sigma(rows) -> list:
    """How many rows have plaquette and <Q_Z^2> of every sampler within 3 sigma of exact
    (frozen chains excluded: they have no meaningful error)."""
    sigmas = [abs(r[f"{key}_sigma_{name}"]) for r in rows for key in ("plaq", "q2")
              for name in SAMPLERS if f"{key}_sigma_{name}" in r
              and r.get(f"accept_{name}", 1) >= FROZEN]
    if not sigmas:
        return _target("rows with plaquette and <Q_Z^2> within 3 sigma", None, 0)
    inside = sum(s <= 3 for s in sigmas)
    return ["plaquette and <Q_Z^2> within 3 sigma of exact (all)",
            f"{inside} of {len(sigmas)}", "met" if inside == len(sigmas) else "not met"]


def against_best_hmc(row) -> bool:
    """A network row measured against the best HMC benchmarks.hmc_tuning found (issue 27)."""
    return is_network(row) and bool(row.get("hmc_best"))


def best_hmc_targets(rows) -> list[list]:
    """Issue 27's targets, each against the best HMC measured in the same run: per CPU
    second, N_LF tau_int within 20% of the rows before it, and the trajectory cost."""
    targets = []
    for beta, goal, before in ((5.0, 1, 342), (6.0, 3, 441), (7.0, 15, 531)):
        targets.append(_target(f"network per CPU second vs the best HMC, beta {beta:g} "
                               f"(>= {goal})", _best(rows, "seconds_gain", beta, False,
                                                     against_best_hmc), goal))
        targets.append(_target(f"network N_LF tau_int (best-HMC rows), beta {beta:g} "
                               f"(<= {1.2 * before:.0f})",
                               _best(rows, "nlf_tau_int_l2hmc", beta, True, against_best_hmc),
                               1.2 * before, True))
    targets.append(_target("network trajectory in HMC trajectories, beta 6 (<= 10)",
                           _best(rows, "trajectory_cost", 6.0, True, against_best_hmc), 10,
                           True))
    return targets


def targets_section(throughput, rows, volume) -> list[str]:
    """The targets of issue 21 (and the throughput ones of issue 7) against the JSON files:
    `rows` are every tau_int and ablation row; learned rows exclude the instanton move."""
    def row(table, **match):
        return next((r for r in table or [] if all(r.get(k) == v for k, v in match.items())), {})

    big = row((throughput or {}).get("rows"), lattice="16x16", chains=1024)
    targets = [_target("HMC / numpy HMC, 16x16, 1024 chains (>= 2)",
                       big.get("speedup_vs_numpy"), 2),
               _target("HMC / TFP HMC, 16x16, 1024 chains (>= 1.5)",
                       big.get("speedup_vs_tfp"), 1.5)]
    for beta, goal in ((6.0, 400), (7.0, 571)):      # the reference's best runs (issue 21)
        targets.append(_target(f"network N_LF tau_int, beta {beta:g}, 16x16 (<= {goal})",
                               _best(rows, "nlf_tau_int_l2hmc", beta, True, is_network), goal,
                               True))
    for beta in (4.0, 5.0, 6.0, 7.0):                 # stretch
        targets.append(_target(f"stretch: network N_LF tau_int, beta {beta:g} (<= 200)",
                               _best(rows, "nlf_tau_int_l2hmc", beta, True, is_network), 200,
                               True))
    for beta in (6.0, 7.0):
        targets.append(_target(f"network, tau_int per CPU second vs HMC, beta {beta:g} (>= 1)",
                               _best(rows, "seconds_gain", beta, False, is_network), 1))
    targets += best_hmc_targets(rows)
    volume_rows = [r for data in volume for r in data.get("rows", [])]
    transfers = [r for r in volume_rows       # the model as trained, no fine-tuning
                 if r["trained_on"] != r["lattice"] and not r.get("finetune_steps")]
    for size in ("32x32",):
        at_size = [r for r in transfers if r["lattice"] == size]
        for key, label, goal in (("accept_l2hmc", "acceptance", 0.6),
                                 ("tau_int_gain", "tau_int gain", 3)):
            best = max((r[key] for r in at_size), default=None)
            targets.append(_target(f"volume transfer to {size}: {label} (>= {goal:g})", best,
                                   goal))
    targets.append(_within_3_sigma(rows + volume_rows))
    return ["## Targets (issues 21 and 27: network kinds, without the 2D-only instanton move)",
            "",
            *_table(["target", "measured", ""], targets)]


def volume_section(datasets: list[dict]) -> list[str]:
    title = "## Volume transfer (a translation-invariant model trained on one size)"
    if not datasets:
        return _not_measured(title, "python -m benchmarks.volume_transfer --run RUN")
    columns = ["lattice", "trained on", "accept L2HMC", "accept HMC", "tau L2HMC", "tau HMC",
               "gain", "trajectories HMC / L2HMC", "fine-tune s"]
    lines = [title, "", "Rows trained on one size and measured on another are the model "
             "unchanged (the targets use these); `+ N steps at LxL` rows started from the "
             "small model and trained N steps at that size and beta (`--finetune-steps`).", ""]
    for data in datasets:
        rows = [[r["lattice"], r["trained_on"], f"{r['accept_l2hmc']:.3f}",
                 f"{r['accept_hmc']:.3f}", _fmt(r["tau_int_l2hmc"], r["tau_int_l2hmc_err"]),
                 _fmt(r["tau_int_hmc"], r["tau_int_hmc_err"]), f"{r['tau_int_gain']:.2f}x",
                 f"{_steps(r, 'hmc')} / {_steps(r, 'l2hmc')}",
                 _fmt(r.get("finetune_seconds"), spec=".0f")] for r in data["rows"]]
        source = data.get("source")
        if source:
            lines += [f"The model `{source['run']}` ({data['rows'][0].get('variant', 'conv')}): "
                      f"{source['steps']} training steps, "
                      f"{_fmt(source['train_seconds'], spec='.0f')} s.", ""]
        lines += [*_table(columns, rows), *_command(data["machine"])]
    return lines


def _ablation_cells(name: str, r: dict, side: str) -> list:
    """One sampler of an ablation row: N_LF * tau_int and the figures beside it."""
    n_lf = r["n_leapfrog"]
    if r[f"accept_{side}"] < FROZEN:
        return [name, "frozen", "-", "-", "-", f"{r[f'accept_{side}']:.2f}", "-",
                _steps(r, side)]
    sigmas = f"{r[f'plaq_sigma_{side}']:+.1f} / {r[f'q2_sigma_{side}']:+.1f}"
    return [name, _fmt(n_lf * r[f"tau_int_{side}"], n_lf * r[f"tau_int_{side}_err"], ".1f"),
            _fmt(n_lf * r[f"tau_int_sokal_{side}"], spec=".1f"), _fmt(r[f"dq2_{side}"],
                                                                      spec=".3f"),
            _fmt(n_lf * r[f"tau_int_predicted_{side}"], spec=".1f"),
            f"{r[f'accept_{side}']:.2f}", sigmas, _steps(r, side)]


def ablation_section(rows: list[dict]) -> list[str]:
    title = "## Ablation at one beta: each kind with the same training budget"
    if not rows:
        return _not_measured(title, "python -m benchmarks.ablation")
    first = rows[0]
    columns = ["sampler", "N_LF*tau_int", "N_LF*tau Sokal", "<dQ^2>", "N_LF*tau predicted",
               "accept", "plaq / Q^2 sigma", "trajectories", "cost vs HMC",
               "gain per trajectory", "gain per second", "train s (steps)"]
    cells = [_ablation_cells("HMC", first, "hmc") + ["1", "1", "1", "-"]]
    for r in rows:
        trained = (f"{r['train_seconds']:.0f} ({r['training_steps']})" if "training_steps" in r
                   else "-")
        gains = ([f"{r['tau_int_gain']:.2f}x", f"{r['seconds_gain']:.2f}x"]
                 if r["accept_l2hmc"] >= FROZEN else ["-", "-"])
        cells.append(_ablation_cells(r["name"], r, "l2hmc")
                     + [f"{r['trajectory_cost']:.1f}x", *gains, trained])
    note = (f"beta {first['beta']:g}, {first['lattice']}, N_LF {first['n_leapfrog']}, "
            f"{first['chains']} chains per sampler, HMC measured once in the same process. "
            "Gains are HMC over the sampler (> 1: the sampler wins); `cost vs HMC` is the wall "
            "time of one trajectory in HMC trajectories. `+ instanton layer` rows are the "
            "model above them with the shift x -> x + d A switched on mid-trajectory (weights "
            "unchanged); `hmc + K instanton proposals` is HMC followed by K Metropolis "
            "proposals x -> x +- A (docs/physics.md section 10; 2D U(1) only). Sigmas are the "
            "deviations of the plaquette and <Q_Z^2> from the exact torus values. `frozen`: "
            f"acceptance below {FROZEN}, the chains stay where HMC thermalised them, so "
            "their tau_int and errors mean nothing.")
    commands = list(dict.fromkeys(r["command"] for r in rows if "command" in r))
    return [title, "", note, "", *_table(columns, cells), "Commands:", "",
            *(f"- `{c}`" for c in commands), ""]


def network_cost_section(data) -> list[str]:
    """Trajectory and training-step cost of each network layout in HMC trajectories."""
    title = "## Network trajectory cost (in HMC trajectories, timed in turn in one process)"
    if not data:
        return _not_measured(title, "python -m benchmarks.network_cost")
    columns = ["variant", "lattice", "chains", "trajectory", "training step",
               "step / its trajectory", "HMC ms"]
    rows = [[r["variant"], r["lattice"], r["chains"], f"{r['trajectory_cost']:.1f}",
             f"{r['training_step_cost']:.1f}", f"{r['step_in_trajectories']:.1f}",
             f"{r['hmc_ms']:.2f}"]
            for r in sorted(data["rows"], key=lambda r: (r["lattice"], r["chains"]))]
    note = ("`before:` rows ran the code before issue 19 (commit 1e50a89); the others the "
            "current code. `no v-net`: network.v_network false; `rot`: "
            "network.rotate_subupdates; `mirrored`: dynamics.mirror_networks. "
            f"Threads: {data.get('threads', '?')} (0: TensorFlow's default). "
            "docs/performance.md explains the layouts and the profile behind them.")
    return [title, "", *_table(columns, rows), note, "", *_command(data["machine"])]


def campaign_section(data) -> list[str]:
    """The campaign ledger: each screened run's <dQ_Z^2> at its target, with its training."""
    title = "## Campaign ledger (<dQ_Z^2> screens; issue 21)"
    if not data:
        return _not_measured(title, "python -m benchmarks.screen RUN --beta 6")
    columns = ["run", "beta", "lattice", "<dQ^2>", "accept", "N_LF tau predicted",
               "CPU s per tau predicted", "training steps", "training h (wall)", "note"]
    rows = [[r["run"], f"{r['beta']:g}", r["lattice"], _fmt(r["dq2"], r["dq2_err"], ".4f"),
             f"{r['accept']:.2f}", f"{r['nlf_tau_int_predicted']:.0f}",
             _fmt(r.get("cpu_seconds_per_tau_int_predicted"), spec=".3g"),
             r.get("training_steps", "-"),
             _fmt((r.get("train_seconds") or 0) / 3600) if r.get("train_seconds") else "-",
             r.get("note", "")] for r in data["rows"]]
    hours, runs = training_hours(data["rows"], min_beta=6.0)
    total = (f"Network training toward beta 6-7: **{hours:.2f} CPU-hours** over {len(runs)} "
             f"runs ({', '.join(runs)}): each run's newest row, CPU seconds over all its "
             "resumptions (wall seconds where a run predates the CPU clock).")
    hours27, runs27 = training_hours(issue27_rows(data["rows"]), min_beta=0.0)
    since = (f"The runs first screened by issue 27's interleaved screen, at any beta: "
             f"**{hours27:.2f} CPU-hours** over {len(runs27)} runs ({', '.join(runs27)}).")
    return [title, "", *_table(columns, rows), total, "", since, "",
            "Commands: the `command` field of each row in benchmarks/results/campaign.json.",
            ""]


def issue27_rows(rows: list[dict]) -> list[dict]:
    """The rows of runs trained for issue 27: those whose first row in the ledger is an
    interleaved screen (runs trained before it appear there as comparators)."""
    first: dict[str, dict] = {}
    for r in rows:
        first.setdefault(r["run"], r)
    return [r for r in rows if first[r["run"]].get("timing") == "interleaved"]


def _layout(recipe: dict | None) -> str:
    """A ledger row's network layout in a few words (HMC rows: their name says it)."""
    if recipe is None:
        return "-"
    net, dyn = recipe["network"], recipe["dynamics"]
    words = [net["kind"], f"{net.get('x_subupdates', 8)} sub-updates"
             if net["kind"] == "gauge" else "", "rotating" if net.get("rotate_subupdates")
             else "", "no v-net" if not net.get("v_network", True) else "",
             "mirrored" if dyn.get("mirror_networks") else "",
             "[" + ",".join(map(str, net["units"])) + "]",
             f"networks in layers {','.join(map(str, net['network_layers']))} only"
             if net.get("network_layers") else ""]
    return " ".join(w for w in words if w)


def cost_screen_section(data, beta: float = 6.0) -> list[str]:
    """Issue 27's screen: the ledger's rows timed interleaved on one thread at beta 6,
    16x16: what an independent charge costs in CPU seconds, by layout."""
    title = f"## Cost per independent charge at beta {beta:g}, 16x16 (issue 27's screen)"
    rows = [r for r in (data or {}).get("rows", []) if r.get("timing") == "interleaved"
            and r["beta"] == beta and r["lattice"] == "16x16"]
    if not rows:
        return _not_measured(title, f"python -m benchmarks.screen RUN --hmc-best --beta {beta:g}")
    columns = ["run", "layout", "training CPU h", "<dQ^2>", "accept", "CPU ms per trajectory",
               "CPU s per tau_int (predicted)", "date"]
    cells = [[r["run"], _layout(r.get("recipe")),
              _fmt((r.get("train_cpu_seconds") or 0) / 3600) if r.get("recipe") else "-",
              _fmt(r["dq2"], r["dq2_err"], ".2g"), f"{r['accept']:.2f}",
              f"{1e3 * r['cpu_seconds_per_trajectory']:.1f}",
              f"{r['cpu_seconds_per_tau_int_predicted']:.3g}", r.get("date", "-")]
             for r in rows]
    legend = ("Each screen runs its samplers in turn on one thread from one equilibrium start "
              "(`benchmarks.screen RUN ... --hmc-best`, `inference.interleaved_mobility`), so "
              "their CPU seconds compare under the same load; `CPU s per tau_int` is the CPU "
              "time of a trajectory of all the screen's chains times the tau_int that "
              "`<dQ_Z^2>` predicts for a diffusing charge (docs/physics.md section 10): the "
              "CPU seconds until every chain holds a new independent charge. Lower is "
              "better.")
    return [title, "", legend, "", *_table(columns, cells)]


def training_hours(rows: list[dict], min_beta: float) -> tuple[float, list[str]]:
    """Training hours of the ledger's runs whose recipe trains toward beta >= min_beta: each
    run counted once, at its newest row (the most steps), in CPU seconds where recorded."""
    newest: dict[str, dict] = {}
    for r in rows:
        recipe = r.get("recipe")
        if recipe is None or not r.get("training_steps") or (
                recipe["annealing"]["beta_final"] < min_beta):
            continue      # HMC, committed models without a training record, runs aimed lower
        if r["training_steps"] >= newest.get(r["run"], {}).get("training_steps", 0):
            newest[r["run"]] = r
    seconds = sum(r.get("train_cpu_seconds") or r.get("train_seconds") or 0.0
                  for r in newest.values())
    return seconds / 3600, sorted(newest)


def profile_section(data) -> list[str]:
    title = "## Training recipe profile (seconds per training step)"
    if not data:
        return _not_measured(title, "python -m benchmarks.train_profile")
    columns = ["variant", "lattice", "chains", "N_LF", "units", "ms/step", "cost vs config",
               "hours for the config's steps"]
    rows = [[r["variant"], r["lattice"], r["chains"], r["n_leapfrog"], r["units"],
             f"{1000 * r['seconds_per_step']:.0f}", f"{r['cost_vs_config']:.2f}x",
             f"{r['training_hours']:.2f}"] for r in data["rows"]]
    return [title, "", f"Variants of `{data['config']}`, each measured in the same run:", "",
            *_table(columns, rows), *_command(data["machine"])]


def scaling_section(data) -> list[str]:
    title = "## Horovod weak scaling on this machine"
    if not data:
        return _not_measured(title, "python -m benchmarks.horovod_scaling")
    return [title, "",
        f"- 1 rank x 2 threads: {data['steps_per_s_1rank_2threads']:.2f} training steps/s",
        f"- 2 ranks x 1 thread: {data['steps_per_s_2ranks_1thread']:.2f} steps/s "
        f"(weak-scaling efficiency {data['weak_scaling_efficiency']:.2f}, chains/s ratio "
        f"{data['chains_per_s_ratio_2ranks_vs_1rank']:.2f})",
        f"- allreduce payload {data['allreduce_bytes_per_step'] / 1024:.1f} KiB per step; ring "
        f"allreduce at 512 ranks ~{data['estimate_512_ranks_allreduce_us']:.1f} us per step",
        ""] + _command(data)


INTRO = ("# Results", "", "Generated by `python -m benchmarks.report` from the JSON files "
         "in `benchmarks/results/`; every ratio compares measurements taken in the same "
         "run on the same machine. Reference values: docs/physics.md section 7 (16x16; "
         "the reference's trained runs in N_LF * tau_int, not its plotted tau_int).", "",
         "How to read them: `N_LF * tau_int(Q_Z)` counts force evaluations per independent "
         "value of the topological charge (a leapfrog layer is one, a 2MN step two), the "
         "paper's cost measure extended to the minimum-norm integrator of lattice codes; it "
         "ignores that an L2HMC layer also evaluates networks. Rows marked `2mn` in the HMC "
         "column are measured against the strongest HMC (`benchmarks.hmc_tuning`); the "
         "leapfrog rows stay for comparison with the paper. `gain per second` includes the "
         "networks' cost: it is "
         "the tau_int gain divided by the cost of one trajectory in HMC trajectories, "
         "timed interleaved with HMC on the same chains (`python -m benchmarks.cost`, so "
         "that load from other jobs hits both), or, for rows it has not timed, the ratio "
         "of the two chains' (tau_int x seconds per trajectory), measured back to back. "
         "tau_int comes from the Gamma-method with chains as replicas; each sampler "
         "ran until its error was below 20% and its chains at least 30 tau_int long, or "
         "up to the cap given in the command (the `trajectories` column).", "")


def exactness_section(rows: list[dict]) -> list[str]:
    """Every sampler behind the rows, re-measured against exact with the larger error."""
    title = "## Every sampler against the exact torus, with the larger error (issue 28)"
    if not rows:
        return _not_measured(title, "python -m benchmarks.exactness")
    cells = [[r["sampler"], f"{r['beta']:g}", f"{r['chains']} x {r['steps']}",
              f"{r['accept']:.2f}",
              _fmt(r["plaq_mean"], r["plaq_err"], ".5f"), f"{r['plaq_exact']:.5f}",
              f"{r['plaq_err_gamma']:.5f} / {r['plaq_err_replica']:.5f}",
              f"{r['plaq_sigma']:+.2f}", _fmt(r["q2_mean"], r["q2_err"], ".3f"),
              f"{r['q2_exact']:.3f}", f"{r['q2_err_gamma']:.3f} / {r['q2_err_replica']:.3f}",
              f"{r['q2_sigma']:+.2f}"] for r in rows]
    sigmas = [abs(r[f"{key}_sigma"]) for r in rows for key in ("plaq", "q2")]
    inside = sum(s < 3 for s in sigmas)
    lead = (f"{inside} of {len(sigmas)} checks within 3 sigma, the largest "
            f"{max(sigmas):.2f} sigma (expected beyond 3 by chance: {0.0027 * len(sigmas):.2f}"
            "). Each sampler ran from an equilibrium start (independent, stationary chains), "
            "so the replica error holds whatever tau_int is; errors are Gamma-method / "
            "replica, and sigma uses the larger. The samplers at one beta share a seed, "
            "hence their drawn charges, so their deviations are not independent. Command: "
            f"`{rows[0]['command']}`.")
    columns = ["sampler", "beta", "chains x trajectories", "accept", "plaquette", "exact",
               "error G / R", "sigma", "<Q_Z^2>", "exact", "error G / R", "sigma"]
    return [title, "", lead, "", *_table(columns, cells)]


def _loop_extent(name: str) -> tuple[int, int]:
    """(R, T) of a measurement named W<R>x<T> or creutz<R>x<T>."""
    return tuple(map(int, re.search(r"(\d+)x(\d+)$", name).groups()))


def wilson_section(data: dict | None) -> list[str]:
    """W(R, T) and Creutz ratios of a saved ensemble (bin/measure.py) against exact."""
    title = "## Wilson loops of the best beta-7 model against exact (issue 29)"
    if not data:
        return _not_measured(title, "bash benchmarks/results/wilson_b7.sh")
    loops = {name: r for name, r in data["observables"].items()
             if name.startswith(("W", "creutz")) and r["exact"] is not None}
    cells = [[name, _fmt(r["mean"], r["error"], ".5f"), f"{r['exact']:.5f}",
              f"{r['sigma']:+.2f}", f"{r['tau_int_trajectories']:.1f}"]
             for name, r in loops.items() if max(_loop_extent(name)) <= 4]
    sigmas = [abs(r["sigma"]) for r in loops.values()]
    samplers = ", ".join(Path(s).name for s in data.get("samplers", ["?"]))
    lead = (f"Sampled by {samplers}: {data['chains']} chains, "
            f"{data['slices']} configurations each saved every {data['save_every']} "
            f"trajectories from trajectory {data['first_trajectory']}, beta "
            f"{data['beta']:g} on {data['lattice'][0]}x{data['lattice'][1]} "
            "(`bash benchmarks/results/wilson_b7.sh`). Errors are the larger of the "
            "Gamma-method and replica errors; tau_int in trajectories. Creutz ratios are "
            "shown where their four loops are more than two errors above zero; the exact "
            "string tension is -ln(I_1/I_0). The table shows R, T <= 4; of all "
            f"{len(loops)} measured, {sum(s < 2 for s in sigmas)} are within 2 sigma and "
            f"{sum(s < 3 for s in sigmas)} within 3 (largest {max(sigmas):.2f}); the file "
            "holds every one.")
    return [title, "", lead, "",
            *_table(["observable", "measured", "exact", "sigma", "tau_int"], cells)]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--throughput", default=RESULTS / "throughput.json")
    p.add_argument("--tau-int", default=RESULTS / "tau_int.json")
    p.add_argument("--volume", nargs="*", default=sorted(RESULTS.glob("volume*.json")),
                   help="volume-transfer JSON files (default: benchmarks/results/volume*.json)")
    p.add_argument("--scaling", default=RESULTS / "scaling.json")
    p.add_argument("--train-profile", default=RESULTS / "train_profile.json")
    p.add_argument("--ablation", nargs="*", default=sorted(RESULTS.glob("ablation*.json")),
                   help="ablation JSON files (default: benchmarks/results/ablation*.json), "
                        "their rows shown in one table")
    p.add_argument("--cost", default=RESULTS / "cost.json",
                   help="trajectory costs timed interleaved with HMC (benchmarks.cost)")
    p.add_argument("--network-cost", default=RESULTS / "network_cost.json")
    p.add_argument("--campaign", default=RESULTS / "campaign.json")
    p.add_argument("--exactness", default=RESULTS / "exactness.json")
    p.add_argument("--wilson", default=RESULTS / "wilson_b7.json")
    p.add_argument("--notes", default=RESULTS / "notes.md",
                   help="hand-written notes on the measurements, placed after the targets")
    p.add_argument("--out", default="docs/results.md")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    lines = list(INTRO)
    throughput = _load(args.throughput)
    costs = (_load(args.cost) or {}).get("cost", {})
    tau_rows = with_interleaved_cost(_load(args.tau_int) or [], costs)
    volume = [data for data in map(_load, args.volume) if data]
    ablation_rows = with_interleaved_cost(
        [row for f in args.ablation if Path(f).is_file() for row in result_rows(f)], costs)
    lines += targets_section(throughput, tau_rows + ablation_rows, volume)
    notes = Path(args.notes)
    lines += [notes.read_text().strip(), ""] if notes.is_file() else []
    exactness = _load(args.exactness)
    lines += exactness_section(exactness["rows"] if exactness else [])
    lines += wilson_section(_load(args.wilson))
    campaign = _load(args.campaign)
    lines += campaign_section(campaign)
    for beta in (6.0, 7.0):
        lines += cost_screen_section(campaign, beta)
    lines += throughput_section(throughput)
    lines += network_cost_section(_load(args.network_cost))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines += tau_section(tau_rows, _load(Path(args.tau_int).with_suffix(".machine.json")),
                         out.parent, Path(args.tau_int).parent, ablation_rows)
    lines += ablation_section(ablation_rows)
    lines += profile_section(_load(args.train_profile))
    lines += volume_section(volume)
    lines += scaling_section(_load(args.scaling))
    out.write_text("\n".join(lines))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
