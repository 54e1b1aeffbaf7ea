// Tolerant readers for the files of a variant folder. A missing or broken file is a problem to
// report, never a crash: the report must still say what it could establish.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseNstat } from '../measure/parse.js';
import type { Attempt, MiddleboxFlow, NginxRequest, Outcome } from './types.js';

export class FileReader {
  readonly problems: string[] = [];
  constructor(readonly dir: string) {}

  async bytes(name: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(join(this.dir, name)));
    } catch {
      this.problems.push(`${name} is missing`);
      return null;
    }
  }

  async text(name: string): Promise<string | null> {
    const b = await this.bytes(name);
    return b ? Buffer.from(b).toString('utf8') : null;
  }

  /** A file only some runs have (e.g. the client's captures): its absence is not a problem. */
  async optionalBytes(name: string): Promise<Uint8Array | null> {
    return readFile(join(this.dir, name)).then(
      (b) => new Uint8Array(b),
      () => null,
    );
  }

  async optionalText(name: string): Promise<string | null> {
    const b = await this.optionalBytes(name);
    return b ? Buffer.from(b).toString('utf8') : null;
  }
}

/** JSON lines; lines that do not parse are counted as a problem, not fatal. */
export function jsonLines(text: string, name: string, problems: string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let bad = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const j = JSON.parse(line) as unknown;
      if (j && typeof j === 'object') out.push(j as Record<string, unknown>);
      else bad++;
    } catch {
      bad++;
    }
  }
  if (bad > 0) problems.push(`${name}: ${bad} line${bad === 1 ? '' : 's'} did not parse`);
  return out;
}

const num = (x: unknown): number | null =>
  typeof x === 'number' && Number.isFinite(x)
    ? x
    : typeof x === 'string' && x.trim() !== '' && Number.isFinite(Number(x))
      ? Number(x)
      : null;
const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);

export interface HarvesterEvents {
  attempts: Attempt[];
  /** Epoch ms the harvest started (the summary's startedAt, else derived from the first attempt). */
  t0EpochMs: number | null;
  durationMs: number | null;
}

export function parseEvents(lines: Record<string, unknown>[]): HarvesterEvents {
  const attempts: Attempt[] = [];
  let t0: number | null = null;
  let durationMs: number | null = null;
  for (const l of lines) {
    if (l.type === 'summary') {
      const s = Date.parse(str(l.startedAt) ?? '');
      if (Number.isFinite(s)) t0 = s;
      durationMs = num(l.durationMs);
      continue;
    }
    if (l.type !== 'attempt') continue;
    const startMs = num(l.startMs) ?? 0;
    const wall = Date.parse(str(l.wallTime) ?? '');
    attempts.push({
      page: num(l.page) ?? 0,
      attempt: num(l.attempt) ?? 1,
      startMs,
      startEpochMs: Number.isFinite(wall) ? wall : NaN,
      totalMs: num(l.totalMs) ?? 0,
      localPort: num(l.localPort),
      connection: num(l.connection),
      connectMs: num(l.connectMs),
      ttfbMs: num(l.ttfbMs),
      bytes: num(l.bytes) ?? 0,
      records: num(l.records),
      outcome: (str(l.outcome) ?? 'error') as Outcome,
      errorCode: str(l.errorCode),
      error: str(l.error),
    });
  }
  if (t0 === null) {
    const a = attempts.find((x) => Number.isFinite(x.startEpochMs));
    if (a) t0 = a.startEpochMs - a.startMs;
  }
  // Attempts without a wall time get one from the harvest's start.
  if (t0 !== null) for (const a of attempts) if (!Number.isFinite(a.startEpochMs)) a.startEpochMs = t0 + a.startMs;
  return { attempts, t0EpochMs: t0, durationMs };
}

export function parseFlows(lines: Record<string, unknown>[]): MiddleboxFlow[] {
  return lines
    .filter((l) => typeof l.client === 'string')
    .map((l) => ({
      ordinal: num(l.ordinal) ?? 0,
      client: str(l.client) ?? '',
      server: str(l.server) ?? '',
      clientIsn: num(l.clientIsn) ?? 0,
      serverIsn: num(l.serverIsn),
      clientOffset: num(l.clientOffset) ?? 0,
      serverOffset: num(l.serverOffset) ?? 0,
      serverOffsetHalf: str(l.serverOffsetHalf) ?? 'zero',
      packetsToServer: num(l.packetsToServer) ?? 0,
      packetsToClient: num(l.packetsToClient) ?? 0,
      dropsToServer: num(l.dropsToServer) ?? 0,
      dropsToClient: num(l.dropsToClient) ?? 0,
      sackBlocksTranslated: num(l.sackBlocksTranslated) ?? 0,
      sackBlocksUntranslated: num(l.sackBlocksUntranslated) ?? 0,
    }));
}

export function parseNginxLog(lines: Record<string, unknown>[]): NginxRequest[] {
  return lines
    .filter((l) => num(l.remote_port) !== null)
    .map((l) => ({
      epochMs: (num(l.msec) ?? 0) * 1000,
      connection: num(l.connection) ?? 0,
      remotePort: num(l.remote_port) ?? 0,
      request: str(l.request) ?? '',
      status: num(l.status) ?? 0,
      bytesSent: num(l.bytes_sent) ?? 0,
      requestTimeMs: (num(l.request_time) ?? 0) * 1000,
      completion: str(l.request_completion) ?? '',
    }));
}

export { parseNstat };
