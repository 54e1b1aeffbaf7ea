// The one table of metrics an expectation can test ("server.invalidDrops > 0"): each metric's
// name, meaning, unit, which runs have it, and how it is read from a variant's result. The
// scenario's list of metric names, the error that lists them, metricValue() and the README's
// metric table (checked by test/unit/result/metrics.test.ts) all come from here: adding a metric
// is one row with its reader.
import type { VariantResult, WorkloadKind, WorkloadResult } from './types.js';

/** What a metric may need besides the variant: the matrix's control cell, for throughput.relative. */
export interface MetricContext {
  control?: VariantResult;
}

/** Which runs measure a metric (the README's wording). */
export const METRIC_RUNS = {
  every: 'every run',
  http: 'every HTTP workload (all but `command`)',
  harvest: '`oai-pmh` workloads',
  httpGet: '`http` workloads',
  upload: '`upload` workloads',
  bytes: 'every workload but `command`',
  command: '`command` workloads',
  client: 'runs with a configured client (`client:`: NAT, INVALID rule, ruleset or sysctls)',
  clientRule: 'runs whose client drops INVALID (`client.dropInvalid`) or has its own ruleset (`client.firewall.rules`)',
  rules: "runs with the user's own ruleset (`server.firewall.rules`)",
  clientRules: "runs with the client's own ruleset (`client.firewall.rules`)",
  matrix: 'matrix only (`matrix.expect`)',
} as const;

export interface MetricRow {
  name: string;
  meaning: string;
  unit: string;
  runs: keyof typeof METRIC_RUNS;
  /** Compared with true/false (== or != only) rather than a number. */
  boolean?: true;
  /** A text: compared with `contains`, `matches` (a regular expression), == or != and a quoted string. */
  text?: true;
  /** For a matrix-only metric: what to use in a run's variant instead, named in the error. */
  instead?: string;
  /** The measured value; null when this variant cannot have it (see `runs`). */
  read: (v: VariantResult, ctx: MetricContext) => number | boolean | string | null;
}

/** The workload's kind (results written before the other workloads existed: oai-pmh). */
export function workloadKind(v: Pick<VariantResult, 'workload'>): WorkloadKind {
  return v.workload?.kind ?? 'oai-pmh';
}

/** The workload did everything it was asked (for oai-pmh, also in results without a workload section). */
export function workloadComplete(v: Pick<VariantResult, 'workload' | 'harvest'>): boolean {
  return v.workload?.complete ?? v.harvest.complete;
}

/** The workload's section when it is of `kind`, else undefined. */
function section<K extends WorkloadKind>(v: VariantResult, kind: K): Extract<WorkloadResult, { kind: K }> | undefined {
  return v.workload?.kind === kind ? (v.workload as Extract<WorkloadResult, { kind: K }>) : undefined;
}

/** Metrics of HTTP attempts: null for a command workload (ctlab does not see into it). */
const http = (v: VariantResult, x: number): number | null => (workloadKind(v) === 'command' ? null : x);

/** stdout then stderr, as a terminal interleaves them when the command writes one after the other. */
function commandOutput(v: VariantResult): string | null {
  const c = section(v, 'command');
  return c ? `${c.stdout}${c.stderr}` : null;
}

export const METRIC_TABLE = [
  {
    name: 'records',
    meaning: 'records the harvest got',
    unit: 'records',
    runs: 'harvest',
    read: (v) => (workloadKind(v) === 'oai-pmh' ? v.harvest.records : null),
  },
  {
    name: 'complete',
    meaning:
      'the workload did everything it was asked: every record (oai-pmh), every request answered in full with the size asked (http), every upload acknowledged with the byte count sent (upload), the size or duration reached (bulk), exit code 0 (command)',
    unit: 'true/false',
    runs: 'every',
    boolean: true,
    read: (v) => workloadComplete(v),
  },
  {
    name: 'attempts.timedOut',
    meaning: 'HTTP attempts that timed out (connect, or no byte received or sent for readTimeoutMs)',
    unit: 'attempts',
    runs: 'http',
    read: (v) => http(v, v.attempts.timedOut),
  },
  {
    name: 'attempts.failed',
    meaning: 'HTTP attempts that did not end ok',
    unit: 'attempts',
    runs: 'http',
    read: (v) => http(v, v.attempts.failed),
  },
  {
    name: 'server.invalidDrops',
    meaning:
      "INVALID packets the server's firewall dropped: ctlab's firewall's DROP counter, or with `server.firewall.rules` the INVALID packets seen just after conntrack minus those seen after the ruleset (`server.invalidCount`)",
    unit: 'packets',
    runs: 'every',
    read: (v) => v.server.invalidDrops,
  },
  {
    name: 'server.invalidSeen',
    meaning:
      "INVALID packets the ctlab_count chains saw just after conntrack, before the user's ruleset (input, forward and output)",
    unit: 'packets',
    runs: 'rules',
    read: (v) => v.server.invalidCount?.before ?? null,
  },
  {
    name: 'server.conntrackInvalid',
    meaning: "packets the server's conntrack counted INVALID (`conntrack -S`, summed over CPUs)",
    unit: 'packets',
    runs: 'every',
    read: (v) => v.server.conntrackInvalid,
  },
  {
    name: 'middlebox.queueDrops',
    meaning:
      "packets the kernel dropped at the middlebox's NFQUEUE (queue or socket full); non-zero makes the run untrustworthy",
    unit: 'packets',
    runs: 'every',
    read: (v) => v.middlebox.queueDrops,
  },
  {
    name: 'attempts.resets',
    meaning: 'HTTP attempts that ended in a connection reset (ECONNRESET at the client)',
    unit: 'attempts',
    runs: 'http',
    read: (v) => http(v, v.attempts.resets),
  },
  {
    name: 'client.conntrackInvalid',
    meaning: "packets the client's conntrack counted INVALID (`conntrack -S` in its namespace, summed over CPUs)",
    unit: 'packets',
    runs: 'client',
    read: (v) => v.client.conntrackInvalid ?? null,
  },
  {
    name: 'client.invalidDrops',
    meaning:
      "INVALID packets the client dropped: its INVALID rule's DROP counter, or with `client.firewall.rules` those seen just after conntrack minus those seen after the ruleset (`client.invalidCount`); not measurable without either",
    unit: 'packets',
    runs: 'clientRule',
    read: (v) => v.client.invalidDrops ?? null,
  },
  {
    name: 'client.invalidSeen',
    meaning:
      "INVALID packets the client's ctlab_count chains saw just after conntrack, before the client's own ruleset (input, forward and output)",
    unit: 'packets',
    runs: 'clientRules',
    read: (v) => v.client.invalidCount?.before ?? null,
  },
  {
    name: 'client.outRsts',
    meaning: "RSTs the client's TCP sent (nstat `TcpOutRsts`)",
    unit: 'segments',
    runs: 'every',
    read: (v) => v.client.nstat.TcpOutRsts ?? null,
  },
  {
    name: 'server.estabResets',
    meaning: "established connections the server's TCP saw reset (nstat `TcpEstabResets`)",
    unit: 'connections',
    runs: 'every',
    read: (v) => v.server.nstat.TcpEstabResets ?? null,
  },
  {
    name: 'client.retransSegs',
    meaning: "segments the client's TCP sent again (nstat `TcpRetransSegs`)",
    unit: 'segments',
    runs: 'every',
    read: (v) => v.client.nstat.TcpRetransSegs ?? null,
  },
  {
    name: 'server.beyondWindow',
    meaning:
      "segments the server's TCP dropped for lying beyond the window it advertised (nstat `TcpExtBeyondWindow`, Linux 6.17 on; 0 on older kernels, which drop them uncounted)",
    unit: 'segments',
    runs: 'every',
    read: (v) => v.server.nstat.TcpExtBeyondWindow ?? null,
  },
  {
    name: 'throughputMbit',
    meaning: "the workload's throughput (bytes received or sent over its duration)",
    unit: 'Mbit/s',
    runs: 'http',
    read: (v) => http(v, (v.throughputBytesPerSec * 8) / 1e6),
  },
  {
    name: 'throughput.relative',
    meaning:
      "throughput over the matrix control cell's, measured in the same run; not measurable when either workload did not complete (or is a command)",
    unit: 'ratio',
    runs: 'matrix',
    instead: 'throughputMbit',
    read: (v, ctx) => relativeThroughput(v, ctx.control),
  },
  {
    name: 'durationMs',
    meaning: 'how long the workload ran (the harvest, the requests, the transfer, the command)',
    unit: 'ms',
    runs: 'every',
    read: (v) => v.workload?.durationMs ?? v.durationMs,
  },
  {
    name: 'bytes',
    meaning:
      'bytes the workload moved: every byte received (oai-pmh), response body bytes received, also of attempts that failed midway (http, bulk to-client), body bytes the server acknowledged (upload, bulk to-server)',
    unit: 'bytes',
    runs: 'bytes',
    read: (v) => (v.workload ? v.workload.bytes : null),
  },
  {
    name: 'requests.ok',
    meaning: 'requests answered in full with the size asked',
    unit: 'requests',
    runs: 'httpGet',
    read: (v) => section(v, 'http')?.ok ?? null,
  },
  {
    name: 'uploads.acknowledged',
    meaning: 'uploads the server acknowledged with the byte count sent',
    unit: 'uploads',
    runs: 'upload',
    read: (v) => section(v, 'upload')?.acknowledged ?? null,
  },
  {
    name: 'uploads.wrongCount',
    meaning: 'uploads the server acknowledged with another byte count than was sent',
    unit: 'uploads',
    runs: 'upload',
    read: (v) => section(v, 'upload')?.wrongCount ?? null,
  },
  {
    name: 'command.exitCode',
    meaning: "the command's exit code (127: not found; null when a signal ended it)",
    unit: 'code',
    runs: 'command',
    read: (v) => section(v, 'command')?.exitCode ?? null,
  },
  {
    name: 'command.timedOut',
    meaning: 'the command ran past maxDurationMs and was stopped',
    unit: 'true/false',
    runs: 'command',
    boolean: true,
    read: (v) => section(v, 'command')?.timedOut ?? null,
  },
  {
    name: 'command.stdout',
    meaning: "the command's standard output (its first 64 KiB)",
    unit: 'text',
    runs: 'command',
    text: true,
    read: (v) => section(v, 'command')?.stdout ?? null,
  },
  {
    name: 'command.stderr',
    meaning: "the command's standard error (its first 64 KiB)",
    unit: 'text',
    runs: 'command',
    text: true,
    read: (v) => section(v, 'command')?.stderr ?? null,
  },
  {
    name: 'command.output',
    meaning: 'the standard output followed by the standard error',
    unit: 'text',
    runs: 'command',
    text: true,
    read: (v) => commandOutput(v),
  },
] as const satisfies readonly MetricRow[];

/** A metric a variant's expectation can test. */
export type Metric = (typeof METRIC_TABLE)[number]['name'];

/** Every metric's name, in the table's order. */
export const METRICS: readonly Metric[] = METRIC_TABLE.map((m) => m.name);

/** Metrics that need the matrix's control cell (measured in the same run). */
export const MATRIX_ONLY_METRICS: readonly Metric[] = METRIC_TABLE.filter((m) => m.runs === 'matrix').map(
  (m) => m.name,
);

const BY_NAME = new Map<string, MetricRow>(METRIC_TABLE.map((m) => [m.name, m]));

/** The table's row for a metric name; undefined when there is no such metric. */
export function metricRow(name: string): MetricRow | undefined {
  return BY_NAME.get(name);
}

/** The workload's throughput over the control's; null when either did not complete (or is a command). */
export function relativeThroughput(v: VariantResult, control: VariantResult | undefined): number | null {
  if (!control || !workloadComplete(control) || control.throughputBytesPerSec <= 0 || !workloadComplete(v)) return null;
  if (workloadKind(v) === 'command' || workloadKind(control) === 'command') return null;
  return v.throughputBytesPerSec / control.throughputBytesPerSec;
}

/** A metric's measured value; null when it cannot be measured (throughput.relative without a control). */
export function metricValue(v: VariantResult, m: Metric, ctx: MetricContext = {}): number | boolean | string | null {
  // Every Metric names a row (the type is the table's names), so BY_NAME has it.
  return BY_NAME.get(m)!.read(v, ctx);
}

/** The README's metric table (section "Scenarios"), one line per metric. */
export function metricsMarkdown(): string {
  const lines = ['| metric | meaning | unit | measured in |', '|---|---|---|---|'];
  for (const m of METRIC_TABLE) lines.push(`| \`${m.name}\` | ${m.meaning} | ${m.unit} | ${METRIC_RUNS[m.runs]} |`);
  return lines.join('\n');
}
