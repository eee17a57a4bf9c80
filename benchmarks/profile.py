"""Where a trajectory (or training step) spends its time: TensorFlow's profiler, by op type.

    python -m benchmarks.profile [--set network.kind=gauge ...] [--lattice 16]
        [--chains 64] [--calls 10] [--training] [--top 20] [--json FILE]

Builds the model that the built-in base recipe (N_LF 8, step size 0.15) with the --set
overrides describes, warms its compiled transition (or training step) up, records `--calls`
of them with tf.profiler and reads the trace (the XSpace protobuf that TensorFlow ships), so
no TensorBoard plugin is needed. Prints milliseconds per call for each op type, how often
it ran per call, and one HMC trajectory at the same settings for scale.
docs/performance.md shows what it found.
"""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

from .common import best_rate, machine, write_json

from l2hmc_tf.quiet_import import import_tensorflow

tf = import_tensorflow()
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from l2hmc_tf import config, kernel, lattice, training  # noqa: E402
from l2hmc_tf.model import hmc  # noqa: E402

from .network_cost import BASE  # noqa: E402

# Trace events that wrap the whole call rather than one op.
WRAPPERS = ("EagerLocalExecute", "KernelAndDeviceFunc", "ExecutorState", "__inference", "Run",
            "Process")


def op_times(logdir: Path) -> collections.Counter:
    """Picoseconds per op type summed over a profiler trace (events named 'name:Type')."""
    totals = collections.Counter()
    for path in logdir.rglob("*.xplane.pb"):
        space = xplane_pb2.XSpace()
        space.ParseFromString(path.read_bytes())
        for plane in space.planes:
            for line in plane.lines:
                for event in line.events:
                    name = plane.event_metadata[event.metadata_id].name
                    if ":" not in name or name.startswith(WRAPPERS):
                        continue
                    op_type = name.rsplit(":", 1)[1]
                    if op_type and not op_type.startswith(WRAPPERS):
                        totals[op_type] += event.duration_ps
                        totals["#" + op_type] += 1
    return totals


def profile(call, calls: int) -> tuple[float, collections.Counter]:
    """(wall seconds per call, op totals) of `calls` calls after a warm-up."""
    call()
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        tic = time.perf_counter()
        for _ in range(calls):
            call()
        wall = (time.perf_counter() - tic) / calls
        tf.profiler.experimental.stop()
        return wall, op_times(Path(logdir))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY=VALUE", help="config override (repeatable)")
    p.add_argument("--lattice", type=int, default=16)
    p.add_argument("--chains", type=int, default=64)
    p.add_argument("--calls", type=int, default=10)
    p.add_argument("--training", action="store_true", help="profile a training step")
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    cfg = config.load(None, BASE + args.overrides + [
        f"lattice.size=[{args.lattice},{args.lattice}]", f"training.chains={args.chains}"])
    trainer = training.Trainer(cfg)
    x = lattice.random_start(args.chains, args.lattice, args.lattice, seed=3)
    beta = tf.constant(4.0)
    if args.training:
        def call():
            trainer.train_step(4.0)
    else:
        def call():
            trainer.sampler.one_step(x, beta)[0].numpy()
    hmc_sampler = kernel.Sampler(hmc(tuple(cfg.lattice.size), 8, 0.15), seed=2)
    hmc_seconds = 1.0 / best_rate(lambda: hmc_sampler.one_step(x, beta)[0].numpy(), args.calls)
    wall, totals = profile(call, args.calls)
    ops = {k: v for k, v in totals.items() if not k.startswith("#")}
    busy = sum(ops.values()) / 1e9 / args.calls
    what = "training step" if args.training else "trajectory"
    print(f"{what}: {1e3 * wall:.1f} ms wall = {wall / hmc_seconds:.1f} HMC trajectories "
          f"({1e3 * hmc_seconds:.2f} ms); ops {busy:.1f} ms per call")
    rows = []
    for op_type, ps in collections.Counter(ops).most_common(args.top):
        ms = ps / 1e9 / args.calls
        rows.append({"op": op_type, "ms": ms, "count": totals["#" + op_type] // args.calls})
        print(f"  {op_type:28s} {ms:7.2f} ms  {100 * ms / busy:5.1f}%  x{rows[-1]['count']}")
    if args.json:
        write_json(Path(args.json), {"machine": machine(), "overrides": args.overrides,
                                     "what": what, "wall_ms": 1e3 * wall,
                                     "hmc_ms": 1e3 * hmc_seconds, "ops_ms": busy,
                                     "by_op": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
