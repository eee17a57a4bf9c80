#!/usr/bin/env python
"""The best committed network model beside HMC where HMC freezes; see `bin/showcase.py --help`."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from l2hmc_tf.quiet_import import import_tensorflow  # noqa: E402  (after the log level)

import_tensorflow()

from l2hmc_tf.showcase import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
