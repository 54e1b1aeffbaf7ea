// An OAI-PMH harvester as real ones behave: ListRecords, then follow resumptionTokens to the end;
// a new TCP connection per request unless keepAlive; connect and read timeouts; a bounded number
// of retries per page with doubling backoff; an overall deadline; and when a page still fails,
// stop and report the harvest incomplete (no skipping ahead: the next token is in the lost page).
// Every attempt becomes one event the moment it ends. Runs in the lab (dist/bundle/harvester.mjs).

import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { CtlabError } from '../errors.js';
import type { AttemptCounts, Percentiles } from '../result/types.js';
import { sleep } from '../util/sleep.js';
import { exchange, watchIdle, type AttemptOutcome, type SocketFactory } from './http.js';
import { OaiParseError, parseOaiResponse, type OaiError } from './oai.js';

export type { AttemptOutcome, SocketFactory } from './http.js';

export interface HarvestOptions {
  /** The repository's baseURL, e.g. http://198.18.2.2/oai (http only, no query). */
  baseUrl: string;
  metadataPrefix?: string;
  /** Reuse one TCP connection for all requests (default false: a new connection per request). */
  keepAlive?: boolean;
  connectTimeoutMs?: number;
  /** Abort an attempt when no byte has arrived for this long. */
  readTimeoutMs?: number;
  /** Retries per page after the first attempt. */
  retries?: number;
  /** Wait before the first retry of a page; doubles for each further retry. */
  backoffMs?: number;
  /** Give up on the whole harvest after this long (0 or absent: no limit). */
  maxDurationMs?: number;
  /** Bind outgoing connections to this address. */
  localAddress?: string;
  userAgent?: string;
  /** Called synchronously as soon as each attempt ends, and once with the summary. */
  onEvent?: (event: HarvestEvent) => void;
  /** Stops the harvest (the in-flight attempt ends with outcome 'error'). */
  signal?: AbortSignal;
  /** Test hook: how TCP sockets are made. */
  socketFactory?: SocketFactory;
}

export const HARVEST_DEFAULTS = {
  metadataPrefix: 'oai_dc',
  keepAlive: false,
  connectTimeoutMs: 5000,
  readTimeoutMs: 10000,
  retries: 3,
  backoffMs: 500,
  maxDurationMs: 0,
  userAgent: 'ctlab-harvester/0.1 (OAI-PMH 2.0)',
} as const;

export interface AttemptEvent {
  type: 'attempt';
  /** 0-based page number in the list. */
  page: number;
  /** 1-based attempt number for this page. */
  attempt: number;
  /** The resumptionToken sent (null: the first page, requested with metadataPrefix). */
  token: string | null;
  /** Ms since the harvest started, when this attempt started. */
  startMs: number;
  /** Wall-clock time the attempt started (ISO 8601), for joining with captures and server logs. */
  wallTime: string;
  /** The harvester's TCP port (the server log's remote_port); null if no socket got one. */
  localPort: number | null;
  /** Client-side serial of the TCP connection used (1 = first connection opened). */
  connection: number | null;
  /** True when the request went over a kept-alive connection (connectMs is then null). */
  reused: boolean;
  connectMs: number | null;
  /** Ms from the attempt's start to the first response byte (includes connect). */
  ttfbMs: number | null;
  totalMs: number;
  /** Bytes received (HTTP headers and body). */
  bytes: number;
  /** <record> elements in the page; null unless the page parsed. */
  records: number | null;
  status: number | null;
  outcome: AttemptOutcome;
  error: string | null;
  /** ECONNRESET, ECONNREFUSED, CONNECT_TIMEOUT, READ_TIMEOUT, EOF, HTTP_503, OAI_badResumptionToken, ... */
  errorCode: string | null;
  /** The OAI-PMH error the repository answered with, if any (outcome is then 'error'). */
  oaiError: OaiError | null;
  /** The token this page ended with (null: last page, or not parsed). */
  nextToken: string | null;
}

export type StopReason =
  | 'complete' // every page fetched, record count equals completeListSize
  | 'count-mismatch' // every page fetched, but the records counted differ from completeListSize
  | 'retries-exhausted' // a page failed all its attempts
  | 'http-status' // a page got a non-retryable HTTP status (4xx other than 408/429)
  | 'oai-error' // the repository answered with an OAI-PMH error
  | 'token-loop' // the repository sent a resumptionToken already followed
  | 'deadline' // maxDurationMs reached
  | 'aborted'; // the signal fired

export interface HarvestSummary {
  type: 'summary';
  baseUrl: string;
  metadataPrefix: string;
  keepAlive: boolean;
  records: number;
  /** completeListSize as last announced; null if the list came in one page without a token. */
  expectedRecords: number | null;
  complete: boolean;
  /** Pages fetched successfully. */
  pages: number;
  attempts: AttemptCounts;
  /** TCP connections opened (attempted: connect timeouts and refusals count). */
  connections: number;
  durationMs: number;
  /** Bytes received over all attempts. */
  bytes: number;
  throughputBytesPerSec: number;
  /** Over attempts that established a new connection. */
  connectMs: Percentiles;
  /** totalMs over successful attempts. */
  requestMs: Percentiles;
  stoppedBecause: StopReason;
  /** The page that failed (stoppedBecause other than complete/count-mismatch), else null. */
  failedPage: number | null;
  lastError: string | null;
  oaiError: OaiError | null;
  startedAt: string;
  endedAt: string;
}

export type HarvestEvent = AttemptEvent | HarvestSummary;

/** Statuses worth retrying: the server may answer differently next time. */
function retryableStatus(s: number): boolean {
  return s === 408 || s === 429 || s >= 500;
}

function percentiles(xs: number[]): Percentiles {
  const s = [...xs].sort((a, b) => a - b);
  const max = s.at(-1);
  if (max === undefined) return { p50: null, p90: null, p99: null, max: null };
  // The index is clamped to [0, s.length - 1] and s is not empty.
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max };
}

interface Target {
  host: string;
  port: number;
  hostHeader: string;
  path: string;
}

/** Check options; throws CtlabError('SCENARIO') with a hint. Returns the resolved settings. */
export function validateHarvestOptions(o: HarvestOptions) {
  const bad = (msg: string, hint: string) => new CtlabError('SCENARIO', msg, { hint });
  let url: URL;
  try {
    url = new URL(o.baseUrl);
  } catch {
    throw bad(`baseUrl is not a URL: ${JSON.stringify(o.baseUrl)}`, 'use e.g. http://198.18.2.2/oai');
  }
  if (url.protocol !== 'http:')
    throw bad(`baseUrl must be http://, got ${url.protocol}`, 'this harvester speaks plain HTTP/1.1 only');
  if (url.search || url.hash)
    throw bad('baseUrl must not carry a query or fragment', 'OAI-PMH appends ?verb=...; give the bare base URL');
  if (url.username || url.password) throw bad('baseUrl must not carry credentials', 'remove user:password@');
  const num = (name: string, v: number | undefined, dflt: number, min: number) => {
    const x = v ?? dflt;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min) {
      throw bad(
        `${name} must be an integer >= ${min}, got ${String(v)}`,
        `set ${name} to a whole number of at least ${min}`,
      );
    }
    return x;
  };
  const prefix = o.metadataPrefix ?? HARVEST_DEFAULTS.metadataPrefix;
  if (!/^[A-Za-z0-9_.!~*'()-]+$/.test(prefix))
    throw bad(`metadataPrefix has characters OAI-PMH does not allow: ${JSON.stringify(prefix)}`, 'use e.g. oai_dc');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const target: Target = {
    host,
    port: url.port ? Number(url.port) : 80,
    hostHeader: url.host,
    path: url.pathname || '/',
  };
  return {
    target,
    metadataPrefix: prefix,
    keepAlive: o.keepAlive ?? HARVEST_DEFAULTS.keepAlive,
    connectTimeoutMs: num('connectTimeoutMs', o.connectTimeoutMs, HARVEST_DEFAULTS.connectTimeoutMs, 1),
    readTimeoutMs: num('readTimeoutMs', o.readTimeoutMs, HARVEST_DEFAULTS.readTimeoutMs, 1),
    retries: num('retries', o.retries, HARVEST_DEFAULTS.retries, 0),
    backoffMs: num('backoffMs', o.backoffMs, HARVEST_DEFAULTS.backoffMs, 0),
    maxDurationMs: num('maxDurationMs', o.maxDurationMs, HARVEST_DEFAULTS.maxDurationMs, 0),
    userAgent: o.userAgent ?? HARVEST_DEFAULTS.userAgent,
  };
}

function buildRequest(t: Target, query: string, userAgent: string, keepAlive: boolean): Buffer {
  return Buffer.from(
    `GET ${t.path}?${query} HTTP/1.1\r\n` +
      `Host: ${t.hostHeader}\r\n` +
      `User-Agent: ${userAgent}\r\n` +
      'Accept: text/xml, application/xml;q=0.9, */*;q=0.1\r\n' +
      `Connection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`,
    'latin1',
  );
}

/** The pause before retry number `attempt` (1-based): the backoff, doubling with each retry. */
export function backoffWait(backoffMs: number, attempt: number): number {
  return backoffMs * 2 ** (attempt - 1);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Harvest the whole list. Never throws for network or protocol trouble: that is in the summary. */
export async function harvest(options: HarvestOptions): Promise<HarvestSummary> {
  const cfg = validateHarvestOptions(options);
  const emit = options.onEvent ?? (() => {});
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const sinceStart = () => performance.now() - t0;

  // One controller ends the in-flight attempt for the deadline or the caller's signal.
  const ctl = new AbortController();
  let stopCause: 'deadline' | 'aborted' | null = null;
  const onOuterAbort = () => {
    stopCause ??= 'aborted';
    const r: unknown = options.signal?.reason;
    ctl.abort(r instanceof Error ? r : new Error(r === undefined ? 'harvest aborted' : String(r)));
  };
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const deadlineTimer =
    cfg.maxDurationMs > 0
      ? setTimeout(() => {
          stopCause ??= 'deadline';
          ctl.abort(new Error(`harvest deadline of ${cfg.maxDurationMs} ms reached`));
        }, cfg.maxDurationMs)
      : null;

  const counts = {
    total: 0,
    ok: 0,
    connectTimeouts: 0,
    readTimeouts: 0,
    resets: 0,
    httpErrors: 0,
    parseErrors: 0,
    other: 0,
    retries: 0,
  };
  const connectTimes: number[] = [];
  const okTimes: number[] = [];
  let bytes = 0;
  let connections = 0;
  let records = 0;
  let expected: number | null = null;
  let pages = 0;
  let lastError: string | null = null;
  let oaiError: OaiError | null = null;
  let failedPage: number | null = null;
  let stoppedBecause: StopReason | null = null;

  let idle: net.Socket | null = null;
  let idleCheck: (() => boolean) | null = null;
  let idleConnection: number | null = null;
  const seenTokens = new Set<string>();
  let token: string | null = null;

  try {
    for (let page = 0; stoppedBecause === null; page++) {
      const query =
        token === null
          ? `verb=ListRecords&metadataPrefix=${encodeURIComponent(cfg.metadataPrefix)}`
          : `verb=ListRecords&resumptionToken=${encodeURIComponent(token)}`;
      const request = buildRequest(cfg.target, query, cfg.userAgent, cfg.keepAlive);
      let next: string | null | undefined; // undefined: page not fetched yet

      for (let attempt = 1; ; attempt++) {
        if (stopCause) {
          stoppedBecause = stopCause;
          failedPage = page;
          break;
        }
        if (attempt > 1) counts.retries++;
        const startMs = sinceStart();
        const wallTime = new Date().toISOString();

        let socket: net.Socket | null = null;
        let connection: number | null = null;
        if (idle && idleCheck?.()) {
          socket = idle;
          connection = idleConnection;
        } else if (idle) {
          idle.destroy();
        }
        idle = null;
        idleCheck = null;
        if (!socket) connection = ++connections;

        const r = await exchange({
          target: { host: cfg.target.host, port: cfg.target.port, localAddress: options.localAddress },
          request,
          connectTimeoutMs: cfg.connectTimeoutMs,
          readTimeoutMs: cfg.readTimeoutMs,
          socket,
          keepAlive: cfg.keepAlive,
          socketFactory: options.socketFactory,
          signal: ctl.signal,
        });
        if (r.socket) {
          idle = r.socket;
          idleCheck = watchIdle(r.socket);
          idleConnection = connection;
        }

        let outcome: AttemptOutcome = r.outcome;
        let error = r.error;
        let errorCode = r.errorCode;
        let pageRecords: number | null = null;
        let pageOaiError: OaiError | null = null;
        let nextToken: string | null = null;
        let retryable = true;
        if (r.outcome === 'ok') {
          try {
            let text: string;
            try {
              text = utf8.decode(r.body ?? Buffer.alloc(0));
            } catch {
              throw new OaiParseError('response body is not valid UTF-8');
            }
            const resp = parseOaiResponse(text);
            const [e] = resp.errors;
            if (e) {
              if (e.code === 'noRecordsMatch' && page === 0) {
                // An empty list: a complete harvest of zero records.
                pageRecords = 0;
                expected = 0;
              } else {
                outcome = 'error';
                pageOaiError = e;
                error = `OAI-PMH error ${e.code}: ${e.message}`;
                errorCode = `OAI_${e.code}`;
                retryable = false;
              }
            } else if (resp.verb !== 'ListRecords') {
              outcome = 'parse-error';
              error = `expected <ListRecords>, got <${resp.verb}>`;
              errorCode = 'EPARSE';
            } else {
              pageRecords = resp.records;
              nextToken = resp.resumptionToken;
              if (resp.completeListSize !== null) expected = resp.completeListSize;
            }
          } catch (err) {
            outcome = 'parse-error';
            error = err instanceof Error ? err.message : String(err);
            errorCode = 'EPARSE';
          }
        } else if (r.outcome === 'http-error' && r.status !== null && !retryableStatus(r.status)) {
          retryable = false;
        }
        if (errorCode === 'ABORTED') retryable = false;

        counts.total++;
        bytes += r.bytes;
        if (r.connectMs !== null) connectTimes.push(r.connectMs);
        switch (outcome) {
          case 'ok':
            counts.ok++;
            okTimes.push(r.totalMs);
            break;
          case 'connect-timeout':
            counts.connectTimeouts++;
            break;
          case 'read-timeout':
            counts.readTimeouts++;
            break;
          case 'reset':
            counts.resets++;
            break;
          case 'http-error':
            counts.httpErrors++;
            break;
          case 'parse-error':
            counts.parseErrors++;
            break;
          default:
            counts.other++;
        }
        const ev: AttemptEvent = {
          type: 'attempt',
          page,
          attempt,
          token,
          startMs: Math.round(startMs * 1000) / 1000,
          wallTime,
          localPort: r.localPort,
          connection,
          reused: r.reused,
          connectMs: r.connectMs,
          ttfbMs: r.ttfbMs,
          totalMs: r.totalMs,
          bytes: r.bytes,
          records: pageRecords,
          status: r.status,
          outcome,
          error,
          errorCode,
          oaiError: pageOaiError,
          nextToken,
        };
        emit(ev);

        if (outcome === 'ok') {
          records += pageRecords ?? 0;
          pages++;
          next = nextToken;
          break;
        }
        lastError = error;
        if (errorCode === 'ABORTED') {
          stoppedBecause = stopCause ?? 'aborted';
          failedPage = page;
          break;
        }
        if (!retryable) {
          stoppedBecause = pageOaiError ? 'oai-error' : 'http-status';
          oaiError = pageOaiError;
          failedPage = page;
          break;
        }
        if (attempt > cfg.retries) {
          stoppedBecause = 'retries-exhausted';
          failedPage = page;
          break;
        }
        const wait = backoffWait(cfg.backoffMs, attempt);
        if (cfg.maxDurationMs > 0 && sinceStart() + wait >= cfg.maxDurationMs) {
          // The retry could not start before the deadline: stop now rather than sleep into it.
          stoppedBecause = 'deadline';
          failedPage = page;
          break;
        }
        if (idle) {
          idle.destroy();
          idle = null;
          idleCheck = null;
        }
        await sleep(wait, ctl.signal);
      }

      if (stoppedBecause !== null || next === undefined) break;
      if (next === null) {
        stoppedBecause = expected === null || records === expected ? 'complete' : 'count-mismatch';
        if (stoppedBecause === 'count-mismatch')
          lastError = `counted ${records} records, completeListSize says ${expected}`;
        break;
      }
      if (seenTokens.has(next)) {
        stoppedBecause = 'token-loop';
        lastError = `resumptionToken ${JSON.stringify(next)} was already followed`;
        failedPage = page + 1;
        break;
      }
      seenTokens.add(next);
      token = next;
    }
  } finally {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    options.signal?.removeEventListener('abort', onOuterAbort);
    if (idle) {
      idleCheck?.();
      idle.destroy();
    }
  }

  const durationMs = Math.round(sinceStart() * 1000) / 1000;
  const summary: HarvestSummary = {
    type: 'summary',
    baseUrl: options.baseUrl,
    metadataPrefix: cfg.metadataPrefix,
    keepAlive: cfg.keepAlive,
    records,
    expectedRecords: expected,
    complete: stoppedBecause === 'complete',
    pages,
    attempts: {
      total: counts.total,
      ok: counts.ok,
      timedOut: counts.connectTimeouts + counts.readTimeouts,
      connectTimeouts: counts.connectTimeouts,
      readTimeouts: counts.readTimeouts,
      resets: counts.resets,
      errors: counts.httpErrors + counts.parseErrors + counts.other,
      httpErrors: counts.httpErrors,
      parseErrors: counts.parseErrors,
      failed: counts.total - counts.ok,
      retries: counts.retries,
    },
    connections,
    durationMs,
    bytes,
    throughputBytesPerSec: durationMs > 0 ? Math.round((bytes / durationMs) * 1000) : 0,
    connectMs: percentiles(connectTimes),
    requestMs: percentiles(okTimes),
    stoppedBecause: stoppedBecause ?? 'aborted',
    failedPage,
    lastError,
    oaiError,
    startedAt,
    endedAt: new Date().toISOString(),
  };
  emit(summary);
  return summary;
}
