#!/usr/bin/env bash
# Issue 27 at beta 5, where no learned sampler here wins per CPU second yet (the 8-layer mixed
# layout 0.42x, gauge-2 0.32x): the 24-layer trajectory that measured 2.37x at beta 6
# (campaign/mix1112-n24-b6-16x16, models/b6-mixed-n24) fine-tuned at beta 5 as the 8-layer
# one was (configs/beta5.yaml, 8,000 steps at lr 2e-4). Several sessions: stopped with
# SIGTERM at a checkpoint, resumed by running this script again:
#   CORE=0 nohup bash campaign/mixed-n24-b5.sh > logs/mixed-n24-b5.log 2>&1 &
source "$(dirname "$0")/lib.sh"

phase campaign/mix1112-n24-b5-16x16 --config configs/beta5.yaml --set dynamics.n_leapfrog=24 \
  --set "network.network_layers=[11,12]" --set training.init_from=campaign/mix1112-n24-b6-16x16 \
  --set training.steps=8000 --set training.lr=2e-4 --set training.seed=18
