// Parsers of what the lab's hosts print or write: pure functions from text to numbers. Every
// claim a run makes is asserted from one of these (the netfilter selftests' way): iptables rule
// counters, `conntrack -S` and `-L`, `nstat`, `sysctl`, NFQUEUE's /proc counters, the
// conntrack-flush action's output, the middlebox's counters file, the harvester's summary (a
// harvest's or a workload's) and a command workload's status line.
// Also loaded by the middlebox inside the lab (parseKernelQueueStats): no imports but types.
import type { HarvestSummary } from '../harvester/harvest.js';
import type { RequestSummary } from '../harvester/requests.js';

export interface RuleCounter {
  packets: number;
  bytes: number;
  target: string;
  /** The rest of the line (prot, opt, in, out, source, destination, extra match text). */
  rest: string;
}

export interface ChainCounters {
  chain: string;
  policy?: string;
  rules: RuleCounter[];
}

/** Parse `iptables -L [CHAIN] -v -x -n` output (one or more chains). */
export function parseIptablesCounters(text: string): ChainCounters[] {
  const chains: ChainCounters[] = [];
  let cur: ChainCounters | undefined;
  for (const line of text.split('\n')) {
    const head = /^Chain (\S+)(?: \(policy (\S+).*\)| \(\d+ references\))?/.exec(line);
    if (head) {
      cur = { chain: head[1]!, ...(head[2] ? { policy: head[2] } : {}), rules: [] };
      chains.push(cur);
      continue;
    }
    const row = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (row && cur)
      cur.rules.push({ packets: Number(row[1]), bytes: Number(row[2]), target: row[3]!, rest: row[4]!.trim() });
  }
  return chains;
}

/** Packets that went through `target` rules in `chain` (e.g. DROP in CTLAB_INVALID). */
export function chainTargetPackets(chains: ChainCounters[], chain: string, target: string): number | undefined {
  const c = chains.find((x) => x.chain === chain);
  if (!c) return undefined;
  return c.rules.filter((r) => r.target === target).reduce((a, r) => a + r.packets, 0);
}

/** Sum each `key=value` field of `conntrack -S` over all CPUs. */
export function parseConntrackStats(text: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!/^cpu=\d+/.test(line.trim())) continue;
    for (const m of line.matchAll(/(\w+)=(\d+)/g)) {
      if (m[1] === 'cpu') continue;
      sums[m[1]!] = (sums[m[1]!] ?? 0) + Number(m[2]);
    }
  }
  return sums;
}

/** Parse `nstat -az` (or `nstat -a`): counter name → absolute value. */
export function parseNstat(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z][A-Za-z0-9]*)\s+(\d+)\s/.exec(`${line} `);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Percentile by nearest rank over an unsorted list; undefined for an empty list. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export interface ConntrackEndpoints {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export interface ConntrackEntry {
  proto: string;
  /** TCP state (ESTABLISHED, TIME_WAIT, ...); undefined for protocols without one. */
  state?: string;
  orig: ConntrackEndpoints;
  reply: ConntrackEndpoints;
}

/**
 * Parse `conntrack -L` lines ("tcp 6 119 TIME_WAIT src=.. dst=.. sport=.. dport=.. src=.. ...").
 * The first src/dst/sport/dport are the original direction, the second the reply direction:
 * a NATed entry's reply source differs from its original destination.
 */
export function parseConntrackList(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const head = /^\s*([a-z0-9]+)\s+\d+\s+\d+\s+(?:([A-Z_]+)\s+)?src=/.exec(line);
    if (!head) continue;
    const ends: [Partial<ConntrackEndpoints>, Partial<ConntrackEndpoints>] = [{}, {}];
    let side = -1;
    for (const m of line.matchAll(/\b(src|dst|sport|dport)=(\S+)/g)) {
      if (m[1] === 'src') side++;
      if (side < 0 || side > 1) continue;
      const e = ends[side as 0 | 1]; // side is 0 or 1: checked just above
      if (m[1] === 'src' || m[1] === 'dst') e[m[1]] = m[2]!;
      else e[m[1] as 'sport' | 'dport'] = Number(m[2]);
    }
    if (!ends[0].src || !ends[0].dst || !ends[1].src || !ends[1].dst) continue;
    out.push({
      proto: head[1]!,
      ...(head[2] ? { state: head[2] } : {}),
      orig: ends[0] as ConntrackEndpoints,
      reply: ends[1] as ConntrackEndpoints,
    });
  }
  return out;
}

/** Entries whose original destination is `vip` and whose replies come from `real` (DNATed). */
export function natFlowCount(entries: ConntrackEntry[], vip: string, real: string): number {
  return entries.filter((e) => e.orig.dst === vip && e.reply.src === real).length;
}

/** `sysctl a b` output ("name = value" per line) → { name: value }. */
export function parseSysctlOutput(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([\w.]+)\s*=\s*(.*?)\s*$/gm)) out[m[1]!] = m[2]!;
  return out;
}

/** The conntrack-flush action's output ("conntrack entries: N", or -F's "N flow entries have been deleted") → N. */
export function parseFlushOutput(text: string): number | undefined {
  const m = /conntrack entries: (\d+)/.exec(text) ?? /(\d+) flow entries have been deleted/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** One line of /proc/net/netfilter/nfnetlink_queue (per network namespace). */
export interface KernelQueueStats {
  queue: number;
  portid: number;
  /** Packets currently waiting for a verdict. */
  queueTotal: number;
  copyMode: number;
  copyRange: number;
  /** Dropped because the queue was full (maxlen). */
  queueDropped: number;
  /** Dropped because the message could not be delivered to the socket (buffer full). */
  userDropped: number;
  idSequence: number;
}

export function parseKernelQueueStats(text: string): KernelQueueStats[] {
  const out: KernelQueueStats[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length < 8 || f.some((x) => !Number.isFinite(x))) continue; // so f[0]..f[7] below exist
    out.push({
      queue: f[0]!,
      portid: f[1]!,
      queueTotal: f[2]!,
      copyMode: f[3]!,
      copyRange: f[4]!,
      queueDropped: f[5]!,
      userDropped: f[6]!,
      idSequence: f[7]!,
    });
  }
  return out;
}

/** The sections of the middlebox's counters file (src/middlebox/runner.ts) a result keeps. */
export interface MiddleboxCountersFile {
  engine?: Record<string, number>;
  binding?: Record<string, number>;
  hold?: Record<string, number>;
  cpu?: Record<string, number>;
}

/** The middlebox's counters file, or undefined when it is missing or does not parse. */
export function parseMiddleboxCounters(text: string): MiddleboxCountersFile | undefined {
  try {
    return JSON.parse(text) as MiddleboxCountersFile;
  } catch {
    return undefined;
  }
}

/** Records in a JSON-lines file (the middlebox's flows): its non-blank lines. */
export function countLines(text: string): number {
  return text.split('\n').filter((l) => l.trim()).length;
}

/** The last JSON line of type "summary" in a harvester's stdout. */
function lastSummary(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      const j = JSON.parse(l) as Record<string, unknown>;
      if (j && j.type === 'summary') return j;
    } catch {
      /* not JSON: keep looking */
    }
  }
  return undefined;
}

/** The harvester's stdout → its harvest summary line (the last JSON line of type "summary"). */
export function parseHarvestSummary(stdout: string): HarvestSummary | undefined {
  const j = lastSummary(stdout);
  return j && j.kind === undefined ? (j as unknown as HarvestSummary) : undefined;
}

/** The harvester's stdout in an http, upload or bulk workload → its summary (it names its kind). */
export function parseRequestSummary(stdout: string): RequestSummary | undefined {
  const j = lastSummary(stdout);
  return j && (j.kind === 'http' || j.kind === 'upload' || j.kind === 'bulk')
    ? (j as unknown as RequestSummary)
    : undefined;
}

/** A command workload's status line (src/harvester/workload.ts commandArgv). */
export interface CommandStatus {
  /** timeout(1)'s exit code: the command's, 124 when it was stopped (TERM), 137 when killed after it. */
  rc: number;
  ms: number;
  /** timeout(1) stopped it. */
  timedOut: boolean;
  /** The signal that stopped it, when timeout(1) did. */
  signal: 'SIGTERM' | 'SIGKILL' | null;
}

/** `ctlab-command rc=0 ms=1234` → its fields; undefined when there is no such line. */
export function parseCommandStatus(stdout: string): CommandStatus | undefined {
  const m = /^ctlab-command rc=(\d+) ms=(-?\d+)\s*$/m.exec(stdout);
  if (!m) return undefined;
  const rc = Number(m[1]);
  const signal = rc === 124 ? 'SIGTERM' : rc === 137 ? 'SIGKILL' : null;
  return { rc, ms: Math.max(0, Number(m[2])), timedOut: signal !== null, signal };
}

/** The name sh could not find (`sh: 1: nosuch: not found`, bash's `nosuch: command not found`), or undefined. */
export function commandNotFound(stderr: string): string | undefined {
  const m = /^(?:[^:\n]*sh: (?:\d+: |line \d+: )?)?([^:\n]+): (?:command )?not found\s*$/m.exec(stderr);
  return m?.[1]?.trim();
}
