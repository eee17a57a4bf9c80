"""l2hmc_tf: exact, trainable generalised HMC (LeapfrogLayers) for 2D U(1) lattice gauge theory."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")   # keep TF's C++ start-up chatter out of logs

__version__ = "0.1.0"
