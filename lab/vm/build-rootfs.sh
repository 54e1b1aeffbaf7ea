#!/bin/sh
# build-rootfs.sh ROOTDIR MIRROR PACKAGES(comma-separated)
# The VM guest's root file system: Debian bookworm minbase plus the lab's tools, trimmed of
# what a throwaway initramfs never needs (docs, man pages, locales, apt lists and archives).
# Run as root by src/vm/guest.ts; the result is packed into an uncompressed cpio and cached
# under a key made from this file and the package list.
set -eu
ROOT=${1:?usage: build-rootfs.sh ROOTDIR MIRROR PACKAGES}
MIRROR=${2:?mirror}
PKGS=${3:?packages}
debootstrap --variant=minbase --include="$PKGS" bookworm "$ROOT" "$MIRROR"
# No daemons were started by package scripts (debootstrap installs a policy-rc.d while it runs).
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
       "$ROOT"/usr/share/doc "$ROOT"/usr/share/man "$ROOT"/usr/share/info "$ROOT"/usr/share/locale \
       "$ROOT"/var/log/*.log "$ROOT"/var/cache/debconf/*-old
mkdir -p "$ROOT"/usr/share/doc "$ROOT"/opt/ctlab "$ROOT"/out "$ROOT"/job
echo guest > "$ROOT"/etc/hostname
printf '127.0.0.1 localhost guest\n' > "$ROOT"/etc/hosts
# The root password is irrelevant (no login); the machine-id is fixed so the image is reproducible.
echo 00000000000000000000000000000001 > "$ROOT"/etc/machine-id
