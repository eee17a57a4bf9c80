#!/usr/bin/env python
"""Compare L2HMC and HMC inference summaries; see `bin/compare.py --help`."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from l2hmc_tf.compare import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
