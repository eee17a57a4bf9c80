#!/usr/bin/env bash
# Issue 27, the next step of the response that paid at beta 6: 8 -> 16 layers around the same
# two network layers raised <dQ_Z^2> from 0.036 to 0.049 at once (0.0615 after training on,
# campaign/mix78-n16-b6-16x16-long) for 10.8 HMC trajectories a trajectory against 8.9, since
# a tempered leapfrog layer costs a fraction of a network layer. So 24 layers: the trained
# 16 in the middle (training.init_layer_offset 4), the networks in layers 11-12, the new end
# layers plain leapfrog that learn their step sizes. One core, low priority:
#   CORE=0 nohup nice -n 19 bash campaign/mixed-n24.sh > logs/mixed-n24.log 2>&1 &
source "$(dirname "$0")/lib.sh"

phase campaign/mix1112-n24-b6-16x16 --config configs/beta6.yaml --set dynamics.n_leapfrog=24 \
  --set "network.network_layers=[11,12]" --set training.init_from=campaign/mix78-n16-b6-16x16-long \
  --set training.init_partial=true --set training.init_layer_offset=4 --set training.lr=2e-4 \
  --set training.steps=12000 --set training.seed=16
# then at beta 7 (session 15): at beta 6 the 24 layers screened <dQ_Z^2> 0.121 against the
# 16 layers' 0.065, 2.6x the best HMC per CPU second predicted against 1.58x; at beta 7 the
# 16-layer run (campaign/mix78-n16-b7-16x16) measured 4.9x. Several sessions: stopped with
# SIGTERM at a checkpoint, resumed by running this script again:
#   CORE=1 nohup bash campaign/mixed-n24.sh > logs/mixed-n24.log 2>&1 &
phase campaign/mix1112-n24-b7-16x16 --config configs/beta7-lowlr.yaml --set training.chains=64 \
  --set dynamics.n_leapfrog=24 --set "network.network_layers=[11,12]" \
  --set training.init_from=campaign/mix78-n16-b7-16x16 --set training.init_partial=true \
  --set training.init_layer_offset=4 --set training.lr=2e-4 --set training.steps=12000 \
  --set training.seed=17
