#!/usr/bin/env bash
# Build Horovod 0.28.1 against the installed TensorFlow once, cache the wheel, install it.
# 0.28.1 predates TF 2.19: its optional XLA allreduce lowering (xla_mpi_ops.cc, off by default)
# no longer compiles, so that one source file is dropped from the build (shared/notes/stack.md).
# Gloo is always built; MPI too where mpicc exists. Usage: build_horovod.sh PYTHON
set -euo pipefail
py=${1:?usage: build_horovod.sh PYTHON}
version=0.28.1
if "$py" -c "import horovod.tensorflow" 2>/dev/null; then exit 0; fi
tf=$("$py" -c "import tensorflow as tf; print(tf.__version__)")
pyver=$("$py" -c "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')")
mpi=nompi; command -v mpicc >/dev/null && mpi=mpi
gpu=${HOROVOD_GPU_OPERATIONS:-cpu}      # NCCL: allreduce on GPUs (the Dockerfile sets it)
cache=${L2HMC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/l2hmc_tf}/horovod-$version-tf$tf-$pyver-$mpi-$gpu
if ! ls "$cache"/horovod-*.whl >/dev/null 2>&1; then
  echo "setup: building Horovod $version for TensorFlow $tf ($mpi; about 2-5 minutes, once)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "$py" -m pip install -q cmake 2>/dev/null || true
  "$py" -m pip download -q --no-deps --no-binary :all: "horovod==$version" -d "$work"
  tar -xzf "$work"/horovod-$version.tar.gz -C "$work"
  src="$work/horovod-$version"
  sed -i '/xla_mpi_ops.cc/d' "$src/horovod/tensorflow/CMakeLists.txt"
  export HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITHOUT_PYTORCH=1 HOROVOD_WITHOUT_MXNET=1
  export HOROVOD_WITH_GLOO=1 MAKEFLAGS=-j"$(nproc)"
  if [ $mpi = mpi ]; then export HOROVOD_WITH_MPI=1
  else export HOROVOD_WITHOUT_MPI=1 HOROVOD_CPU_OPERATIONS=gloo; fi
  "$py" -m pip wheel -q --no-deps --no-build-isolation "$src" -w "$work/wheel"
  mkdir -p "$cache"
  mv "$work"/wheel/horovod-*.whl "$cache"/
fi
"$py" -m pip install -q --no-deps "$cache"/horovod-*.whl
"$py" -m pip install -q cloudpickle psutil pyyaml packaging
