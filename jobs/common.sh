# Shared by jobs/polaris.pbs and jobs/slurm.sbatch (sourced, not run).
# Builds the launch command for this allocation, resumes when the run directory already
# holds a checkpoint, and (RESUBMIT=1) queues a follow-up job that continues the run if this
# one hits its walltime. Inputs, all environment variables:
#   REPO            repository root (default: the folder above jobs/)
#   VENV            virtual environment made by scripts/setup.sh (default: $REPO/.venv)
#   CONFIG          run config;  RUN_DIR  run directory (fixed, so resubmissions find it)
#   NNODES, RANKS_PER_NODE, HOSTS (comma-separated host names)
#   LAUNCHER        mpiexec | srun | horovodrun   (horovodrun --gloo needs no MPI)
#   TRAIN_ARGS      extra arguments for bin/train.py (e.g. "--set training.steps=100")
#   JOB             train (default) | infer: bin/infer.py into RUN_DIR instead, resumed from
#                   its committed chunks; it is finished when RUN_DIR/summary.json counts
#                   STEPS trajectories per chain
#   STEPS, INFER_ARGS   for JOB=infer: trajectories per chain, and the sampler and its
#                   settings (e.g. "--run runs/beta7 --chains 64 --save-every 10")
#   RESUBMIT=1, SUBMIT (qsub | sbatch), MAX_RESUBMITS, RESUBMIT_COUNT
set -euo pipefail
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
VENV=${VENV:-$REPO/.venv}
PY="$VENV/bin/python"
JOB=${JOB:-train}
export JOB STEPS INFER_ARGS TRAIN_ARGS     # a follow-up job inherits them (-V, --export=ALL)
case "$JOB" in
  train) ;;
  infer) : "${STEPS:?JOB=infer needs STEPS (trajectories per chain)}"
         : "${INFER_ARGS:?JOB=infer needs INFER_ARGS (e.g. --run runs/beta7 --chains 64)}" ;;
  *) echo "jobs: JOB must be train or infer, got '$JOB'" >&2; exit 2 ;;
esac


run_finished() {
  [ -f "$RUN_DIR/summary.json" ] || return 1
  [ "$JOB" = train ] && return 0
  "$PY" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["steps"] < int(sys.argv[2]))' \
    "$RUN_DIR/summary.json" "$STEPS"
}

maybe_resubmit() {   # $1: this job's id, $2: dependency flag format for the scheduler
  [ "${RESUBMIT:-0}" = 1 ] || return 0
  local count=${RESUBMIT_COUNT:-0}
  if [ "$count" -ge "${MAX_RESUBMITS:-10}" ]; then
    echo "jobs: MAX_RESUBMITS=${MAX_RESUBMITS:-10} reached; not queueing a follow-up"; return 0
  fi
  echo "jobs: queueing follow-up $((count + 1)) after job $1"
  $SUBMIT_FOLLOWUP
}

launch() {   # launch COMMAND...: on every rank of this allocation
  echo "jobs: $NRANKS rank(s) on $NNODES node(s) with $LAUNCHER: $*"
  case "$LAUNCHER" in
    mpiexec)    mpiexec -n "$NRANKS" --ppn "$RANKS_PER_NODE" --depth "${DEPTH:-8}" \
                  --cpu-bind depth "$@" ;;
    srun)       srun --ntasks "$NRANKS" --ntasks-per-node "$RANKS_PER_NODE" "$@" ;;
    horovodrun) local hosts; hosts=$(echo "$HOSTS" | tr ',' '\n' | sed "s/\$/:$RANKS_PER_NODE/" | paste -sd,)
                "$VENV/bin/horovodrun" --gloo -np "$NRANKS" -H "$hosts" "$@" ;;
    *) echo "jobs: LAUNCHER must be mpiexec, srun or horovodrun, got '$LAUNCHER'" >&2; return 2 ;;
  esac
}

launch_training() {
  local resume=()
  if compgen -G "$RUN_DIR/checkpoints/ckpt-*" >/dev/null; then resume=(--resume); fi
  local train=("$PY" "$REPO/bin/train.py" --outdir "$RUN_DIR" "${resume[@]}")
  [ ${#resume[@]} -eq 0 ] && train+=(--config "$CONFIG")
  # shellcheck disable=SC2206
  train+=(${TRAIN_ARGS:-})
  launch "${train[@]}"
}

launch_inference() {
  local resume=()
  if compgen -G "$RUN_DIR/inference*.h5" >/dev/null; then resume=(--resume); fi
  # shellcheck disable=SC2206
  launch "$PY" "$REPO/bin/infer.py" --outdir "$RUN_DIR" --steps "$STEPS" "${resume[@]}" \
    ${INFER_ARGS}
}

launch_job() {   # this job's work, unless the run is already finished
  if run_finished; then echo "jobs: $RUN_DIR is finished (summary.json)"; return 0; fi
  if [ "$JOB" = train ]; then launch_training; else launch_inference; fi
}
