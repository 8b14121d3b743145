#!/usr/bin/env bash
# Bring up a real single-node SLURM cluster (Debian's slurm-wlm + munge) for the integration
# test: slurmctld and slurmd as background daemons, one fake GPU, no accounting database.
# Run as root. PIDs go to $STATE_DIR (default /tmp/hhnas-slurm); slurm_down.sh stops them.
# Pitfalls this avoids (../shared/reference/local-slurm/NOTES.md):
#  * a GPU in gres.conf without File= is dropped by slurmd and the node drains -> File=/dev/null;
#  * without DefMemPerCPU a job that asks no memory takes the whole node;
#  * without slurmdbd, sacct fails and the Snakemake plugin polls forever -> the test passes
#    --slurm-status-command squeue, which needs MinJobAge >= 3x the first-check delay.
set -euo pipefail
STATE_DIR=${STATE_DIR:-/tmp/hhnas-slurm}
T0=$(date +%s)
log() { echo "[slurm_up +$(( $(date +%s) - T0 ))s] $*"; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

[ "$(id -u)" = 0 ] || { echo "slurm_up.sh: must run as root (it installs packages and starts daemons)" >&2; exit 1; }
mkdir -p "$STATE_DIR"

missing=()
for p in munge slurmctld slurmd slurm-client; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >"$STATE_DIR/apt.log" 2>&1 || {
    apt-get update >>"$STATE_DIR/apt.log" 2>&1
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$STATE_DIR/apt.log" 2>&1; }
fi
log "slurm $(dpkg-query -W -f '${Version}' slurmctld)"

H=$(hostname -s)
getent hosts "$H" >/dev/null || echo "127.0.0.1 $H" >> /etc/hosts
NCPU=$(nproc)
REAL_MEM=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)

[ -s /etc/munge/munge.key ] || mungekey -c -k /etc/munge/munge.key 2>/dev/null || create-munge-key -f
chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
alive /run/munge/munged.pid || { log "starting munged"; runuser -u munge -- /usr/sbin/munged --force; }
for _ in $(seq 1 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
munge -n | unmunge >/dev/null

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/gres.conf <<GRES
AutoDetect=off
NodeName=$H Name=gpu Count=1 File=/dev/null
GRES
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=hhnas-test
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
DefMemPerCPU=1024
KillWait=5
Waittime=0
GresTypes=gpu
NodeName=$H CPUs=$NCPU RealMemory=$REAL_MEM Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF

alive /run/slurmctld.pid || { log "starting slurmctld"; slurmctld; }
for _ in $(seq 1 60); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.5; done
alive /run/slurmd.pid || { log "starting slurmd"; slurmd; }
for f in /run/munge/munged.pid /run/slurmctld.pid /run/slurmd.pid; do cp "$f" "$STATE_DIR/"; done

for _ in $(seq 1 240); do
  st=$(timeout 10 sinfo -h -n "$H" -o '%T' 2>/dev/null || true)
  case "$st" in
    idle*|mixed*|allocated*) log "node $H is $st ($NCPU CPUs, ${REAL_MEM} MB, 1 fake GPU)"; exit 0 ;;
    drain*|down*|inval*|fail*) scontrol update nodename="$H" state=resume 2>/dev/null || true ;;
  esac
  sleep 0.5
done
echo "slurm_up.sh: node $H never became idle (state '$st')" >&2
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2
exit 1
