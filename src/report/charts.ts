// Charts as inline SVG strings: no script, no library, no fetch; they render in any browser
// (and in a file opened offline). Every chart marks its data points with data-* attributes so
// tests can check what was drawn.
import type { AttemptSpan, Outcome, SeriesPoint } from '../evidence/types.js';
import { esc } from './escape.js';

export const OUTCOME_COLOURS: Record<Outcome, string> = {
  ok: '#2e7d32',
  'read-timeout': '#c62828',
  'connect-timeout': '#8e24aa',
  reset: '#ef6c00',
  'http-error': '#6d4c41',
  'parse-error': '#546e7a',
  error: '#37474f',
};

export const OUTCOME_LABELS: Record<Outcome, string> = {
  ok: 'ok',
  'read-timeout': 'timed out (no data)',
  'connect-timeout': 'timed out (connect)',
  reset: 'reset',
  'http-error': 'HTTP error',
  'parse-error': 'unparsable',
  error: 'error',
};

export interface ChartFrame {
  width: number;
  height: number;
  /** Shared x range (ms) so side-by-side charts compare honestly. */
  xMaxMs: number;
  /** Shared y maximum for value charts (0: from the data). */
  yMax?: number;
  title: string;
}

const M = { left: 58, right: 12, top: 28, bottom: 34 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function ticks(max: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i <= n; i++) out.push((max * i) / n);
  return out;
}

const fmtSec = (ms: number) => `${(ms / 1000).toFixed(ms % 1000 === 0 || ms >= 10_000 ? 0 : 1)} s`;

export function fmtRate(bps: number): string {
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(bps >= 1e7 ? 0 : 1)} MB/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(bps >= 1e4 ? 0 : 1)} kB/s`;
  return `${Math.round(bps)} B/s`;
}

function axes(f: ChartFrame, yMax: number, yFmt: (v: number) => string, kind: string, points: number): string[] {
  const pw = f.width - M.left - M.right;
  const ph = f.height - M.top - M.bottom;
  const xMax = Math.max(1, f.xMaxMs);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="${esc(f.title)}" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" data-chart="${esc(kind)}" data-points="${points}">`,
  );
  parts.push(`<title>${esc(f.title)}</title>`);
  parts.push(`<text x="${M.left}" y="16" class="ct">${esc(f.title)}</text>`);
  for (const t of ticks(yMax, 4)) {
    const y = M.top + ph - (t / yMax) * ph;
    parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" class="grid"/>`);
    if (yFmt) parts.push(`<text x="${M.left - 6}" y="${(y + 4).toFixed(1)}" class="yl">${esc(yFmt(t))}</text>`);
  }
  const xStep = niceMax(xMax / 6);
  for (let t = 0; t <= xMax + 1; t += xStep) {
    const x = M.left + (t / xMax) * pw;
    parts.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${M.top + ph}" y2="${M.top + ph + 4}" class="axis"/>`,
    );
    parts.push(`<text x="${x.toFixed(1)}" y="${M.top + ph + 17}" class="xl">${esc(fmtSec(t))}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}" class="axis"/>`);
  parts.push(`<text x="${M.left + pw}" y="${f.height - 3}" class="xt">time since the harvest started</text>`);
  return parts;
}

/** Attempts as bars on a timeline, one row per page, coloured by outcome. */
/** `unit`: what a row is, "page" for a harvest, "request" for the other workloads. */
export function attemptsChart(spans: readonly AttemptSpan[], f: ChartFrame, unit = 'page'): string {
  const pages = [...new Set(spans.map((s) => s.page))].sort((a, b) => a - b);
  const rows = Math.max(1, pages.length);
  const pw = f.width - M.left - M.right;
  const ph = f.height - M.top - M.bottom;
  const xMax = Math.max(1, f.xMaxMs);
  const parts = axes(f, 1, () => '', 'attempts', spans.length).filter((p) => !p.includes('class="grid"'));
  const rowH = ph / rows;
  const barH = Math.max(2, Math.min(18, rowH * 0.7));
  // Label a few pages on the y axis (all when few).
  const every = Math.ceil(rows / 8);
  pages.forEach((p, i) => {
    if (i % every === 0)
      parts.push(
        `<text x="${M.left - 6}" y="${(M.top + i * rowH + rowH / 2 + 4).toFixed(1)}" class="yl">${unit} ${p}</text>`,
      );
  });
  for (const s of spans) {
    const row = pages.indexOf(s.page);
    const x = M.left + (Math.max(0, s.startMs) / xMax) * pw;
    const w = Math.max(2, ((s.endMs - s.startMs) / xMax) * pw);
    const y = M.top + row * rowH + (rowH - barH) / 2;
    const c = OUTCOME_COLOURS[s.outcome] ?? '#37474f';
    parts.push(
      `<rect class="pt" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${barH.toFixed(1)}" rx="2" fill="${c}" data-outcome="${esc(s.outcome)}">` +
        `<title>${unit} ${s.page}, attempt ${s.attempt}${s.localPort !== null ? `, port ${s.localPort}` : ''}: ${esc(OUTCOME_LABELS[s.outcome] ?? s.outcome)}, ${fmtSec(s.startMs)} → ${fmtSec(s.endMs)}</title></rect>`,
    );
  }
  if (spans.length === 0)
    parts.push(`<text x="${M.left + pw / 2}" y="${M.top + ph / 2}" class="empty">no attempt recorded</text>`);
  parts.push('</svg>');
  return parts.join('');
}

/** A value over time as bars (one per bucket). */
export function barsChart(
  points: readonly SeriesPoint[],
  bucketMs: number,
  f: ChartFrame,
  o: { kind: string; colour: string; yFmt: (v: number) => string; unit: string; emptyText: string },
): string {
  const max = Math.max(0, ...points.map((p) => p.value));
  const yMax = niceMax(f.yMax && f.yMax > 0 ? f.yMax : max);
  const nonZero = points.filter((p) => p.value > 0);
  const parts = axes(f, yMax, o.yFmt, o.kind, nonZero.length);
  const pw = f.width - M.left - M.right;
  const ph = f.height - M.top - M.bottom;
  const xMax = Math.max(1, f.xMaxMs);
  const bw = Math.max(1, (bucketMs / xMax) * pw - 0.5);
  for (const p of nonZero) {
    const h = (p.value / yMax) * ph;
    const x = M.left + (p.tMs / xMax) * pw;
    parts.push(
      `<rect class="pt" x="${x.toFixed(1)}" y="${(M.top + ph - h).toFixed(1)}" width="${bw.toFixed(1)}" height="${Math.max(0.5, h).toFixed(1)}" fill="${o.colour}"><title>${fmtSec(p.tMs)}: ${esc(o.yFmt(p.value))}${esc(o.unit)}</title></rect>`,
    );
  }
  if (nonZero.length === 0)
    parts.push(`<text x="${M.left + pw / 2}" y="${M.top + ph / 2}" class="empty">${esc(o.emptyText)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

export function legend(outcomes: readonly Outcome[]): string {
  return `<div class="legend">${outcomes.map((o) => `<span><i style="background:${OUTCOME_COLOURS[o]}"></i>${esc(OUTCOME_LABELS[o])}</span>`).join('')}</div>`;
}

/**
 * Points re-bucketed to a coarser bucket (variants' charts must share one): counts add up,
 * rates average over the new bucket.
 */
export function rebucket(
  points: readonly SeriesPoint[],
  fromMs: number,
  toMs: number,
  kind: 'count' | 'rate',
): SeriesPoint[] {
  if (toMs <= fromMs) return [...points];
  const out = new Map<number, number>();
  for (const p of points) {
    const b = Math.floor(p.tMs / toMs) * toMs;
    out.set(b, (out.get(b) ?? 0) + (kind === 'rate' ? (p.value * fromMs) / toMs : p.value));
  }
  return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([tMs, value]) => ({ tMs, value }));
}
