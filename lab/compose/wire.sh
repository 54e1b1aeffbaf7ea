#!/bin/sh
# Wire the docker-compose lab (docker-compose.yml, service `wire`): runs in the host's pid and
# network namespaces with NET_ADMIN + SYS_ADMIN. Finds each node by the environment of its
# processes (CTLAB_COMPOSE_NODE, CTLAB_COMPOSE_PROJECT), so it needs no Docker socket.
#   client 198.18.1.2/24 (eth-mb) -- (eth-client) 198.18.1.1 middlebox 198.18.2.1 (eth-server) -- (eth-mb) 198.18.2.2/24 server
# Re-runnable: links that already exist are left as they are.
set -eu
PROJECT=${CTLAB_COMPOSE_PROJECT:-ctlab}

find_pid() { # $1 = node name; prints one host pid in that node's network namespace
  for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}; pid=${pid%/environ}
    # processes come and go while we scan: ignore the ones we cannot read
    vars=$( { tr '\0' '\n' < "$env"; } 2>/dev/null) || continue
    case "$vars" in *"CTLAB_COMPOSE_NODE=$1"*) ;; *) continue ;; esac
    printf '%s\n' "$vars" | grep -qx "CTLAB_COMPOSE_NODE=$1" || continue
    printf '%s\n' "$vars" | grep -qx "CTLAB_COMPOSE_PROJECT=$PROJECT" || continue
    echo "$pid"; return 0
  done
  return 1
}

wait_pid() {
  i=0
  while ! find_pid "$1"; do
    i=$((i + 1))
    [ $i -ge 60 ] && { echo "ctlab-wire: node $1 of project $PROJECT not found (is it running?)" >&2; exit 1; }
    sleep 0.5
  done
}

in_ns() { pid=$1; shift; nsenter -t "$pid" -n "$@"; }

configure() { # pid ifname cidr
  in_ns "$1" ip addr replace "$3" dev "$2"
  in_ns "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null
  in_ns "$1" ip link set dev "$2" mtu 1500 up
}

link() { # pidA ifA cidrA pidB ifB cidrB
  if in_ns "$1" ip link show "$2" >/dev/null 2>&1; then
    echo "ctlab-wire: $2 exists in pid $1's namespace, leaving it"
  else
    ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  fi
  configure "$1" "$2" "$3"
  configure "$4" "$5" "$6"
}

C=$(wait_pid client); M=$(wait_pid middlebox); S=$(wait_pid server)
echo "ctlab-wire: project $PROJECT: client pid $C, middlebox pid $M, server pid $S"
link "$C" eth-mb 198.18.1.2/24 "$M" eth-client 198.18.1.1/24
link "$S" eth-mb 198.18.2.2/24 "$M" eth-server 198.18.2.1/24
in_ns "$C" ip route replace default via 198.18.1.1
in_ns "$S" ip route replace default via 198.18.2.1
echo "ctlab-wire: wired"
