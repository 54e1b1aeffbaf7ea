// The scenario's `workload` (schema-checked) → the model's Workload: sizes in bytes, the
// defaults that depend on other fields, and the limits the schema cannot say in words (a size
// of 0 or beyond what the lab can move in a run, a bulk with neither or both of size and
// duration, an empty command). Problems go to `at` with their path, like load.ts's own checks.
import type { PathKey } from './issues.js';
import type { Workload } from './model.js';
import type { ScenarioFile } from './schema.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** The limits of the workloads (README "Workloads"). */
export const WORKLOAD_LIMITS = {
  /** One response (http) or one request body (upload). */
  bodyBytes: GiB,
  /** Everything an http or upload workload moves (requests × sizes). */
  totalBytes: 16 * GiB,
  /** A bulk transfer by size. */
  bulkBytes: 64 * GiB,
  /** A bulk transfer by duration. */
  bulkMinMs: 100,
  bulkMaxMs: 3_600_000,
  /** A command's text (it travels on the command line). */
  commandChars: 100_000,
} as const;

const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  kB: 1000,
  KB: 1000,
  KiB: KiB,
  MB: 1000 ** 2,
  MiB: MiB,
  GB: 1000 ** 3,
  GiB: GiB,
};

/** A size as written (a number, or "64KiB") → bytes (NaN when the text does not parse). */
export function parseByteSize(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|kB|KB|KiB|MB|MiB|GB|GiB)?\s*$/.exec(v);
  if (!m) return Number.NaN;
  return Number(m[1]) * UNITS[m[2] ?? '']!;
}

/** Bytes in words for messages: "1 GiB", "64 KiB", "1,500 bytes". */
export function bytesText(n: number): string {
  for (const [u, f] of [
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const)
    if (n >= f && n % f === 0) return `${n / f} ${u}`;
  return `${n.toLocaleString('en-US')} bytes`;
}

type At = (path: PathKey[], message: string) => void;

/** A size within [1, max] bytes, whole; else a problem at `path` (and NaN). */
function size(v: number | string, path: PathKey[], max: number, what: string, at: At): number {
  const n = parseByteSize(v);
  if (!Number.isFinite(n)) at(path, `${JSON.stringify(v)} is not a size (bytes, or e.g. "64KiB", "1.5MB")`);
  else if (n < 1) at(path, `${what} must be at least 1 byte, got ${JSON.stringify(v)}`);
  else if (!Number.isInteger(n)) at(path, `${what} must be a whole number of bytes, got ${JSON.stringify(v)} = ${n}`);
  else if (n > max) at(path, `${what} must be at most ${bytesText(max)}, got ${JSON.stringify(v)}`);
  else return n;
  return Number.NaN;
}

/** Check the workload the schema let through and resolve it into the model's; problems go to `at`. */
export function resolveWorkload(w: ScenarioFile['workload'], at: At): Workload {
  const base: PathKey[] = ['workload'];
  switch (w.kind) {
    case undefined:
    case 'oai-pmh':
      return { ...w, kind: 'oai-pmh' };
    case 'http':
    case 'upload': {
      const what = w.kind === 'http' ? 'a response' : 'an upload body';
      let sizes: number[] = [];
      if (w.size === undefined && w.sizes === undefined)
        at(base, `a${w.kind === 'http' ? 'n http' : 'n upload'} workload needs size (bytes) or sizes (a list)`);
      else if (w.size !== undefined && w.sizes !== undefined) at([...base, 'sizes'], 'give size or sizes, not both');
      else if (w.size !== undefined) sizes = [size(w.size, [...base, 'size'], WORKLOAD_LIMITS.bodyBytes, what, at)];
      else sizes = w.sizes!.map((x, i) => size(x, [...base, 'sizes', i], WORKLOAD_LIMITS.bodyBytes, what, at));
      const requests = w.requests ?? Math.max(1, sizes.length);
      if (sizes.length > 0 && sizes.every(Number.isFinite)) {
        // Request i takes sizes[i % sizes.length]: the total over every request.
        let total = 0;
        for (let i = 0; i < requests; i++) total += sizes[i % sizes.length]!;
        if (total > WORKLOAD_LIMITS.totalBytes)
          at(
            [...base, w.requests !== undefined ? 'requests' : w.size !== undefined ? 'size' : 'sizes'],
            `${requests.toLocaleString('en-US')} requests would move ${bytesText(total)}: at most ${bytesText(WORKLOAD_LIMITS.totalBytes)} per run`,
          );
      }
      if (w.concurrency > requests)
        at(
          [...base, 'concurrency'],
          `${w.concurrency} requests at once, but only ${requests} request${requests === 1 ? '' : 's'} to make`,
        );
      const { size: _s, sizes: _l, ...rest } = w;
      return { ...rest, requests, sizes };
    }
    case 'bulk': {
      let bytes: number | null = null;
      let durationMs: number | null = null;
      if (w.size === undefined && w.durationMs === undefined)
        at(base, 'a bulk workload needs size (bytes to move) or durationMs (how long to move data)');
      else if (w.size !== undefined && w.durationMs !== undefined)
        at([...base, 'durationMs'], 'give size or durationMs, not both');
      else if (w.size !== undefined)
        bytes = size(w.size, [...base, 'size'], WORKLOAD_LIMITS.bulkBytes, 'a bulk transfer', at);
      else {
        durationMs = w.durationMs!;
        if (durationMs < WORKLOAD_LIMITS.bulkMinMs || durationMs > WORKLOAD_LIMITS.bulkMaxMs)
          at(
            [...base, 'durationMs'],
            `must be between ${WORKLOAD_LIMITS.bulkMinMs} and ${WORKLOAD_LIMITS.bulkMaxMs} ms, got ${durationMs}`,
          );
        else if (durationMs >= w.maxDurationMs)
          at(
            [...base, 'durationMs'],
            `${durationMs} ms is not before workload.maxDurationMs (${w.maxDurationMs} ms): the transfer could never finish`,
          );
      }
      const { size: _s, durationMs: _d, ...rest } = w;
      return { ...rest, bytes, durationMs };
    }
    case 'command': {
      if (w.command.trim() === '') at([...base, 'command'], 'the command is empty: give the shell command to run');
      else if (w.command.length > WORKLOAD_LIMITS.commandChars)
        at([...base, 'command'], `at most ${WORKLOAD_LIMITS.commandChars.toLocaleString('en-US')} characters`);
      return { kind: 'command', command: w.command, maxDurationMs: w.maxDurationMs };
    }
  }
}
