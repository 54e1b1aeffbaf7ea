#!/usr/bin/env bash
# Prepare this machine for ctlab: host packages, a running Docker engine, node modules, the
# compiled code and the lab images. Idempotent: a second run only checks (a few seconds).
#   sudo bash scripts/setup.sh [--verbose]
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERBOSE=0
for a in "$@"; do
  case "$a" in
    -v|--verbose) VERBOSE=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $a (try --help)" >&2; exit 2 ;;
  esac
done

T_ALL=$(date +%s%N)
T_STAGE=$T_ALL
stage() { T_STAGE=$(date +%s%N); echo "==> $*"; }
done_stage() { local ms=$(( ($(date +%s%N) - T_STAGE) / 1000000 )); printf '    done in %d.%03d s%s\n' $((ms / 1000)) $((ms % 1000)) "${1:+ ($1)}"; }
die() { echo "setup.sh: $*" >&2; exit 1; }

# --- refuse what cannot work, saying what to run instead -----------------------------------
if [ "$(uname -s)" != Linux ]; then
  die "this is $(uname -s); ctlab needs a Linux kernel (network namespaces, conntrack, NFQUEUE). Run it on a Debian/Ubuntu Linux machine or VM."
fi
if [ "$(id -u)" != 0 ]; then
  die "must run as root (it installs packages and starts dockerd). Run: sudo bash $REPO/scripts/setup.sh"
fi
command -v apt-get >/dev/null 2>&1 || die "no apt-get: this script supports Debian/Ubuntu. Install by hand: docker.io debootstrap tcpdump tshark tcpreplay iproute2 iptables ethtool libnetfilter-queue-dev libmnl-dev gcc make conntrack iperf3 nginx-light qemu-system-x86 cpio kmod python3, then start dockerd."

# --- host packages: install only what is missing ---------------------------------------------
stage "host packages"
# tshark cross-checks our pcap reading; chromium renders the HTML report in the browser test;
# libnetfilter-queue-dev/libmnl-dev/gcc build the NFQUEUE addon for the host-side bench and tests.
# nginx-light serves the repository when the lab runs as plain namespaces (--runtime netns; its
# tests also use ping and nc);
# qemu-system-x86, cpio and kmod boot other kernels in a VM (--kernel 5.10,6.1,...); python3 holds the
# full-accept-queue listener of the harvester's black-hole test.
PKGS=(debootstrap tcpdump tshark tcpreplay iproute2 iptables ethtool libnetfilter-queue-dev libmnl-dev gcc make conntrack iperf3 chromium jq
      nginx-light qemu-system-x86 cpio kmod iputils-ping netcat-openbsd python3)
# Keep an engine that is already installed (docker-ce, moby): Debian's docker.io would conflict.
command -v dockerd >/dev/null 2>&1 || PKGS=(docker.io "${PKGS[@]}")
MISSING=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || MISSING+=("$p")
done
if [ ${#MISSING[@]} -gt 0 ]; then
  echo "    installing: ${MISSING[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture: answer no, without a prompt.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  apt-get update -qq
  # docker.io with its recommended packages (cgroupfs-mount among them: dockerd starts without
  # systemd here as verified that way); everything else without.
  DOCKER=(); REST=()
  for p in "${MISSING[@]}"; do if [ "$p" = docker.io ]; then DOCKER+=("$p"); else REST+=("$p"); fi; done
  { [ ${#DOCKER[@]} -eq 0 ] || apt-get install -y -qq "${DOCKER[@]}"; } >/tmp/ctlab-apt.log 2>&1 \
    && { [ ${#REST[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${REST[@]}"; } >>/tmp/ctlab-apt.log 2>&1 \
    || { tail -20 /tmp/ctlab-apt.log >&2; die "apt-get install failed (full log: /tmp/ctlab-apt.log)"; }
  done_stage "installed ${#MISSING[@]}"
else
  done_stage "all ${#PKGS[@]} present"
fi

# Node >= 20 runs ctlab on the host (the lab images use Debian's own nodejs).
command -v node >/dev/null 2>&1 || die "node is not installed: install Node.js 20 or newer (with npm), then run this again."
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || die "node $(node --version) is too old: ctlab needs Node.js 20 or newer on the host."
command -v npm >/dev/null 2>&1 || die "npm is missing: install npm for node $(node --version)."

# --- Docker engine ---------------------------------------------------------------------------
stage "docker engine"
if docker info >/dev/null 2>&1; then
  done_stage "already running"
else
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl start docker || true
  else
    # No systemd here: run dockerd in its own session so it outlives this script.
    echo "    starting dockerd (log: /var/log/ctlab-dockerd.log)"
    setsid nohup dockerd >>/var/log/ctlab-dockerd.log 2>&1 </dev/null &
  fi
  for _ in $(seq 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    tail -20 /var/log/ctlab-dockerd.log >&2 2>/dev/null || true
    die "dockerd did not come up within 60 s (see /var/log/ctlab-dockerd.log)"
  fi
  done_stage "started"
fi

# --- node modules ----------------------------------------------------------------------------
stage "node modules"
cd "$REPO"
STAMP=node_modules/.ctlab-setup-stamp
if [ -f package-lock.json ]; then
  WANT=$( (cat package.json package-lock.json; node --version) | sha256sum | cut -d' ' -f1)
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    done_stage "up to date"
  elif [ -d node_modules ] && npm ls --all >/dev/null 2>&1; then
    # Already satisfied (e.g. installed by hand): do not wipe node_modules under running tools.
    echo "$WANT" > "$STAMP"
    done_stage "already satisfied"
  else
    npm ci --no-audit --no-fund --loglevel=error
    echo "$WANT" > "$STAMP"
    done_stage "npm ci"
  fi
else
  npm install --no-audit --no-fund --loglevel=error
  done_stage "npm install (no lockfile)"
fi

# The example suite (examples/, run by `npm test` after the main suite) has its own packages
# (vitest, typescript); ctlab itself is linked from here (file:..), not copied.
stage "example suite's node modules"
EX_STAMP=examples/node_modules/.ctlab-setup-stamp
EX_WANT=$( (cat examples/package.json examples/package-lock.json; node --version) | sha256sum | cut -d' ' -f1)
if [ -f "$EX_STAMP" ] && [ "$(cat "$EX_STAMP")" = "$EX_WANT" ]; then
  done_stage "up to date"
else
  (cd examples && npm ci --no-audit --no-fund --loglevel=error)
  echo "$EX_WANT" > "$EX_STAMP"
  done_stage "npm ci"
fi

# --- compile ---------------------------------------------------------------------------------
stage "build (tsc + in-lab bundles)"
npm run build --silent
done_stage

# --- lab images ------------------------------------------------------------------------------
stage "lab images"
ARGS=()
[ "$VERBOSE" = 1 ] && ARGS+=(--verbose)
node dist/src/runtime/build-images-cli.js "${ARGS[@]}"
done_stage

MS=$(( ($(date +%s%N) - T_ALL) / 1000000 ))
printf '==> ctlab is ready (%d.%03d s). Try: npx ctlab run scenarios/harvester-asa.yaml\n' $((MS / 1000)) $((MS % 1000))
