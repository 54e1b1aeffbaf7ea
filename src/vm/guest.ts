// The guest's initramfs pieces:
//   base cpio   Debian bookworm minbase + the lab's tools (lab/vm/build-rootfs.sh), ~100 MB,
//               cached by a hash of the package list and the build script;
//   tools cpio  the host's node binary, the production node_modules the CLI loads, the NFQUEUE
//               addon built on the host, cached by a hash of their content;
//   job cpio    per run: the repository's dist/ (the CLI's dist/src and the in-lab programs'
//               bundles in dist/bundle, which the namespace runtime stages as /opt/ctlab),
//               bin/, package.json, lab/, the scenario, the guest init and the job's parameters
//               (small, rebuilt every run).
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { CtlabError } from '../errors.js';
import { hostSources } from './apt.js';
import { pickDebianMirror } from '../runtime/apt-sources.js';
import { cacheRoot, exists, produce, run, sha256, sha256File } from './cache.js';
import { CpioWriter } from './cpio.js';
import { ensureAddon } from '../runtime/opt-root.js';
import { repoRoot } from '../util/repo-root.js';
import { shq } from '../util/shq.js';

/** Packages on top of minbase (util-linux for unshare/nsenter is essential, so always there). */
export const GUEST_PACKAGES: readonly string[] = [
  'iproute2',
  'iptables',
  'nftables',
  'conntrack',
  'nginx-light',
  'curl',
  'kmod',
  'libnetfilter-queue1',
  'libmnl0',
  'ethtool',
  'procps',
  'tcpdump',
  'util-linux',
  'iputils-ping',
  'netcat-openbsd',
  'iperf3',
  'ca-certificates',
  'tar',
  // ctlab replay plays captures with tcpreplay.
  'tcpreplay',
];

export function baseKey(script: string, packages: readonly string[] = GUEST_PACKAGES): string {
  return sha256('ctlab-vm-base-v1', 'bookworm', [...packages].sort().join(','), script).slice(0, 24);
}

/** The base cpio (builds it with debootstrap the first time: a few minutes). */
export async function baseCpio(progress: (m: string) => void = () => {}): Promise<string> {
  const script = join(repoRoot(), 'lab', 'vm', 'build-rootfs.sh');
  const key = baseKey(await readFile(script, 'utf8'));
  const out = join(cacheRoot(), 'base', `bookworm-${key}.cpio`);
  if (await exists(out)) return out;
  if (process.getuid?.() !== 0)
    throw new CtlabError('HOST', 'building the VM guest root (debootstrap) needs root', {
      hint: 'run as root once; the result is cached in ~/.cache/ctlab/vm/base',
    });
  const mirror = process.env.CTLAB_DEBIAN_MIRROR || pickDebianMirror(await hostSources(), 'bookworm');
  if (!mirror)
    throw new CtlabError('HOST', "no Debian bookworm mirror in the host's apt sources", {
      hint: 'set CTLAB_DEBIAN_MIRROR=http://<mirror>/debian',
    });
  const t0 = Date.now();
  progress(
    `guest: building the bookworm root with debootstrap (${GUEST_PACKAGES.length} packages on minbase; once, a few minutes)`,
  );
  return produce(out, async (tmp) => {
    const root = `${tmp}.root`;
    try {
      await run('sh', [script, root, mirror, GUEST_PACKAGES.join(',')], {
        code: 'HOST',
        timeoutMs: 30 * 60_000,
        hint: 'install debootstrap (apt-get install debootstrap) and check that the Debian mirror is reachable',
      });
      const w = new CpioWriter(tmp);
      // /dev, /proc, /sys are mounted by init; debootstrap's device nodes are not needed.
      w.tree(root, '', (rel) => !/^(dev|proc|sys)\//.test(rel));
      const bytes = w.finish();
      progress(`guest: root packed (${(bytes / 1e6).toFixed(0)} MB, ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
}

/** Production dependency folders of the package at `root` (node's resolution, recursively). */
export function prodDependencyDirs(root: string): string[] {
  const seen = new Set<string>();
  const visit = (pkgDir: string) => {
    let pj: { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    try {
      pj = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    } catch {
      return;
    }
    for (const [name, optional] of [
      ...Object.keys(pj.dependencies ?? {}).map((n) => [n, false] as const),
      ...Object.keys(pj.optionalDependencies ?? {}).map((n) => [n, true] as const),
    ]) {
      let dir = pkgDir;
      let found: string | undefined;
      for (;;) {
        const cand = join(dir, 'node_modules', name);
        if (existsSync(join(cand, 'package.json'))) {
          found = cand;
          break;
        }
        const up = dirname(dir);
        if (up === dir || !up.startsWith(root)) break;
        dir = up;
      }
      if (!found) {
        if (optional) continue;
        throw new CtlabError('HOST', `dependency ${name} of ${relative(root, pkgDir) || 'ctlab'} is not installed`, {
          hint: 'run npm install (or bash scripts/setup.sh)',
        });
      }
      if (seen.has(found)) continue;
      seen.add(found);
      visit(found);
    }
  };
  visit(root);
  return [...seen].sort();
}

/** The NFQUEUE addon for the guest: the namespace runtime's own (built once on the host, cached). */
export async function nfqueueAddon(progress: (m: string) => void = () => {}): Promise<string> {
  return ensureAddon({ repoRoot: repoRoot(), log: (m) => progress(`guest: ${m}`) });
}

/** The tools cpio: node at /usr/local/bin/node, node_modules and the addon under /opt/ctlab. */
export async function toolsCpio(progress: (m: string) => void = () => {}): Promise<string> {
  const root = repoRoot();
  const node = realpathSync(process.execPath);
  const addon = await nfqueueAddon(progress);
  const deps = prodDependencyDirs(root);
  // Key: the node binary's and addon's content, and each dependency's name@version.
  const depIds = deps.map((d) => {
    const pj = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: string; version?: string };
    return `${relative(root, d)}@${pj.version}`;
  });
  const key = sha256('ctlab-vm-tools-v2', await sha256File(node), await sha256File(addon), depIds.join('\n')).slice(
    0,
    24,
  );
  const out = join(cacheRoot(), 'tools', `tools-${key}.cpio`);
  if (await exists(out)) return out;
  return produce(out, async (tmp) => {
    const w = new CpioWriter(tmp);
    for (const d of [
      'usr',
      'usr/local',
      'usr/local/bin',
      'opt',
      'opt/ctlab',
      'opt/ctlab/native',
      'opt/ctlab/node_modules',
    ])
      w.dir(d);
    w.hostFile('usr/local/bin/node', node, 0o755);
    w.hostFile('opt/ctlab/native/nfqueue.node', addon, 0o755);
    // The namespace runtime takes it from CTLAB_NFQUEUE_ADDON (set by lab/vm/job-run.sh).
    const made = new Set<string>();
    for (const d of deps) {
      const rel = relative(root, d);
      // parent folders (scoped packages, nested node_modules)
      const parts = rel.split('/');
      for (let i = 2; i < parts.length; i++) {
        const p = parts.slice(0, i).join('/');
        if (!made.has(p)) {
          made.add(p);
          w.dir(`opt/ctlab/${p}`);
        }
      }
      if (made.has(rel)) continue;
      made.add(rel);
      w.dir(`opt/ctlab/${rel}`);
      // Nested node_modules are separate dependencies (walked on their own); skip them here.
      w.tree(
        d,
        `opt/ctlab/${rel}`,
        (r) => !/^node_modules(\/|$)/.test(r) && !r.endsWith('.d.ts') && !r.endsWith('.map'),
      );
    }
    const bytes = w.finish();
    progress(`guest: tools packed (node ${process.version}, ${deps.length} packages, ${(bytes / 1e6).toFixed(0)} MB)`);
  });
}

export interface JobFiles {
  /** The scenario file on the host (none for the smoke job). */
  scenarioFile?: string;
  /** The guest's job script (lab/vm/job-*.sh). */
  jobScript: string;
  /** Shell-quoted variables for the job (/job/env). */
  env: Record<string, string>;
  /** Arguments for the job (`set -- ...` in /job/env). */
  args: string[];
  /** Modules the guest init loads. */
  modules: readonly string[];
  /** More input files for the job: name under /job → file on the host (e.g. a capture to replay). */
  files?: Record<string, string>;
}

/** The per-run job cpio. */
export function writeJobCpio(path: string, j: JobFiles): number {
  const root = repoRoot();
  const w = new CpioWriter(path);
  w.hostFile('init', join(root, 'lab', 'vm', 'init'), 0o755);
  w.dir('job');
  w.hostFile('job/job.sh', j.jobScript, 0o755);
  if (j.scenarioFile) {
    if (!existsSync(j.scenarioFile)) throw new CtlabError('SCENARIO', `scenario file ${j.scenarioFile} does not exist`);
    w.hostFile('job/scenario.yaml', j.scenarioFile, 0o644);
  }
  const dirs = new Set<string>();
  for (const [name, host] of Object.entries(j.files ?? {})) {
    if (!existsSync(host)) throw new CtlabError('SCENARIO', `${host} does not exist`);
    // A nested name (a scenario's rules/ufw.rules) needs its folders first.
    const parts = name.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = `job/${parts.slice(0, i).join('/')}`;
      if (!dirs.has(d)) w.dir(d);
      dirs.add(d);
    }
    w.hostFile(`job/${name}`, host, 0o644);
  }
  const env = Object.entries(j.env)
    .map(([k, v]) => `${k}=${shq(v)}`)
    .join('\n');
  w.file('job/env', `${env}\nCTLAB_VM_MODULES=${shq(j.modules.join(' '))}\nset -- ${j.args.map(shq).join(' ')}\n`);
  w.dir('opt');
  w.dir('opt/ctlab');
  w.hostFile('opt/ctlab/package.json', join(root, 'package.json'));
  const skip = (r: string) => !r.endsWith('.map') && !r.endsWith('.d.ts');
  for (const d of ['bin', 'dist', 'lab']) {
    if (!existsSync(join(root, d)) || !statSync(join(root, d)).isDirectory()) {
      throw new CtlabError('HOST', `${join(root, d)} is missing`, {
        hint: d === 'dist' ? 'run npm run build first' : 'is this a complete ctlab checkout?',
      });
    }
    w.dir(`opt/ctlab/${d}`);
    // dist/test and dist/bench are not needed in the guest.
    w.tree(join(root, d), `opt/ctlab/${d}`, (r) => skip(r) && !(d === 'dist' && /^(test|bench)(\/|$)/.test(r)));
  }
  return w.finish();
}
