// What the evidence of one variant says, as facts (counts, reasons, flows, attempts' outcomes):
// the reports put them into words (src/report/diagnosis.ts).

import type { NstatName } from '../measure/nstat.js';

export type Outcome = 'ok' | 'connect-timeout' | 'read-timeout' | 'reset' | 'http-error' | 'parse-error' | 'error';

/** One harvester attempt (a line of events.jsonl), as far as evidence needs it. */
export interface Attempt {
  page: number;
  attempt: number;
  /** Ms since the harvest started. */
  startMs: number;
  /** Epoch ms the attempt started. */
  startEpochMs: number;
  totalMs: number;
  localPort: number | null;
  /** The harvester's serial of the TCP connection used (attempts over a kept-alive connection share it). */
  connection: number | null;
  connectMs: number | null;
  ttfbMs: number | null;
  bytes: number;
  records: number | null;
  outcome: Outcome;
  errorCode: string | null;
  error: string | null;
}

/** One line of the middlebox's per-flow records. */
export interface MiddleboxFlow {
  ordinal: number;
  client: string;
  server: string;
  clientIsn: number;
  serverIsn: number | null;
  clientOffset: number;
  serverOffset: number;
  serverOffsetHalf: 'pos' | 'neg' | 'zero' | string;
  packetsToServer: number;
  packetsToClient: number;
  dropsToServer: number;
  dropsToClient: number;
  sackBlocksTranslated: number;
  sackBlocksUntranslated: number;
  firstSeenMs?: number;
  lastSeenMs?: number;
}

/** One line of nginx's JSON access log. */
export interface NginxRequest {
  /** Epoch ms nginx wrote the line (when the response was handed to the kernel, or failed). */
  epochMs: number;
  connection: number;
  remotePort: number;
  request: string;
  status: number;
  bytesSent: number;
  requestTimeMs: number;
  /** "OK" when nginx sent the whole response. */
  completion: string;
}

/** A packet the firewall dropped, tied to its conntrack reason, flow and harvester attempt. */
export interface DroppedPacket {
  /** Ms since the harvest started. */
  tMs: number;
  src: string;
  dst: string;
  /** Normalised conntrack reason, or null when none was logged for these bytes. */
  reason: string | null;
  flow: number | null;
  page: number | null;
  attempt: number | null;
  /** The packet carried SACK blocks whose edges lie in the middlebox's shifted sequence space. */
  shiftedSack: boolean;
}

export interface ReasonCount {
  /** The kernel's reason with the numbers taken out, e.g. "ACK is over upper bound (ACKed data not seen yet)". */
  reason: string;
  /** Packets conntrack judged INVALID for this reason (NFLOG group 0). */
  judged: number;
  /** Of those, packets the firewall dropped (also in NFLOG group 1). */
  dropped: number;
}

export interface DropAccounting {
  /** The firewall's INVALID DROP counter (iptables), null if unreadable. */
  counter: number | null;
  /** Packets in invalid-drops.pcap. */
  captured: number;
  /** Captured drops whose exact bytes conntrack logged with a reason. */
  withReason: number;
  withoutReason: number;
  /** Every counted drop has a reason (counter <= withReason, and nothing without one). */
  accounted: boolean;
}

/** One flow, joined across the middlebox, conntrack, the harvester and nginx. */
export interface FlowDiagnosis {
  ordinal: number;
  client: string;
  page: number | null;
  attempt: number | null;
  /** Index in VariantEvidence.attempts of the attempt the flow is judged by (its failed one, else its last). */
  attemptIndex: number | null;
  outcome: Outcome | null;
  serverOffset: number;
  serverOffsetHalf: string;
  sackBlocksUntranslated: number;
  /** Packets the middlebox's impairment (loss model) dropped, both ways. */
  impairmentDrops: number;
  /** Packets of this flow the firewall dropped as INVALID, per reason. */
  invalidDrops: number;
  reasons: Record<string, number>;
  /** Dropped packets whose SACK edges were in the shifted space. */
  shiftedSackDrops: number;
  nginx: { status: number; bytesSent: number; completion: string; requestTimeMs: number } | null;
  bytesReceived: number | null;
}

export interface NginxMismatch {
  kind: 'server-complete-client-failed' | 'server-never-logged' | 'client-never-tried';
  remotePort: number;
  page: number | null;
  attempt: number | null;
  /** Index in VariantEvidence.attempts of the attempt concerned; null for client-never-tried. */
  attemptIndex: number | null;
  /** nginx's log line concerned; null for server-never-logged. */
  nginx: { status: number; bytesSent: number; request: string } | null;
}

/** One of the kept nstat counters (src/measure/nstat.ts) on both ends: fresh namespaces, so the run's deltas. */
export interface NstatCounter {
  name: NstatName;
  server: number;
  client: number;
}

export interface SeriesPoint {
  /** Ms since the harvest started (start of the bucket). */
  tMs: number;
  value: number;
}

export interface AttemptSpan {
  page: number;
  attempt: number;
  startMs: number;
  endMs: number;
  outcome: Outcome;
  localPort: number | null;
}

export interface VariantEvidence {
  /** The variant's folder name in the run folder. */
  dir: string;
  /** Epoch ms the harvest started: every tMs is relative to it. */
  t0EpochMs: number;
  /** The charts' x range (ms): the harvest, and any INVALID drop after it. */
  durationMs: number;
  attempts: Attempt[];
  /** The server's conntrack: invalid-reasons.pcap, matched with invalid-drops.pcap. */
  reasons: ReasonCount[];
  /**
   * The client's conntrack (a kube-proxy-style NAT on the client node): client-invalid-reasons.pcap,
   * absent when the run did not capture it. The client's INVALID rule logs no packets, so
   * `dropped` is known only when its counters show every INVALID packet was both logged and
   * dropped (then dropped = judged); otherwise it is 0. From 6.1 on the kernel logs some packets
   * it lets through ("ignored") with the same text: clientCounters tells the two apart.
   */
  clientReasons?: ReasonCount[];
  /** The client's counters, present with clientReasons. */
  clientCounters?: {
    /** conntrack -S invalid in the client's namespace (client-conntrack-stats.txt), null if unreadable. */
    conntrackInvalid: number | null;
    /**
     * INVALID packets the client dropped: its INVALID rule's counter (client-iptables.txt), or
     * with its own ruleset the ctlab_count bracket's before - after (client-invalid-count.json);
     * null when it has neither.
     */
    invalidDrops: number | null;
    /** Who dropped them: ctlab's INVALID rule, or the client's own ruleset (counted around it). */
    dropper: 'rule' | 'ruleset';
  };
  drops: DropAccounting;
  droppedPackets: DroppedPacket[];
  flows: FlowDiagnosis[];
  nginx: { requests: number; complete: number; mismatches: NginxMismatch[] };
  nstat: NstatCounter[];
  /** Retransmitted segments counted from the captures (Wireshark's rule), null if no capture. */
  retransmissions: { serverPcap: number | null; clientPcap: number | null };
  series: {
    attempts: AttemptSpan[];
    bucketMs: number;
    /** Bytes per second the client received (client.pcap, or the harvester's events without it). */
    throughput: SeriesPoint[];
    throughputSource: 'client.pcap' | 'events' | 'none';
    /** Packets the firewall dropped as INVALID per bucket. */
    invalidDrops: SeriesPoint[];
  };
  /** Files that were missing or unreadable. */
  problems: string[];
}
