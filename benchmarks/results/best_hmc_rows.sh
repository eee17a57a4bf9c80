#!/usr/bin/env bash
# Issue 27: the committed gauge models at beta 5, 6 and 7 measured directly against the best
# HMC that benchmarks.hmc_tuning found per beta (--hmc-best; 2MN where it wins), then the
# interleaved cost of each row against that HMC. The leapfrog rows stay beside them
# (row names end in "vs hmc 2mn"). One core, one thread:
#   nohup bash benchmarks/results/best_hmc_rows.sh > logs/best_hmc_rows.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/../.."
export TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
py=(taskset -c "${CORE:-0}" "${PYTHON:-.venv/bin/python}")
common=(--lattice 16x16 --chains 64 --steps 1000 --rel-error 0.2 --hmc-therm 300 --hmc-best)
"${py[@]}" -m benchmarks.tau_int --betas 5 --run campaign/g2-b5-16x16 "${common[@]}" \
  --max-steps 8000 --hmc-max-steps 64000
"${py[@]}" -m benchmarks.tau_int --betas 6 --run campaign/g2-b6-16x16-lr2e-4 "${common[@]}" \
  --max-steps 8000 --hmc-max-steps 256000
"${py[@]}" -m benchmarks.tau_int --betas 7 --run campaign/g2-b7-16x16-lr3e-4 "${common[@]}" \
  --max-steps 16000 --hmc-max-steps 768000
"${py[@]}" -m benchmarks.cost --json benchmarks/results/tau_int.json --chains 64 --rows \
  "campaign/g2-b5-16x16 b5 16x16 moves 0 vs hmc 2mn" \
  "campaign/g2-b6-16x16-lr2e-4 b6 16x16 moves 0 vs hmc 2mn" \
  "campaign/g2-b7-16x16-lr3e-4 b7 16x16 moves 0 vs hmc 2mn"
