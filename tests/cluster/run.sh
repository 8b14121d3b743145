#!/usr/bin/env bash
# The SLURM integration test end to end: bring up the local cluster, install the plugin extra,
# run tests/cluster/test_slurm.py against it, stop the daemons whatever happens.
# Usage (from the repository root, as root): bash tests/cluster/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.venv}
start=$(date +%s)
trap 'bash tests/cluster/slurm_down.sh' EXIT
bash tests/cluster/slurm_up.sh
"$VENV/bin/python" -m pip install -q -e ".[dev,slurm]" 2>&1 | grep -v "^WARNING: Location" || true
HHNAS_SLURM=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/cluster "$@"
echo "SLURM integration test: $(( $(date +%s) - start )) s"
