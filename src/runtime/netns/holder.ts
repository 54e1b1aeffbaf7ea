// The holder: the shell script one `unshare` runs per node to build the node's private root,
// set its sysctls, bring lo up and then hold the namespaces (its pid is the node's pid).

import { CtlabError } from '../../errors.js';
import { shq } from '../../util/shq.js';

const SYSCTL_KEY_RE = /^[a-zA-Z0-9_][a-zA-Z0-9_./-]*$/;

export interface HolderPlan {
  /** Empty directory on the host that becomes the node's root (a tmpfs mounted in the node only). */
  root: string;
  /** Laid out like the images' /opt/ctlab (see stageOptRoot). */
  optRoot: string;
  hostname: string;
  sysctls: Record<string, string>;
}

/** Host dirs under the read-only /var and /usr that must be writable (and private) in a node. */
export const NODE_PRIVATE_DIRS = ['/var/log/nginx', '/var/lib/nginx', '/var/tmp'] as const;

/**
 * The holder's shell script. It runs in the fresh namespaces (private mount propagation, so no
 * mount below reaches the host) and builds the node's root on a tmpfs:
 *   - every top-level host directory bound read-only (the node's programs are the host's);
 *   - a private copy of /etc (so /etc/ctlab and nginx.conf never touch the host's);
 *   - fresh /proc and /sys (this netns), /dev bound, private tmpfs on /run, /tmp and nginx's dirs;
 *   - /opt and /srv as tmpfs mirrors of the host's plus /opt/ctlab (the staged optRoot, read-only)
 *     and /srv/oai; /usr/local/sbin mirrored plus ctlab-firewall;
 * then pivots into it (chroot where pivot_root cannot, e.g. an initramfs root), sets the
 * sysctls, brings lo up, prints "ready" and sleeps.
 */
export function holderScript(p: HolderPlan): string {
  const sysctls = Object.entries(p.sysctls);
  for (const [k] of sysctls) {
    if (!SYSCTL_KEY_RE.test(k)) throw new CtlabError('SCENARIO', `invalid sysctl name ${JSON.stringify(k)}`);
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/.test(p.hostname))
    throw new CtlabError('SCENARIO', `invalid host name ${JSON.stringify(p.hostname)}`);
  const sysctlCmd = sysctls.length ? `sysctl -q -w ${sysctls.map(([k, v]) => shq(`${k}=${v}`)).join(' ')}` : ':';
  return `set -eu
R=${shq(p.root)}
O=${shq(p.optRoot)}
fail() { echo "ctlab-netns: $*" >&2; exit 3; }
[ -d "$R" ] || fail "no directory $R"
mount -t tmpfs -o mode=0755 ctlab-root "$R"
# mirror DIR [SKIP...]: host entries of DIR into $R/DIR: symlinks copied, dirs and files bound read-only
mirror() {
  d=$1; shift
  for p in "$d"/* "$d"/.[!.]* "$d"/..?*; do
    [ -e "$p" ] || [ -L "$p" ] || continue
    n=\${p##*/}
    for s in "$@"; do [ "$n" = "$s" ] && continue 2; done
    t=$R$d/$n
    if [ -L "$p" ]; then ln -s "$(readlink "$p")" "$t"
    elif [ -d "$p" ]; then mkdir "$t"; mount --bind -o ro "$p" "$t"
    elif [ -f "$p" ]; then : > "$t"; mount --bind -o ro "$p" "$t"
    fi
  done
}
mirror "" proc sys dev run tmp etc opt srv lost+found
mkdir "$R/proc" "$R/sys" "$R/dev" "$R/run" "$R/tmp" "$R/opt" "$R/srv"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys" 2>/dev/null || mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=0755 tmpfs "$R/run"
mkdir -p "$R/run/ctlab" "$R/run/lock"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
cp -a /etc "$R/etc"
mkdir -p "$R/etc/ctlab" "$R/etc/nginx"
cp "$O/lab/server/nginx.conf" "$R/etc/nginx/nginx.conf"
chmod 0644 "$R/etc/nginx/nginx.conf"
echo ${shq(p.hostname)} > "$R/etc/hostname"
[ -d /opt ] && mirror /opt ctlab
mkdir "$R/opt/ctlab"
mount --bind -o ro "$O" "$R/opt/ctlab"
[ -d /srv ] && mirror /srv oai
mkdir "$R/srv/oai"
for w in ${NODE_PRIVATE_DIRS.join(' ')}; do
  [ -d "$R$w" ] || fail "the host has no $w to put a private tmpfs on (apt-get install nginx-light)"
  mount -t tmpfs -o mode=0755 tmpfs "$R$w"
done
chmod 1777 "$R/var/tmp"
[ -d "$R/usr/local/sbin" ] || fail "the host has no /usr/local/sbin"
mount -t tmpfs -o mode=0755 tmpfs "$R/usr/local/sbin"
mirror /usr/local/sbin ctlab-firewall
cp "$O/lab/server/firewall.sh" "$R/usr/local/sbin/ctlab-firewall"
chmod 0755 "$R/usr/local/sbin/ctlab-firewall"
cd "$R"
mkdir .ctlab-oldroot
if pivot_root . .ctlab-oldroot 2>/dev/null; then
  cd /
  umount -l /.ctlab-oldroot
  rmdir /.ctlab-oldroot
  HOLD=
else
  rmdir .ctlab-oldroot
  HOLD="chroot $R"
fi
echo ${shq(p.hostname)} > /proc/sys/kernel/hostname
${sysctlCmd}
ip link set lo up
echo ready
exec $HOLD sleep infinity </dev/null >/dev/null 2>&1
`;
}
