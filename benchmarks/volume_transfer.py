"""Volume transfer: a conv model trained on a small lattice samples larger ones unchanged.

    python benchmarks/volume_transfer.py --run RUN_DIR [--sizes 16 32] [--beta B]
        [--steps 1000] [--max-steps 8000] [--hmc-max-steps 64000] [--rel-error 0.2]
        [--chains 64]
        [--json benchmarks/results/volume.json]

For each size: acceptance and tau_int(Q_Z) of the trained model and of HMC (same N_LF and
step size), each sampled until its tau_int is known to --rel-error, and the gain
HMC / L2HMC, all measured in this run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, measure_pair, write_json  # noqa: E402

from l2hmc_tf.quiet_import import import_tensorflow  # noqa: E402

import_tensorflow()
from l2hmc_tf import checkpoints  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", required=True, help="run directory of a trained conv model")
    p.add_argument("--sizes", type=int, nargs="+", default=[16, 32])
    p.add_argument("--beta", type=float, default=None, help="default: the run's beta_final")
    p.add_argument("--steps", type=int, default=1000, help="first chain length")
    p.add_argument("--max-steps", type=int, default=8000, help="cap of the L2HMC chains")
    p.add_argument("--hmc-max-steps", type=int, default=64000, help="cap of the HMC chains")
    p.add_argument("--rel-error", type=float, default=0.2, help="target error of tau_int")
    p.add_argument("--chains", type=int, default=64)
    p.add_argument("--json", default="benchmarks/results/volume.json")
    args = p.parse_args(argv)
    model, cfg = checkpoints.load_model(Path(args.run))
    beta = args.beta or cfg.annealing.beta_final
    rows = []
    for L in [cfg.lattice.size[0], *args.sizes]:
        row = measure_pair(model, cfg.dynamics.step_size, beta, (L, L), args.chains, args.steps,
                           args.rel_error, args.max_steps, args.hmc_max_steps)
        row["trained_on"] = f"{cfg.lattice.size[0]}x{cfg.lattice.size[1]}"
        rows.append(row)
        print(f"{row['lattice']:>6} (trained on {row['trained_on']}): accept L2HMC "
              f"{row['accept_l2hmc']:.3f} HMC {row['accept_hmc']:.3f}; tau_int L2HMC "
              f"{row['tau_int_l2hmc']:.2f} ± {row['tau_int_l2hmc_err']:.2f}, HMC "
              f"{row['tau_int_hmc']:.2f} ± {row['tau_int_hmc_err']:.2f}; gain "
              f"{row['tau_int_gain']:.2f}x", flush=True)
    write_json(Path(args.json), {"machine": machine(), "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
