#!/usr/bin/env bash
# Issue 27, the 16-layer mixed trajectory (campaign/mixed-longtraj.sh) taken to beta 7 (beta 5
# went straight to 24 layers: campaign/mixed-n24-b5.sh; the file keeps its name, which the
# committed notes and rows cite).
# At beta 6 it was the change that paid (1.28x the best HMC per CPU second, the 8-layer
# layout 0.83x); at beta 7 the 8-layer layout has saturated at <dQ_Z^2> 0.0158
# (campaign/mix34-b7-16x16-lowlr; its lr-1e-4 phase lowlr2 read 0.0146), 3.0x predicted.
# So the same offset of 4: the trained 8 layers in the middle of 16, the networks in
# layers 7-8, the new end layers plain leapfrog that learn their step sizes. One core:
#   CORE=1 nohup bash campaign/mixed-longtraj-b57.sh > logs/mixed-longtraj-b57.log 2>&1 &
source "$(dirname "$0")/lib.sh"

phase campaign/mix78-n16-b7-16x16 --config configs/beta7-lowlr.yaml --set training.chains=64 \
  --set dynamics.n_leapfrog=16 --set "network.network_layers=[7,8]" \
  --set training.init_from=campaign/mix34-b7-16x16-lowlr --set training.init_partial=true \
  --set training.init_layer_offset=4 --set training.lr=2e-4 --set training.steps=12000 \
  --set training.seed=15
