"""Import TensorFlow without its native start-up chatter on stderr (for the command lines).

TF 2.21 prints absl INFO lines (oneDNN notice, CUDA stub probes) from C++ before
TF_CPP_MIN_LOG_LEVEL takes effect, burying one-line error messages. The bin/ scripts import
TensorFlow through this module with file descriptor 2 pointed at /dev/null for the duration
of the import and the first device query only. Set TF_CPP_MIN_LOG_LEVEL=0 to see them.
"""
import contextlib
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced():
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2") in ("0", "1"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Import TensorFlow (and probe devices) quietly; Python errors still surface."""
    with native_stderr_silenced():
        import tensorflow as tf
        tf.config.list_physical_devices()
    return tf
