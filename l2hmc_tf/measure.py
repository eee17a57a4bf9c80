"""Measurements on stored ensembles: the logic behind bin/measure.py.

An ensemble is one or more bin/infer.py outputs saved with --save-every (a file, a directory
of rank files, several runs at the same beta and lattice): their chains side by side. Every
observable (observables.py) is evaluated on every saved configuration, a block of slices at
a time, and analysed like the charge: the Gamma-method with the chains as replicas, the
replica error beside it, the larger quoted, the deviation from the exact finite-torus value
in units of it. Creutz ratios of the Wilson loops are derived quantities whose errors
pyerrors propagates (autocorr.estimate_function).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import autocorr, exact, observables
from .chainfile import CONFIGS, ChainFile
from .checks import parse_lattice

BLOCK = 64      # saved slices read at a time: memory is one block of every chain


@dataclass(frozen=True)
class Ensemble:
    files: tuple[Path, ...]
    beta: float
    lattice: tuple[int, int]
    save_every: int
    thermalization: int         # trajectories the inference run dropped; slices after it kept
    saved: int                  # slices per chain common to every file
    chains: int
    samplers: tuple[str, ...]   # "hmc", or the model directory each file was sampled with


def open_ensemble(sources) -> Ensemble:
    """The ensemble the paths name (files, or directories of inference*.h5), checked to hold
    saved configurations of one beta and lattice; ValueError naming the file otherwise."""
    files = []
    for source in map(Path, sources):
        found = sorted(source.glob("inference*.h5")) if source.is_dir() else [source]
        if not found or not all(f.is_file() for f in found):
            raise ValueError(f"{source}: no bin/infer.py output there (inference*.h5)")
        files += found
    attrs, saved, chains = [], [], 0
    for f in files:
        reader = ChainFile.open_read(f)
        try:
            if CONFIGS not in reader.h5 or reader.saved == 0:
                raise ValueError(f"{f} holds no saved configurations; run bin/infer.py with "
                                 "--save-every N")
            attrs.append(reader.attrs)
            saved.append(reader.saved)
            chains += int(reader.attrs["chains"])
        finally:
            reader.close()
    for key in ("beta", "lattice", "save_every"):
        values = {str(a[key]) for a in attrs}
        if len(values) > 1:
            raise ValueError(f"the ensemble mixes {key} {sorted(values)} across {len(files)} "
                             "files; measure each separately")
    samplers = tuple(sorted({str(a.get("model", a["sampler"])) for a in attrs}))
    return Ensemble(tuple(files), float(attrs[0]["beta"]), parse_lattice(attrs[0]["lattice"]),
                    int(attrs[0]["save_every"]), int(attrs[0].get("thermalization", 0)),
                    min(saved), chains, samplers)


def series(ensemble: Ensemble, chosen: list[observables.Observable],
           thermalization: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """{name: [slices, chains]} over the slices taken after `thermalization` trajectories,
    and those slices' trajectory numbers."""
    readers = [ChainFile.open_read(f) for f in ensemble.files]
    try:
        trajectory = readers[0].configs_trajectory()[:ensemble.saved]
        first = int(np.searchsorted(trajectory, thermalization, side="right"))
        if ensemble.saved - first < autocorr.MIN_STEPS:
            raise ValueError(f"only {ensemble.saved - first} saved slices after "
                             f"thermalization {thermalization}; save more often or run longer "
                             f"(at least {autocorr.MIN_STEPS})")
        parts: dict[str, list] = {o.name: [] for o in chosen}
        for start in range(first, ensemble.saved, BLOCK):
            stop = min(start + BLOCK, ensemble.saved)
            links = np.concatenate([r.configs(start, stop) for r in readers], axis=1)
            flat = links.reshape(-1, *links.shape[2:]).astype(np.float64)
            for o in chosen:
                parts[o.name].append(o.function(flat).reshape(links.shape[:2]))
    finally:
        for r in readers:
            r.close()
    return {name: np.concatenate(p) for name, p in parts.items()}, trajectory[first:]


def measured(estimate: autocorr.Estimate, exact_value: float | None, save_every: int) -> dict:
    """One observable's record in measurements.json."""
    error = estimate.reported_error
    sigma = ((estimate.mean - exact_value) / error
             if exact_value is not None and error > 0 else None)
    return {"mean": estimate.mean, "error": error, "error_gamma": estimate.error,
            "error_replica": estimate.replica_error, "tau_int_saved": estimate.tau_int,
            "tau_int_saved_error": estimate.tau_int_error,
            "tau_int_trajectories": estimate.tau_int * save_every,
            "exact": exact_value, "sigma": sigma}


def creutz_ratios(values: dict[str, np.ndarray], results: dict, lt: int, lx: int,
                  beta: float, save_every: int) -> dict:
    """chi(R, T) for every R <= T whose four Wilson loops were measured and are clearly
    positive (a log of noise around zero is no measurement)."""
    ratios = {}
    for r in range(1, observables.max_loop(lt, lx) + 1):
        for t in range(r, observables.max_loop(lt, lx) + 1):
            corners = [(r, t), (r - 1, t - 1), (r, t - 1), (r - 1, t)]
            names = [_wilson_name(a, b) for a, b in corners if a * b > 0]
            if not all(n in results and results[n]["mean"] > 2 * results[n]["error"]
                       for n in names):
                continue
            estimate = autocorr.estimate_function([values[n] for n in names],
                                                  _creutz_of(corners), f"creutz{r}x{t}")
            ratios[f"creutz{r}x{t}"] = measured(estimate, exact.creutz_ratio(lt, lx, beta, r, t),
                                                save_every)
    return ratios


def _wilson_name(a: int, b: int) -> str:
    return f"W{min(a, b)}x{max(a, b)}"


def _creutz_of(corners):
    """-ln(W1 W2 / (W3 W4)) of the measured loops in `corners` order; W(0, .) = 1."""
    present = [a * b > 0 for a, b in corners]

    def ratio(*loops):
        it = iter(loops)
        w = [next(it) if p else 1.0 for p in present]
        return -np.log(w[0] * w[1] / (w[2] * w[3]))
    return ratio


def measure(ensemble: Ensemble, names, thermalization: int | None = None) -> dict:
    """Every observable `names` asks for on the ensemble, with errors, tau_int and exact
    values; with Wilson loops, their Creutz ratios too."""
    lt, lx = ensemble.lattice
    chosen = observables.resolve(names, lt, lx)
    therm = ensemble.thermalization if thermalization is None else thermalization
    values, trajectory = series(ensemble, chosen, therm)
    results = {}
    for o in chosen:
        truth = o.exact(lt, lx, ensemble.beta) if o.exact else None
        results[o.name] = measured(autocorr.estimate(values[o.name], o.name), truth,
                                   ensemble.save_every)
    results.update(creutz_ratios(values, results, lt, lx, ensemble.beta, ensemble.save_every))
    return {"ensemble": [str(f) for f in ensemble.files], "samplers": list(ensemble.samplers),
            "beta": ensemble.beta,
            "lattice": list(ensemble.lattice), "chains": ensemble.chains,
            "save_every": ensemble.save_every, "thermalization": therm,
            "slices": len(trajectory), "first_trajectory": int(trajectory[0]),
            "observables": results}


def table(result: dict) -> str:
    """measurements.json as a table for the terminal."""
    lines = [f"beta {result['beta']:g} on {result['lattice'][0]}x{result['lattice'][1]}: "
             f"{result['chains']} chains x {result['slices']} saved configurations "
             f"(every {result['save_every']} trajectories, from trajectory "
             f"{result['first_trajectory']})",
             f"{'observable':<12} {'mean':>12} {'error':>10} {'tau_int':>9} {'exact':>12} "
             f"{'sigma':>7}"]
    for name, r in result["observables"].items():
        exact_text = f"{r['exact']:12.6g}" if r["exact"] is not None else f"{'-':>12}"
        sigma = f"{r['sigma']:7.2f}" if r["sigma"] is not None else f"{'-':>7}"
        lines.append(f"{name:<12} {r['mean']:12.6g} {r['error']:10.2g} "
                     f"{r['tau_int_trajectories']:9.1f} {exact_text} {sigma}")
    return "\n".join(lines)
