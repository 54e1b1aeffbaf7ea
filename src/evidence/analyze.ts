// Evidence of one variant: why each packet died and what each side saw. Joins conntrack's
// INVALID reasons (NFLOG 0), the firewall's drops (NFLOG 1), the middlebox's flow records, the
// harvester's attempts, nginx's access log and the kernel's counters.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { CtlabError } from '../errors.js';
import { chainTargetPackets, parseConntrackStats, parseIptablesCounters } from '../measure/parse.js';
import { countRetransmissions, readTcpPackets, type TcpPacket } from './packets.js';
import { FileReader, jsonLines, parseEvents, parseFlows, parseNginxLog, parseNstat } from './read.js';
import type {
  Attempt, AttemptSpan, DropAccounting, DroppedPacket, FlowDiagnosis, MiddleboxFlow, NginxMismatch, NginxRequest,
  NstatCounter, ReasonCount, SeriesPoint, VariantEvidence,
} from './types.js';

/**
 * conntrack's reason text without the numbers that differ per packet and without the
 * "nf_ct_proto_6:" prefix, so equal reasons count together:
 * "nf_ct_proto_6: ACK is over upper bound 1494045566 (ACKed data not seen yet)" →
 * "ACK is over upper bound (ACKed data not seen yet)".
 */
export function normaliseReason(prefix: string): string {
  return prefix
    .replace(/^\s*nf_ct_[a-z0-9_]+:\s*/i, '')
    .replace(/(^|[\s=(])(0x[0-9a-f]+|-?\d+)(?=$|[\s),.;:])/gi, '$1')
    .replace(/\(\s*\)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** nstat counters worth showing, with what they mean. */
export const NSTAT_MEANINGS: ReadonlyArray<[string, string]> = [
  ['TcpRetransSegs', 'segments retransmitted'],
  ['TcpExtTCPTimeouts', 'retransmission timeouts (RTO fired)'],
  ['TcpExtTCPLossProbes', 'tail-loss probes sent'],
  ['TcpExtTCPSACKDiscard', 'SACK blocks discarded as invalid'],
  ['TcpExtTCPDSACKIgnoredOld', 'D-SACK blocks ignored (old)'],
  ['TcpExtTCPDSACKIgnoredNoUndo', 'D-SACK blocks ignored (no undo)'],
  ['TcpExtTCPSackRecovery', 'recoveries driven by SACK'],
  ['TcpExtTCPFastRetrans', 'fast retransmissions'],
  ['TcpExtTCPSlowStartRetrans', 'retransmissions in slow start'],
  ['TcpExtTCPLostRetransmit', 'retransmissions lost again'],
  ['TcpExtTCPSpuriousRTOs', 'timeouts later found spurious'],
  ['TcpExtTCPAbortOnTimeout', 'connections aborted after repeated timeouts'],
  ['TcpExtTCPSynRetrans', 'SYNs retransmitted'],
  ['TcpEstabResets', 'established connections reset'],
  ['TcpOutRsts', 'resets sent'],
  ['TcpAttemptFails', 'connection attempts that failed'],
  ['TcpInSegs', 'segments received'],
  ['TcpOutSegs', 'segments sent'],
];

/**
 * conntrack's reasons of an NFLOG group-0 capture, counted per normalised reason (dropped = 0),
 * and the packets by exact bytes, for matching a firewall's drops to them.
 */
function tallyReasons(pkts: readonly TcpPacket[]): { counts: Map<string, ReasonCount>; byKey: Map<string, TcpPacket[]> } {
  const counts = new Map<string, ReasonCount>();
  const byKey = new Map<string, TcpPacket[]>();
  for (const p of pkts) {
    const reason = normaliseReason(p.prefix ?? '(no reason logged)');
    const rc = counts.get(reason) ?? { reason, judged: 0, dropped: 0 };
    rc.judged++;
    counts.set(reason, rc);
    const l = byKey.get(p.key) ?? [];
    l.push(p);
    byKey.set(p.key, l);
  }
  return { counts, byKey };
}

const byDroppedThenJudged = (x: ReasonCount, y: ReasonCount) => y.dropped - x.dropped || y.judged - x.judged;

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Where a packet's client side is ("ip:port"), given the set of known flow clients. */
function clientEnd(p: TcpPacket, clients: Set<string>): string {
  const s = `${p.src}:${p.sport}`;
  if (clients.has(s)) return s;
  const d = `${p.dst}:${p.dport}`;
  if (clients.has(d)) return d;
  // Unknown flow: the ephemeral (higher) port is the client's.
  return p.sport > p.dport ? s : d;
}

const portOf = (hostPort: string) => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));

/** Index of attempts and flows by client port, to tie packets (by time) to them. */
class Joiner {
  private readonly attemptsByPort = new Map<number, Attempt[]>();
  private readonly flowsByClient = new Map<string, MiddleboxFlow[]>();
  readonly clients = new Set<string>();

  constructor(attempts: Attempt[], flows: MiddleboxFlow[]) {
    for (const a of attempts) {
      if (a.localPort === null) continue;
      const l = this.attemptsByPort.get(a.localPort) ?? [];
      l.push(a);
      this.attemptsByPort.set(a.localPort, l);
    }
    for (const l of this.attemptsByPort.values()) l.sort((x, y) => x.startEpochMs - y.startEpochMs);
    for (const f of flows) {
      const l = this.flowsByClient.get(f.client) ?? [];
      l.push(f);
      this.flowsByClient.set(f.client, l);
      this.clients.add(f.client);
    }
    for (const l of this.flowsByClient.values()) l.sort((x, y) => x.ordinal - y.ordinal);
  }

  /** The attempt on this client port that was under way at epoch time t (the latest started before it). */
  attemptAt(port: number, t: number): Attempt | undefined {
    const l = this.attemptsByPort.get(port);
    if (!l) return undefined;
    let best: Attempt | undefined;
    // 50 ms of slack: the SYN leaves just after the attempt's start is stamped.
    for (const a of l) if (a.startEpochMs <= t + 50) best = a;
    return best ?? l[0];
  }

  /** Connections (distinct harvester connection serials) that used this port, in order. */
  private connections(port: number): (number | null)[] {
    const out: (number | null)[] = [];
    for (const a of this.attemptsByPort.get(port) ?? []) if (a.connection === null || !out.includes(a.connection)) out.push(a.connection);
    return out;
  }

  /** The middlebox flow an attempt ran on: the k-th connection from a port is its k-th flow. */
  flowOf(a: Attempt, client: string): MiddleboxFlow | undefined {
    const fl = this.flowsByClient.get(client);
    if (!fl || a.localPort === null) return undefined;
    const k = a.connection === null ? 0 : this.connections(a.localPort).indexOf(a.connection);
    return fl[Math.max(0, Math.min(k, fl.length - 1))];
  }

  /** The attempts that ran on a flow. */
  attemptsOf(f: MiddleboxFlow): Attempt[] {
    const port = portOf(f.client);
    const fl = this.flowsByClient.get(f.client) ?? [f];
    const k = fl.indexOf(f);
    const conns = this.connections(port);
    const conn = conns[Math.min(k, conns.length - 1)];
    return (this.attemptsByPort.get(port) ?? []).filter((a) => a.connection === conn);
  }

  flowFor(p: TcpPacket): { client: string; flow?: MiddleboxFlow; attempt?: Attempt } {
    const client = clientEnd(p, this.clients);
    const attempt = this.attemptAt(portOf(client), p.timeMs);
    const fl = this.flowsByClient.get(client);
    let flow: MiddleboxFlow | undefined;
    if (attempt) flow = this.flowOf(attempt, client);
    else if (fl) flow = fl[fl.length - 1];
    return { client, ...(flow ? { flow } : {}), ...(attempt ? { attempt } : {}) };
  }
}

/**
 * Whether a packet's SACK edges lie in the middlebox's shifted (server offset added) sequence
 * space rather than the server's real one: closer to ack + offset than to ack.
 */
export function sackInShiftedSpace(p: TcpPacket, serverOffset: number): boolean {
  if (p.sack.length === 0 || serverOffset === 0) return false;
  const [, right] = p.sack[0]!;
  const dReal = Math.abs((right - p.ack) | 0);
  const dShift = Math.abs((right - serverOffset - p.ack) | 0);
  return dShift < dReal;
}

function bucketSize(durationMs: number): number {
  const raw = Math.max(100, durationMs / 80);
  const steps = [100, 200, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000];
  return steps.find((s) => s >= raw) ?? 60_000;
}

function bucketize(times: number[], weights: number[] | null, t0: number, bucketMs: number, durationMs: number, perSecond: boolean): SeriesPoint[] {
  const n = Math.max(1, Math.ceil(durationMs / bucketMs));
  const v = new Array<number>(n).fill(0);
  for (let i = 0; i < times.length; i++) {
    const b = Math.floor((times[i]! - t0) / bucketMs);
    if (b < 0 || b >= n) continue;
    v[b]! += weights ? weights[i]! : 1;
  }
  return v.map((x, i) => ({ tMs: i * bucketMs, value: perSecond ? (x * 1000) / bucketMs : x }));
}

function outcomeWords(a: Attempt): string {
  const got = `${fmt(a.bytes)} bytes received`;
  switch (a.outcome) {
    case 'ok': return `succeeded in ${secs(a.totalMs)}`;
    case 'read-timeout': return `timed out waiting for data after ${secs(a.totalMs)} (${got})`;
    case 'connect-timeout': return `timed out connecting after ${secs(a.totalMs)}`;
    case 'reset': return `was reset after ${secs(a.totalMs)} (${got})`;
    case 'http-error': return `got an HTTP error${a.errorCode ? ` (${a.errorCode})` : ''}`;
    case 'parse-error': return `received a response that did not parse (${got})`;
    default: return `failed${a.error ? ` (${a.error})` : ''}`;
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${fmt(n)} ${n === 1 ? one : many}`;
}

function diagnose(d: Omit<FlowDiagnosis, 'sentence'>, a: Attempt | undefined): string {
  const who = a ? `attempt ${a.attempt} of page ${a.page} (client port ${a.localPort})` : `flow ${d.ordinal} (${d.client}), which no harvester attempt claims,`;
  const parts: string[] = [];
  parts.push(`${who} ${a ? outcomeWords(a) : 'was seen by the middlebox'}`);
  const off = `server offset +${fmt(d.serverOffset)}, ${d.serverOffsetHalf === 'pos' ? 'in the harmful half' : d.serverOffsetHalf === 'neg' ? 'in the harmless half' : 'none'}`;
  if (d.sackBlocksUntranslated > 0) {
    const where = d.shiftedSackDrops > 0 || d.serverOffsetHalf === 'pos' ? "in the firewall's shifted sequence space" : 'untranslated';
    parts.push(`its client ACKs carried ${plural(d.sackBlocksUntranslated, 'SACK block')} with edges ${where} (${off})`);
  } else if (d.serverOffset !== 0) {
    parts.push(`its SACK blocks were all translated or absent (${off})`);
  }
  if (d.invalidDrops > 0) {
    const rs = Object.entries(d.reasons).sort((x, y) => y[1] - x[1]).map(([r, n]) => `${fmt(n)} as '${r}'`);
    const rsText = rs.length === 1 ? ` ${rs[0]!.replace(/^[\d,]+ /, '')}` : rs.length > 1 ? ` (${rs.join(', ')})` : '';
    parts.push(`the server's conntrack dropped ${fmt(d.invalidDrops)} of them${rsText}`);
  } else if (a && a.outcome !== 'ok') {
    parts.push('the server firewall dropped none of its packets');
  }
  if (d.impairmentDrops > 0) parts.push(`the path's loss model dropped ${plural(d.impairmentDrops, 'packet')} on purpose`);
  if (d.nginx && a && a.outcome !== 'ok') {
    if (d.nginx.completion === 'OK') parts.push(`nginx logged the response complete (${fmt(d.nginx.bytesSent)} bytes handed to the kernel in ${Math.round(d.nginx.requestTimeMs)} ms) yet the client received ${fmt(a.bytes)}`);
    else parts.push(`nginx logged the response incomplete (${fmt(d.nginx.bytesSent)} bytes sent)`);
  } else if (!d.nginx && a && a.outcome !== 'ok' && a.outcome !== 'connect-timeout') {
    parts.push('nginx never logged the request (it was still sending when the client gave up)');
  }
  const s = parts.join('; ');
  return s.charAt(0).toUpperCase() + s.slice(1) + '.';
}

/**
 * The client's conntrack (its NAT): reasons from client-invalid-reasons.pcap (null: not captured),
 * its INVALID counter and its INVALID rule's drops, and a sentence on them.
 */
function clientSide(pkts: TcpPacket[] | null, iptText: string | null, ctsText: string | null):
  { reasons: ReasonCount[]; counters: NonNullable<VariantEvidence['clientCounters']>; sentence: string } | null {
  if (pkts === null) return null;
  const reasons = [...tallyReasons(pkts).counts.values()];
  const invalid = ctsText !== null ? parseConntrackStats(ctsText).invalid ?? null : null;
  const drops = iptText !== null ? chainTargetPackets(parseIptablesCounters(iptText), 'CTLAB_INVALID', 'DROP') ?? null : null;
  const logged = pkts.length;
  // The client's rule logs nothing: its drops are the logged packets only if every INVALID packet
  // was logged (logged == invalid) and every one was dropped (drops == invalid).
  if (logged > 0 && invalid === logged && drops === logged) for (const rc of reasons) rc.dropped = rc.judged;
  reasons.sort(byDroppedThenJudged);
  const list = reasons.map((x) => `${fmt(x.judged)} '${x.reason}'`).join(', ');
  const who = "The client's conntrack (its NAT)";
  let sentence: string;
  if (logged === 0) {
    sentence = `${who} logged no packet with a reason${invalid ? ` (yet conntrack -S counts ${fmt(invalid)} INVALID)` : ''}.`;
  } else if (invalid === 0) {
    sentence = `${who} logged ${plural(logged, 'packet')} with a reason (${list}) but counted none INVALID: it let them through (ignored).`;
  } else {
    const judged = invalid !== null ? `judged ${plural(invalid, 'packet')} INVALID and logged the reasons of ${fmt(logged)}` : `logged the reasons of ${plural(logged, 'packet')}`;
    const fate = drops === null ? 'the client has no INVALID drop rule, so nothing stopped them' : `the client's INVALID rule dropped ${plural(drops, 'packet')}`;
    sentence = `${who} ${judged} (${list}); ${fate}.`;
  }
  return { reasons, counters: { conntrackInvalid: invalid, invalidDrops: drops }, sentence };
}

/** Read and join the evidence of one variant folder. */
export async function analyzeVariant(dir: string): Promise<VariantEvidence> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new CtlabError('SCENARIO', `no variant folder at ${dir}`, { hint: 'pass a variant folder of a run (e.g. runs/<scenario>-<id>/flag-off)' });
  const r = new FileReader(dir);
  const problems = r.problems;

  const [eventsText, flowsText, nginxText, iptText, sNstat, cNstat, reasonsPcap, dropsPcap, serverPcap, clientPcap] = await Promise.all([
    r.text('events.jsonl'), r.text('middlebox-flows.jsonl'), r.text('nginx-access.log'), r.text('server-iptables.txt'),
    r.text('server-nstat.txt'), r.text('client-nstat.txt'),
    r.bytes('invalid-reasons.pcap'), r.bytes('invalid-drops.pcap'), r.bytes('server.pcap'), r.bytes('client.pcap'),
  ]);
  // Only scenarios with a NAT on the client capture its conntrack's reasons.
  const [clientReasonsPcap, clientIpt, clientCts] = await Promise.all([
    r.optionalBytes('client-invalid-reasons.pcap'), r.optionalText('client-iptables.txt'), r.optionalText('client-conntrack-stats.txt'),
  ]);
  const ev = parseEvents(eventsText ? jsonLines(eventsText, 'events.jsonl', problems) : []);
  const attempts = ev.attempts;
  const flows = parseFlows(flowsText ? jsonLines(flowsText, 'middlebox-flows.jsonl', problems) : []);
  const nginx = parseNginxLog(nginxText ? jsonLines(nginxText, 'nginx-access.log', problems) : []);
  const pcap = (b: Uint8Array | null, name: string): TcpPacket[] | null => {
    if (!b) return null;
    try {
      return readTcpPackets(b);
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`);
      return null;
    }
  };
  const reasonPkts = pcap(reasonsPcap, 'invalid-reasons.pcap') ?? [];
  const dropPkts = pcap(dropsPcap, 'invalid-drops.pcap') ?? [];
  const serverPkts = pcap(serverPcap, 'server.pcap');
  const clientPkts = pcap(clientPcap, 'client.pcap');

  const lastEnd = attempts.reduce((m, a) => Math.max(m, a.startMs + a.totalMs), 0);
  const durationMs = Math.max(ev.durationMs ?? 0, lastEnd, 1);
  const t0 = ev.t0EpochMs ?? dropPkts[0]?.timeMs ?? clientPkts?.[0]?.timeMs ?? 0;
  // Drops can come after the harvest ends (the closing handshake's ACKs): the charts cover them.
  const lastDrop = dropPkts.reduce((m, p) => Math.max(m, p.timeMs - t0 + 1), 0);
  const seriesMs = Math.max(durationMs, lastDrop);
  const join = new Joiner(attempts, flows);

  // Reasons: conntrack logs each INVALID packet once with its reason; the firewall logs the
  // same bytes again when it drops them. Match drops to reasons by exact bytes, first come first.
  const { counts: reasonCounts, byKey: pending } = tallyReasons(reasonPkts);
  const droppedPackets: DroppedPacket[] = [];
  const perFlow = new Map<number, { drops: number; shifted: number; reasons: Record<string, number> }>();
  let withReason = 0;
  for (const p of dropPkts) {
    const l = pending.get(p.key);
    const match = l && l.length > 0 && l[0]!.timeMs <= p.timeMs + 1 ? l.shift() : undefined;
    const reason = match ? normaliseReason(match.prefix ?? '') : null;
    if (reason !== null) {
      withReason++;
      reasonCounts.get(reason)!.dropped++;
    }
    const j = join.flowFor(p);
    const shifted = j.flow ? sackInShiftedSpace(p, j.flow.serverOffset) : false;
    droppedPackets.push({
      tMs: p.timeMs - t0, src: `${p.src}:${p.sport}`, dst: `${p.dst}:${p.dport}`, reason,
      flow: j.flow?.ordinal ?? null, page: j.attempt?.page ?? null, attempt: j.attempt?.attempt ?? null, shiftedSack: shifted,
    });
    if (j.flow) {
      const pf = perFlow.get(j.flow.ordinal) ?? { drops: 0, shifted: 0, reasons: {} };
      pf.drops++;
      if (shifted) pf.shifted++;
      const key = reason ?? 'no reason logged';
      pf.reasons[key] = (pf.reasons[key] ?? 0) + 1;
      perFlow.set(j.flow.ordinal, pf);
    }
  }

  let counter: number | null = null;
  if (iptText !== null) counter = chainTargetPackets(parseIptablesCounters(iptText), 'CTLAB_INVALID', 'DROP') ?? null;
  if (iptText !== null && counter === null) problems.push('server-iptables.txt has no CTLAB_INVALID chain');
  const withoutReason = dropPkts.length - withReason;
  const accounted = counter !== null ? counter <= withReason && withoutReason === 0 : withoutReason === 0;
  let note: string;
  if (counter === null) note = `The firewall's counter could not be read; ${fmt(withReason)} of ${fmt(dropPkts.length)} captured drops have a conntrack reason.`;
  else if (counter === 0 && dropPkts.length === 0) note = 'The firewall dropped no packet as INVALID.';
  else if (accounted && dropPkts.length === counter) note = `All ${fmt(counter)} packets the firewall counted as dropped were captured, each with conntrack's reason.`;
  else if (accounted) note = `The firewall counted ${fmt(counter)} drops; ${fmt(dropPkts.length)} were captured (the capture ran a moment longer than the counter was read), every one with conntrack's reason.`;
  else if (dropPkts.length < counter) note = `The firewall counted ${fmt(counter)} drops but only ${fmt(dropPkts.length)} were captured, ${fmt(withReason)} with a conntrack reason: ${fmt(counter - withReason)} are unexplained.`;
  else note = `${fmt(withoutReason)} captured drops have no conntrack reason logged for the same bytes.`;
  const drops: DropAccounting = { counter, captured: dropPkts.length, withReason, withoutReason, accounted, note };

  // nginx against the harvester: what the server saw vs. what the client tried.
  const nginxOf = new Map<Attempt, NginxRequest>();
  const claimed = new Set<NginxRequest>();
  for (const n of nginx) {
    const a = join.attemptAt(n.remotePort, n.epochMs - n.requestTimeMs);
    if (a && !nginxOf.has(a)) {
      nginxOf.set(a, n);
      claimed.add(n);
    }
  }
  const mismatches: NginxMismatch[] = [];
  for (const a of attempts) {
    if (a.outcome === 'ok' || a.localPort === null) continue;
    const n = nginxOf.get(a);
    const who = `attempt ${a.attempt} of page ${a.page} (port ${a.localPort})`;
    if (n && n.completion === 'OK' && n.status >= 200 && n.status < 300) {
      mismatches.push({ kind: 'server-complete-client-failed', remotePort: a.localPort, page: a.page, attempt: a.attempt,
        sentence: `nginx logged ${who} complete (status ${n.status}, ${fmt(n.bytesSent)} bytes) but the client received ${fmt(a.bytes)} bytes and ${a.outcome === 'read-timeout' ? 'timed out' : `ended with ${a.outcome}`}.` });
    } else if (!n && a.outcome !== 'connect-timeout') {
      mismatches.push({ kind: 'server-never-logged', remotePort: a.localPort, page: a.page, attempt: a.attempt,
        sentence: `nginx never logged ${who}: the response was still in flight when the client gave up after ${secs(a.totalMs)}.` });
    }
  }
  for (const n of nginx) {
    if (claimed.has(n)) continue;
    mismatches.push({ kind: 'client-never-tried', remotePort: n.remotePort, page: null, attempt: null,
      sentence: `nginx logged a request from port ${n.remotePort} ("${n.request}") that matches no harvester attempt.` });
  }

  // Per flow.
  const flowDiag: FlowDiagnosis[] = flows.map((f) => {
    const as = join.attemptsOf(f);
    const a = as.find((x) => x.outcome !== 'ok') ?? as[as.length - 1];
    const pf = perFlow.get(f.ordinal);
    const n = a ? nginxOf.get(a) : undefined;
    const d: Omit<FlowDiagnosis, 'sentence'> = {
      ordinal: f.ordinal, client: f.client, page: a?.page ?? null, attempt: a?.attempt ?? null, outcome: a?.outcome ?? null,
      serverOffset: f.serverOffset, serverOffsetHalf: f.serverOffsetHalf, sackBlocksUntranslated: f.sackBlocksUntranslated,
      impairmentDrops: f.dropsToClient + f.dropsToServer, invalidDrops: pf?.drops ?? 0, reasons: pf?.reasons ?? {},
      shiftedSackDrops: pf?.shifted ?? 0,
      nginx: n ? { status: n.status, bytesSent: n.bytesSent, completion: n.completion, requestTimeMs: n.requestTimeMs } : null,
      bytesReceived: a?.bytes ?? null,
    };
    return { ...d, sentence: diagnose(d, a) };
  });

  // nstat: fresh namespaces, so absolute values are the run's deltas.
  const sn = sNstat ? parseNstat(sNstat) : {};
  const cn = cNstat ? parseNstat(cNstat) : {};
  const nstat: NstatCounter[] = NSTAT_MEANINGS.map(([name, meaning]) => ({ name, meaning, server: sn[name] ?? 0, client: cn[name] ?? 0 }));

  // Series.
  const bucketMs = bucketSize(seriesMs);
  const spans: AttemptSpan[] = attempts.map((a) => ({ page: a.page, attempt: a.attempt, startMs: a.startMs, endMs: a.startMs + a.totalMs, outcome: a.outcome, localPort: a.localPort }));
  let throughput: SeriesPoint[];
  let throughputSource: VariantEvidence['series']['throughputSource'];
  if (clientPkts && clientPkts.length > 0) {
    const toClient = clientPkts.filter((p) => join.clients.has(`${p.dst}:${p.dport}`) || (join.clients.size === 0 && p.dport > p.sport));
    throughput = bucketize(toClient.map((p) => p.timeMs), toClient.map((p) => p.payloadLength), t0, bucketMs, seriesMs, true);
    throughputSource = 'client.pcap';
  } else if (attempts.length > 0) {
    // Without a capture: spread each attempt's bytes evenly from its first byte to its end.
    const times: number[] = [];
    const w: number[] = [];
    for (const a of attempts) {
      const from = a.startMs + (a.ttfbMs ?? 0);
      const to = a.startMs + a.totalMs;
      const steps = Math.max(1, Math.ceil((to - from) / bucketMs));
      for (let i = 0; i < steps; i++) {
        times.push(t0 + from + ((to - from) * (i + 0.5)) / steps);
        w.push(a.bytes / steps);
      }
    }
    throughput = bucketize(times, w, t0, bucketMs, seriesMs, true);
    throughputSource = 'events';
  } else {
    throughput = [];
    throughputSource = 'none';
  }
  const invalidSeries = bucketize(dropPkts.map((p) => p.timeMs), null, t0, bucketMs, seriesMs, false);

  // The headline.
  const summary: string[] = [];
  const failed = attempts.filter((a) => a.outcome !== 'ok');
  const timedOut = failed.filter((a) => a.outcome === 'read-timeout' || a.outcome === 'connect-timeout').length;
  if (attempts.length > 0) {
    summary.push(failed.length === 0
      ? `All ${plural(attempts.length, 'attempt')} succeeded.`
      : `${fmt(failed.length)} of ${plural(attempts.length, 'attempt')} failed (${fmt(timedOut)} timed out).`);
  }
  const reasons = [...reasonCounts.values()].sort(byDroppedThenJudged);
  if (dropPkts.length > 0 || (counter ?? 0) > 0) {
    const top = reasons.filter((x) => x.dropped > 0).map((x) => `${fmt(x.dropped)} '${x.reason}'`).join(', ');
    const acc = accounted ? 'every drop accounted for' : 'NOT every drop accounted for';
    summary.push(`The server's firewall dropped ${plural(counter ?? dropPkts.length, 'packet')} that conntrack judged INVALID (reasons of the ${fmt(dropPkts.length)} captured: ${top || 'none logged'}; ${acc}).`);
  } else {
    summary.push("The server's firewall dropped no packet as INVALID.");
  }
  const failedFlows = flowDiag.filter((f) => f.outcome !== null && f.outcome !== 'ok');
  if (failedFlows.length > 0) {
    const harmful = failedFlows.filter((f) => f.serverOffsetHalf === 'pos' && f.sackBlocksUntranslated > 0 && f.invalidDrops > 0).length;
    summary.push(`${fmt(harmful)} of the ${plural(failedFlows.length, 'failed connection')} had the middlebox's server offset in the harmful half, SACK blocks left untranslated and ACKs dropped as INVALID.`);
  }
  const client = clientSide(clientReasonsPcap ? pcap(clientReasonsPcap, 'client-invalid-reasons.pcap') ?? [] : null, clientIpt, clientCts);
  if (client) summary.push(client.sentence);
  const sc = mismatches.filter((m) => m.kind === 'server-complete-client-failed').length;
  if (sc > 0) summary.push(`nginx logged ${plural(sc, 'response')} as complete whose bytes the client never finished receiving: the server's own logs look clean.`);

  return {
    dir: basename(dir),
    t0EpochMs: t0,
    durationMs: seriesMs,
    attempts,
    reasons,
    ...(client ? { clientReasons: client.reasons, clientCounters: client.counters } : {}),
    drops,
    droppedPackets,
    flows: flowDiag,
    nginx: { requests: nginx.length, complete: nginx.filter((n) => n.completion === 'OK').length, mismatches },
    nstat,
    retransmissions: {
      serverPcap: serverPkts ? countRetransmissions(serverPkts).total : null,
      clientPcap: clientPkts ? countRetransmissions(clientPkts).total : null,
    },
    series: { attempts: spans, bucketMs, throughput, throughputSource, invalidDrops: invalidSeries },
    summary,
    problems,
  };
}
