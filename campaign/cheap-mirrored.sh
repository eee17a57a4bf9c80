#!/usr/bin/env bash
# Issue 27, item 3: the recipe that made models/b6-gauge2 (8x8 annealed 3 -> 6, then 16x16 at
# beta 6 through a full cosine decay, then a low-lr phase), applied to the cheap mirrored
# layout: one rotating gauge sub-update per layer, no v-networks, layer N_LF-1-k reusing
# layer k's networks (~14 HMC trajectories per trajectory at 16x16 against gauge-2's ~45).
# One core, one thread. Each phase resumes where a killed session left it and is skipped
# once finished, so running this again continues the campaign:
#   nohup bash campaign/cheap-mirrored.sh > logs/cheap-mirrored.log 2>&1 &
source "$(dirname "$0")/lib.sh"
layout=(--set network.x_subupdates=1 --set network.rotate_subupdates=true
        --set network.v_network=false --set dynamics.mirror_networks=true)

phase campaign/m1rot-8x8-a36 --config configs/pretrain-8x8.yaml "${layout[@]}"
phase campaign/m1rot-b6-16x16 --config configs/beta6.yaml \
  --set training.init_from=campaign/m1rot-8x8-a36 "${layout[@]}"
phase campaign/m1rot-b6-16x16-lr2e-4 --config configs/beta6.yaml --set training.lr=2e-4 \
  --set training.seed=4 --set training.init_from=campaign/m1rot-b6-16x16 "${layout[@]}"
