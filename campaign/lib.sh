# Sourced by the campaign scripts: one core, one thread, and `phase`, which trains a run,
# resumes it where a killed session left it, or skips it once finished, so running a
# campaign script again continues it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
py=${PYTHON:-.venv/bin/python}

phase() {   # phase OUTDIR ARGS...: train, resume or skip (on core $CORE, default 1)
  local out=$1; shift
  if [ -f "$out/summary.json" ]; then echo "$out: finished"; return; fi
  local resume=(); [ -d "$out/checkpoints" ] && resume=(--resume)
  taskset -c "${CORE:-1}" "$py" bin/train.py "$@" --outdir "$out" "${resume[@]}"
}
