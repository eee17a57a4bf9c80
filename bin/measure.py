#!/usr/bin/env python
"""Measure observables on saved configurations; see `bin/measure.py --help`."""
import sys

from l2hmc_tf.measure_cli import main

if __name__ == "__main__":
    sys.exit(main())
