#!/usr/bin/env bash
# A throw-away single-node SLURM cluster on loopback, every file of it under one directory BASE:
# a real slurmctld, slurmd and slurmdbd (with MariaDB for accounting, so that sacct works) and
# munge for authentication. It exists to test the Snakemake SLURM profile
# (workflow/profiles/slurm) against real sbatch submissions; it is not a production setup.
#
#   scripts/slurm_cluster.sh start BASE    install the Debian packages when missing (needs root),
#                                          start munged, mariadbd, slurmdbd, slurmctld, slurmd
#   scripts/slurm_cluster.sh status BASE   exit 0 when the node accepts jobs
#   scripts/slurm_cluster.sh env BASE      print the exports that point SLURM clients at it
#   scripts/slurm_cluster.sh stop BASE     cancel its jobs, stop its daemons by PID (logs stay)
#
# Use it as:  scripts/slurm_cluster.sh start /tmp/c && eval "$(scripts/slurm_cluster.sh env /tmp/c)"
# Ports: H2H_SLURM_PORT (default 6817) for slurmctld, +1 slurmd, +2 slurmdbd, +3 MariaDB.
set -Eeuo pipefail

PACKAGES=(slurm-wlm slurmctld slurmd slurm-client munge slurmdbd mariadb-server)
# In start order (each needs the ones before it).
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)

usage() {
  echo "usage: $0 start|stop|status|env BASE" >&2
  exit 2
}

[ $# -eq 2 ] || usage
ACTION=$1
BASE=$(realpath -m "$2")
PORT=${H2H_SLURM_PORT:-6817}
CTLD_PORT=$PORT SLURMD_PORT=$((PORT + 1)) DBD_PORT=$((PORT + 2)) DB_PORT=$((PORT + 3))
MUNGE_SOCKET=$BASE/munge/munge.socket.2
export SLURM_CONF=$BASE/etc/slurm.conf

say() { echo "slurm_cluster: $*" >&2; }

install_packages() {
  local missing=() package
  for package in "${PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages ${missing[*]}: install them as root (apt-get install)"
    return 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null 2>&1 || {
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
  }
}

pid_of() { cat "$BASE/run/$1.pid" 2>/dev/null || true; }

# True when process $1 exists and is not a zombie.
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ -n "$state" ] && [ "$state" != Z ]
}

# True when the PID recorded for daemon $1 is alive and still runs that program (not a reused PID).
alive() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && running "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]
}

# Run daemon $1 (command: the rest) in the foreground of its own session, so that signals meant
# for the caller (Ctrl-C in a test run) do not reach it; remember its PID.
launch() {
  local name=$1
  shift
  setsid "$@" >"$BASE/log/$name.out" 2>&1 </dev/null &
  echo $! >"$BASE/run/$name.pid"
}

# Poll command (the rest) every 0.1 s until it succeeds; fail after $2 seconds or if daemon $1 died.
wait_until() {
  local name=$1 timeout=$2 tries
  shift 2
  for ((tries = 0; tries < timeout * 10; tries++)); do
    "$@" >/dev/null 2>&1 && return 0
    alive "$name" || break
    sleep 0.1
  done
  say "$name did not come up; its output:"
  tail -n 20 "$BASE/log/$name.out" "$BASE/log/$name.log" >&2 2>/dev/null || true
  return 1
}

node_state() { sinfo -h -n localhost -o %T 2>/dev/null; }
node_ready() { [[ "$(node_state)" =~ ^(idle|mixed|allocated)$ ]]; }

write_configs() {
  local cpus mem_mb db_pass
  cpus=$(nproc)
  # Leave 1 GB to the system; jobs asking for more memory than this never start.
  mem_mb=$(($(awk '/^MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024))
  db_pass=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

  cat >"$BASE/mysql/my.cnf" <<EOF
[mysqld]
datadir=$BASE/mysql/data
socket=$BASE/mysql/mysqld.sock
pid-file=$BASE/mysql/mysqld.pid
log-error=$BASE/log/mariadbd.log
bind-address=127.0.0.1
port=$DB_PORT
user=root
innodb_buffer_pool_size=128M
innodb_lock_wait_timeout=900
[client]
socket=$BASE/mysql/mysqld.sock
EOF

  cat >"$BASE/mysql/init.sql" <<EOF
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$db_pass';
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$db_pass';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
EOF

  (umask 077 && cat >"$BASE/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$db_pass
StorageLoc=slurm_acct_db
LogFile=$BASE/log/slurmdbd.log
PidFile=$BASE/run/daemon/slurmdbd.pid
EOF
  )

  cat >"$BASE/etc/slurm.conf" <<EOF
ClusterName=h2h
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
# slurmctld reads the munge socket for its slurmdbd connections from this key.
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$MUNGE_SOCKET
# Keep sbatch --comment (the Snakemake rule and wildcards) and GPU use in the accounting.
AccountingStoreFlags=job_comment
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux
StateSaveLocation=$BASE/spool/slurmctld
SlurmdSpoolDir=$BASE/spool/slurmd
SlurmctldPidFile=$BASE/run/daemon/slurmctld.pid
SlurmdPidFile=$BASE/run/daemon/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# Finished jobs stay visible to squeue long enough for any status check.
MinJobAge=300
# One pretend GPU (a GRES backed by /dev/null) and a "gpu" partition, so that the GPU requests
# of the Snakemake profile (partition gpu, --gpus=1) are accepted and scheduled as on a real site.
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP
EOF
  echo "NodeName=localhost Name=gpu File=/dev/null" >"$BASE/etc/gres.conf"

  # The jobstep executor strips every SLURM_* variable, SLURM_CONF included, before its inner
  # srun; this srun, first on PATH, puts SLURM_CONF back.
  local real_srun
  real_srun=$(PATH=$(echo "$PATH" | tr ':' '\n' | grep -vxF "$BASE/bin" | paste -sd:) command -v srun)
  printf '#!/bin/bash\nexport SLURM_CONF=%q\nexec %q "$@"\n' "$SLURM_CONF" "$real_srun" \
    >"$BASE/bin/srun"
  chmod +x "$BASE/bin/srun"
}

start() {
  if status >/dev/null 2>&1; then
    say "already running under $BASE"
    return 0
  fi
  install_packages
  stop_daemons
  local port
  for port in "$CTLD_PORT" "$SLURMD_PORT" "$DBD_PORT" "$DB_PORT"; do
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      say "port $port is in use (another cluster?); choose other ports with H2H_SLURM_PORT"
      return 1
    fi
  done
  rm -rf "$BASE"/{etc,bin,run,log,spool,munge,mysql}
  mkdir -p "$BASE"
  mkdir -p "$BASE"/{etc,bin,run/daemon,log,spool/slurmctld,spool/slurmd,mysql}
  (umask 077 && mkdir -p "$BASE/munge/etc")
  trap 'say "start failed, stopping what was started"; stop_daemons' ERR
  write_configs

  mungekey -c -k "$BASE/munge/etc/munge.key"
  # --force: jobs run as root only, so BASE may be private to root (pytest's temporary
  # directories are mode 700), which munged otherwise refuses for its socket.
  launch munged munged -F --force --socket="$MUNGE_SOCKET" --key-file="$BASE/munge/etc/munge.key" \
    --pid-file="$BASE/run/daemon/munged.pid" --seed-file="$BASE/munge/etc/munge.seed" \
    --log-file="$BASE/log/munged.log"
  wait_until munged 10 munge -n -S "$MUNGE_SOCKET"

  mariadb-install-db --defaults-file="$BASE/mysql/my.cnf" --user=root \
    >"$BASE/log/mariadb-install-db.out" 2>&1
  launch mariadbd mariadbd --defaults-file="$BASE/mysql/my.cnf"
  wait_until mariadbd 30 mariadb-admin --defaults-file="$BASE/mysql/my.cnf" ping
  mariadb --defaults-file="$BASE/mysql/my.cnf" <"$BASE/mysql/init.sql"

  launch slurmdbd slurmdbd -D
  wait_until slurmdbd 30 sacctmgr -n list cluster

  launch slurmctld slurmctld -D -i
  wait_until slurmctld 30 scontrol ping
  launch slurmd slurmd -D -N localhost
  wait_until slurmd 30 node_ready
  trap - ERR
  say "up under $BASE ($(nproc) CPUs); use: eval \"\$($0 env $BASE)\""
}

status() {
  local name
  for name in "${DAEMONS[@]}"; do
    alive "$name" || { echo "$name: not running"; return 1; }
  done
  node_ready || { echo "node: $(node_state || echo unknown)"; return 1; }
  echo "running under $BASE: node $(node_state)"
}

any_alive() {
  local name
  for name in "$@"; do
    alive "$name" && return 0
  done
  return 1
}

# SIGTERM the daemons in two waves, SLURM's own first, then what they rely on (each takes ~2 s
# to exit, so a wave costs one such wait); SIGKILL what is still alive after 10 s. Only the PIDs
# recorded under BASE are signalled.
stop_daemons() {
  terminate slurmd slurmctld
  terminate slurmdbd mariadbd munged
}

terminate() {
  local name pids=() tries
  for name in "$@"; do
    alive "$name" && pids+=("$(pid_of "$name")")
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((tries = 0; tries < 100; tries++)); do
      any_alive "$@" || break
      sleep 0.1
    done
    for name in "$@"; do
      alive "$name" && { say "$name ignored SIGTERM, killing it"; kill -KILL "$(pid_of "$name")"; }
    done
  fi
  for name in "$@"; do
    rm -f "$BASE/run/$name.pid"
  done
}

stop() {
  local tries
  if alive slurmctld; then
    # Jobs of this cluster only (SLURM_CONF points at it); slurmd ends their steps.
    scancel --user="$(id -un)" 2>/dev/null || true
    for ((tries = 0; tries < 100; tries++)); do
      [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  stop_daemons
}

case $ACTION in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) printf 'export SLURM_CONF=%q PATH=%q:"$PATH"\n' "$SLURM_CONF" "$BASE/bin" ;;
  *) usage ;;
esac
