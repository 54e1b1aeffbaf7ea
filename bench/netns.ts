// Three network namespaces on the host for the middlebox bench and integration tests:
//   <prefix>client (198.18.1.2) <-veth-> <prefix>mb (198.18.1.1 | 198.18.2.1) <-veth-> <prefix>server (198.18.2.2)
// Offloads off (the middlebox sees real MTU-sized segments, as in the lab), MTU 1500,
// mb forwards; optionally all forwarded TCP goes to NFQUEUE (no --queue-bypass: fail closed).
// Needs root, iproute2, iptables, ethtool. Not used inside the lab images.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../src/util/repo-root.js';

export const CLIENT_IP = '198.18.1.2';
export const SERVER_IP = '198.18.2.2';

export interface TopoOptions {
  /** NFQUEUE number used by forwardToQueue(). Default 0. */
  queue?: number;
  mtu?: number;
  /** The reference server firewall: INVALID -> counted chain INV (NFLOG group 1 + DROP). */
  serverFirewall?: { tcpPorts: number[] };
}

export interface Topo {
  readonly client: string;
  readonly mb: string;
  readonly server: string;
  readonly queue: number;
  /** Run a command in a namespace; returns stdout. Throws with stderr on failure. */
  exec(ns: string, argv: string[], opts?: { timeoutMs?: number; input?: string }): string;
  /** Start a long-running command in a namespace. */
  spawn(ns: string, argv: string[], opts?: { env?: NodeJS.ProcessEnv }): ChildProcess;
  /** Insert / remove the mb's NFQUEUE rule for forwarded TCP (no bypass). */
  forwardToQueue(on: boolean): void;
  /** Packets dropped by the server's INV chain (serverFirewall only). */
  invalidDrops(): number;
  /** Delete the namespaces (kills what runs in them). Idempotent, never throws. */
  destroy(): void;
}

const run = (cmd: string, args: string[], timeoutMs = 30_000, input?: string): string => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, input });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
    );
  return r.stdout;
};

/** Which host prerequisites are missing (empty = all there). */
export function missingPrereqs(extra: string[] = []): string[] {
  const missing: string[] = [];
  if (process.platform !== 'linux') missing.push('Linux');
  if (process.getuid?.() !== 0) missing.push('root');
  for (const tool of ['ip', 'iptables', 'ethtool', ...extra]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) missing.push(tool);
  }
  return missing;
}

export function deleteNamespaces(names: string[]): void {
  for (const n of names) {
    // Kill whatever still runs in it (servers, the middlebox) so nothing lingers.
    const pids = spawnSync('ip', ['netns', 'pids', n], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
    for (const p of pids) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync('ip', ['netns', 'del', n]);
  }
}

export function createTopo(prefix: string, opts: TopoOptions = {}): Topo {
  const client = `${prefix}client`,
    mb = `${prefix}mb`,
    server = `${prefix}server`;
  const queue = opts.queue ?? 0;
  const mtu = String(opts.mtu ?? 1500);
  const names = [client, mb, server];
  deleteNamespaces(names); // leftovers of a crashed run with the same prefix
  const ns = (n: string, ...argv: string[]) => run('ip', ['netns', 'exec', n, ...argv]);
  try {
    for (const n of names) {
      run('ip', ['netns', 'add', n]);
      run('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
    }
    // One veth pair per link, both ends created straight in their namespaces.
    const veth = (a: string, aIf: string, b: string, bIf: string) =>
      run('ip', [
        'link',
        'add',
        aIf,
        'netns',
        a,
        'mtu',
        mtu,
        'type',
        'veth',
        'peer',
        'name',
        bIf,
        'netns',
        b,
        'mtu',
        mtu,
      ]);
    veth(client, 'eth0', mb, 'eth0');
    veth(server, 'eth0', mb, 'eth1');
    run('ip', ['-n', client, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', 'eth0']);
    run('ip', ['-n', mb, 'addr', 'add', '198.18.1.1/24', 'dev', 'eth0']);
    run('ip', ['-n', mb, 'addr', 'add', '198.18.2.1/24', 'dev', 'eth1']);
    run('ip', ['-n', server, 'addr', 'add', `${SERVER_IP}/24`, 'dev', 'eth0']);
    for (const [n, dev] of [
      [client, 'eth0'],
      [mb, 'eth0'],
      [mb, 'eth1'],
      [server, 'eth0'],
    ] as const) {
      run('ip', ['-n', n, 'link', 'set', dev, 'up']);
      ns(n, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off', 'rx', 'off');
    }
    run('ip', ['-n', client, 'route', 'add', 'default', 'via', '198.18.1.1']);
    run('ip', ['-n', server, 'route', 'add', 'default', 'via', '198.18.2.1']);
    ns(mb, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    if (opts.serverFirewall) {
      const ipt = (...a: string[]) => ns(server, 'iptables', ...a);
      ipt('-N', 'INV');
      ipt('-A', 'INV', '-j', 'NFLOG', '--nflog-group', '1', '--nflog-prefix', 'INVALID-DROP');
      ipt('-A', 'INV', '-j', 'DROP');
      ipt('-A', 'INPUT', '-i', 'lo', '-j', 'ACCEPT');
      ipt('-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'INV');
      ipt('-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
      for (const p of opts.serverFirewall.tcpPorts)
        ipt('-A', 'INPUT', '-p', 'tcp', '--dport', String(p), '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'ACCEPT');
      ipt('-A', 'INPUT', '-p', 'icmp', '-j', 'ACCEPT');
      ipt('-A', 'INPUT', '-j', 'DROP');
    }
  } catch (err) {
    deleteNamespaces(names);
    throw err;
  }
  const rule = ['FORWARD', '-p', 'tcp', '-j', 'NFQUEUE', '--queue-num', String(queue)];
  return {
    client,
    mb,
    server,
    queue,
    exec: (n, argv, o = {}) => run('ip', ['netns', 'exec', n, ...argv], o.timeoutMs, o.input),
    spawn: (n, argv, o = {}) =>
      spawn('ip', ['netns', 'exec', n, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env }),
    forwardToQueue(on: boolean) {
      const present = spawnSync('ip', ['netns', 'exec', mb, 'iptables', '-C', ...rule]).status === 0;
      if (on && !present) ns(mb, 'iptables', '-A', ...rule);
      if (!on && present) ns(mb, 'iptables', '-D', ...rule);
    },
    invalidDrops() {
      const out = ns(server, 'iptables', '-nvxL', 'INV');
      const line = out.split('\n').find((l) => /\bDROP\b/.test(l));
      return line ? Number(line.trim().split(/\s+/)[0]) : 0;
    },
    destroy: () => deleteNamespaces(names),
  };
}

/** Build the NFQUEUE addon on the host into outDir; returns the .node path. */
export function buildAddon(outDir: string): string {
  const script = join(repoRoot(), 'lab', 'middlebox', 'native', 'build.sh');
  execFileSync('sh', [script, outDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return join(outDir, 'nfqueue.node');
}

/** Parse `iperf3 -J` output: received bits/s, and the sender's retransmits. */
export function iperfResult(json: string): { bps: number; retransmits: number } {
  const d = JSON.parse(json) as {
    error?: string;
    end?: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } };
  };
  if (d.error) throw new Error(`iperf3: ${d.error}`);
  const bps = d.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number') throw new Error('iperf3: no sum_received in its JSON');
  return { bps, retransmits: d.end?.sum_sent?.retransmits ?? 0 };
}
