"""l2hmc_tf: exact, trainable generalised HMC (LeapfrogLayers) for 2D U(1) lattice gauge theory."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")   # keep TF's C++ start-up chatter out of logs

__version__ = "0.1.0"


def __getattr__(name: str):
    """`l2hmc_tf.load` (api.py) imports TensorFlow on first use only, so that
    `l2hmc_tf.exact` and `l2hmc_tf.observables` stay light."""
    if name == "load":
        from .api import load
        return load
    raise AttributeError(f"module 'l2hmc_tf' has no attribute {name!r}")
