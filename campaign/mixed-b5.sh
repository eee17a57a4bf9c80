#!/usr/bin/env bash
# Issue 27, item 4, the response to the screens at beta 6 and 7: per CPU second the learned
# samplers are furthest behind the best HMC at beta 5 (models/b5-gauge2: 0.32x), and the
# layers-3-4 mixed layout costs a third of a gauge-2 trajectory. So it is fine-tuned at beta 5
# as models/b5-gauge2 was (configs/beta5.yaml: 16x16, HMC-thermalised chains, cosine decay),
# from campaign/mix34-b6-16x16-long2 (56,000 steps at beta 6) at the mixed runs' lr 2e-4.
# Runs beside campaign/mixed.sh on the other core, at low priority:
#   CORE=0 nohup nice -n 19 bash campaign/mixed-b5.sh > logs/mixed-b5.log 2>&1 &
source "$(dirname "$0")/lib.sh"

phase campaign/mix34-b5-16x16 --config configs/beta5.yaml --set training.steps=8000 \
  --set training.lr=2e-4 --set training.seed=11 --set "network.network_layers=[3,4]" \
  --set training.init_from=campaign/mix34-b6-16x16-long2
