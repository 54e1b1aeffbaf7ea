#!/bin/sh
# The ordinary hardened IPv4 firewall of the lab server (installed as /usr/local/sbin/ctlab-firewall).
#
#   ctlab-firewall [--no-drop-invalid] [--backend nft|legacy] [--policy drop|accept] [--iperf] [--port N]... [--flush]
#
# INPUT: lo accepted; conntrack INVALID -> chain CTLAB_INVALID (NFLOG group 1, prefix
# "ctlab-invalid", then DROP; its rule counters are the drop count); ESTABLISHED,RELATED
# accepted; NEW tcp to 80 (and 5201 with --iperf, and each --port N: a user's service) accepted;
# icmp accepted; policy DROP.
# --no-drop-invalid leaves the INVALID rule out entirely (the chain still exists, unused).
# --policy accept makes INPUT's policy ACCEPT instead of DROP (not default-deny): without the
# INVALID rule, INVALID packets then reach TCP instead of dying on the policy.
# --backend picks iptables-nft or iptables-legacy by calling that binary directly (the
# alternatives symlink is left alone so other tools see the same default).
# --flush removes the rules again (policy ACCEPT) with the chosen backend.
set -eu

DROP_INVALID=1
BACKEND=nft
POLICY=DROP
IPERF=0
PORTS=
FLUSH=0
while [ $# -gt 0 ]; do
  case "$1" in
    --no-drop-invalid) DROP_INVALID=0 ;;
    --backend) [ $# -ge 2 ] || { echo "ctlab-firewall: --backend needs nft or legacy" >&2; exit 2; }; BACKEND=$2; shift ;;
    --backend=*) BACKEND=${1#--backend=} ;;
    --policy) [ $# -ge 2 ] || { echo "ctlab-firewall: --policy needs drop or accept" >&2; exit 2; }; POLICY=$2; shift ;;
    --policy=*) POLICY=${1#--policy=} ;;
    --iperf) IPERF=1 ;;
    --port)
      case "${2:-}" in
        [1-9]|[1-9][0-9]|[1-9][0-9][0-9]|[1-9][0-9][0-9][0-9]|[1-9][0-9][0-9][0-9][0-9]) PORTS="$PORTS $2"; shift ;;
        *) echo "ctlab-firewall: --port needs a TCP port number" >&2; exit 2 ;;
      esac ;;
    --flush) FLUSH=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "ctlab-firewall: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

case "$BACKEND" in
  nft) IPT=iptables-nft; OTHER=iptables-legacy ;;
  legacy) IPT=iptables-legacy; OTHER=iptables-nft ;;
  *) echo "ctlab-firewall: --backend must be nft or legacy, not $BACKEND" >&2; exit 2 ;;
esac
case "$POLICY" in
  drop|DROP) POLICY=DROP ;;
  accept|ACCEPT) POLICY=ACCEPT ;;
  *) echo "ctlab-firewall: --policy must be drop or accept, not $POLICY" >&2; exit 2 ;;
esac
command -v "$IPT" >/dev/null 2>&1 || { echo "ctlab-firewall: $IPT not found" >&2; exit 3; }

reset() { # $1 = binary; leave the filter table empty with ACCEPT policies
  "$1" -w -P INPUT ACCEPT 2>/dev/null || true
  "$1" -w -F INPUT 2>/dev/null || true
  "$1" -w -F CTLAB_INVALID 2>/dev/null || true
  "$1" -w -X CTLAB_INVALID 2>/dev/null || true
}

# Idempotent: start from a clean filter table in both backends, so rules from an earlier run
# with the other backend cannot linger and double-filter.
# Touch the other backend only if it already has a filter table: merely listing it would
# create one (and legacy's "tables present" warnings).
other_in_use() {
  case "$OTHER" in
    iptables-legacy) grep -qx filter /proc/net/ip_tables_names 2>/dev/null ;;
    iptables-nft) command -v nft >/dev/null 2>&1 && nft list table ip filter >/dev/null 2>&1 ;;
  esac
}
reset "$IPT"
if command -v "$OTHER" >/dev/null 2>&1 && other_in_use; then reset "$OTHER"; fi
[ "$FLUSH" = 1 ] && exit 0

"$IPT" -w -N CTLAB_INVALID
"$IPT" -w -A CTLAB_INVALID -j NFLOG --nflog-group 1 --nflog-prefix ctlab-invalid
"$IPT" -w -A CTLAB_INVALID -j DROP

"$IPT" -w -A INPUT -i lo -j ACCEPT
if [ "$DROP_INVALID" = 1 ]; then
  "$IPT" -w -A INPUT -m conntrack --ctstate INVALID -j CTLAB_INVALID
fi
"$IPT" -w -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
"$IPT" -w -A INPUT -p tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT
if [ "$IPERF" = 1 ]; then
  "$IPT" -w -A INPUT -p tcp --dport 5201 -m conntrack --ctstate NEW -j ACCEPT
fi
for p in $PORTS; do
  "$IPT" -w -A INPUT -p tcp --dport "$p" -m conntrack --ctstate NEW -j ACCEPT
done
"$IPT" -w -A INPUT -p icmp -j ACCEPT
"$IPT" -w -P INPUT "$POLICY"
echo "ctlab-firewall: $IPT, drop-invalid=$DROP_INVALID, policy=$POLICY, iperf=$IPERF, ports=80${PORTS}"
