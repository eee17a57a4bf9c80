#!/usr/bin/env bash
# Issue 27, the response to the direct beta-6 measurement of the mixed layout
# (campaign/mix34-b6-16x16-long2: 0.74x the best HMC per CPU second at 10 HMC trajectories a
# trajectory; gauge-2 0.77x at 27): its trace moves the charge only in the heated middle, and
# a tempered leapfrog layer costs about one force evaluation against ~12 ms for a network
# layer. So the same two network layers sit in the middle of 16 layers instead of 8
# (training.init_layer_offset 4: layers 4-11 start as the trained layers 0-7, the new end
# layers as plain leapfrog), for more heating at ~10% more cost. One core, low priority:
#   CORE=0 nohup nice -n 19 bash campaign/mixed-longtraj.sh > logs/mixed-longtraj.log 2>&1 &
source "$(dirname "$0")/lib.sh"

phase campaign/mix78-n16-b6-16x16 --config configs/beta6.yaml --set dynamics.n_leapfrog=16 \
  --set "network.network_layers=[7,8]" --set training.init_from=campaign/mix34-b6-16x16-long2 \
  --set training.init_partial=true --set training.init_layer_offset=4 --set training.lr=2e-4 \
  --set training.steps=12000 --set training.seed=12
# then on (session 14): at 12,000 steps it screened <dQ_Z^2> 0.049 +- 0.002 against the
# 8-layer layout's 0.036, 2.62 CPU s per predicted tau_int against the best HMC's 2.94
# (1.12x), and its training signal was still rising. Several sessions: stopped with SIGTERM
# at a checkpoint, resumed by running this script again
phase campaign/mix78-n16-b6-16x16-long --config configs/beta6.yaml --set dynamics.n_leapfrog=16 \
  --set "network.network_layers=[7,8]" --set training.init_from=campaign/mix78-n16-b6-16x16 \
  --set training.lr=2e-4 --set training.steps=30000 --set training.seed=14
