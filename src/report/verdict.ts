// The verdict in plain words, and the side-by-side table for the terminal.
import { BE_LIBERAL } from '../scenario/model.js';
import { variantLabel } from './kernels.js';
import { workloadComplete, workloadKind } from '../result/metrics.js';
import type { RunResult, VariantResult } from '../result/types.js';
import { completeLabel, completeWords, progressRow, progressWords, workloadNoun } from './workload.js';

const n = (x: number) => x.toLocaleString('en-US');

function flag(v: VariantResult): string | undefined {
  return v.sysctls[BE_LIBERAL];
}

function broken(v: VariantResult): boolean {
  return !workloadComplete(v) || v.attempts.timedOut > 0;
}

/** How far the workload got, for ordering variants: the worst has done the least. */
function done(v: VariantResult): number {
  const w = v.workload;
  if (!w) return v.harvest.records;
  switch (w.kind) {
    case 'oai-pmh':
      return w.records;
    case 'http':
      return w.ok / w.requests;
    case 'upload':
      return w.acknowledged / w.requests;
    case 'bulk':
      return w.bytes ?? 0;
    case 'command':
      return w.complete ? 1 : 0;
  }
}

/** A command fails; the transfers stall. */
function stalled(v: VariantResult): string {
  return workloadKind(v) === 'command' ? 'failed' : 'stalled';
}

function stall(v: VariantResult): string {
  const parts = [progressWords(v)];
  if (v.attempts.timedOut > 0)
    parts.push(`${n(v.attempts.timedOut)} timed-out attempt${v.attempts.timedOut === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/**
 * One sentence a manager can read. It names what was measured, never more: the INVALID drop
 * counter, the harvest's records and its timeouts, per value of the flag.
 */
export function verdictSentence(variants: VariantResult[], problems: string[] = []): string {
  if (problems.length > 0) return `Inconclusive: ${problems[0]}`;
  const [firstVariant] = variants;
  if (!firstVariant) return 'Inconclusive: no variant ran.';
  const off = variants.filter((v) => flag(v) === '0');
  const on = variants.filter((v) => flag(v) === '1');
  const offBroken = off.filter((v) => broken(v) && v.server.invalidDrops > 0);
  const [firstOn] = on;
  const onClean = firstOn !== undefined && on.every((v) => !broken(v) && v.server.invalidDrops === 0);
  const drops = offBroken.reduce((a, v) => a + v.server.invalidDrops, 0);
  if (offBroken.length > 0 && onClean) {
    const worst = offBroken.reduce((a, v) => (done(v) < done(a) ? v : a));
    const reps = off.length > 1 ? ` in ${offBroken.length} of ${off.length} runs` : '';
    return (
      `Reproduced${reps}: with nf_conntrack_tcp_be_liberal=0 the server's firewall dropped ${n(drops)} packet${drops === 1 ? '' : 's'} ` +
      `that conntrack judged INVALID and ${workloadNoun(worst)} ${stalled(worst)} (${stall(worst)}); with =1 it ${completeWords(firstOn)} ` +
      'with no timeout and no INVALID drop.'
    );
  }
  // A client-side NAT (kube-proxy style): packets its conntrack judged INVALID skip the reverse
  // NAT, the client answers them with RSTs, and the server resets the connection.
  const escaped = (v: VariantResult) =>
    v.client.serviceVip && v.client.invalidDrops == null ? (v.client.conntrackInvalid ?? 0) : 0;
  const resets = (v: VariantResult) => v.server.nstat.TcpEstabResets ?? 0;
  const natBroken = variants.filter((v) => broken(v) && escaped(v) > 0);
  if (natBroken.length > 0) {
    const cured = variants.filter((v) => !broken(v));
    const [firstCured] = cured;
    const worst = natBroken.reduce((a, v) => (done(v) < done(a) ? v : a));
    const esc = natBroken.reduce((a, v) => a + escaped(v), 0);
    const rst = natBroken.reduce((a, v) => a + resets(v), 0);
    return (
      `Reproduced: the client's NAT let ${n(esc)} packet${esc === 1 ? '' : 's'} its conntrack judged INVALID through without the reverse NAT, ` +
      `the server reset ${n(rst)} connection${rst === 1 ? '' : 's'} and ${workloadNoun(worst)} ${stalled(worst)} (${natBroken.map((v) => v.name).join(', ')}: ${stall(worst)})` +
      (firstCured ? `; ${cured.map((v) => v.name).join(', ')} ${completeWords(firstCured)}.` : '.')
    );
  }
  const invalidAnywhere = (v: VariantResult) => v.server.invalidDrops + (v.client.invalidDrops ?? 0) + escaped(v);
  const anyInvalid = variants.some((v) => invalidAnywhere(v) > 0);
  const anyBroken = variants.some(broken);
  if (!anyInvalid && !anyBroken) {
    return `Not reproduced: no packet was dropped as INVALID and every variant ${completeWords(firstVariant)} without a timeout.`;
  }
  const parts = variants.map((v) => {
    const client = v.client.serviceVip
      ? `, client conntrack ${n(v.client.conntrackInvalid ?? 0)} INVALID${v.client.invalidDrops != null ? ` (${n(v.client.invalidDrops)} dropped)` : ''}`
      : '';
    return `${v.name}${variants.some((w) => w !== v && w.name === v.name) ? `#${v.repetition}` : ''}: ${stall(v)}, ${n(v.server.invalidDrops)} INVALID drops${client}`;
  });
  if (!anyBroken && anyInvalid) {
    return (
      `Every variant ${completeWords(firstVariant)} without a timeout, but conntrack judged packets INVALID ` +
      `(${parts.join('; ')}): TCP recovered this time.`
    );
  }
  if (anyBroken && !anyInvalid) {
    const what = workloadKind(firstVariant) === 'oai-pmh' ? 'Harvest' : 'The workload';
    return `${what} failed without any packet judged INVALID, so conntrack is not the cause here (${parts.join('; ')}).`;
  }
  return `Mixed result (${parts.join('; ')}).`;
}

function fmtMs(x: number | null): string {
  return x == null ? '-' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`;
}

/** Side-by-side table: one column per variant (and repetition). */
export function variantTable(r: RunResult): string {
  const cols = r.variants.map((v) => variantLabel(r, v));
  const progress = progressRow(r.variants);
  const rows: [string, (v: VariantResult) => string][] = [
    ['be_liberal', (v) => flag(v) ?? '-'],
    [progress.label, progress.cell],
    [completeLabel(r.variants), (v) => (workloadComplete(v) ? 'yes' : 'NO')],
    ['attempts', (v) => n(v.attempts.total)],
    [
      'timed out',
      (v) => `${v.attempts.timedOut} (connect ${v.attempts.connectTimeouts}, read ${v.attempts.readTimeouts})`,
    ],
    ['retries', (v) => n(v.attempts.retries)],
    ['connect p50 / p99', (v) => `${fmtMs(v.connectMs.p50)} / ${fmtMs(v.connectMs.p99)}`],
    ['request p50 / p99', (v) => `${fmtMs(v.requestMs.p50)} / ${fmtMs(v.requestMs.p99)}`],
    ['throughput', (v) => `${(v.throughputBytesPerSec / 1e6).toFixed(2)} MB/s`],
    [
      r.variants.every((v) => workloadKind(v) === 'oai-pmh') ? 'harvest time' : 'workload time',
      (v) => fmtMs(v.durationMs),
    ],
    ['INVALID drops (fw)', (v) => n(v.server.invalidDrops)],
    ['conntrack invalid', (v) => n(v.server.conntrackInvalid)],
    ['server retransmits', (v) => n(v.server.nstat.TcpRetransSegs ?? 0)],
    ['server RTOs', (v) => n(v.server.nstat.TcpExtTCPTimeouts ?? 0)],
    ['SACK blocks discarded', (v) => n(v.server.nstat.TcpExtTCPSACKDiscard ?? 0)],
    ['middlebox packets', (v) => n(Number(v.middlebox.counters.packetsSeen ?? 0))],
    ['middlebox loss drops', (v) => n(Number(v.middlebox.counters.droppedByLoss ?? 0))],
    ['SACK blocks untranslated', (v) => n(Number(v.middlebox.counters.sackBlocksUntranslated ?? 0))],
    ['client conntrack invalid', (v) => (v.client.serviceVip ? n(v.client.conntrackInvalid ?? 0) : '-')],
    ['server conn. resets', (v) => n(v.server.nstat.TcpEstabResets ?? 0)],
    [
      'late packets held',
      (v) => n(Number(v.middlebox.counters.lateClientAcks ?? 0) + Number(v.middlebox.counters.lateServerData ?? 0)),
    ],
    ['NFQUEUE drops', (v) => n(v.middlebox.queueDrops)],
    [
      'expectations',
      (v) =>
        v.expectations.length === 0
          ? '-'
          : `${v.expectations.filter((e) => e.passed).length}/${v.expectations.length} met`,
    ],
  ];
  const cells = rows.map(([label, f]) => [label, ...r.variants.map(f)]);
  const header = ['', ...cols];
  // Every row of cells has one entry per header column, and so does every line given to line().
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
