#!/usr/bin/env bash
# Issue 27, item 3, the response to the mixed-layout screens: the layers-3-4 layout moves
# the most charge per CPU second of the learned samplers, and its two network layers are
# almost all of its cost. Here the same layout without v-networks (network.v_network false:
# the momentum updates temper with two trained numbers), which halves the network calls,
# started from campaign/mix34-b6-16x16-long (training.init_partial keeps its trained
# x-networks and step sizes) and fine-tuned at beta 6 on 16x16. Runs beside campaign/mixed.sh
# on the other core (CORE=0), at low priority so that interactive work comes first:
#   CORE=0 nohup nice -n 19 bash campaign/mixed-lean.sh > logs/mixed-lean.log 2>&1 &
# Stopped at step 1,484 (SIGTERM, resumable): without its v-networks the layout's
# acceptance fell from 0.3 to 0.02-0.05 within 300 steps and had not recovered; screened at
# 14 CPU ms a trajectory (mix34's 20) but <dQ_Z^2> 0.0035, 19 CPU s per predicted tau_int.
source "$(dirname "$0")/lib.sh"

phase campaign/mix34lean-b6-16x16 --config configs/beta6.yaml --set training.lr=2e-4 \
  --set training.steps=20000 --set training.seed=7 --set "network.network_layers=[3,4]" \
  --set network.v_network=false --set training.init_from=campaign/mix34-b6-16x16-long \
  --set training.init_partial=true
