#!/bin/sh
# Build the NFQUEUE N-API addon with plain gcc (no node-gyp, no downloads).
# usage: build.sh OUTDIR   -> OUTDIR/nfqueue.node
# Needs: gcc, libnetfilter-queue-dev, libmnl-dev, and N-API headers (node_api.h, uv.h):
# taken from $NODE_INCLUDE, else /usr/include/node (Debian libnode-dev), else the include/node
# directory of the running node installation.
set -eu
OUT=${1:?usage: build.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
inc=""
for d in ${NODE_INCLUDE:-} /usr/include/node /usr/local/include/node \
         "$(dirname "$(dirname "$(command -v node 2>/dev/null || echo /nonexistent/bin/node)")")/include/node"; do
  if [ -n "$d" ] && [ -f "$d/node_api.h" ]; then inc=$d; break; fi
done
if [ -z "$inc" ]; then
  echo "build.sh: node_api.h not found (install libnode-dev, or set NODE_INCLUDE)" >&2
  exit 2
fi
for h in libnetfilter_queue/libnetfilter_queue.h libmnl/libmnl.h; do
  if [ ! -f "/usr/include/$h" ]; then
    echo "build.sh: /usr/include/$h missing (apt-get install libnetfilter-queue-dev libmnl-dev)" >&2
    exit 2
  fi
done
mkdir -p "$OUT"
# uv.h: node's include dir carries it; Debian's libnode-dev relies on libuv1-dev (/usr/include).
${CC:-gcc} -O2 -g -fPIC -shared -Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration \
  -DNODE_GYP_MODULE_NAME=nfqueue -I"$inc" -o "$OUT/nfqueue.node.tmp" "$HERE/nfqueue.c" \
  -lnetfilter_queue -lmnl
mv "$OUT/nfqueue.node.tmp" "$OUT/nfqueue.node"
echo "built $OUT/nfqueue.node (headers: $inc)"
