// Which kernel modules the guest gets: the lab's (netfilter, conntrack, NFQUEUE, NFLOG, xt_*,
// nf_tables, iptables, veth, qdiscs, virtio) plus everything they depend on, taken from the
// kernel's own modules.dep. A cloud kernel's full module tree is ~100 MB; this is a few MB to
// ~40 MB, and only it is packed into the per-kernel modules cpio.
import { copyFile, mkdir, readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CpioWriter } from './cpio.js';
import { run } from './cache.js';

/** Module names (without .ko / compression suffix) the guest may need. */
export const WANTED_MODULES: readonly RegExp[] = [
  /^virtio(_.*)?$/,
  /^veth$/,
  /^tun$/,
  /^nf_.*$/,
  /^nft_.*$/,
  /^nfnetlink(_.*)?$/,
  /^nf_tables$/,
  /^x_tables$/,
  /^xt_.*$/,
  /^ip_tables$/,
  /^iptable_.*$/,
  /^ipt_.*$/,
  /^ip6_tables$/,
  /^ip6table_.*$/,
  /^ip6t_.*$/,
  /^sch_.*$/,
  /^cls_.*$/,
  /^act_.*$/,
  /^em_.*$/,
  /^ifb$/,
  /^tcp_.*$/,
  /^af_packet$/,
];

/**
 * The guest's init loads these (in order) when present; missing ones are reported, not fatal.
 * "a|b": the first that loads (nf_log_syslog replaced nf_log_ipv4 in 5.12).
 */
export const LOAD_MODULES: readonly string[] = [
  'virtio_pci',
  'virtio_rng',
  'virtio_blk',
  'af_packet',
  'veth',
  'nf_conntrack',
  'nf_conntrack_netlink',
  'nfnetlink_queue',
  'nfnetlink_log',
  'nf_tables',
  'nft_compat',
  'nft_ct',
  'x_tables',
  'ip_tables',
  'iptable_filter',
  'iptable_nat',
  'iptable_mangle',
  'iptable_raw',
  'xt_conntrack',
  'xt_NFQUEUE',
  'xt_NFLOG',
  'xt_tcpudp',
  'xt_state',
  'xt_multiport',
  'xt_comment',
  'xt_statistic',
  'xt_mark',
  'xt_LOG',
  'nf_nat',
  'nf_log_syslog|nf_log_ipv4',
  'sch_htb',
  'sch_tbf',
  'sch_netem',
  'sch_fq',
];

/** "kernel/net/netfilter/xt_nat.ko.xz" -> "xt_nat" (modprobe treats - and _ alike). */
export function moduleName(path: string): string {
  return path
    .slice(path.lastIndexOf('/') + 1)
    .replace(/\.ko(\.(xz|gz|zst))?$/, '')
    .replace(/-/g, '_');
}

/** Parse modules.dep: module path -> the paths it depends on. */
export function parseModulesDep(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    m.set(
      line.slice(0, i).trim(),
      line
        .slice(i + 1)
        .trim()
        .split(/\s+/)
        .filter(Boolean),
    );
  }
  return m;
}

/** Module paths (relative to lib/modules/<release>) matching `wanted`, closed under dependencies, sorted. */
export function trimModules(depText: string, wanted: readonly RegExp[] = WANTED_MODULES): string[] {
  const deps = parseModulesDep(depText);
  const keep = new Set<string>();
  const add = (p: string) => {
    if (keep.has(p)) return;
    keep.add(p);
    for (const d of deps.get(p) ?? []) add(d);
  };
  for (const p of deps.keys()) {
    const n = moduleName(p);
    if (wanted.some((re) => re.test(n))) add(p);
  }
  return [...keep].sort();
}

/** Index files copied next to the modules (depmod regenerates modules.dep & co from the subset). */
const INDEX_FILES = ['modules.order', 'modules.builtin', 'modules.builtin.modinfo', 'modules.builtin.alias.bin'];

/**
 * Pack the trimmed modules of `modulesDir` (a lib/modules/<release> folder) into `outCpio` under
 * usr/lib/modules/<release> (the guest root has merged /usr: /lib is a symlink to usr/lib).
 * `stage` is a scratch folder. Returns the number of modules packed.
 */
export async function packModules(
  modulesDir: string,
  release: string,
  stage: string,
  outCpio: string,
): Promise<{ modules: number; bytes: number }> {
  const depText = await readFile(join(modulesDir, 'modules.dep'), 'utf8');
  const list = trimModules(depText);
  const dst = join(stage, 'lib', 'modules', release);
  await mkdir(dst, { recursive: true });
  for (const rel of list) {
    await mkdir(dirname(join(dst, rel)), { recursive: true });
    await copyFile(join(modulesDir, rel), join(dst, rel));
  }
  const present = new Set(await readdir(modulesDir));
  for (const f of INDEX_FILES) if (present.has(f)) await copyFile(join(modulesDir, f), join(dst, f));
  await run('depmod', ['-b', stage, release], { code: 'KERNEL', hint: 'install kmod (apt-get install kmod)' });
  const w = new CpioWriter(outCpio);
  w.dir('usr');
  w.dir('usr/lib');
  w.dir('usr/lib/modules');
  w.tree(join(stage, 'lib', 'modules'), 'usr/lib/modules');
  return { modules: list.length, bytes: w.finish() };
}

/** Whether a module is available to the kernel: built in (modules.builtin) or a file in modules.dep. */
export function hasModule(name: string, depText: string, builtinText: string): 'module' | 'builtin' | false {
  const want = name.replace(/-/g, '_');
  for (const l of builtinText.split('\n')) if (l.trim() && moduleName(l.trim()) === want) return 'builtin';
  for (const p of parseModulesDep(depText).keys()) if (moduleName(p) === want) return 'module';
  return false;
}
