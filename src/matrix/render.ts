// The matrix for the terminal: a grid (rows = firewall, columns = server configuration) and a
// flat list with each cell's numbers and failed expectations.
import type { MatrixCellResult, MatrixResult } from './result.js';
import { workloadCell } from '../report/workload.js';

const n = (x: number) => x.toLocaleString('en-US');

/** Throughput relative to the control, e.g. "0.97x"; "–" when not comparable. */
export function relText(x: number | null): string {
  return x === null ? '–' : `${x.toFixed(2)}x`;
}

/** A grid cell's short text: outcome, the number that explains it, expectation mark. */
export function cellText(c: MatrixCellResult, isControl = false): string {
  const mark = c.passed ? '✓' : '✗';
  const ctl = isControl ? ' (control)' : '';
  switch (c.outcome) {
    case 'error':
      return `✗ ERROR`;
    case 'broken':
      return `${mark} BROKEN ${n(c.server.invalidDrops)} drops`;
    case 'degraded':
      return `${mark} degraded ${relText(c.throughputVsControl)}${c.server.invalidDrops ? ` ${n(c.server.invalidDrops)} drops` : ''}`;
    case 'clean':
      return `${mark} ok ${relText(c.throughputVsControl)}${ctl}`;
  }
}

function align(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - [...s].length));
  return rows
    .map((r) =>
      r
        .map((x, i) => pad(x, widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Rows = firewalls, columns = server configurations; "·" marks an excluded cell. */
export function gridTable(m: MatrixResult): string {
  const find = (f: string, s: string) => m.cells.find((c) => c.axes.firewall === f && c.axes.server === s);
  const header = ['firewall \\ server', ...m.axes.server];
  const rows = m.axes.firewall.map((f) => [
    f,
    ...m.axes.server.map((s) => {
      const c = find(f, s);
      return c ? cellText(c, m.control?.cell === c.name) : '·';
    }),
  ]);
  return align([header, header.map((h) => '-'.repeat([...h].length)), ...rows]);
}

/** One line per cell with the numbers behind the grid. */
export function cellList(m: MatrixResult): string {
  const header = [
    'cell',
    'outcome',
    'records',
    'timed out',
    'INVALID drops',
    'ct invalid',
    'throughput',
    'vs control',
    'expectations',
  ];
  const rows = m.cells.map((c) => [
    c.name,
    c.outcome,
    c.workload && c.workload.kind !== 'oai-pmh'
      ? workloadCell(c.workload)
      : `${n(c.harvest.records)}/${n(c.harvest.expectedRecords)}`,
    n(c.attempts.timedOut),
    n(c.server.invalidDrops),
    n(c.server.conntrackInvalid),
    `${(c.throughputBytesPerSec / 1e6).toFixed(2)} MB/s`,
    relText(c.throughputVsControl),
    c.expectations.length === 0 ? '–' : `${c.expectations.filter((e) => e.passed).length}/${c.expectations.length}`,
  ]);
  return align([header, header.map((h) => '-'.repeat(h.length)), ...rows]);
}

/** The failed expectations and problems, one line each (empty when none). */
export function failureLines(m: MatrixResult): string[] {
  const out: string[] = [];
  for (const c of m.cells) {
    if (c.error) out.push(`ERROR ${c.name}: ${c.error}`);
    for (const e of c.expectations)
      if (!e.passed && !c.error) out.push(`FAIL  ${c.name}: ${e.text} (measured ${String(e.actual)})`);
    for (const p of c.problems) out.push(`PROBLEM ${c.name}: ${p}`);
  }
  return out;
}
