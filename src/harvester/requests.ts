// The http, upload and bulk workloads' client: requests to the lab's HTTP service
// (src/service/server.ts) over the harvester's own HTTP client (http.ts: connect and progress
// timeouts, attempt outcomes), with the harvest's retry rules (retries per request, doubling
// backoff, an overall deadline). Every attempt becomes one event the moment it ends, in the
// harvest's event shape (page = the request's index), so the evidence and the reports read both.
// Checks what came back: the size and the bytes of every response (the service's deterministic
// pattern, src/service/bytes.ts), and the byte count the server acknowledges for every upload.
// The stop control, attempt counts, time samples and connection reuse are the harvest's own
// (session.ts). Runs in the lab (dist/bundle/harvester.mjs --workload JSON).

import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { CtlabError } from '../errors.js';
import { matchesPattern, patternBytes } from '../service/bytes.js';
import { sleep } from '../util/sleep.js';
import { exchange, type AttemptOutcome, type ExchangeOptions, type SocketFactory } from './http.js';
import { attemptHead, backoffWait, IdleSocket, retryableStatus, Session } from './session.js';
import type { AttemptFields, SessionTotals } from './session.js';

const httpClient = {
  connectTimeoutMs: z.number().int().min(1),
  readTimeoutMs: z.number().int().min(1),
  retries: z.number().int().min(0),
  backoffMs: z.number().int().min(0),
  maxDurationMs: z.number().int().min(0),
};
const requests = {
  requests: z.number().int().min(1),
  sizes: z.array(z.number().int().min(1)).min(1),
  concurrency: z.number().int().min(1),
  keepAlive: z.boolean(),
};

/** What `--workload` carries: the scenario model's http, upload or bulk workload (src/scenario/model.ts). */
export const requestWorkloadSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('http'), ...requests, ...httpClient }).strict(),
  z.object({ kind: z.literal('upload'), ...requests, ...httpClient }).strict(),
  z
    .object({
      kind: z.literal('bulk'),
      direction: z.enum(['to-client', 'to-server']),
      bytes: z.number().int().min(1).nullable(),
      durationMs: z.number().int().min(1).nullable(),
      ...httpClient,
    })
    .strict(),
]);
export type RequestWorkload = z.infer<typeof requestWorkloadSchema>;

/** One attempt, in the harvest's event shape (src/harvester/harvest.ts AttemptEvent) plus what it sent. */
export interface RequestAttemptEvent extends AttemptFields<null> {
  /** Request body bytes sent. */
  bytesSent: number;
  /** The size asked: response body (http, bulk to-client) or request body (upload, bulk to-server); null for a bulk by duration. */
  size: number | null;
  /** The server's acknowledged byte count (upload, bulk to-server). */
  acknowledged: number | null;
  records: null;
  oaiError: null;
  nextToken: null;
}

export type RequestStopReason = 'complete' | 'requests-failed' | 'deadline' | 'aborted';

/** throughputBytesPerSec counts the bytes received and the body bytes sent over all attempts. */
export interface RequestSummary extends SessionTotals {
  type: 'summary';
  kind: RequestWorkload['kind'];
  baseUrl: string;
  complete: boolean;
  stoppedBecause: RequestStopReason;
  /** Requests asked for (a bulk: 1). */
  requests: number;
  /** Requests that ended ok: every byte asked received and right, or the upload acknowledged with its byte count. */
  ok: number;
  /** Attempts the server acknowledged with another byte count than was sent (upload, bulk to-server). */
  wrongCount: number;
  /** Payload bytes moved over every attempt: response body bytes received (also of attempts that failed midway), upload body bytes the server acknowledged. */
  bytes: number;
  /** Request body bytes sent by the requests that ended ok. */
  bytesSent: number;
  /** Payload bytes asked for over every request (null: a bulk by duration). */
  expectedBytes: number | null;
  lastError: string | null;
  startedAt: string;
  endedAt: string;
}

export type RequestEvent = RequestAttemptEvent | RequestSummary;

export interface RunRequestsOptions {
  /** The service's base URL, e.g. http://198.18.2.2 (http only, no path). */
  baseUrl: string;
  workload: RequestWorkload;
  localAddress?: string;
  onEvent?: (e: RequestEvent) => void;
  signal?: AbortSignal;
  socketFactory?: SocketFactory;
}

const USER_AGENT = 'ctlab-harvester/0.1 (workload)';

/** The base URL's host and port; throws CtlabError('SCENARIO'). */
export function serviceTarget(baseUrl: string): { host: string; port: number; hostHeader: string } {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new CtlabError('SCENARIO', `base URL is not a URL: ${JSON.stringify(baseUrl)}`);
  }
  if (url.protocol !== 'http:') throw new CtlabError('SCENARIO', `base URL must be http://, got ${url.protocol}`);
  return { host: url.hostname, port: url.port ? Number(url.port) : 80, hostHeader: url.host };
}

/** What one request sends and how its answer is judged. */
interface Plan {
  head: Buffer;
  body?: ExchangeOptions['body'];
  /** The size asked (see RequestAttemptEvent.size). */
  size: number | null;
  /** Checks the response body as it streams in (downloads): bytes and their pattern. */
  download: boolean;
  /** The server answers a byte count (uploads). */
  upload: boolean;
}

function head(method: string, path: string, hostHeader: string, keepAlive: boolean, extra: string[] = []): Buffer {
  return Buffer.from(
    [
      `${method} ${path} HTTP/1.1`,
      `Host: ${hostHeader}`,
      `User-Agent: ${USER_AGENT}`,
      ...extra,
      `Connection: ${keepAlive ? 'keep-alive' : 'close'}`,
      '',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

/** The body of an upload of `size` bytes, or of a chunked stream for `ms` (pattern bytes, 64 KiB chunks). */
function uploadBody(size: number | null, ms: number | null): ExchangeOptions['body'] {
  let off = 0;
  let until: number | null = null;
  return {
    chunked: size === null,
    next: () => {
      if (size !== null) {
        if (off >= size) return null;
        const n = Math.min(65536 - (off % 65536), size - off);
        const c = patternBytes(off, n);
        off += n;
        return c;
      }
      until ??= performance.now() + (ms ?? 0);
      if (performance.now() >= until) return null;
      const c = patternBytes(off, 65536 - (off % 65536));
      off += c.length;
      return c;
    },
  };
}

function plan(w: RequestWorkload, i: number, hostHeader: string): Plan {
  if (w.kind === 'http') {
    const size = w.sizes[i % w.sizes.length]!;
    return { head: head('GET', `/bytes/${size}`, hostHeader, w.keepAlive), size, download: true, upload: false };
  }
  if (w.kind === 'upload') {
    const size = w.sizes[i % w.sizes.length]!;
    return {
      head: head('POST', '/upload', hostHeader, w.keepAlive, [
        'Content-Type: application/octet-stream',
        `Content-Length: ${size}`,
      ]),
      body: uploadBody(size, null),
      size,
      download: false,
      upload: true,
    };
  }
  if (w.direction === 'to-client') {
    const q = w.bytes !== null ? `bytes=${w.bytes}` : `ms=${w.durationMs}`;
    return { head: head('GET', `/stream?${q}`, hostHeader, false), size: w.bytes, download: true, upload: false };
  }
  return {
    head: head('POST', '/upload', hostHeader, false, [
      'Content-Type: application/octet-stream',
      w.bytes !== null ? `Content-Length: ${w.bytes}` : 'Transfer-Encoding: chunked',
    ]),
    body: uploadBody(w.bytes, w.durationMs),
    size: w.bytes,
    download: false,
    upload: true,
  };
}

/** Run the workload to the end. Never throws for network or protocol trouble: that is in the summary. */
export async function runRequests(o: RunRequestsOptions): Promise<RequestSummary> {
  const w = requestWorkloadSchema.parse(o.workload);
  const target = serviceTarget(o.baseUrl);
  const emit = o.onEvent ?? (() => {});
  const total = w.kind === 'bulk' ? 1 : w.requests;
  const concurrency = w.kind === 'bulk' ? 1 : Math.min(w.concurrency, total);
  const keepAlive = w.kind === 'bulk' ? false : w.keepAlive;

  const session = new Session('workload', w.maxDurationMs, o.signal);
  let wireBytes = 0;
  let ok = 0;
  let wrongCount = 0;
  let bytes = 0;
  let bytesSent = 0;
  let lastError: string | null = null;
  let next = 0;

  const worker = async () => {
    const idle = new IdleSocket(session);
    try {
      for (;;) {
        if (session.stopCause) return;
        const i = next++;
        if (i >= total) return;
        for (let attempt = 1; ; attempt++) {
          if (session.stopCause) return;
          const p = plan(w, i, target.hostHeader);
          const start = session.startAttempt(attempt);
          const { socket, connection } = idle.take();
          // Downloads are checked as they stream in (a bulk may be far larger than memory).
          let got = 0;
          let corrupt = false;
          const r = await exchange({
            target: { host: target.host, port: target.port, localAddress: o.localAddress },
            request: p.head,
            ...(p.body ? { body: p.body } : {}),
            connectTimeoutMs: w.connectTimeoutMs,
            readTimeoutMs: w.readTimeoutMs,
            socket,
            keepAlive,
            socketFactory: o.socketFactory,
            signal: session.signal,
            ...(p.download
              ? {
                  onBody: (chunk: Buffer) => {
                    if (!corrupt && !matchesPattern(chunk, got)) corrupt = true;
                    got += chunk.length;
                  },
                }
              : {}),
          });
          idle.keep(r, connection);
          let outcome: AttemptOutcome = r.outcome;
          let error = r.error;
          let errorCode = r.errorCode;
          let acknowledged: number | null = null;
          if (r.outcome === 'ok' && p.download) {
            if (p.size !== null && got !== p.size) {
              outcome = 'error';
              errorCode = 'WRONG_SIZE';
              error = `asked for ${p.size} bytes, received ${got}`;
            } else if (corrupt) {
              outcome = 'error';
              errorCode = 'WRONG_BYTES';
              error = 'the response body differs from the bytes the service sends';
            }
          } else if (r.outcome === 'ok' && p.upload) {
            try {
              const j = JSON.parse((r.body ?? Buffer.alloc(0)).toString('utf8')) as { bytes?: unknown };
              if (typeof j.bytes !== 'number') throw new Error('no "bytes" field');
              acknowledged = j.bytes;
              if (acknowledged !== r.bytesSent) {
                outcome = 'error';
                errorCode = 'WRONG_COUNT';
                error = `sent ${r.bytesSent} body bytes, the server counted ${acknowledged}`;
                wrongCount++;
              }
            } catch (err) {
              outcome = 'parse-error';
              errorCode = 'EPARSE';
              error = `the upload's answer is not the service's byte count: ${(err as Error).message}`;
            }
          }
          session.tally(outcome, r);
          wireBytes += r.bytes + r.bytesSent;
          const ev: RequestAttemptEvent = {
            ...attemptHead(i, attempt, null, start, connection, r),
            bytesSent: r.bytesSent,
            size: p.size,
            acknowledged,
            records: null,
            status: r.status,
            outcome,
            error,
            errorCode,
            oaiError: null,
            nextToken: null,
          };
          emit(ev);
          bytes += p.upload ? (acknowledged ?? 0) : got;
          if (outcome === 'ok') {
            ok++;
            bytesSent += r.bytesSent;
            break;
          }
          lastError = error;
          // A 4xx other than 408/429 will not change; an abort ends everything.
          const final = errorCode === 'ABORTED' || (outcome === 'http-error' && !retryableStatus(r.status ?? 0));
          if (final || attempt > w.retries) break;
          idle.close();
          await sleep(backoffWait(w.backoffMs, attempt), session.signal);
        }
      }
    } finally {
      idle.close();
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    session.close();
  }
  const expectedBytes =
    w.kind === 'bulk'
      ? w.bytes
      : Array.from({ length: total }, (_, i) => w.sizes[i % w.sizes.length]!).reduce((a, b) => a + b, 0);
  const stoppedBecause: RequestStopReason =
    ok === total
      ? 'complete'
      : session.stopCause === 'deadline'
        ? 'deadline'
        : session.stopCause
          ? 'aborted'
          : 'requests-failed';
  const summary: RequestSummary = {
    type: 'summary',
    kind: w.kind,
    baseUrl: o.baseUrl,
    complete: ok === total,
    stoppedBecause,
    requests: total,
    ok,
    wrongCount,
    bytes,
    bytesSent,
    expectedBytes,
    ...session.totals(wireBytes, {}),
    lastError,
    startedAt: session.startedAt,
    endedAt: new Date().toISOString(),
  };
  emit(summary);
  return summary;
}
