#!/usr/bin/env bash
# Issue 29: W(R, T) and Creutz ratios of models/b7-gauge2 against the exact torus. Samples
# 64 chains x 2,000 trajectories from equilibrium starts, saving every 5th configuration
# (the ensemble, ~51 MiB, stays under OUT), then measures it. One core, one thread:
#   nohup bash benchmarks/results/wilson_b7.sh > logs/wilson_b7.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/../.."
export TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
py=(taskset -c "${CORE:-0}" "${PYTHON:-.venv/bin/python}")
out="${OUT:-runs/wilson-b7}"
"${py[@]}" bin/infer.py --run models/b7-gauge2 --steps 2000 --chains 64 --save-every 5 \
  --therm 200 --outdir "$out"
"${py[@]}" bin/measure.py "$out" --out benchmarks/results/wilson_b7.json
