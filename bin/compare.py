#!/usr/bin/env python
"""Compare L2HMC and HMC inference summaries; see `bin/compare.py --help`."""
import sys

from l2hmc_tf.compare import main

if __name__ == "__main__":
    sys.exit(main())
