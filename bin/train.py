#!/usr/bin/env python
"""Train LeapfrogLayers; see `bin/train.py --help` and the README."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from l2hmc_tf.quiet_import import import_tensorflow  # noqa: E402

import_tensorflow()

from l2hmc_tf.training import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
