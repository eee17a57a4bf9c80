#!/usr/bin/env bash
# Issue 27, item 3: mixed gauge layouts, networks only in the middle layers of the trajectory
# (network.network_layers) and tempered leapfrog layers at its ends, started from
# models/b6-gauge2's weights (training.init_partial: the kept layers copied whole, the others
# their step sizes) and fine-tuned at beta 6 on 16x16 through a cosine decay at lr 2e-4.
# One core, one thread. Each phase resumes where a killed session left it and is skipped once
# finished, so running this again continues the campaign:
#   nohup bash campaign/mixed.sh > logs/mixed.log 2>&1 &
source "$(dirname "$0")/lib.sh"

finetune=(--config configs/beta6.yaml --set training.lr=2e-4 --set training.steps=4000
          --set training.seed=4 --set training.init_from=models/b6-gauge2
          --set training.init_partial=true)
phase campaign/mix2345-b6-16x16 "${finetune[@]}" --set "network.network_layers=[2,3,4,5]"
phase campaign/mix34-b6-16x16 "${finetune[@]}" --set "network.network_layers=[3,4]"
# the cheapest one again, from its own weights for 12,000 more steps (its signal was rising)
phase campaign/mix34-b6-16x16-long --config configs/beta6.yaml --set training.lr=2e-4 \
  --set training.steps=12000 --set training.seed=5 --set "network.network_layers=[3,4]" \
  --set training.init_from=campaign/mix34-b6-16x16
# and on, for 40,000 steps (several sessions: stopped with SIGTERM at a checkpoint, resumed
# by running this script again)
phase campaign/mix34-b6-16x16-long2 --config configs/beta6.yaml --set training.lr=2e-4 \
  --set training.steps=40000 --set training.seed=6 --set "network.network_layers=[3,4]" \
  --set training.init_from=campaign/mix34-b6-16x16-long
# and on again (stopped at step 10,814 by SIGTERM at the end of session 13; this resumes
# it): at step 56,000 on 16x16 it read <dQ_Z^2> 0.0355, 3.7 CPU s per predicted
# tau_int against the best HMC's 3.4 (0.93x), still rising with training (0.0140 at 4,000
# steps, 0.0226 at 16,000)
phase campaign/mix34-b6-16x16-long3 --config configs/beta6.yaml --set training.lr=2e-4 \
  --set training.steps=40000 --set training.seed=10 --set "network.network_layers=[3,4]" \
  --set training.init_from=campaign/mix34-b6-16x16-long2
