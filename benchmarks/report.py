"""Write docs/results.md from the benchmarks' JSON outputs (missing ones are marked so).

    python -m benchmarks.report [--throughput F] [--tau-int F] [--volume F] [--scaling F]
        [--train-profile F] [--out docs/results.md]

Also draws N_LF * tau_int against beta with the reference paper's values (docs/tau_int.png),
embeds the in-trajectory traces tau_int.py saved, and checks each target of issue 7.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from l2hmc_tf import plots
from l2hmc_tf.summary import SAMPLERS

RESULTS = Path("benchmarks/results")
# docs/physics.md section 7: the reference code's N_LF * tau_int(Q_Z) on 16x16.
PAPER = {4.0: (1070, 34), 5.0: (7400, 62), 6.0: (46000, 65), 7.0: (135000, 99)}


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
            "tensors (`Dynamics._leapfrog`). HMC XLA is timed once: on CPU, XLA's sin is ~4x "
            "slower than TensorFlow's kernel and its fusions recompute the force across "
            "leapfrog steps; on GPUs it is worth measuring again.")
    return [title, "", *_table(columns, rows), note, "", *_command(data["machine"]),
            f"Machine: `{json.dumps(hardware)}`", ""]


def tau_section(rows, meta, out_dir: Path, results_dir: Path) -> list[str]:
    title = "## tau_int(Q_Z): trained L2HMC against HMC"
    if not rows:
        return _not_measured(title, "python -m benchmarks.tau_int --betas 4 5")
    columns = ["beta", "lattice", "model", "N_LF", "tau HMC", "tau L2HMC", "N_LF*tau HMC",
               "N_LF*tau L2HMC", "paper HMC", "paper L2HMC", "gain per second", "accept L2HMC",
               "trajectories HMC / L2HMC", "train s"]
    cells = []
    for r in rows:
        paper = PAPER.get(float(r["beta"]), ("-", "-")) if r["lattice"] == "16x16" else ("-",) * 2
        cells.append([f"{r['beta']:g}", r["lattice"], _model(r), r["n_leapfrog"],
                      _fmt(r["tau_int_hmc"], r["tau_int_hmc_err"]),
                      _fmt(r["tau_int_l2hmc"], r["tau_int_l2hmc_err"]),
                      f"{r['nlf_tau_int_hmc']:.1f}", f"{r['nlf_tau_int_l2hmc']:.1f}", *paper,
                      f"{r['seconds_gain']:.2f}x", f"{r['accept_l2hmc']:.3f}",
                      f"{_steps(r, 'hmc')} / {_steps(r, 'l2hmc')}", f"{r['train_seconds']:.0f}"])
    commands = list(dict.fromkeys(r["command"] for r in rows if "command" in r))
    lines = (["Commands:", "", *(f"- `{c}`" for c in commands), ""] if commands
             else _command(meta))
    legend = ("`model` names the run measured; `(from X)` means its training started from "
              "X's weights (`training.init_from`), so its `train s` adds to X's. The figure "
              "and the targets use the best model at each beta.")
    return ([title, "", legend, "", *_table(columns, cells), *lines]
            + _figures(rows, out_dir, results_dir))


def _model(row) -> str:
    """The run that was measured, and the run its training started from (if any)."""
    def name(path):
        return "/".join(Path(path).parts[-2:])
    run = name(row.get("run", "-"))
    return f"{run} (from {name(row['init_from'])})" if row.get("init_from") else run


def _steps(row, name) -> str:
    """Trajectories used, marked when the chain cap stopped them short of the 20% target."""
    steps = row.get(f"steps_{name}", "-")
    return f"{steps} (cap)" if row.get(f"tau_int_precise_{name}") is False else f"{steps}"


def best_models(rows) -> dict:
    """The row with the lowest N_LF * tau_int(L2HMC) for each (beta, lattice)."""
    best = {}
    for r in rows or []:
        key = (float(r["beta"]), r["lattice"])
        if key not in best or r["nlf_tau_int_l2hmc"] < best[key]["nlf_tau_int_l2hmc"]:
            best[key] = r
    return best


def _figures(rows, out_dir: Path, results_dir: Path) -> list[str]:
    """N_LF * tau_int against beta for the best model at each beta (with the paper's
    values), and the saved traces."""
    ours = [plots.TauPoint(f"{name.upper()} {r['lattice']}", r["beta"],
                           r["n_leapfrog"] * r[f"tau_int_{name}"],
                           r["n_leapfrog"] * r[f"tau_int_{name}_err"])
            for r in best_models(rows).values() for name in SAMPLERS]
    lines = []
    if ours:
        reference = {f"paper {name} 16x16": {b: v[i] for b, v in PAPER.items()}
                     for i, name in enumerate(("HMC", "L2HMC"))}
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


def targets_section(throughput, tau_rows, volume) -> list[str]:
    """Every target of issue 7 against what the JSON files hold (tau_int: the best model
    measured at each beta)."""
    def row(rows, **match):
        return next((r for r in rows or [] if all(r.get(k) == v for k, v in match.items())), {})

    def best_tau(beta):
        return best_models(tau_rows).get((beta, "16x16"), {})

    big = row((throughput or {}).get("rows"), lattice="16x16", chains=1024)
    targets = [_target("HMC / numpy HMC, 16x16, 1024 chains (>= 2)",
                       big.get("speedup_vs_numpy"), 2),
               _target("HMC / TFP HMC, 16x16, 1024 chains (>= 1.5)",
                       big.get("speedup_vs_tfp"), 1.5),
               _target("training step FLOP/s / matmul (>= 0.3)",
                       big.get("train_step_fraction_of_matmul"), 0.3)]
    for beta, goal in ((4.0, 34), (5.0, 62), (6.0, 65)):
        targets.append(_target(f"N_LF tau_int L2HMC, beta {beta:g}, 16x16 (<= {goal})",
                               best_tau(beta).get("nlf_tau_int_l2hmc"), goal, at_most=True))
    targets.append(_target("tau_int per wall second, HMC / L2HMC, beta 4 (>= 10)",
                           best_tau(4.0).get("seconds_gain"), 10))
    transfers = [r for r in (volume or {}).get("rows", [])      # as trained, no fine-tuning
                 if r["trained_on"] != r["lattice"] and not r.get("finetune_steps")]
    for size in ("16x16", "32x32"):
        r = row(transfers, lattice=size)
        targets += [_target(f"volume transfer to {size}: acceptance (>= 0.6)",
                            r.get("accept_l2hmc"), 0.6),
                    _target(f"volume transfer to {size}: tau_int gain (>= 5)",
                            r.get("tau_int_gain"), 5)]
    return ["## Targets (issue 7)", "", *_table(["target", "measured", ""], targets)]


def volume_section(data) -> list[str]:
    title = "## Volume transfer (conv model trained small: as it is, and fine-tuned)"
    if not data:
        return _not_measured(title, "python -m benchmarks.volume_transfer --run RUN")
    columns = ["lattice", "trained on", "accept L2HMC", "accept HMC", "tau L2HMC", "tau HMC",
               "gain", "trajectories HMC / L2HMC", "fine-tune s"]
    rows = [[r["lattice"], r["trained_on"], f"{r['accept_l2hmc']:.3f}",
             f"{r['accept_hmc']:.3f}", _fmt(r["tau_int_l2hmc"], r["tau_int_l2hmc_err"]),
             _fmt(r["tau_int_hmc"], r["tau_int_hmc_err"]), f"{r['tau_int_gain']:.2f}x",
             f"{_steps(r, 'hmc')} / {_steps(r, 'l2hmc')}",
             _fmt(r.get("finetune_seconds"), spec=".0f")]
            for r in data["rows"]]
    note = ("Rows trained on one size and measured on another are the model unchanged (the "
            "targets use these); `+ N steps at LxL` rows started from the small model and "
            "trained N steps at that size and beta (`--finetune-steps`).")
    source = data.get("source")
    if source:
        note += (f" The small model is `{source['run']}`: {source['steps']} training steps, "
                 f"{_fmt(source['train_seconds'], spec='.0f')} s.")
    return [title, "", note, "", *_table(columns, rows), *_command(data["machine"])]


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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--throughput", default=RESULTS / "throughput.json")
    p.add_argument("--tau-int", default=RESULTS / "tau_int.json")
    p.add_argument("--volume", default=RESULTS / "volume.json")
    p.add_argument("--scaling", default=RESULTS / "scaling.json")
    p.add_argument("--train-profile", default=RESULTS / "train_profile.json")
    p.add_argument("--out", default="docs/results.md")
    args = p.parse_args(argv)
    lines = ["# Results", "", "Generated by `python -m benchmarks.report` from the JSON files "
             "in `benchmarks/results/`; every ratio compares measurements taken in the same "
             "run on the same machine. Paper values: docs/physics.md section 7 (16x16).", "",
             "How to read them: `N_LF * tau_int(Q_Z)` counts leapfrog layers per independent "
             "value of the topological charge, the paper's cost measure; it ignores that an "
             "L2HMC layer also evaluates networks. `gain per second` includes that cost: it is "
             "(tau_int x seconds per trajectory) of HMC over that of L2HMC, measured back to "
             "back. tau_int comes from the Gamma-method with chains as replicas; each sampler "
             "ran until its error was below 20% and its chains at least 30 tau_int long, or "
             "up to the cap given in the command (the `trajectories` column).", ""]
    throughput, tau_rows, volume = (_load(f) for f in (args.throughput, args.tau_int,
                                                        args.volume))
    lines += targets_section(throughput, tau_rows, volume)
    lines += throughput_section(throughput)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines += tau_section(tau_rows, _load(Path(args.tau_int).with_suffix(".machine.json")),
                         out.parent, Path(args.tau_int).parent)
    lines += profile_section(_load(args.train_profile))
    lines += volume_section(volume)
    lines += scaling_section(_load(args.scaling))
    out.write_text("\n".join(lines))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
