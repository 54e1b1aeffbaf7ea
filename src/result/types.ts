// The result of a run: the types of what `result.json` holds. These field names are a contract
// CI users script against (README, "result.json"): add fields freely, never rename these.

/** The 50th, 90th and 99th percentile and the largest of some samples (ms in connectMs, requestMs); null when there were none. */
export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export interface ExpectationResult {
  text: string;
  passed: boolean;
  /** The measured value the expectation was tested against (a text metric's: at most its first 200 characters). */
  actual: number | boolean | string | null;
  /** The kernel condition that selected it (e.g. "< 6.1"), for kernel-conditional expectations. */
  kernel?: string;
}

/** The harvester's HTTP attempts by outcome: its summary's counts, kept as they are in result.json. */
export interface AttemptCounts {
  total: number;
  ok: number;
  /** connect + read timeouts. */
  timedOut: number;
  connectTimeouts: number;
  readTimeouts: number;
  resets: number;
  /** http-error + parse-error + error outcomes. */
  errors: number;
  httpErrors: number;
  parseErrors: number;
  /** Attempts that did not end ok (total - ok). */
  failed: number;
  /** Attempts after a page's first. */
  retries: number;
}

export interface VariantResult {
  name: string;
  repetition: number;
  seed: number;
  kernel: string;
  /** The server's sysctls, keyed by full name. */
  sysctls: Record<string, string>;
  /** TCP settings that matter, read back with `sysctl` in the server node (SERVER_SETTINGS). */
  serverSettings?: Record<string, string>;
  /**
   * The OAI-PMH harvest's. For the other workloads (see `workload`) `complete` and
   * `stoppedBecause` are the workload's and records, expectedRecords and pages are 0.
   */
  harvest: {
    records: number;
    expectedRecords: number;
    complete: boolean;
    pages: number;
    stoppedBecause: string | null;
  };
  /** What the workload was and did (every run since the workloads beside oai-pmh; older results lack it). */
  workload?: WorkloadResult;
  /** The HTTP attempts (all zero for a command workload, which ctlab does not see into). */
  attempts: AttemptCounts;
  connectMs: Percentiles;
  requestMs: Percentiles;
  durationMs: number;
  throughputBytesPerSec: number;
  server: {
    /**
     * INVALID packets the server's firewall dropped: ctlab's firewall's DROP rule counter, or,
     * with the user's ruleset (`server.firewall.rules`), `invalidCount.before - after` summed
     * over the hooks.
     */
    invalidDrops: number;
    /** How invalidDrops was counted; absent for ctlab's own firewall (its DROP rule counter). */
    invalidCount?: InvalidCount;
    /** conntrack -S invalid, summed over CPUs. */
    conntrackInvalid: number;
    conntrackStats: Record<string, number>;
    nstat: Record<string, number>;
  };
  client: {
    nstat: Record<string, number>;
    /** The client node's NAT and conntrack, when the scenario gives it a `client` (kube-proxy-style NAT). */
    serviceVip?: string;
    /** The client namespace's sysctls, keyed by full name. */
    sysctls?: Record<string, string>;
    /** `conntrack -S` invalid in the client's namespace, summed over CPUs. */
    conntrackInvalid?: number;
    conntrackStats?: Record<string, number>;
    /** Packets the client's INVALID rule dropped; null when it has no such rule. */
    invalidDrops?: number | null;
    /** Entries of the client's conntrack table DNATed from the VIP to the server at the end of the harvest. */
    natFlows?: number;
  };
  middlebox: {
    /** The per-packet engine's counters (packetsSeen, sackBlocksUntranslated, droppedByLoss, serverOffsetPos...). */
    counters: Record<string, number>;
    /** The NFQUEUE binding's (batches, verdicts, enobufs...). */
    binding: Record<string, number>;
    /** The delay queue's. */
    hold: Record<string, number>;
    /** CPU time of the middlebox process (userUs, systemUs). */
    cpu: Record<string, number>;
    /** Kernel NFQUEUE drops (queue full + socket full); non-zero fails the run. */
    queueDrops: number;
    flows: number;
  };
  expectations: ExpectationResult[];
  /** Mid-run actions (scenario `actions`): when each ran and what the node answered. */
  actions?: ActionResult[];
  timings: { labUpMs: number; harvestMs: number; collectMs: number; teardownMs: number };
  /** The variant's folder, relative to the run folder ("flag-off", or "flag-off-2" with repetitions). */
  dir: string;
  /** Files kept for this variant: names inside `dir`. */
  files: Record<string, string>;
}

export interface ActionResult {
  text: string;
  node: string;
  /** When it was due, and when it ran, in ms after the harvest started (null: it never ran). */
  atMs: number;
  ranAtMs: number | null;
  ok: boolean;
  /** What the command printed. */
  output: string;
  /** conntrack-flush: the entries in the table just before the flush deleted them. */
  flushedEntries?: number;
}

export interface RunResult {
  schemaVersion: 1;
  scenario: string;
  /** The scenario's own description: what was tested, in its words. */
  description?: string;
  scenarioFile: string;
  seed: number;
  repetitions: number;
  kernel: string;
  runId: string;
  startedAt: string;
  durationMs: number;
  /** One plain sentence. */
  verdict: string;
  /** Every expectation of every variant passed and nothing broke. */
  passed: boolean;
  variants: VariantResult[];
  /** Problems that make the run itself untrustworthy (e.g. NFQUEUE drops). */
  problems: string[];
  /** The reports written next to result.json, relative to the run folder. */
  reports?: { html: string; markdown: string; junit: string };
  /** With `--kernel`: how the scenario ran on each kernel (variants carry the release in `kernel`). */
  kernelRuns?: KernelRun[];
}

/** One kernel of a multi-kernel run: where it ran and how long it took. */
export interface KernelRun {
  /** What the user named: "5.10", "6.1", "host", "path:/boot/vmlinuz-x,...". */
  spec: string;
  /** `uname -r` where the lab ran. */
  release: string;
  runtime: 'docker' | 'netns';
  /** null when the lab ran natively on the host's kernel. */
  vm: null | { accel: 'kvm' | 'tcg'; bootMs: number; jobMs: number };
  totalMs: number;
  /** This kernel's own run folder (result.json, reports), relative to the run folder. */
  dir: string;
  passed: boolean;
  verdict: string;
  /** Set when the kernel could not run the scenario at all (boot failure, guest error). */
  error?: string;
}

/**
 * INVALID packets counted around the user's ruleset by the ctlab_count nft table
 * (src/topology/firewall.ts): `before` just after conntrack (priority -199), `after` behind
 * every filtering chain (priority 1000), summed over input, forward and output; `hooks` per hook.
 */
export interface InvalidCount {
  method: 'nft-bracket';
  before: number;
  after: number;
  hooks: Record<'input' | 'forward' | 'output', { before: number; after: number }>;
}

/** The workloads a scenario can run (src/scenario/model.ts Workload). */
export type WorkloadKind = 'oai-pmh' | 'http' | 'upload' | 'bulk' | 'command';

/** What every workload's section says. */
export interface WorkloadBase {
  /**
   * The workload did everything it was asked: every record (oai-pmh), every request answered in
   * full with the size asked (http), every upload acknowledged with the right byte count
   * (upload), the size or the duration reached (bulk), the command exited 0 (command).
   */
  complete: boolean;
  /** Why it stopped: "complete", or what ended it (retries-exhausted, deadline, wrong-count, exit-code, timeout, ...). */
  stoppedBecause: string | null;
  /** Payload bytes it moved (response bodies received, upload bodies the server counted, bulk bytes); null for a command. */
  bytes: number | null;
  /** How long it ran, ms. */
  durationMs: number;
}

export interface HarvestWorkloadResult extends WorkloadBase {
  kind: 'oai-pmh';
  records: number;
  expectedRecords: number;
}

export interface HttpWorkloadResult extends WorkloadBase {
  kind: 'http';
  /** Requests asked for. */
  requests: number;
  /** Requests answered in full with the size asked. */
  ok: number;
  /** Response bytes asked for over all requests. */
  expectedBytes: number;
  concurrency: number;
  keepAlive: boolean;
}

export interface UploadWorkloadResult extends WorkloadBase {
  kind: 'upload';
  /** Uploads asked for. */
  requests: number;
  /** Uploads the server acknowledged with the byte count sent. */
  acknowledged: number;
  /** Uploads the server acknowledged with another byte count than sent. */
  wrongCount: number;
  /** Body bytes sent in attempts the server acknowledged, and the counts it answered. */
  bytesSent: number;
  bytesAcknowledged: number;
  /** Body bytes asked for over all uploads. */
  expectedBytes: number;
  concurrency: number;
  keepAlive: boolean;
}

export interface BulkWorkloadResult extends WorkloadBase {
  kind: 'bulk';
  direction: 'to-client' | 'to-server';
  /** The size asked (null: a transfer for targetMs). */
  targetBytes: number | null;
  /** The duration asked (null: a transfer of targetBytes). */
  targetMs: number | null;
}

export interface CommandWorkloadResult extends WorkloadBase {
  kind: 'command';
  command: string;
  /** The command's exit code; null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended it (after the timeout: SIGTERM or SIGKILL), else null. */
  signal: string | null;
  /** It ran past maxDurationMs and was stopped. */
  timedOut: boolean;
  /** Its output (at most the first 64 KiB of each; the whole in the variant's files command-stdout.txt, command-stderr.txt). */
  stdout: string;
  stderr: string;
  stdoutBytes: number;
  stderrBytes: number;
}

export type WorkloadResult =
  | HarvestWorkloadResult
  | HttpWorkloadResult
  | UploadWorkloadResult
  | BulkWorkloadResult
  | CommandWorkloadResult;
