// Evidence of one variant: why each packet died and what each side saw. Joins conntrack's
// INVALID reasons (NFLOG 0), the firewall's drops (NFLOG 1), the middlebox's flow records, the
// harvester's attempts, nginx's access log and the kernel's counters. Returns facts only: the
// words a reader sees are written from them in src/report/diagnosis.ts.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { CtlabError } from '../errors.js';
import { invalidCountOf } from '../topology/firewall.js';
import { NSTAT_KEPT } from '../measure/nstat.js';
import { chainTargetPackets, parseConntrackStats, parseIptablesCounters } from '../measure/parse.js';
import { countRetransmissions, readTcpPackets, type TcpPacket } from './packets.js';
import { FileReader, jsonLines, parseEvents, parseFlows, parseNginxLog, parseNstat } from './read.js';
import type {
  Attempt,
  AttemptSpan,
  DropAccounting,
  DroppedPacket,
  FlowDiagnosis,
  MiddleboxFlow,
  NginxMismatch,
  NginxRequest,
  NstatCounter,
  ReasonCount,
  SeriesPoint,
  VariantEvidence,
} from './types.js';

/** The tally's name for an NFLOG record that carried no prefix (the same in the tally and the drop match). */
const NO_PREFIX = '(no reason logged)';

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

/**
 * conntrack's reasons of an NFLOG group-0 capture, counted per normalised reason (dropped = 0),
 * and the packets by exact bytes, for matching a firewall's drops to them.
 */
function tallyReasons(pkts: readonly TcpPacket[]): {
  counts: Map<string, ReasonCount>;
  byKey: Map<string, TcpPacket[]>;
} {
  const counts = new Map<string, ReasonCount>();
  const byKey = new Map<string, TcpPacket[]>();
  for (const p of pkts) {
    const reason = normaliseReason(p.prefix ?? NO_PREFIX);
    const rc = counts.get(reason) ?? { reason, judged: 0, dropped: 0 };
    rc.judged++;
    counts.set(reason, rc);
    const l = byKey.get(p.key) ?? [];
    l.push(p);
    byKey.set(p.key, l);
  }
  return { counts, byKey };
}

/**
 * How much later than the drop its reason may be stamped: two tcpdump processes stamp the two
 * NFLOG groups as they read them, and under a burst they fall behind each other (measured in
 * window-overflow uploads: up to 3.8 ms natively on 6.18, 81 of 1,343 drops more than 1 ms; up
 * to 90 ms in a 6.1 VM under emulation). The same bytes (IP ID and checksum included) logged
 * twice are the same packet, so a wide margin matches nothing wrongly.
 */
const CAPTURE_SKEW_MS = 1000;

const byDroppedThenJudged = (x: ReasonCount, y: ReasonCount) => y.dropped - x.dropped || y.judged - x.judged;

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
    for (const a of this.attemptsByPort.get(port) ?? [])
      if (a.connection === null || !out.includes(a.connection)) out.push(a.connection);
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
  const block = p.sack[0];
  if (!block || serverOffset === 0) return false;
  const [, right] = block;
  const dReal = Math.abs((right - p.ack) | 0);
  const dShift = Math.abs((right - serverOffset - p.ack) | 0);
  return dShift < dReal;
}

function bucketSize(durationMs: number): number {
  const raw = Math.max(100, durationMs / 80);
  const steps = [100, 200, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000];
  return steps.find((s) => s >= raw) ?? 60_000;
}

function bucketize(
  times: number[],
  weights: number[] | null,
  t0: number,
  bucketMs: number,
  durationMs: number,
  perSecond: boolean,
): SeriesPoint[] {
  const n = Math.max(1, Math.ceil(durationMs / bucketMs));
  const v = new Array<number>(n).fill(0);
  for (const [i, t] of times.entries()) {
    const b = Math.floor((t - t0) / bucketMs);
    if (b < 0 || b >= n) continue;
    // b is in [0, n) (checked above); weights, when given, has one entry per time.
    v[b]! += weights ? weights[i]! : 1;
  }
  return v.map((x, i) => ({ tMs: i * bucketMs, value: perSecond ? (x * 1000) / bucketMs : x }));
}

/**
 * The client's conntrack (its NAT): reasons from client-invalid-reasons.pcap (null: not captured),
 * its INVALID counter and its INVALID rule's drops.
 */
function clientSide(
  pkts: TcpPacket[] | null,
  iptText: string | null,
  ctsText: string | null,
  countText: string | null,
  problems: string[],
): { reasons: ReasonCount[]; counters: NonNullable<VariantEvidence['clientCounters']> } | null {
  if (pkts === null) return null;
  const reasons = [...tallyReasons(pkts).counts.values()];
  const invalid = ctsText !== null ? (parseConntrackStats(ctsText).invalid ?? null) : null;
  // With the client's own ruleset, its drops are the ctlab_count bracket's (before - after).
  const count = countText !== null ? invalidCountOf(countText) : undefined;
  if (countText !== null && !count) problems.push('client-invalid-count.json does not hold the ctlab_count counters');
  const drops = count
    ? count.before - count.after
    : countText === null && iptText !== null
      ? (chainTargetPackets(parseIptablesCounters(iptText), 'CTLAB_INVALID', 'DROP') ?? null)
      : null;
  const logged = pkts.length;
  // The client's rules log nothing: its drops are the logged packets only if every INVALID packet
  // was logged (logged == invalid) and every one was dropped (drops == invalid).
  if (logged > 0 && invalid === logged && drops === logged) for (const rc of reasons) rc.dropped = rc.judged;
  reasons.sort(byDroppedThenJudged);
  return {
    reasons,
    counters: { conntrackInvalid: invalid, invalidDrops: drops, dropper: countText !== null ? 'ruleset' : 'rule' },
  };
}

/** Read and join the evidence of one variant folder. */
export async function analyzeVariant(dir: string): Promise<VariantEvidence> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory())
    throw new CtlabError('SCENARIO', `no variant folder at ${dir}`, {
      hint: 'pass a variant folder of a run (e.g. runs/<scenario>-<id>/flag-off)',
    });
  const r = new FileReader(dir);
  const problems = r.problems;

  const [eventsText, flowsText, nginxText, iptText, sNstat, cNstat, reasonsPcap, dropsPcap, serverPcap, clientPcap] =
    await Promise.all([
      r.text('events.jsonl'),
      r.text('middlebox-flows.jsonl'),
      // nginx's for a harvest; the service's (the same JSON shape) for the other workloads.
      r.optionalText('service-access.log').then((t) => t ?? r.text('nginx-access.log')),
      r.text('server-iptables.txt'),
      r.text('server-nstat.txt'),
      r.text('client-nstat.txt'),
      r.bytes('invalid-reasons.pcap'),
      r.bytes('invalid-drops.pcap'),
      r.bytes('server.pcap'),
      r.bytes('client.pcap'),
    ]);
  // Only scenarios with a NAT on the client capture its conntrack's reasons.
  // Only runs with the user's own ruleset (server or client) count INVALID drops with the ctlab_count nft table.
  const [countText, clientReasonsPcap, clientIpt, clientCts, clientCountText] = await Promise.all([
    r.optionalText('server-invalid-count.json'),
    r.optionalBytes('client-invalid-reasons.pcap'),
    r.optionalText('client-iptables.txt'),
    r.optionalText('client-conntrack-stats.txt'),
    r.optionalText('client-invalid-count.json'),
  ]);
  const ev = parseEvents(eventsText ? jsonLines(eventsText, 'events.jsonl', problems) : []);
  const attempts = ev.attempts;
  const flows = parseFlows(flowsText ? jsonLines(flowsText, 'middlebox-flows.jsonl', problems) : []);
  const nginx = parseNginxLog(nginxText ? jsonLines(nginxText, 'the server access log', problems) : []);
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
    const match = l?.[0] && l[0].timeMs <= p.timeMs + CAPTURE_SKEW_MS ? l.shift() : undefined;
    const reason = match ? normaliseReason(match.prefix ?? NO_PREFIX) : null;
    if (reason !== null) {
      withReason++;
      // match came from pending, which tallyReasons built (with its count) from the same packets.
      reasonCounts.get(reason)!.dropped++;
    }
    const j = join.flowFor(p);
    const shifted = j.flow ? sackInShiftedSpace(p, j.flow.serverOffset) : false;
    droppedPackets.push({
      tMs: p.timeMs - t0,
      src: `${p.src}:${p.sport}`,
      dst: `${p.dst}:${p.dport}`,
      reason,
      flow: j.flow?.ordinal ?? null,
      page: j.attempt?.page ?? null,
      attempt: j.attempt?.attempt ?? null,
      shiftedSack: shifted,
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
  let accounted: boolean;
  const withoutReason = dropPkts.length - withReason;
  if (countText !== null) {
    // The user's ruleset: drops = INVALID seen before it minus after it. It logs no packets, so
    // per reason `dropped` is known only when every logged INVALID packet was dropped.
    const count = invalidCountOf(countText);
    if (!count) problems.push('server-invalid-count.json does not hold the ctlab_count counters');
    else {
      const before = count.before;
      counter = before - count.after;
      const logged = reasonPkts.length;
      if (logged > 0 && counter === logged && before === logged)
        for (const rc of reasonCounts.values()) rc.dropped = rc.judged;
    }
    accounted = counter !== null && counter <= reasonPkts.length;
  } else {
    if (iptText !== null) counter = chainTargetPackets(parseIptablesCounters(iptText), 'CTLAB_INVALID', 'DROP') ?? null;
    if (iptText !== null && counter === null) problems.push('server-iptables.txt has no CTLAB_INVALID chain');
    accounted = counter !== null ? counter <= withReason && withoutReason === 0 : withoutReason === 0;
  }
  const drops: DropAccounting = { counter, captured: dropPkts.length, withReason, withoutReason, accounted };

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
  const logged = (n: NginxRequest) => ({ status: n.status, bytesSent: n.bytesSent, request: n.request });
  attempts.forEach((a, i) => {
    if (a.outcome === 'ok' || a.localPort === null) return;
    const n = nginxOf.get(a);
    if (n && n.completion === 'OK' && n.status >= 200 && n.status < 300) {
      mismatches.push({
        kind: 'server-complete-client-failed',
        remotePort: a.localPort,
        page: a.page,
        attempt: a.attempt,
        attemptIndex: i,
        nginx: logged(n),
      });
    } else if (!n && a.outcome !== 'connect-timeout') {
      mismatches.push({
        kind: 'server-never-logged',
        remotePort: a.localPort,
        page: a.page,
        attempt: a.attempt,
        attemptIndex: i,
        nginx: null,
      });
    }
  });
  for (const n of nginx) {
    if (claimed.has(n)) continue;
    mismatches.push({
      kind: 'client-never-tried',
      remotePort: n.remotePort,
      page: null,
      attempt: null,
      attemptIndex: null,
      nginx: logged(n),
    });
  }

  // Per flow.
  const attemptIndexOf = new Map(attempts.map((a, i) => [a, i]));
  const flowDiag: FlowDiagnosis[] = flows.map((f) => {
    const as = join.attemptsOf(f);
    const a = as.find((x) => x.outcome !== 'ok') ?? as[as.length - 1];
    const pf = perFlow.get(f.ordinal);
    const n = a ? nginxOf.get(a) : undefined;
    return {
      ordinal: f.ordinal,
      client: f.client,
      page: a?.page ?? null,
      attempt: a?.attempt ?? null,
      attemptIndex: a ? attemptIndexOf.get(a)! : null, // every attempt is a key of attemptIndexOf
      outcome: a?.outcome ?? null,
      serverOffset: f.serverOffset,
      serverOffsetHalf: f.serverOffsetHalf,
      sackBlocksUntranslated: f.sackBlocksUntranslated,
      impairmentDrops: f.dropsToClient + f.dropsToServer,
      invalidDrops: pf?.drops ?? 0,
      reasons: pf?.reasons ?? {},
      shiftedSackDrops: pf?.shifted ?? 0,
      nginx: n
        ? { status: n.status, bytesSent: n.bytesSent, completion: n.completion, requestTimeMs: n.requestTimeMs }
        : null,
      bytesReceived: a?.bytes ?? null,
    };
  });

  // nstat: fresh namespaces, so absolute values are the run's deltas.
  const sn = sNstat ? parseNstat(sNstat) : {};
  const cn = cNstat ? parseNstat(cNstat) : {};
  const nstat: NstatCounter[] = NSTAT_KEPT.map((name) => ({ name, server: sn[name] ?? 0, client: cn[name] ?? 0 }));

  // Series.
  const bucketMs = bucketSize(seriesMs);
  const spans: AttemptSpan[] = attempts.map((a) => ({
    page: a.page,
    attempt: a.attempt,
    startMs: a.startMs,
    endMs: a.startMs + a.totalMs,
    outcome: a.outcome,
    localPort: a.localPort,
  }));
  let throughput: SeriesPoint[];
  let throughputSource: VariantEvidence['series']['throughputSource'];
  if (clientPkts && clientPkts.length > 0) {
    const toClient = clientPkts.filter(
      (p) => join.clients.has(`${p.dst}:${p.dport}`) || (join.clients.size === 0 && p.dport > p.sport),
    );
    throughput = bucketize(
      toClient.map((p) => p.timeMs),
      toClient.map((p) => p.payloadLength),
      t0,
      bucketMs,
      seriesMs,
      true,
    );
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
  const invalidSeries = bucketize(
    dropPkts.map((p) => p.timeMs),
    null,
    t0,
    bucketMs,
    seriesMs,
    false,
  );

  const client = clientSide(
    clientReasonsPcap ? (pcap(clientReasonsPcap, 'client-invalid-reasons.pcap') ?? []) : null,
    clientIpt,
    clientCts,
    clientCountText,
    problems,
  );

  return {
    dir: basename(dir),
    t0EpochMs: t0,
    durationMs: seriesMs,
    attempts,
    reasons: [...reasonCounts.values()].sort(byDroppedThenJudged),
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
    problems,
  };
}
