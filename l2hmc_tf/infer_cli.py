"""`bin/infer.py`: long inference chains with a trained model or HMC, to resumable HDF5.

    bin/infer.py --run RUN_DIR [--beta B] [--lattice 16x16] [--steps N] [--chains C]
    bin/infer.py --hmc --config FILE [--set k=v ...] [--beta B] [--lattice LxL] ...
New chains start in equilibrium (--start): a measurement at large beta is not its start.
Writes OUTDIR/inference.h5 (one file per rank under Horovod: inference.rank<r>.h5) and
OUTDIR/summary.json, refreshed after every chunk.
"""
from __future__ import annotations

import argparse
import logging
import math
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import tensorflow as tf

from . import __version__, atomic, autocorr, checkpoints, exact, lattice
from . import config as config_mod
from .checks import check_beta, check_positive_int, parse_lattice
from .chainfile import ChainFile
from .distributed import make_distribution
from .kernel import Sampler
from .model import hmc_from_config
from .driver import run_to_file, sample_chain
from .inference import summarize_files
from .starts import START_HMC_TRAJECTORIES, initial_chains
from .summary import ChainSummary, sampler_label

log = logging.getLogger("l2hmc_tf")


class UsageError(ValueError):
    """A bad command line, reported in one line before any work."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bin/infer.py", description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="run directory written by bin/train.py")
    src.add_argument("--hmc", action="store_true", help="plain HMC baseline (needs --config)")
    p.add_argument("--config", help="run config for --hmc (lattice, beta, N_LF, step size)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--beta", type=float, help="coupling (default: annealing.beta_final)")
    p.add_argument("--lattice", help="e.g. 16x16 (conv models and HMC; default: the config's)")
    p.add_argument("--steps", type=int, default=2000, help="trajectories per chain")
    p.add_argument("--chains", type=int, default=64, help="chains per rank")
    p.add_argument("--therm", type=int, default=None,
                   help="trajectories dropped before analysis (default: 10%% of --steps)")
    p.add_argument("--chunk", type=int, default=200, help="trajectories per committed chunk")
    p.add_argument("--seed", type=int, default=1, help="seed (rank r uses seed + r)")
    p.add_argument("--instanton", type=int, default=0, metavar="K",
                   help="after every trajectory, K Metropolis proposals x -> x +- A that move "
                        "Q_Z by one (exact; a move only 2D U(1) has; default 0)")
    p.add_argument("--target-accept", type=float, default=None,
                   help="HMC only: tune the step size to this acceptance before measuring")
    p.add_argument("--start", default="equilibrium", metavar="equilibrium|hot|OUTPUT",
                   help="how new chains begin: 'equilibrium' (default; 2D U(1): each chain's "
                        "Q_Z drawn from the exact P(Q), links Q_Z times the instanton field, "
                        f"then {START_HMC_TRAJECTORIES} HMC trajectories), 'hot' (uniform "
                        "links), or an earlier output (its directory or .h5 file) whose final "
                        "states the chains continue")
    p.add_argument("--save-every", type=int, default=None, metavar="N",
                   help="store the links of every chain after every N-th trajectory in the "
                        "HDF5 output (dataset configs), for bin/measure.py and your own "
                        "analysis; the storage needed is printed and checked before sampling")
    p.add_argument("--save-dtype", choices=SAVE_DTYPES, default=None,
                   help="precision of the saved links (default float32)")
    p.add_argument("--outdir", help="output directory (default: under the run or runs/)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted output")
    return p.parse_args(argv)


def _load_sampler(args):
    """(dynamics, config) for --run or --hmc; errors are UsageError."""
    if args.run:
        try:
            dyn, cfg = checkpoints.load_model(Path(args.run))
        except FileNotFoundError as err:
            raise UsageError(str(err)) from None
        return dyn, cfg
    if not args.config:
        raise UsageError("--hmc needs --config FILE (for lattice, beta, n_leapfrog, step size)")
    cfg = config_mod.load(args.config, args.overrides)
    return hmc_from_config(cfg), cfg


def prepare(args):
    """Validate everything and decide the output paths before any sampling."""
    for name in ("steps", "chains", "chunk"):
        try:
            check_positive_int(getattr(args, name), f"--{name}")
        except ValueError as err:
            raise UsageError(str(err)) from None
    try:
        check_positive_int(args.instanton, "--instanton", minimum=0)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.steps < autocorr.MIN_STEPS:
        raise UsageError(f"--steps must be at least {autocorr.MIN_STEPS}, the shortest chain "
                         f"whose tau_int can be estimated; got {args.steps}")
    if args.therm is not None and args.therm < 0:
        raise UsageError(f"--therm must be >= 0, got {args.therm}")
    if args.beta is not None:
        try:
            check_beta(args.beta, "--beta")
        except ValueError as err:
            raise UsageError(str(err)) from None
    if args.save_every is not None:
        try:
            check_positive_int(args.save_every, "--save-every")
        except ValueError as err:
            raise UsageError(f"{err} (leave --save-every out to save no configurations)") from None
    elif args.save_dtype is not None:
        raise UsageError("--save-dtype needs --save-every N (which configurations to save)")
    if args.target_accept is not None and (args.run or not 0 < args.target_accept < 1):
        raise UsageError("--target-accept must be in (0, 1) and is for --hmc only")
    dyn, cfg = _load_sampler(args)
    beta = args.beta if args.beta is not None else cfg.annealing.beta_final
    shape = parse_lattice(args.lattice) if args.lattice else tuple(cfg.lattice.size)
    dyn.check_lattice(shape)
    sampler_name = "l2hmc" if dyn.has_networks else "hmc"
    default = (Path(args.run) / f"inference-b{beta:g}-{shape[0]}x{shape[1]}" if args.run
               else Path("runs") / f"hmc-b{beta:g}-{shape[0]}x{shape[1]}")
    outdir = Path(args.outdir) if args.outdir else default
    return dyn, cfg, beta, shape, sampler_name, outdir


# attributes that outputs written before they existed lack, with the value they had then
OPTIONAL_ATTRS = {"instanton_moves": 0, "instanton_layer": 0, "integrator": "leapfrog",
                  "save_every": 0, "save_dtype": "none", "weights_sha256": None}
SAVE_DTYPES = ("float32", "float64")


def _check_output(path: Path, resume: bool, expected: dict) -> None:
    if path.exists() and not resume:
        raise UsageError(f"{path} exists; add --resume to continue it or choose another "
                         "--outdir (nothing was overwritten)")
    if resume and not path.exists():
        raise UsageError(f"--resume: {path} does not exist; start without --resume")
    if resume:
        f = ChainFile.open_read(path)
        attrs = f.attrs
        f.close()
        for key, value in expected.items():
            was = attrs.get(key, OPTIONAL_ATTRS.get(key))
            if was is not None and str(was) != str(value):
                raise UsageError(f"--resume: {path} has {key}={attrs.get(key)}, this run asks "
                                 f"for {value}; use the original settings")


def tune_step_size(dyn, shape, beta: float, target: float, seed: int, rounds: int = 8) -> float:
    """Adjust the HMC step size (multiplicatively, on short runs) towards `target` acceptance."""
    x = lattice.random_start(32, *shape, dtype=dyn.compute_dtype, seed=seed)
    for _ in range(rounds):
        x, hist = sample_chain(Sampler(dyn, seed=seed), x, beta, 20)
        acc = float(np.mean(hist.accept_prob[5:]))
        for layer in dyn.leapfrog_layers:
            for w in (layer.log_eps_x, layer.log_eps_v):
                w.assign(w + 1.5 * (acc - target))
    return float(dyn.leapfrog_layers[0].eps_x)


def rank_file(outdir: Path, rank: int, size: int) -> Path:
    """inference.h5 for a single process, inference.rank<r>.h5 for each rank under Horovod."""
    return outdir / ("inference.h5" if size == 1 else f"inference.rank{rank}.h5")


START_KINDS = ("equilibrium", "hot")


def continued_states(start: str, chains: int, shape, rank: int, size: int) -> np.ndarray:
    """The final links of the earlier output that --start names (a directory: this rank's
    file in it), checked to hold `chains` chains of `shape`."""
    source = Path(start)
    if source.is_dir():
        source = rank_file(source, rank, size)
    if not source.is_file():
        raise UsageError(f"--start {start}: {source} does not exist; give 'equilibrium', 'hot' "
                         "or an earlier bin/infer.py output (its directory or .h5 file)")
    try:
        reader = ChainFile.open_read(source)
    except (OSError, KeyError) as err:
        raise UsageError(f"--start {start}: {source} is not a bin/infer.py output "
                         f"({err})") from None
    try:
        x, _ = reader.state()
    finally:
        reader.close()
    if x.shape != (chains, *shape, 2):
        raise UsageError(f"--start {start}: {source} ends with {x.shape[0]} chains on "
                         f"{x.shape[1]}x{x.shape[2]}, this run asks for {chains} on "
                         f"{shape[0]}x{shape[1]}; use the same --chains and --lattice")
    return x


def _prepare_output(args, dist):
    """Everything checked and the output directory made; raises before any sampling."""
    dyn, cfg, beta, shape, sampler_name, outdir = prepare(args)
    path = rank_file(outdir, dist.rank, dist.size)
    attrs = {"beta": beta, "lattice": f"{shape[0]}x{shape[1]}", "sampler": sampler_name,
             "n_leapfrog": dyn.n_leapfrog, "seed": args.seed + dist.rank,
             "chains": args.chains, "instanton_moves": args.instanton,
             "instanton_layer": int(dyn.instanton), "integrator": dyn.integrator,
             "save_every": args.save_every or 0,
             "save_dtype": (args.save_dtype or SAVE_DTYPES[0]) if args.save_every else "none"}
    if args.run:
        attrs.update(model=str(Path(args.run).resolve()),
                     weights_sha256=checkpoints.weights_digest(Path(args.run)))
    _check_output(path, args.resume, attrs)
    storage = plan_storage(args, shape, outdir, path, dist.size)
    continued = None
    if not args.resume and args.start not in START_KINDS:
        continued = continued_states(args.start, args.chains, shape, dist.rank, dist.size)
    outdir.mkdir(parents=True, exist_ok=True)     # ranks race here; each checked its file
    return dyn, beta, shape, outdir, path, attrs, continued, storage


def plan_storage(args, shape, outdir: Path, path: Path, ranks: int) -> str | None:
    """What --save-every will store, in one line; a UsageError, before any work, when the
    output's filesystem has less free space than all ranks' configurations need."""
    if not args.save_every:
        return None
    per_config = shape[0] * shape[1] * 2 * np.dtype(args.save_dtype or SAVE_DTYPES[0]).itemsize
    done = 0
    if args.resume:
        reader = ChainFile.open_read(path)
        done = reader.saved
        reader.close()
    slices = args.steps // args.save_every - done
    needed = slices * args.chains * per_config * ranks
    existing = next(p for p in [outdir, *outdir.absolute().parents] if p.exists())
    free = shutil.disk_usage(existing).free
    if needed > free:
        raise UsageError(f"--save-every {args.save_every}: the configurations need "
                         f"{_size(needed)} but {existing} has {_size(free)} free; save less "
                         "often, fewer --chains or --steps, or choose another --outdir")
    return (f"saving {slices} configurations per chain x {args.chains} chains x {ranks} "
            f"rank(s) at {_size(per_config)} each: {_size(needed)}")


def _size(n_bytes: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    power = 0
    while n_bytes >= 1024 and power < len(units) - 1:
        n_bytes, power = n_bytes / 1024, power + 1
    return f"{n_bytes:.1f} {units[power]}"


def initial_links(args, dyn, beta: float, shape, seed: int,
                  continued: np.ndarray | None) -> tf.Tensor:
    """The chains' first state as --start asks (continued: the states continued_states read)."""
    start = args.start if continued is None else tf.constant(continued, dyn.compute_dtype)
    return initial_chains(dyn, beta, args.chains, shape, seed, start)


def _therm(args) -> int:
    """Trajectories dropped before analysis: --therm, or a tenth of --steps."""
    return args.therm if args.therm is not None else args.steps // 10


def _sample(args, dist, dyn, beta, shape, outdir: Path, path: Path,
            attrs: dict, continued: np.ndarray | None) -> tuple[float, int]:
    """Create (or reopen) this rank's chain file and sample it to --steps; returns the wall
    seconds and the step the file held before."""
    therm = _therm(args)
    sampler = Sampler(dyn, seed=attrs["seed"], instanton_moves=args.instanton)
    if not args.resume:
        x0 = initial_links(args, dyn, beta, shape, attrs["seed"], continued)
        attrs.update(version=__version__, step_size=float(dyn.leapfrog_layers[0].eps_x),
                     thermalization=therm, start=args.start)
        ChainFile.create(path, attrs, x0.numpy(), sampler.rng_state(), args.chunk).close()
    truth = exact.torus_observables(*shape, beta)
    log.info("%s at beta %g on %dx%d: %d chains x %d trajectories -> %s (exact plaquette "
             "%.6f, <Q^2> %.5f)", sampler_label(attrs["sampler"], dyn.instanton, args.instanton),
             beta, *shape, args.chains, args.steps,
             path, truth["plaquette"], truth["q2"])
    chain_file = ChainFile.open(path)
    first_step = chain_file.steps

    def refresh(steps, seconds):
        log.info("committed %d/%d trajectories (%.1f traj/s)", steps, args.steps,
                 (steps - first_step) / max(seconds, 1e-9))
        if dist.size == 1 and steps > therm + 8:
            write_summary(outdir, [path], therm, seconds, steps - first_step)

    try:
        return run_to_file(sampler, chain_file, beta, args.steps, args.chunk, refresh), first_step
    finally:
        chain_file.close()


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        dist = make_distribution()
        dyn, beta, shape, outdir, path, attrs, continued, storage = _prepare_output(args, dist)
    except (UsageError, config_mod.ConfigError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO if dist.is_root else logging.WARNING,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S", force=True)
    if storage:
        log.info("%s", storage)
    if args.target_accept is not None:
        eps = tune_step_size(dyn, shape, beta, args.target_accept, args.seed)
        log.info("tuned HMC step size to %.4f for acceptance %.2f", eps, args.target_accept)
    try:
        _sample_and_report(args, dist, dyn, beta, shape, outdir, path, attrs, continued)
    except atomic.WriteError as err:
        print(f"error: {err}; the chains committed before it are intact: free space, then "
              "run the same command with --resume", file=sys.stderr)
        return atomic.WRITE_FAILED
    return 0


def _sample_and_report(args, dist, dyn, beta, shape, outdir: Path, path: Path, attrs: dict,
                       continued: np.ndarray | None) -> None:
    """Sample this rank's chains to --steps; rank 0 then writes summary.json and plots."""
    seconds, first_step = _sample(args, dist, dyn, beta, shape, outdir, path, attrs, continued)
    dist.barrier()          # every rank's file is complete before rank 0 reads them
    if dist.is_root:
        therm = _therm(args)
        files = [rank_file(outdir, r, dist.size) for r in range(dist.size)]
        summary = write_summary(outdir, files, therm, seconds, args.steps - first_step)
        write_plots(outdir, files, dyn, shape, beta, attrs["seed"], therm)
        log.info("tau_int(Q_Z) = %.2f ± %.2f, N_LF*tau_int = %.1f, plaquette %.2f sigma and "
                 "<Q^2> %.2f sigma from exact (chains %.1f tau_int(Q_Z) long); wrote %s",
                 summary.stats.tau_int_charge_int, summary.stats.tau_int_charge_int_err,
                 summary.nlf_tau_int_charge_int, summary.stats.plaq_sigma,
                 summary.stats.q2_sigma, summary.stats.length_in_tau, outdir / "summary.json")
        if summary.stats.trust_warning():
            log.warning("%s", summary.stats.trust_warning())


def write_summary(outdir: Path, files, therm: int, seconds: float,
                  new_steps: int) -> ChainSummary:
    """summary.json: tau_int, means with errors beside the exact values, throughput."""
    summary = replace(summarize_files(files, therm), wall_seconds=seconds,
                      trajectories_per_second=new_steps / seconds if seconds > 0 else math.nan,
                      files=tuple(f.name for f in files))
    atomic.write_json(outdir / "summary.json", summary.to_dict())
    return summary


def write_plots(outdir: Path, files, dyn, shape, beta: float, seed: int, therm: int) -> list[Path]:
    """Charge history and autocorrelation of Q_Z; for L2HMC also the in-trajectory trace."""
    from . import plots

    reader = ChainFile.open_read(files[0])
    try:
        charge = reader.read("charge_int")
        kept = np.rint(charge[min(therm, len(charge) - 8):])
    finally:
        reader.close()
    made = [plots.charge_history(charge, outdir / "charge_history.png",
                                 title=f"beta {beta:g}, {shape[0]}x{shape[1]}")]
    if np.ptp(kept) > 0 and kept.shape[0] >= 8:
        made.append(plots.autocorrelation(kept, outdir / "autocorrelation.png"))
    if dyn.has_networks:
        x = lattice.random_start(16, *shape, dtype=dyn.compute_dtype, seed=seed)
        x, _ = sample_chain(Sampler(dyn, seed=seed), x, beta, 20)
        v = tf.random.stateless_normal(x.shape, [seed, 7], dtype=x.dtype)
        made.append(plots.trajectory_trace(dyn.trace(x, v, beta), outdir / "trace.png"))
    return made
