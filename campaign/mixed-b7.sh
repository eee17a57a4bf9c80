#!/usr/bin/env bash
# Issue 27, item 4, the response to the beta-6 screens: per CPU second the learned samplers
# are furthest behind the best HMC at beta 5 and closest at beta 7, where HMC all but stops
# moving the charge, and the layers-3-4 mixed layout is the cheapest learned trajectory that
# keeps the charge moving. So it goes where it pays: campaign/mix34-b6-16x16-long annealed
# 6 -> 7 on 16x16 (configs/beta7.yaml, the recipe of campaign/g2-b7-16x16, at 64 chains and
# the mixed runs' lr 2e-4). Runs beside campaign/mixed.sh on the other core, at low
# priority so that interactive work comes first:
#   CORE=0 nohup nice -n 19 bash campaign/mixed-b7.sh > logs/mixed-b7.log 2>&1 &
source "$(dirname "$0")/lib.sh"

phase campaign/mix34-b7-16x16 --config configs/beta7.yaml --set training.chains=64 \
  --set training.lr=2e-4 --set training.steps=16000 --set training.seed=8 \
  --set "network.network_layers=[3,4]" --set training.init_from=campaign/mix34-b6-16x16-long
# then on at beta 7 itself, as models/b7-gauge2 was (configs/beta7-lowlr.yaml: 12,000 steps,
# cosine decay), at the mixed runs' lr 2e-4: at the end of its annealing the layout read
# <dQ_Z^2> 0.0112 at beta 7, 9.0 CPU s per predicted tau_int against gauge-2's 5.9
phase campaign/mix34-b7-16x16-lowlr --config configs/beta7-lowlr.yaml \
  --set training.chains=64 --set training.lr=2e-4 --set training.seed=9 \
  --set "network.network_layers=[3,4]" --set training.init_from=campaign/mix34-b7-16x16
# and on at beta 7 at half that learning rate (session 14): the layout's beta-7 signal rose
# from 0.0112 at the end of the annealing to 0.0158 after this phase, where gauge-2 reads
# 0.055; it runs after campaign/mixed.sh on core 1:
#   CORE=1 nohup bash campaign/mixed-b7.sh > logs/mixed-b7.log 2>&1 &
phase campaign/mix34-b7-16x16-lowlr2 --config configs/beta7-lowlr.yaml \
  --set training.chains=64 --set training.lr=1e-4 --set training.steps=12000 \
  --set training.seed=13 --set "network.network_layers=[3,4]" \
  --set training.init_from=campaign/mix34-b7-16x16-lowlr
