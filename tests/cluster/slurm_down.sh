#!/usr/bin/env bash
# Stop the daemons slurm_up.sh started, by the PIDs it recorded (no pkill).
STATE_DIR=${STATE_DIR:-/tmp/hhnas-slurm}
for name in slurmd slurmctld munged; do
  f="$STATE_DIR/$name.pid"
  [ -s "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    echo "stopping $name (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$f"
done
exit 0
