// An OAI-PMH harvester as real ones behave: ListRecords, then follow resumptionTokens to the end;
// a new TCP connection per request unless keepAlive; connect and read timeouts; a bounded number
// of retries per page with doubling backoff; an overall deadline; and when a page still fails,
// stop and report the harvest incomplete (no skipping ahead: the next token is in the lost page).
// Every attempt becomes one event the moment it ends. Runs in the lab (dist/bundle/harvester.mjs).

import { CtlabError } from '../errors.js';
import { sleep } from '../util/sleep.js';
import { exchange, type AttemptOutcome, type SocketFactory } from './http.js';
import { OaiParseError, parseOaiResponse, type OaiError } from './oai.js';
import { attemptHead, backoffWait, IdleSocket, retryableStatus, Session } from './session.js';
import type { AttemptFields, SessionTotals } from './session.js';

export type { AttemptOutcome, SocketFactory } from './http.js';
export { backoffWait } from './session.js';

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

export interface AttemptEvent extends AttemptFields<string | null> {
  /** <record> elements in the page; null unless the page parsed. */
  records: number | null;
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

export interface HarvestSummary extends SessionTotals {
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
  /** Bytes received over all attempts (throughputBytesPerSec counts these). */
  bytes: number;
  stoppedBecause: StopReason;
  /** The page that failed (stoppedBecause other than complete/count-mismatch), else null. */
  failedPage: number | null;
  lastError: string | null;
  oaiError: OaiError | null;
  startedAt: string;
  endedAt: string;
}

export type HarvestEvent = AttemptEvent | HarvestSummary;

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

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Harvest the whole list. Never throws for network or protocol trouble: that is in the summary. */
export async function harvest(options: HarvestOptions): Promise<HarvestSummary> {
  const cfg = validateHarvestOptions(options);
  const emit = options.onEvent ?? (() => {});
  // Ends the in-flight attempt for the deadline or the caller's signal; counts attempts.
  const session = new Session('harvest', cfg.maxDurationMs, options.signal);
  let bytes = 0;
  let records = 0;
  let expected: number | null = null;
  let pages = 0;
  let lastError: string | null = null;
  let oaiError: OaiError | null = null;
  let failedPage: number | null = null;
  let stoppedBecause: StopReason | null = null;

  const idle = new IdleSocket(session);
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
        if (session.stopCause) {
          stoppedBecause = session.stopCause;
          failedPage = page;
          break;
        }
        const start = session.startAttempt(attempt);
        const { socket, connection } = idle.take();

        const r = await exchange({
          target: { host: cfg.target.host, port: cfg.target.port, localAddress: options.localAddress },
          request,
          connectTimeoutMs: cfg.connectTimeoutMs,
          readTimeoutMs: cfg.readTimeoutMs,
          socket,
          keepAlive: cfg.keepAlive,
          socketFactory: options.socketFactory,
          signal: session.signal,
        });
        idle.keep(r, connection);

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

        session.tally(outcome, r);
        bytes += r.bytes;
        const ev: AttemptEvent = {
          ...attemptHead(page, attempt, token, start, connection, r),
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
          stoppedBecause = session.stopCause ?? 'aborted';
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
        if (cfg.maxDurationMs > 0 && session.sinceStart() + wait >= cfg.maxDurationMs) {
          // The retry could not start before the deadline: stop now rather than sleep into it.
          stoppedBecause = 'deadline';
          failedPage = page;
          break;
        }
        idle.close();
        await sleep(wait, session.signal);
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
    session.close();
    idle.close();
  }

  const summary: HarvestSummary = {
    type: 'summary',
    baseUrl: options.baseUrl,
    metadataPrefix: cfg.metadataPrefix,
    keepAlive: cfg.keepAlive,
    records,
    expectedRecords: expected,
    complete: stoppedBecause === 'complete',
    pages,
    ...session.totals(bytes, { bytes }),
    stoppedBecause: stoppedBecause ?? 'aborted',
    failedPage,
    lastError,
    oaiError,
    startedAt: session.startedAt,
    endedAt: new Date().toISOString(),
  };
  emit(summary);
  return summary;
}
