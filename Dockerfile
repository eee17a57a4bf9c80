# l2hmc_tf on GPUs: CUDA TensorFlow 2.21, Horovod (MPI + NCCL + Gloo) and the package.
# The install runs the same scripts/setup.sh as the README, so what CI tests is what ships.
#   docker build -t l2hmc_tf .
#   docker run --gpus all l2hmc_tf --config configs/beta4.yaml
#   docker run --gpus all --entrypoint horovodrun l2hmc_tf -np 4 python bin/train.py ...
FROM nvidia/cuda:12.8.1-cudnn-devel-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 TF_CPP_MIN_LOG_LEVEL=2
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3 python3-venv python3-dev g++ cmake make git \
        openmpi-bin libopenmpi-dev libnccl2 libnccl-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/l2hmc_tf
COPY . .
# gpu TensorFlow, and Horovod built with NCCL allreduce on GPUs plus MPI and Gloo.
ENV L2HMC_TF=gpu L2HMC_VENV=/opt/venv HOROVOD_GPU_OPERATIONS=NCCL
RUN bash scripts/setup.sh
ENV PATH=/opt/venv/bin:$PATH

ENTRYPOINT ["python", "bin/train.py"]
