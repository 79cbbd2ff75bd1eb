#!/usr/bin/env bash
# A Redis Cluster of six nodes on loopback (three primaries, one replica each), for the
# tests, the scale test and trying Tihuo on Redis Cluster by hand:
#
#   scripts/cluster/redis_cluster.sh start            # start the nodes, create the cluster, wait for cluster_state:ok
#   scripts/cluster/redis_cluster.sh status           # CLUSTER INFO state and the nodes' roles
#   scripts/cluster/redis_cluster.sh kill-primary [PORT]   # SIGKILL a primary (default: the first); its replica takes over
#   scripts/cluster/redis_cluster.sh wait-promoted PORT    # until a replica serves the killed PORT's slots
#   scripts/cluster/redis_cluster.sh restart-node PORT     # bring a killed node back (it rejoins as a replica;
#                                                          # only after wait-promoted: it comes back empty)
#   scripts/cluster/redis_cluster.sh failover PORT    # graceful: make the replica PORT its primary (CLUSTER FAILOVER)
#   scripts/cluster/redis_cluster.sh wait-ok          # until every slot is served again
#   scripts/cluster/redis_cluster.sh stop             # stop every node, remove the data directory
#
# The app then uses: REDIS_URL=redis+cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103
# (app/config.py). Nothing is persisted (--save "" --appendonly no): a test cluster.
# Settings: REDIS_CLUSTER_PORTS (default "7101 7102 7103 7104 7105 7106"), REDIS_CLUSTER_DIR
# (default /tmp/tihuo-redis-cluster), REDIS_CLUSTER_NODE_TIMEOUT_MS (default 2000: how long
# a silent primary is waited for before its replica is promoted).
set -euo pipefail

PORTS=(${REDIS_CLUSTER_PORTS:-7101 7102 7103 7104 7105 7106})
DIR=${REDIS_CLUSTER_DIR:-/tmp/tihuo-redis-cluster}
NODE_TIMEOUT_MS=${REDIS_CLUSTER_NODE_TIMEOUT_MS:-2000}
HOST=127.0.0.1

cli() { redis-cli -h "$HOST" -p "$1" "${@:2}"; }

start_node() {
  local port=$1
  mkdir -p "$DIR/$port"
  redis-server --port "$port" --bind "$HOST" --daemonize yes --dir "$DIR/$port" \
    --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout "$NODE_TIMEOUT_MS" \
    --save "" --appendonly no --pidfile "$DIR/$port/redis.pid" --logfile "$DIR/$port/redis.log"
  for _ in $(seq 100); do cli "$port" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "node $port did not start (see $DIR/$port/redis.log)" >&2; return 1
}

wait_ok() {
  # cluster_state:ok on every live node and every slot assigned to a live primary.
  for _ in $(seq 300); do
    local ok=1
    for port in "${PORTS[@]}"; do
      if cli "$port" ping >/dev/null 2>&1; then
        cli "$port" cluster info | grep -q "cluster_state:ok" || ok=0
      fi
    done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  echo "cluster not ok after 30 s" >&2; return 1
}

wait_replicas() {
  # Every primary has a replica in sync (else killing one would lose its slots for good).
  local want=$(( ${#PORTS[@]} / 2 ))
  for _ in $(seq 300); do
    local up=0
    for port in "${PORTS[@]}"; do
      cli "$port" info replication 2>/dev/null | grep -q "master_link_status:up" && up=$((up + 1))
    done
    [ $up -ge $want ] && return 0
    sleep 0.1
  done
  echo "replicas not in sync after 30 s" >&2; return 1
}

wait_promoted() {
  # The killed primary PORT is marked failed and a replica serves its slots, as every
  # live node sees it (a client may ask any of them for the slot map).
  local port=$1
  for _ in $(seq 300); do
    local stale=0 live=0
    for p in "${PORTS[@]}"; do
      [ "$p" = "$port" ] && continue
      cli "$p" ping >/dev/null 2>&1 || continue
      live=1
      cli "$p" cluster nodes | awk -v n="$HOST:$port@" 'index($2, n) == 1 && $3 ~ /master/ && $3 !~ /fail/ {found=1} END {exit !found}' && stale=1
    done
    if [ $live = 1 ] && [ $stale = 0 ]; then wait_ok; return 0; fi
    sleep 0.1
  done
  echo "no replica took over from $port after 30 s" >&2; return 1
}

primaries() { cli "${1:-${PORTS[0]}}" cluster nodes | awk '$3 ~ /master/ && $3 !~ /fail/ {split($2, a, "[:@]"); print a[2]}'; }

live_port() { for port in "${PORTS[@]}"; do cli "$port" ping >/dev/null 2>&1 && { echo "$port"; return; }; done; }

case "${1:-}" in
  start)
    if cli "${PORTS[0]}" ping >/dev/null 2>&1; then
      echo "a node already answers on ${PORTS[0]}" >&2; wait_ok; exit 0
    fi
    rm -rf "$DIR"; mkdir -p "$DIR"
    for port in "${PORTS[@]}"; do start_node "$port"; done
    nodes=(); for port in "${PORTS[@]}"; do nodes+=("$HOST:$port"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log"
    wait_ok
    wait_replicas
    echo "Redis Cluster up on ${PORTS[*]}: REDIS_URL=redis+cluster://$HOST:${PORTS[0]},$HOST:${PORTS[1]},$HOST:${PORTS[2]}"
    ;;
  stop)
    for port in "${PORTS[@]}"; do
      if [ -f "$DIR/$port/redis.pid" ] && kill -0 "$(cat "$DIR/$port/redis.pid")" 2>/dev/null; then
        cli "$port" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$DIR/$port/redis.pid")" || true
      fi
    done
    rm -rf "$DIR"
    ;;
  status)
    port=$(live_port); [ -n "$port" ] || { echo "no node answers"; exit 1; }
    cli "$port" cluster info | grep -E "cluster_state|cluster_slots_ok|cluster_known_nodes"
    cli "$port" cluster nodes | awk '{print $2, $3, $9}'
    ;;
  wait-ok) wait_ok ;;
  wait-replicas) wait_replicas ;;
  wait-promoted) wait_promoted "${2:?port}" ;;
  kill-primary)
    port=${2:-$(primaries "$(live_port)" | head -1)}
    kill -9 "$(cat "$DIR/$port/redis.pid")"
    echo "$port"
    ;;
  restart-node)
    start_node "${2:?port}"
    ;;
  failover)
    cli "${2:?the replica port to promote}" cluster failover
    wait_ok
    ;;
  *) echo "usage: $0 start|stop|status|wait-ok|kill-primary [PORT]|restart-node PORT|failover REPLICA_PORT" >&2; exit 2 ;;
esac
