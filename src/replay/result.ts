// replay.json: the types of the stable contract (schema "ctlab-replay/1", documented in the
// README), the per-run summary built from an attribution, --expect lines, and the verdict sentence.
import type { Attribution } from './attribute.js';
import { normaliseReason } from './attribute.js';
import type { PrepareCounts } from './capture.js';
import { flagText, type ReplayFlow, type ReplayPacket } from './prepare.js';

export const REPLAY_SCHEMA = 'ctlab-replay/1';
export const BE_LIBERAL = 'net.netfilter.nf_conntrack_tcp_be_liberal';

export interface Setting {
  /** e.g. "be_liberal=0" */
  name: string;
  /** The sysctls this setting sets in the router (on top of nf_conntrack_log_invalid=6). */
  sysctls: Record<string, string>;
}

export interface PacketVerdict {
  /** Replay index (0-based, after filtering) and position in the capture file (0-based). */
  index: number;
  frame: number;
  timeMs: number;
  flow: number;
  /** Who sent it: client → server or server → client. */
  dir: 'c2s' | 's2c';
  flags: string;
  seq: number;
  ack: number;
  len: number;
  /** conntrack marked it INVALID (a `--ctstate INVALID -j DROP` rule would have dropped it). */
  invalid: boolean;
  /** conntrack's reason as logged (nf_conntrack_log_invalid), or null if it logged none. */
  reason: string | null;
  /** The reason without per-packet numbers, for counting. */
  reasonKind: string | null;
}

export interface FlowVerdict {
  flow: number;
  invalid: number;
  /** The first INVALID packet of the flow, if any. */
  firstInvalid: PacketVerdict | null;
}

export interface ReasonTally {
  reason: string;
  packets: number;
  flows: number;
}

export interface ReplayRun {
  /** As named on the command line: host, 5.10, 6.1... */
  kernel: string;
  release: string;
  setting: Setting;
  /** The sysctls as read back in the router. */
  sysctls: Record<string, string>;
  packets: { replayed: number; sent: number; received: number };
  /** Packets conntrack marked INVALID. */
  invalid: number;
  /** Flows with at least one INVALID packet. */
  invalidFlows: number;
  reasons: ReasonTally[];
  flows: FlowVerdict[];
  /** Every packet conntrack marked INVALID or logged a reason for, in replay order. */
  packetVerdicts: PacketVerdict[];
  /** Packets tcpreplay took to play (ms), and the rate. */
  replayMs: number;
  packetsPerSecond: number;
  /** Anything that makes this run less than trustworthy (lost packets, unmatched records...). */
  problems: string[];
  /** Set when the run could not be done at all. */
  error?: string;
}

export interface ExpectationResult {
  text: string;
  passed: boolean;
  /** Per run: "kernel / setting" → measured value. */
  actual: Record<string, number>;
}

export interface ReplayResult {
  schema: typeof REPLAY_SCHEMA;
  ctlabVersion: string;
  capture: { file: string; sha256: string; format: 'pcap' | 'pcapng'; linktypes: number[] };
  startedAt: string;
  durationMs: number;
  options: { flow: string | null; pace: boolean; kernels: string[]; settings: Setting[] };
  preprocessing: PrepareCounts & {
    filteredOutFlows: number;
    filteredOutPackets: number;
    replayed: number;
    firstTimeMs: number;
    lastTimeMs: number;
  };
  /** Original IPv4 address → the address replayed in 198.18.0.0/15. */
  addressMap: Record<string, string>;
  flows: Array<ReplayFlow & { pickedUp: boolean }>;
  runs: ReplayRun[];
  expectations: ExpectationResult[];
  passed: boolean;
  verdict: string;
  problems: string[];
}

export function runLabel(r: Pick<ReplayRun, 'kernel' | 'setting'>, multiKernel: boolean): string {
  return multiKernel ? `${r.kernel} / ${r.setting.name}` : r.setting.name;
}

/** A run's verdicts from its attribution. */
export function summarise(
  packets: readonly ReplayPacket[],
  flows: readonly ReplayFlow[],
  a: Attribution,
): Pick<ReplayRun, 'invalid' | 'invalidFlows' | 'reasons' | 'flows' | 'packetVerdicts'> & { problems: string[] } {
  const verdicts: PacketVerdict[] = [];
  const idx = new Set<number>([...a.invalid, ...a.reasons.keys()]);
  for (const i of [...idx].sort((x, y) => x - y)) {
    const p = packets[i]!; // idx holds packet indexes from the attribution of these packets
    const reason = a.reasons.get(i) ?? null;
    verdicts.push({
      index: p.index,
      frame: p.frame,
      timeMs: p.timeMs,
      flow: p.flow,
      dir: p.dir,
      flags: flagText(p.flags),
      seq: p.seq,
      ack: p.ack,
      len: p.len,
      invalid: a.invalid.has(i),
      reason,
      reasonKind: reason === null ? null : normaliseReason(reason),
    });
  }
  const perFlow = new Map<number, FlowVerdict>(
    flows.map((f) => [f.id, { flow: f.id, invalid: 0, firstInvalid: null }]),
  );
  const tally = new Map<string, { packets: number; flows: Set<number> }>();
  for (const v of verdicts) {
    if (!v.invalid) continue;
    const fv = perFlow.get(v.flow)!; // perFlow has every flow
    fv.invalid++;
    fv.firstInvalid ??= v;
    const k = v.reasonKind ?? '(no reason logged)';
    const t = tally.get(k) ?? { packets: 0, flows: new Set<number>() };
    t.packets++;
    t.flows.add(v.flow);
    tally.set(k, t);
  }
  const problems: string[] = [];
  if (a.unmatchedReasons)
    problems.push(`${a.unmatchedReasons} of conntrack's NFLOG reasons matched no replayed packet`);
  if (a.unmatchedInvalid) problems.push(`${a.unmatchedInvalid} INVALID NFLOG records matched no replayed packet`);
  return {
    invalid: a.invalid.size,
    invalidFlows: [...perFlow.values()].filter((f) => f.invalid > 0).length,
    reasons: [...tally.entries()]
      .map(([reason, t]) => ({ reason, packets: t.packets, flows: t.flows.size }))
      .sort((x, y) => y.packets - x.packets),
    flows: [...perFlow.values()],
    packetVerdicts: verdicts,
    problems,
  };
}

// --- expectations --------------------------------------------------------------------------

export const REPLAY_METRICS: Record<string, { about: string; of: (r: ReplayRun) => number }> = {
  invalid: { about: 'packets conntrack marked INVALID', of: (r) => r.invalid },
  invalid_flows: { about: 'flows with at least one INVALID packet', of: (r) => r.invalidFlows },
  logged: {
    about: 'packets conntrack logged a reason for',
    of: (r) => r.packetVerdicts.filter((v) => v.reason !== null).length,
  },
  packets: { about: 'packets replayed', of: (r) => r.packets.replayed },
  lost: {
    about: 'packets replayed that the router did not receive',
    of: (r) => r.packets.replayed - r.packets.received,
  },
};

export interface Expectation {
  text: string;
  metric: string;
  op: '==' | '!=' | '<' | '<=' | '>' | '>=';
  value: number;
  /** Only runs whose setting has this sysctl value, e.g. { be_liberal: '1' }. */
  where?: { key: string; value: string };
}

/** `invalid == 0`, `invalid[be_liberal=1] == 0`, `invalid_flows <= 2`. Throws Error with the reason. */
export function parseExpectation(text: string): Expectation {
  const m = /^\s*([a-z_]+)\s*(?:\[\s*([a-z_.]+)\s*=\s*([^\]\s]+)\s*\])?\s*(==|!=|<=|>=|<|>)\s*(\d+)\s*$/.exec(text);
  if (!m)
    throw new Error(
      `--expect ${JSON.stringify(text)}: expected "<metric> <op> <number>", e.g. "invalid == 0" or "invalid[be_liberal=1] == 0"`,
    );
  const metric = m[1]!;
  if (!REPLAY_METRICS[metric])
    throw new Error(
      `--expect ${JSON.stringify(text)}: unknown metric "${metric}" (one of ${Object.keys(REPLAY_METRICS).join(', ')})`,
    );
  return {
    text: text.trim(),
    metric,
    op: m[4] as Expectation['op'],
    value: Number(m[5]),
    ...(m[2] && m[3] ? { where: { key: m[2], value: m[3] } } : {}), // group 3 matches whenever group 2 does
  };
}

function settingValue(s: Setting, key: string): string | undefined {
  for (const [k, v] of Object.entries(s.sysctls))
    if (k === key || k.endsWith(`.${key}`) || k.endsWith(`_${key}`)) return v;
  return undefined;
}

function compare(a: number, op: Expectation['op'], b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/** An expectation holds when it holds on every run it applies to (and it applies to at least one). */
export function evaluate(e: Expectation, runs: readonly ReplayRun[], multiKernel: boolean): ExpectationResult {
  const actual: Record<string, number> = {};
  let passed = true;
  let applied = 0;
  for (const r of runs) {
    if (r.error) continue;
    if (e.where && settingValue(r.setting, e.where.key) !== e.where.value) continue;
    applied++;
    const v = REPLAY_METRICS[e.metric]!.of(r); // parseExpectation refused unknown metrics
    actual[runLabel(r, multiKernel)] = v;
    if (!compare(v, e.op, e.value)) passed = false;
  }
  return { text: e.text, passed: passed && applied > 0, actual };
}

// --- the verdict -----------------------------------------------------------------------------

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** "ACKs", "data segments", "packets": what the INVALID packets were. */
function kindOf(v: readonly PacketVerdict[]): string {
  // ACKs without data (FIN+ACK counts: it acknowledges too, and the verdict names the FINs).
  if (v.every((p) => p.len === 0 && p.flags.endsWith('.') && !/[SR]/.test(p.flags))) return 'ACK';
  if (v.every((p) => p.len > 0)) return 'data segment';
  if (v.every((p) => p.flags.includes('R'))) return 'RST';
  return 'packet';
}

function whose(v: readonly PacketVerdict[]): string {
  if (v.every((p) => p.dir === 'c2s')) return "the client's ";
  if (v.every((p) => p.dir === 's2c')) return "the server's ";
  return '';
}

/** One kernel's sentence: "conntrack would have dropped 147 of the client's ACKs in 3 connections: <reasons>; with be_liberal=1 it drops none". */
export function kernelSentence(runs: readonly ReplayRun[]): string {
  const [first, ...rest] = runs.filter((r) => !r.error);
  if (!first) return 'the replay could not run';
  const inv = first.packetVerdicts.filter((v) => v.invalid);
  let s: string;
  if (first.invalid === 0)
    s = `conntrack would have dropped none of the ${plural(first.packets.replayed, 'packet')}${first.setting.name !== 'be_liberal=0' ? ` (${first.setting.name})` : ''}`;
  else {
    const k = kindOf(inv);
    const reasons =
      first.reasons
        .slice(0, 3)
        .map((r) => r.reason)
        .join('; ') + (first.reasons.length > 3 ? `; and ${first.reasons.length - 3} more reasons` : '');
    const fins = k === 'ACK' ? inv.filter((p) => p.flags.includes('F')).length : 0;
    const who = whose(inv);
    s = `conntrack would have dropped ${first.invalid.toLocaleString('en-US')} ${who ? `of ${who}` : ''}${first.invalid === 1 ? k : `${k}s`}${fins ? ` (${fins} of them FINs)` : ''} in ${plural(first.invalidFlows, 'connection')}: ${reasons}`;
    if (first.setting.name !== 'be_liberal=0') s += ` (${first.setting.name})`;
  }
  const accepted = first.packetVerdicts.filter((v) => !v.invalid && v.reason !== null);
  if (accepted.length) {
    const kinds = [...new Set(accepted.map((v) => v.reasonKind))].slice(0, 2).join('; ');
    s += ` (it logged ${plural(accepted.length, 'more packet')} but let ${accepted.length === 1 ? 'it' : 'them'} through: ${kinds})`;
  }
  for (const r of rest)
    s += `; with ${r.setting.name} it drops ${r.invalid === 0 ? 'none' : r.invalid === first.invalid ? `the same ${r.invalid.toLocaleString('en-US')}` : r.invalid.toLocaleString('en-US')}`;
  return s;
}

export function verdictText(runs: readonly ReplayRun[], kernels: readonly string[]): string {
  const multi = kernels.length > 1;
  const parts: string[] = [];
  for (const k of kernels) {
    const rs = runs.filter((r) => r.kernel === k);
    const failed = rs.find((r) => r.error);
    const sentence = rs.length && !failed ? kernelSentence(rs) : `the replay failed (${failed?.error ?? 'no result'})`;
    parts.push(
      multi
        ? `On ${k}${rs[0]?.release ? ` (${rs[0].release})` : ''}, ${sentence}`
        : sentence.charAt(0).toUpperCase() + sentence.slice(1),
    );
  }
  return `${parts.join('. ')}.`;
}
