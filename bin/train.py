#!/usr/bin/env python
"""Train LeapfrogLayers; see `bin/train.py --help` and the README."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from l2hmc_tf.quiet_import import import_tensorflow  # noqa: E402  (after the log level)

import_tensorflow()

from l2hmc_tf.train_cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
