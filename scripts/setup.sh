#!/usr/bin/env bash
# Idempotent set-up: a virtual environment with the package, its dependencies, the test tools
# and Horovod (built once against the installed TensorFlow, then installed from a cached wheel).
# A second run only checks a stamp and returns in about a second.
#   L2HMC_VENV   where the environment lives            (default: .venv in the repository)
#   L2HMC_TF     cpu | gpu: which TensorFlow build        (default: gpu when nvidia-smi works)
#   L2HMC_CACHE  where the Horovod wheel is cached         (default: ~/.cache/l2hmc_tf)
#   PYTHON       interpreter that creates the environment  (default: python3)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${L2HMC_VENV:-$root/.venv}
flavour=${L2HMC_TF:-$( (command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1) && echo gpu || echo cpu)}
case "$flavour" in cpu|gpu) ;; *) echo "setup: L2HMC_TF must be cpu or gpu, got '$flavour'" >&2; exit 2;; esac

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating virtual environment $venv"
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"
stamp="$venv/.l2hmc_setup_stamp"
want="$flavour $(cat "$root/setup.cfg" "$root/scripts/setup.sh" "$root/scripts/build_horovod.sh" | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setup: installing l2hmc_tf[$flavour,test] into $venv"
"$py" -m pip install -q --upgrade pip
"$py" -m pip install -q -e "$root[$flavour,test]"
"$root/scripts/build_horovod.sh" "$py"
"$venv/bin/horovodrun" --check-build
echo "$want" > "$stamp"
echo "setup: done"
