// The scenario's sysctls against the kernel the lab runs on, before anything starts: a throwaway
// network namespace (`unshare -n`, as root) shows exactly the per-namespace sysctls (its
// /proc/sys/net, cached per kernel release), and each name=value of the scenario is written there
// first, so a value the kernel refuses fails with the kernel's own error instead of a node that
// will not start. In a `--kernel` VM the guest's `ctlab run` does the same on the guest's kernel.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CtlabError } from '../errors.js';
import { loadScenario, type LoadOptions } from './load.js';
import type { Scenario } from './model.js';
import { sysctlKey, type KernelSysctls } from './sysctls.js';

/** Every name=value a scenario sets on some node (server, client, variants, matrix server profiles). */
export function scenarioSysctls(s: Scenario): Array<[string, string]> {
  const maps = [
    s.server.sysctls,
    s.client?.sysctls ?? {},
    ...s.variants.flatMap((v) => [v.sysctls, v.client?.sysctls ?? {}]),
    ...(s.matrix?.servers.map((x) => x.sysctls) ?? []),
  ];
  const seen = new Map<string, [string, string]>();
  for (const m of maps) for (const [k, v] of Object.entries(m)) seen.set(sysctlKey(k, v), [k, v]);
  return [...seen.values()];
}

// Runs inside the throwaway namespace (node -e): lists /proc/sys/net unless told not to, reads the
// congestion controls on offer, writes each pair and reports the errno of a refusal.
const PROBE = `
const fs = require('fs');
const { list, pairs } = JSON.parse(process.argv[1]);
const names = [];
const walk = (dir, prefix) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = dir + '/' + e.name;
    if (e.isDirectory()) walk(p, prefix + e.name + '.');
    else names.push(prefix + e.name);
  }
};
if (list) walk('/proc/sys/net', 'net.');
let congestion = '';
try { congestion = fs.readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim(); } catch {}
const refused = {};
for (const [k, v] of pairs) {
  try { fs.writeFileSync('/proc/sys/' + k.split('.').join('/'), v); }
  catch (e) { refused[k + '=' + v] = e.code || String(e.message); }
}
process.stdout.write(JSON.stringify({ names, congestion, refused }));
`;

/** errno code → the words `sysctl -w` prints for it. */
const ERRNO_TEXT: Record<string, string> = {
  EINVAL: 'Invalid argument',
  EACCES: 'Permission denied (read-only in a network namespace)',
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ERANGE: 'Numerical result out of range',
  EBUSY: 'Device or resource busy',
  EOPNOTSUPP: 'Operation not supported',
};

function cacheFile(release: string): string {
  const base = process.env.CTLAB_CACHE || join(process.env.HOME || homedir(), '.cache', 'ctlab');
  return join(base, 'sysctls', `${release.replace(/[^\w.+-]/g, '_')}.json`);
}

function readCache(release: string): string[] | undefined {
  try {
    const names = JSON.parse(readFileSync(cacheFile(release), 'utf8')) as unknown;
    return Array.isArray(names) && names.every((n) => typeof n === 'string') ? names : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(release: string, names: string[]): void {
  try {
    const f = cacheFile(release);
    mkdirSync(join(f, '..'), { recursive: true });
    writeFileSync(`${f}.tmp`, JSON.stringify(names));
    renameSync(`${f}.tmp`, f);
  } catch {
    /* a cache that cannot be written only costs a listing next time */
  }
}

/**
 * Probe this machine's kernel: its per-namespace sysctls and what it says to each pair. Needs root
 * (a network namespace of the host's user namespace: the one the lab's nodes live in).
 */
export async function probeKernelSysctls(pairs: Array<[string, string]>): Promise<KernelSysctls> {
  const release = (await execa('uname', ['-r'])).stdout.trim();
  const cached = readCache(release);
  // conntrack's sysctls exist once its module is loaded (the lab needs it loaded anyway): for the
  // listing, and for writing a net.netfilter pair when the names come from the cache.
  if (!cached || pairs.some(([k]) => k.startsWith('net.netfilter.')))
    await execa('modprobe', ['-q', 'nf_conntrack'], { reject: false });
  const r = await execa('unshare', ['-n', process.execPath, '-e', PROBE, JSON.stringify({ list: !cached, pairs })], {
    reject: false,
  });
  if (r.exitCode !== 0)
    throw new CtlabError(
      'LAB',
      `cannot check the sysctls in a throwaway network namespace: ${r.stderr.trim().split('\n')[0] || `unshare exited ${r.exitCode}`}`,
      { hint: 'checking sysctls against the kernel needs root and unshare (util-linux)' },
    );
  const out = JSON.parse(r.stdout) as { names: string[]; congestion: string; refused: Record<string, string> };
  const names = cached ?? out.names;
  if (!cached && names.includes('net.netfilter.nf_conntrack_tcp_be_liberal')) writeCache(release, names);
  return {
    release,
    names: new Set(names),
    congestion: out.congestion.split(/\s+/).filter(Boolean),
    refused: new Map(Object.entries(out.refused).map(([k, code]) => [k, ERRNO_TEXT[code] ?? code])),
  };
}

/**
 * Load the scenario and check its sysctls on this machine's kernel (exit 2 with file:line on a
 * problem). Not root: the kernel check is skipped with a warning (`warn`), and a bad sysctl fails
 * when the lab's node starts (exit 3). Returns the model and where the check ran (undefined: not run).
 */
export async function loadScenarioOnKernel(
  path: string,
  warn: (m: string) => void,
): Promise<{ scenario: Scenario; kernel?: string }> {
  return checkOnKernel((o) => loadScenario(path, o), warn);
}

/**
 * The same for any scenario source (a file, an object built in code): `load` validates it, and
 * again with this kernel's answers when it sets sysctls.
 */
export async function checkOnKernel(
  load: (o: LoadOptions) => Scenario,
  warn: (m: string) => void,
): Promise<{ scenario: Scenario; kernel?: string }> {
  const s = load({});
  const pairs = scenarioSysctls(s);
  if (pairs.length === 0) return { scenario: s };
  if (process.getuid?.() !== 0) {
    warn('sysctls not checked against the kernel (needs root for a throwaway network namespace)');
    return { scenario: s };
  }
  const kernel = await probeKernelSysctls(pairs);
  return { scenario: load({ kernel }), kernel: kernel.release };
}
