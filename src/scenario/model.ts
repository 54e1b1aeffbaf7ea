// The validated scenario model: what a scenario file means once it has passed the schema
// (src/scenario/schema.ts). Everything downstream (topology, runtime, middlebox, harvester,
// measurements, report) reads these types, never the raw YAML. Expectations are the result
// model's (src/result/expectations.ts).
import type { Expectation } from '../result/expectations.js';
import type { RulesModel } from './rules.js';

/** Which handshake packets an option rewrite applies to. */
export type Sides = 'none' | 'syn' | 'synack' | 'both';

/** How the middlebox rewrites TCP: a Cisco-style firewall, a load balancer, or nothing. */
export interface MiddleboxProfile {
  /** Human label, e.g. "asa" or "transparent". */
  name: string;
  /**
   * Initial-sequence-number randomization: a per-flow random offset added to the client's
   * sequence numbers (`client`) and to the server's (`server`); the other direction's ACK
   * numbers are shifted back.
   */
  isn: { client: boolean; server: boolean };
  /** Translate SACK block edges by the same offset (correct). false is the Cisco bug. */
  sackTranslation: boolean;
  /** Optional fixed offsets instead of seeded random ones (tests, reproductions of one flow). */
  fixedOffsets?: { client?: number; server?: number };
  options: {
    /** Overwrite SACK-permitted with NOPs in these handshake packets. */
    sackPermitted: { strip: Sides };
    /** Overwrite window scale with NOPs, or set its shift count. */
    windowScale: { strip: Sides; setSyn?: number; setSynAck?: number };
    /** Overwrite timestamps with NOPs: in handshake packets, or 'all' packets. */
    timestamps: { strip: Sides | 'all' };
  };
}

/** Which direction of data an impairment applies to. */
export type Direction = 'to-client' | 'to-server' | 'both';

export type LossModel =
  | { kind: 'none' }
  /** Drop first transmissions of data segments with this probability (seeded, deterministic). */
  | { kind: 'rate'; rate: number; direction: Direction }
  /** Drop every Nth first transmission of data per flow and direction. */
  | { kind: 'every-nth'; n: number; direction: Direction };

/** The network path between client and server; it lives in the middlebox (no netem here). */
export interface PathModel {
  /** One-way delay added in each direction, in milliseconds. */
  delayMs: number;
  /** Rate the middlebox's egress is shaped to, each direction, in Mbit/s (HTB). 0 = unshaped. */
  rateMbit: number;
  loss: LossModel;
  /** Hold this fraction of data segments for extraDelayMs more, so they arrive out of order. */
  reorder: { rate: number; extraDelayMs: number };
  /** Late packets: hold some packets of every flow so later ones overtake them (absent = none). */
  late?: LateModel;
}

/** Hold the `every`-th, 2·`every`-th, ... packet of a kind, per flow, for `holdMs` more. */
export interface LateRule {
  every: number;
  holdMs: number;
}

/**
 * Which packets arrive late. Conntrack judges a late one against state that later packets
 * already advanced: before Linux 6.1 it is INVALID ("ACK/SEQ is under the lower bound"),
 * from 6.1 on only "ignored".
 */
export interface LateModel {
  /** Pure ACKs from the client to the server (no payload, no SYN/FIN/RST). */
  clientAcks?: LateRule;
  /** First transmissions of data segments from the server to the client. */
  serverData?: LateRule;
}

/** Server-side sysctls, keyed by full name, e.g. "net.netfilter.nf_conntrack_tcp_be_liberal". */
export type Sysctls = Record<string, string>;

export interface ServerModel {
  /** Applied at container creation (the base of every variant). */
  sysctls: Sysctls;
  /**
   * The hardened firewall: drop INVALID through a counted, NFLOG-ing chain. `policy` is the
   * INPUT chain's policy (default 'drop': default-deny, so an INVALID packet that no rule
   * accepts dies there even without the INVALID rule; 'accept' lets it reach TCP).
   */
  firewall: {
    dropInvalid: boolean;
    backend: 'nft' | 'legacy';
    policy?: 'drop' | 'accept';
    /**
     * The user's ruleset, loaded instead of ctlab's firewall (dropInvalid and policy then do not
     * apply); its INVALID drops are counted by nft chains bracketing it (src/topology/firewall.ts).
     */
    rules?: RulesModel;
  };
}

/** The HTTP client's settings every HTTP workload shares (oai-pmh, http, upload, bulk). */
export interface HttpClientSettings {
  connectTimeoutMs: number;
  /** An attempt that makes no progress (no byte received, none sent) for this long times out. */
  readTimeoutMs: number;
  /** Retries per request (per page for oai-pmh) after the first attempt. */
  retries: number;
  backoffMs: number;
  /** Give up on the whole workload after this long. */
  maxDurationMs: number;
}

export interface HarvestWorkload extends HttpClientSettings {
  kind: 'oai-pmh';
  /** Records the repository holds (3,812 in the incident). */
  records: number;
  pageSize: number;
  /** Mean size of one record's XML, bytes. */
  recordBytes: number;
  keepAlive: boolean;
}

/** N GETs of the server's /bytes/<n>: request i asks for sizes[i % sizes.length] bytes. */
export interface HttpWorkload extends HttpClientSettings {
  kind: 'http';
  requests: number;
  /** Response body sizes in bytes, taken in turn (at least one). */
  sizes: number[];
  /** Requests in flight at once (each on its own connection). */
  concurrency: number;
  keepAlive: boolean;
}

/** N POSTs of sizes[i % sizes.length] bytes to the server's /upload; it answers the byte count it read. */
export interface UploadWorkload extends HttpClientSettings {
  kind: 'upload';
  requests: number;
  /** Request body sizes in bytes, taken in turn. */
  sizes: number[];
  concurrency: number;
  keepAlive: boolean;
}

/** One long transfer in one direction, for a size or a duration (exactly one of them). */
export interface BulkWorkload extends HttpClientSettings {
  kind: 'bulk';
  direction: 'to-client' | 'to-server';
  /** Bytes to move (null: move for durationMs). */
  bytes: number | null;
  /** How long to move data (null: move `bytes`). */
  durationMs: number | null;
}

/** The user's own client command: `sh -c command` in the client node, stopped after maxDurationMs. */
export interface CommandWorkload {
  kind: 'command';
  command: string;
  maxDurationMs: number;
}

/** What the client does during a run. */
export type Workload = HarvestWorkload | HttpWorkload | UploadWorkload | BulkWorkload | CommandWorkload;
export type WorkloadKind = Workload['kind'];

/**
 * The client node (the harvester's network namespace). With `serviceVip` it is a Kubernetes
 * node in miniature: the harvester connects to the VIP and the node's own nat table DNATs it to
 * the server (kube-proxy's `-t nat -A OUTPUT ... -j DNAT`), so the client's conntrack must undo
 * the NAT on every reply. A reply that conntrack judges INVALID is not un-NATed (kubernetes#74839).
 */
export interface ClientModel {
  /** The service address the harvester connects to, DNATed to the server's (absent: connect directly). */
  serviceVip?: string;
  /** kube-proxy's fix: `-A INPUT -m conntrack --ctstate INVALID -j DROP` on the client, counted. */
  dropInvalid: boolean;
  /** The client namespace's sysctls (its conntrack's be_liberal is the other fix). */
  sysctls: Sysctls;
}

/** A variant's changes to the client: each field given replaces the scenario's (sysctls merge). */
export interface ClientOverride {
  /** null: no VIP, no NAT (the control). */
  serviceVip?: string | null;
  dropInvalid?: boolean;
  sysctls?: Sysctls;
}

/** A variant: the scenario with some settings changed (at least the flag off and on). */
export interface VariantModel {
  name: string;
  /** Server sysctls merged over server.sysctls. */
  sysctls: Sysctls;
  /** Client settings over the scenario's `client` (absent: the scenario's). */
  client?: ClientOverride;
  expect: Expectation[];
  /** Mid-run actions for this variant; when absent, the scenario's `actions` apply. */
  actions?: LabAction[];
}

/** Something done to a lab node while the harvest runs, e.g. flushing the server's conntrack table. */
export interface LabAction {
  /** Milliseconds after the harvest starts. */
  atMs: number;
  node: 'server' | 'client' | 'middlebox';
  do: 'conntrack-flush';
  /** As written, e.g. "conntrack-flush on server at 2s". */
  text: string;
}

export interface Scenario {
  /** Scenario name (from the file, or its base name). */
  name: string;
  description: string;
  /** Absolute path of the file it came from. */
  file: string;
  seed: number;
  repetitions: number;
  path: PathModel;
  middlebox: MiddleboxProfile;
  server: ServerModel;
  /** The client node's NAT, firewall and sysctls (absent: a plain client). */
  client?: ClientModel;
  workload: Workload;
  /** Empty when the scenario has only a matrix (run it with `ctlab matrix`). */
  variants: VariantModel[];
  /** Mid-run actions of every variant (a variant's own `actions` replace them). */
  actions?: LabAction[];
  /** Axes crossed into cells, for `ctlab matrix`. */
  matrix?: MatrixModel;
}

/** An axis pattern: names or globs ("*", "asa*"); a cell matches when any of them does. */
export type AxisPattern = string[];

/** A named server configuration of the matrix: sysctls over server.sysctls, firewall over server.firewall. */
export interface MatrixServer {
  name: string;
  sysctls: Sysctls;
  firewall: Partial<ServerModel['firewall']>;
}

export interface MatrixFirewall {
  name: string;
  profile: MiddleboxProfile;
}

export interface MatrixExpectRule {
  firewall: AxisPattern;
  server: AxisPattern;
  expect: Expectation[];
  /** The physics behind the prediction, for the report. */
  why: string;
}

export interface MatrixModel {
  firewalls: MatrixFirewall[];
  servers: MatrixServer[];
  exclude: { firewall: AxisPattern; server: AxisPattern }[];
  /** The throughput baseline cell (by axis names); see selectControl() in src/matrix/. */
  control?: { firewall: string; server: string };
  expect: MatrixExpectRule[];
}

/** The flag this lab is about. */
export const BE_LIBERAL = 'net.netfilter.nf_conntrack_tcp_be_liberal';
