// The namespace runtime: each lab node is a plain Linux network namespace (plus its own mount,
// UTS and IPC namespaces) held by one "holder" process, with no Docker anywhere, so the lab also
// runs inside a small VM. Same Runtime interface and the same veth code (link.ts) as Docker.
//
//   holder  = `unshare --net --mount --uts --ipc --propagation private -- sh -c <holderScript>`:
//             builds a private root (tmpfs; host directories bound read-only; private /etc copy,
//             /run, /tmp, /srv, nginx's dirs; the staged /opt/ctlab), pivots into it, sets the
//             node's sysctls, brings lo up, then sleeps. Its pid is the node's pid.
//   exec    = `nsenter --target <pid> --net --mount --uts --ipc --root --wd -- <cmd>` with a clean env.
//   files   = through exec (cat), never through /proc/<pid>/root, whose absolute symlinks would
//             resolve on the host.
//   identity: every holder and exec'd process carries CTLAB_RUN=<runId> and CTLAB_NODE=<name> in
//             its environment; destroy() and cleanNetnsLab() find them in /proc/*/environ, then
//             kill every process in those network namespaces (nginx workers, daemons) and nothing
//             in the host's. Veths die with their namespaces. State: /run/ctlab-netns/<runId>/.
// Host programs come from the host (checkNetnsHost() names what is missing and the apt package).

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants as fsc, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { constants as osc } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_DIR, BUNDLES } from '../bundles.js';
import { CtlabError } from '../errors.js';
import { assertNodeName, assertRunId, newRunId } from './labels.js';
import { NODE_DEFAULT_SYSCTLS, wireLink } from './link.js';
import type { ExecOptions, ExecResult, LabNode, LinkSpec, NodeSpec, Runtime } from './types.js';

/** Where every run keeps its state (on the host's /run: gone after a reboot, like the namespaces). */
export const NETNS_STATE_ROOT = '/run/ctlab-netns';
export const ENV_RUN = 'CTLAB_RUN';
export const ENV_NODE = 'CTLAB_NODE';

/** A host program the namespace runtime needs, and the Debian package that provides it. */
export interface HostProgram { program: string; pkg: string; why: string }

export const NETNS_HOST_PROGRAMS: readonly HostProgram[] = [
  { program: 'unshare', pkg: 'util-linux', why: 'creates the node namespaces' },
  { program: 'nsenter', pkg: 'util-linux', why: 'runs commands in a node' },
  { program: 'mount', pkg: 'mount', why: "builds each node's private filesystem view" },
  { program: 'sh', pkg: 'dash', why: 'node set-up scripts' },
  { program: 'ip', pkg: 'iproute2', why: 'veths, addresses, routes' },
  { program: 'tc', pkg: 'iproute2', why: 'path shaping (HTB)' },
  { program: 'nstat', pkg: 'iproute2', why: 'TCP counters' },
  { program: 'ethtool', pkg: 'ethtool', why: 'offloads off' },
  { program: 'sysctl', pkg: 'procps', why: 'node sysctls' },
  { program: 'iptables-nft', pkg: 'iptables', why: 'firewall (nft backend), NFQUEUE rule' },
  { program: 'iptables-legacy', pkg: 'iptables', why: 'firewall (legacy backend)' },
  { program: 'conntrack', pkg: 'conntrack', why: 'conntrack -S / -L' },
  { program: 'tcpdump', pkg: 'tcpdump', why: 'captures' },
  { program: 'node', pkg: 'nodejs', why: 'repository, middlebox and harvester' },
  { program: 'nginx', pkg: 'nginx-light', why: 'the web server' },
];

/** Programs needed only to build the NFQUEUE addon on the host (not when an optRoot is given). */
export const NETNS_BUILD_PROGRAMS: readonly HostProgram[] = [
  { program: 'gcc', pkg: 'gcc', why: 'builds the NFQUEUE addon' },
];

const STD_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of `program` on the host (PATH, then the standard sbin/bin dirs), or undefined. */
export function findProgram(program: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  const dirs = [...pathEnv.split(delimiter).filter((d) => d.startsWith('/')), ...STD_PATH];
  for (const d of dirs) {
    const p = join(d, program);
    try {
      accessSync(p, fsc.X_OK);
      return p;
    } catch { /* next */ }
  }
  return undefined;
}

export interface HostCheck {
  /** Resolved absolute paths of the programs found. */
  programs: Record<string, string>;
  missing: HostProgram[];
}

/** Which of `programs` are missing (pure apart from the file system look-ups; used by checkNetnsHost). */
export function missingPrograms(programs: readonly HostProgram[], pathEnv?: string): HostCheck {
  const found: Record<string, string> = {};
  const missing: HostProgram[] = [];
  for (const p of programs) {
    const at = findProgram(p.program, pathEnv);
    if (at) found[p.program] = at;
    else missing.push(p);
  }
  return { programs: found, missing };
}

/** One line naming what is missing and the apt command that installs it. */
export function missingMessage(missing: HostProgram[]): { message: string; hint: string } {
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  return {
    message: `the namespace runtime needs host programs that are missing: ${missing.map((m) => `${m.program} (${m.pkg}: ${m.why})`).join(', ')}`,
    hint: `apt-get install -y ${pkgs.join(' ')}`,
  };
}

/**
 * Everything the namespace runtime needs from the host: Linux, root, the programs, conntrack and
 * NFQUEUE in the kernel. Throws CtlabError('HOST' or 'KERNEL') naming what is missing.
 */
export function checkNetnsHost(o: { build?: boolean } = {}): HostCheck {
  if (process.platform !== 'linux') throw new CtlabError('HOST', `the namespace runtime needs Linux, not ${process.platform}`);
  if (process.getuid?.() !== 0) {
    throw new CtlabError('HOST', 'the namespace runtime needs root (it creates network and mount namespaces)', { hint: 'run as root, e.g. `sudo npx ctlab run ... --runtime netns`' });
  }
  const check = missingPrograms([...NETNS_HOST_PROGRAMS, ...(o.build ? NETNS_BUILD_PROGRAMS : [])]);
  if (check.missing.length) {
    const m = missingMessage(check.missing);
    throw new CtlabError('HOST', m.message, { hint: m.hint });
  }
  const kernelMissing: string[] = [];
  if (!existsSync('/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal')) kernelMissing.push('connection tracking (nf_conntrack)');
  if (!existsSync('/proc/net/netfilter/nfnetlink_queue')) kernelMissing.push('NFQUEUE (nfnetlink_queue)');
  if (kernelMissing.length) {
    throw new CtlabError('KERNEL', `the kernel lacks ${kernelMissing.join(' and ')}`, {
      hint: '`modprobe nf_conntrack nfnetlink_queue`, or a kernel built with CONFIG_NF_CONNTRACK and CONFIG_NETFILTER_NETLINK_QUEUE',
    });
  }
  return check;
}

/** Quote one word for sh. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

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
  if (!/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/.test(p.hostname)) throw new CtlabError('SCENARIO', `invalid host name ${JSON.stringify(p.hostname)}`);
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

/** `KEY=value` pairs of a NUL-separated /proc/<pid>/environ. */
export function parseEnviron(buf: Buffer | string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of buf.toString('utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

interface ProcInfo { pid: number; netns: string; run?: string; node?: string }

/** Every process on the host with its network namespace and its ctlab identity (if any). */
function scanProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    let netns: string;
    try {
      netns = readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      continue; // gone, a zombie or a kernel thread
    }
    let env: Record<string, string> = {};
    try {
      env = parseEnviron(readFileSync(`/proc/${pid}/environ`));
    } catch { /* gone */ }
    out.push({ pid, netns, run: env[ENV_RUN], node: env[ENV_NODE] });
  }
  return out;
}

function hostNetnses(): Set<string> {
  const s = new Set<string>();
  for (const p of ['/proc/self/ns/net', '/proc/1/ns/net']) {
    try { s.add(readlinkSync(p)); } catch { /* no /proc/1 access: self is enough */ }
  }
  return s;
}

export interface NetnsVictim { pid: number; runId: string; node?: string }

/**
 * The processes of the matching runs (and nodes): those carrying the identity, and every process
 * in their network namespaces. Never a process in the host's network namespace.
 */
export function findLabProcesses(match: (run: string, node?: string) => boolean): { victims: number[]; nodes: NetnsVictim[]; netnses: Set<string> } {
  const procs = scanProcesses();
  const host = hostNetnses();
  const netnses = new Set<string>();
  const nodes: NetnsVictim[] = [];
  for (const p of procs) {
    if (p.run === undefined || !match(p.run, p.node) || host.has(p.netns)) continue;
    netnses.add(p.netns);
  }
  const victims: number[] = [];
  for (const p of procs) {
    if (p.pid === process.pid || host.has(p.netns) || !netnses.has(p.netns)) continue;
    victims.push(p.pid);
    if (p.run !== undefined && match(p.run, p.node)) nodes.push({ pid: p.pid, runId: p.run, node: p.node });
  }
  return { victims, nodes, netnses };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGKILL every process of the matching runs/nodes and wait until their namespaces are empty. */
async function killLab(match: (run: string, node?: string) => boolean, timeoutMs = 10_000): Promise<{ killed: number; nodes: NetnsVictim[] }> {
  const first = findLabProcesses(match);
  const killed = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  let round = first;
  for (;;) {
    for (const pid of round.victims) {
      try { process.kill(pid, 'SIGKILL'); killed.add(pid); } catch { /* gone */ }
    }
    await sleep(round.victims.length ? 30 : 0);
    // Processes in the namespaces, found by namespace (a daemon that dropped the environment too).
    const left = scanProcesses().filter((p) => round.netnses.has(p.netns) || first.netnses.has(p.netns));
    const again = findLabProcesses(match);
    if (left.length === 0 && again.victims.length === 0) break;
    if (Date.now() > deadline) {
      throw new CtlabError('LAB', `processes of the lab are still alive after SIGKILL: ${[...left.map((p) => p.pid), ...again.victims].join(', ')}`, {
        hint: 'a process in uninterruptible sleep (D state); see `ps -o pid,stat,cmd -p <pids>`',
      });
    }
    round = { victims: [...left.map((p) => p.pid), ...again.victims], nodes: [], netnses: new Set([...round.netnses, ...again.netnses]) };
  }
  return { killed: killed.size, nodes: first.nodes };
}

export interface NetnsCleanResult {
  /** Processes killed (holders, exec'd processes, daemons in the namespaces). */
  processes: number;
  /** Distinct (run, node) pairs that had processes. */
  nodes: { runId: string; node: string }[];
  /** State directories removed. */
  stateDirs: string[];
}

/**
 * Remove what namespace labs left (after a SIGKILLed ctlab, say): every process carrying
 * CTLAB_RUN=<runId> (any run when runId is undefined), every process in their network
 * namespaces, and the state directories. Nothing else is touched.
 */
export async function cleanNetnsLab(o: { runId?: string } = {}): Promise<NetnsCleanResult> {
  const runId = o.runId === undefined ? undefined : assertRunId(o.runId);
  const r = await killLab((run) => runId === undefined || run === runId);
  const pairs = new Map<string, { runId: string; node: string }>();
  for (const n of r.nodes) if (n.node) pairs.set(`${n.runId}/${n.node}`, { runId: n.runId, node: n.node });
  const stateDirs: string[] = [];
  const runs = runId !== undefined ? [runId] : (existsSync(NETNS_STATE_ROOT) ? readdirSync(NETNS_STATE_ROOT) : []);
  for (const id of runs) {
    const dir = join(NETNS_STATE_ROOT, id);
    if (!existsSync(dir)) continue;
    await rm(dir, { recursive: true, force: true });
    stateDirs.push(dir);
  }
  return { processes: r.killed, nodes: [...pairs.values()], stateDirs };
}

// ---------------------------------------------------------------------------------------------
// /opt/ctlab: what the images carry, staged from the repository (or given ready-made).

/** The repository root (package.json named ctlab) above this file, or undefined. */
export function findCtlabRoot(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'ctlab') return dir;
      } catch { /* keep looking */ }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Files an optRoot must have (relative paths), like the images' /opt/ctlab. */
export const OPT_ROOT_FILES = ['package.json', BUNDLES.middlebox.out, BUNDLES.harvester.out, BUNDLES.repository.out, 'native/nfqueue.node', 'lab/server/firewall.sh', 'lab/server/nginx.conf'] as const;

export function assertOptRoot(dir: string): void {
  const missing = OPT_ROOT_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) {
    throw new CtlabError('HOST', `${dir} is not a ctlab opt root: missing ${missing.join(', ')}`, {
      hint: 'stage one with stageOptRoot({ dest }) (needs `npm run build` and the NFQUEUE addon), or leave optRoot out to stage from the repository',
    });
  }
}

/**
 * Build the NFQUEUE N-API addon on the host with lab/middlebox/native/build.sh, cached by the
 * hash of its sources under <repo>/.cache/ctlab/native/ (N-API is ABI-stable across Node 18/20).
 */
export async function ensureAddon(o: { repoRoot?: string; log?: (m: string) => void } = {}): Promise<string> {
  // A prebuilt addon (the VM guest carries the host's; it has no compiler).
  const given = process.env.CTLAB_NFQUEUE_ADDON;
  if (given) {
    if (!existsSync(given)) throw new CtlabError('HOST', `CTLAB_NFQUEUE_ADDON names ${given}, which does not exist`, { hint: 'unset it to build the addon from lab/middlebox/native' });
    return given;
  }
  const root = o.repoRoot ?? findCtlabRoot();
  if (!root) throw new CtlabError('HOST', 'cannot find the ctlab repository to build the NFQUEUE addon from', { hint: 'pass optRoot with native/nfqueue.node' });
  const src = join(root, 'lab', 'middlebox', 'native');
  const h = createHash('sha256');
  for (const f of ['nfqueue.c', 'build.sh']) h.update(await readFile(join(src, f)));
  const dir = join(root, '.cache', 'ctlab', 'native', h.digest('hex').slice(0, 16));
  const file = join(dir, 'nfqueue.node');
  if (existsSync(file)) return file;
  const gcc = missingPrograms(NETNS_BUILD_PROGRAMS);
  if (gcc.missing.length) {
    const m = missingMessage(gcc.missing);
    throw new CtlabError('HOST', m.message, { hint: `${m.hint} libnetfilter-queue-dev libmnl-dev libnode-dev` });
  }
  await mkdir(dirname(dir), { recursive: true });
  const tmp = await mkdtemp(join(dirname(dir), 'build-'));
  o.log?.('building the NFQUEUE addon on the host');
  const r = spawnSync('sh', [join(src, 'build.sh'), tmp], { encoding: 'utf8' });
  if (r.status !== 0) {
    await rm(tmp, { recursive: true, force: true });
    throw new CtlabError('HOST', 'building the NFQUEUE addon on the host failed', {
      command: ['sh', join(src, 'build.sh'), tmp], exitCode: r.status, stderr: r.stderr,
      hint: 'apt-get install -y gcc libc6-dev libnetfilter-queue-dev libmnl-dev libnode-dev',
    });
  }
  await mkdir(dir, { recursive: true });
  await rename(join(tmp, 'nfqueue.node'), file).catch(async (e) => { if (!existsSync(file)) throw e; });
  await rm(tmp, { recursive: true, force: true });
  return file;
}

/**
 * Lay out `dest` like the images' /opt/ctlab: package.json (ESM), dist/bundle/ (the in-lab programs'
 * bundles, a copy, so a rebuild during a run changes nothing), native/nfqueue.node,
 * lab/server/{firewall.sh,nginx.conf}.
 */
export async function stageOptRoot(o: { dest: string; repoRoot?: string; addon?: string; log?: (m: string) => void }): Promise<string> {
  const root = o.repoRoot ?? findCtlabRoot();
  if (!root) throw new CtlabError('HOST', 'cannot find the ctlab repository to stage /opt/ctlab from', { hint: 'pass optRoot' });
  if (!Object.values(BUNDLES).every((b) => existsSync(join(root, b.out)))) {
    throw new CtlabError('HOST', `${join(root, BUNDLE_DIR)} is missing or incomplete`, { hint: 'run `npm run build` first' });
  }
  const addon = o.addon ?? (await ensureAddon({ repoRoot: root, log: o.log }));
  await mkdir(join(o.dest, 'native'), { recursive: true });
  await mkdir(join(o.dest, 'lab', 'server'), { recursive: true });
  await writeFile(join(o.dest, 'package.json'), '{"type":"module","private":true}\n');
  await cp(join(root, BUNDLE_DIR), join(o.dest, BUNDLE_DIR), { recursive: true });
  await cp(addon, join(o.dest, 'native', 'nfqueue.node'));
  await cp(join(root, 'lab', 'server', 'firewall.sh'), join(o.dest, 'lab', 'server', 'firewall.sh'));
  await cp(join(root, 'lab', 'server', 'nginx.conf'), join(o.dest, 'lab', 'server', 'nginx.conf'));
  assertOptRoot(o.dest);
  return o.dest;
}

// ---------------------------------------------------------------------------------------------

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number | null {
  if (code !== null) return code;
  if (signal) return 128 + (osc.signals[signal] ?? 0);
  return null;
}

function netnsOf(pid: number): string | undefined {
  try { return readlinkSync(`/proc/${pid}/ns/net`); } catch { return undefined; }
}

interface RawResult { exitCode: number | null; stdout: Buffer; stderr: Buffer; timedOut: boolean; durationMs: number }

export class NetnsNode implements LabNode {
  constructor(
    readonly spec: NodeSpec,
    readonly id: string,
    readonly pid: number,
    /** The node's network namespace ("net:[inode]"): checked before every exec so a reused pid is never entered. */
    readonly netns: string,
    private readonly runId: string,
    private readonly tools: { nsenter: string; path: string },
  ) {}

  private env(): NodeJS.ProcessEnv {
    return { PATH: this.tools.path, HOME: '/root', LANG: 'C.UTF-8', ...this.spec.env, [ENV_RUN]: this.runId, [ENV_NODE]: this.spec.name };
  }

  private argv(cmd: string[]): string[] {
    return ['--target', String(this.pid), '--net', '--mount', '--uts', '--ipc', '--root', '--wd', '--', ...cmd];
  }

  private assertAlive(): void {
    if (netnsOf(this.pid) !== this.netns) {
      throw new CtlabError('LAB', `node ${this.spec.name} of run ${this.runId} is gone (holder ${this.pid} exited)`, { hint: 'it was removed or killed; start the lab again' });
    }
  }

  /** Run with raw output; the process group is killed on timeout. */
  private run(cmd: string[], opts: { timeoutMs?: number; stdin?: Buffer | string } = {}): Promise<RawResult> {
    this.assertAlive();
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(this.tools.nsenter, this.argv(cmd), {
        env: this.env(), detached: true, stdio: [opts.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (c: Buffer) => out.push(c));
      child.stderr!.on('data', (c: Buffer) => err.push(c));
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      let killer: NodeJS.Timeout | undefined;
      let grace: NodeJS.Timeout | undefined;
      const group = (sig: NodeJS.Signals) => { try { process.kill(-child.pid!, sig); } catch { /* gone */ } };
      if (opts.timeoutMs) {
        // Like timeout(1) in the Docker runtime: TERM the whole process group, KILL 2 s later.
        timer = setTimeout(() => {
          timedOut = true;
          group('SIGTERM');
          killer = setTimeout(() => group('SIGKILL'), 2000);
        }, Math.max(1, opts.timeoutMs));
      }
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (done) return;
        done = true;
        for (const t of [timer, killer, grace]) if (t) clearTimeout(t);
        resolve({ exitCode: timedOut ? 124 : exitCodeOf(code, signal), stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut, durationMs: Date.now() - t0 });
      };
      child.on('error', (e) => {
        if (done) return;
        done = true;
        for (const t of [timer, killer, grace]) if (t) clearTimeout(t);
        reject(new CtlabError('HOST', `cannot run nsenter for node ${this.spec.name}: ${e.message}`, { cause: e, hint: 'apt-get install -y util-linux' }));
      });
      child.on('close', finish);
      // A daemon that keeps the pipes open (it forked and kept stdout) must not hang the exec.
      child.on('exit', (code, signal) => {
        grace = setTimeout(() => { child.stdout!.destroy(); child.stderr!.destroy(); finish(code, signal); }, 2000);
      });
      if (opts.stdin !== undefined) {
        child.stdin!.on('error', () => { /* the command did not read it all: its exit code tells */ });
        child.stdin!.end(opts.stdin);
      }
    });
  }

  async exec(cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const node = this.spec.name;
    const base = { command: cmd, node };
    if (opts.detach) {
      this.assertAlive();
      const t0 = Date.now();
      const child = spawn(this.tools.nsenter, this.argv(cmd), { env: this.env(), detached: true, stdio: 'ignore' });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (e) => reject(new CtlabError('HOST', `cannot run nsenter for node ${node}: ${e.message}`, { cause: e })));
      });
      child.unref();
      return { ...base, exitCode: null, stdout: '', stderr: '', timedOut: false, durationMs: Date.now() - t0 };
    }
    const r = await this.run(cmd, { timeoutMs: opts.timeoutMs, stdin: opts.stdin });
    const result: ExecResult = { ...base, exitCode: r.exitCode, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), timedOut: r.timedOut, durationMs: r.durationMs };
    if ((r.timedOut || r.exitCode !== 0) && opts.reject !== false) {
      throw new CtlabError('EXEC', r.timedOut
        ? `\`${cmd.join(' ')}\` in node ${node} timed out after ${opts.timeoutMs} ms`
        : `\`${cmd.join(' ')}\` in node ${node} failed with exit code ${r.exitCode}${result.stderr.trim() ? `: ${result.stderr.trim().split('\n').pop()}` : ''}`, {
        command: cmd, exitCode: r.exitCode, timedOut: r.timedOut, stdout: result.stdout, stderr: result.stderr,
      });
    }
    return result;
  }

  async readFile(path: string): Promise<Buffer> {
    const r = await this.run(['sh', '-c', 'if [ -f "$1" ]; then exec cat -- "$1"; elif [ -e "$1" ]; then exit 3; else exit 2; fi', 'sh', path], { timeoutMs: 60_000 });
    if (r.exitCode === 0) return r.stdout;
    if (r.exitCode === 2) throw new CtlabError('EXEC', `node ${this.spec.name} has no file ${path}`);
    if (r.exitCode === 3) throw new CtlabError('EXEC', `${path} in node ${this.spec.name} is not a regular file`);
    throw new CtlabError('EXEC', `reading ${path} from node ${this.spec.name} failed (exit ${r.exitCode})`, { stderr: r.stderr.toString('utf8'), timedOut: r.timedOut });
  }

  async writeFile(path: string, content: Buffer | string): Promise<void> {
    if (!path.startsWith('/')) throw new CtlabError('EXEC', `writeFile needs an absolute path, not ${path}`);
    const r = await this.run(['sh', '-c', '[ -d "$(dirname -- "$1")" ] || exit 2; cat > "$1"', 'sh', path], { timeoutMs: 60_000, stdin: content });
    if (r.exitCode === 0) return;
    if (r.exitCode === 2) throw new CtlabError('EXEC', `node ${this.spec.name} has no directory ${dirname(path)}`);
    throw new CtlabError('EXEC', `writing ${path} into node ${this.spec.name} failed (exit ${r.exitCode})`, { stderr: r.stderr.toString('utf8'), timedOut: r.timedOut });
  }
}

export interface NetnsRuntimeOptions {
  /** Default: a fresh id (labels.newRunId()). */
  runId?: string;
  /**
   * A directory laid out like the images' /opt/ctlab (package.json, dist/, native/nfqueue.node,
   * lab/server/{firewall.sh,nginx.conf}; see stageOptRoot), bound read-only into every node.
   * Default: staged from this repository into the run's state directory (builds the addon once).
   */
  optRoot?: string;
  /** Progress lines (addon build). */
  log?: (m: string) => void;
}

export class NetnsRuntime implements Runtime {
  readonly kind = 'netns' as const;
  private readonly nodes = new Map<string, NetnsNode>();
  private destroyed = false;

  private constructor(
    readonly runId: string,
    /** /run/ctlab-netns/<runId> */
    readonly stateDir: string,
    readonly optRoot: string,
    private readonly programs: Record<string, string>,
  ) {}

  /** Check the host (root, programs, kernel), stage /opt/ctlab unless given, and make a runtime for one run. */
  static async create(opts: NetnsRuntimeOptions = {}): Promise<NetnsRuntime> {
    const runId = assertRunId(opts.runId ?? newRunId());
    const check = checkNetnsHost();
    const stateDir = join(NETNS_STATE_ROOT, runId);
    if (existsSync(stateDir)) {
      throw new CtlabError('LAB', `run ${runId} already has namespace state in ${stateDir} (name clash)`, { hint: `remove the old lab with \`ctlab clean --run ${runId}\`, or start a new run id` });
    }
    await mkdir(join(stateDir, 'nodes'), { recursive: true });
    try {
      let optRoot = opts.optRoot;
      if (optRoot === undefined) optRoot = await stageOptRoot({ dest: join(stateDir, 'opt'), log: opts.log });
      else assertOptRoot(optRoot);
      return new NetnsRuntime(runId, stateDir, optRoot, check.programs);
    } catch (e) {
      await rm(stateDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** A node created by this runtime. */
  node(name: string): NetnsNode {
    const n = this.nodes.get(name);
    if (!n) throw new CtlabError('LAB', `no node ${name} in run ${this.runId}`);
    return n;
  }

  listNodes(): NetnsNode[] { return [...this.nodes.values()]; }

  private pathInNodes(): string {
    // The host's node may live outside the standard dirs (e.g. /opt/node/bin): keep its dir.
    const nodeDir = dirname(this.programs.node ?? '/usr/bin/node');
    return [...(STD_PATH.includes(nodeDir) ? [] : [nodeDir]), ...STD_PATH].join(':');
  }

  async createNode(spec: NodeSpec): Promise<NetnsNode> {
    assertNodeName(spec.name);
    if (this.destroyed) throw new CtlabError('LAB', `run ${this.runId} was destroyed`);
    if (this.nodes.has(spec.name)) throw new CtlabError('LAB', `node ${spec.name} already exists in run ${this.runId}`);
    const dir = join(this.stateDir, 'nodes', spec.name);
    const root = join(dir, 'root');
    try {
      await mkdir(root, { recursive: false }).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') { await mkdir(dir, { recursive: true }); await mkdir(root); return; }
        throw e;
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new CtlabError('LAB', `node ${spec.name} already exists in run ${this.runId} (name clash)`, { hint: `\`ctlab clean --run ${this.runId}\`` });
      throw e;
    }
    const script = holderScript({ root, optRoot: this.optRoot, hostname: spec.name, sysctls: { ...NODE_DEFAULT_SYSCTLS, ...spec.sysctls } });
    const env = { PATH: this.pathInNodes(), HOME: '/root', LANG: 'C.UTF-8', ...spec.env, [ENV_RUN]: this.runId, [ENV_NODE]: spec.name };
    // detached: its own session, so Ctrl-C in the terminal reaches ctlab (which cleans up), not the holders.
    const child = spawn(this.programs.unshare!, ['--net', '--mount', '--uts', '--ipc', '--propagation', 'private', '--', 'sh', '-c', script], {
      env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], cwd: '/',
    });
    const pid = child.pid;
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    const outcome = await new Promise<'ready' | 'exit' | 'timeout' | 'error'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 30_000);
      child.stdout!.on('data', () => { if (/^ready$/m.test(stdout)) { clearTimeout(timer); resolve('ready'); } });
      child.on('exit', () => { clearTimeout(timer); resolve('exit'); });
      child.on('error', () => { clearTimeout(timer); resolve('error'); });
    });
    child.stdout!.destroy();
    child.stderr!.destroy();
    const netns = pid !== undefined ? netnsOf(pid) : undefined;
    const hostNs = hostNetnses();
    if (outcome !== 'ready' || pid === undefined || netns === undefined || hostNs.has(netns)) {
      if (pid !== undefined) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      const msg = stderr.trim().split('\n').filter(Boolean).pop() ?? (outcome === 'timeout' ? 'no answer within 30 s' : `exit ${child.exitCode ?? child.signalCode}`);
      if (/sysctl/.test(stderr)) {
        throw new CtlabError('KERNEL', `node ${spec.name} could not start: ${msg}`, {
          stderr, hint: 'a sysctl in the scenario does not exist in this kernel or is not per network namespace',
        });
      }
      throw new CtlabError('LAB', `node ${spec.name} could not start: ${msg}`, { stderr, command: ['unshare', '--net', '--mount', '--uts', '--ipc', '--propagation', 'private', '--', 'sh', '-c', '<holder script>'] });
    }
    child.unref();
    await writeFile(join(dir, 'holder.json'), JSON.stringify({ runId: this.runId, node: spec.name, pid, netns }) + '\n');
    const node = new NetnsNode(spec, `ctlab-${this.runId}-${spec.name}`, pid, netns, this.runId, { nsenter: this.programs.nsenter!, path: this.pathInNodes() });
    this.nodes.set(spec.name, node);
    return node;
  }

  async link(spec: LinkSpec): Promise<void> {
    const ip = this.programs.ip!;
    // Both ends are created straight in the nodes' namespaces: no end ever exists on the host.
    await wireLink(spec, this.node(spec.a.node), this.node(spec.b.node), async (cmd, what) => {
      const r = spawnSync(ip, cmd.slice(1), { encoding: 'utf8', timeout: 10_000 });
      if (r.status !== 0) {
        const err = (r.stderr || r.error?.message || '').trim();
        throw new CtlabError('LAB', `${what} failed: ${err || `exit ${r.status}`}`, {
          command: cmd, exitCode: r.status,
          hint: /File exists/.test(err) ? 'an interface with that name already exists in one of the nodes' : 'the node may have stopped; check `ctlab clean`',
        });
      }
    });
  }

  async removeNode(name: string): Promise<void> {
    const n = this.nodes.get(name);
    this.nodes.delete(name);
    await killLab((run, node) => run === this.runId && node === name);
    // Anything left in the namespace without the identity (a daemon that cleared its environment).
    if (n) await killNetns(n.netns);
    await rm(join(this.stateDir, 'nodes', name), { recursive: true, force: true });
  }

  /** Kill every process of this run (and in its namespaces); remove the state directory. Idempotent. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    const netnses = [...this.nodes.values()].map((n) => n.netns);
    this.nodes.clear();
    await killLab((run) => run === this.runId);
    for (const ns of netnses) await killNetns(ns);
    await rm(this.stateDir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}

/** SIGKILL every process in one network namespace (never the host's) and wait until none is left. */
async function killNetns(netns: string, timeoutMs = 10_000): Promise<void> {
  if (hostNetnses().has(netns)) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = scanProcesses().filter((p) => p.netns === netns && p.pid !== process.pid);
    if (!left.length) return;
    for (const p of left) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    if (Date.now() > deadline) throw new CtlabError('LAB', `processes ${left.map((p) => p.pid).join(', ')} in ${netns} survive SIGKILL`);
    await sleep(30);
  }
}
