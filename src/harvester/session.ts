// The bookkeeping the harvest (harvest.ts) and the http/upload/bulk workloads (requests.ts)
// share, written once: the stop control (the overall deadline and the caller's signal end the
// in-flight attempt), the attempt counts with their summary, the connect and request time
// samples, the numbering of TCP connections, the reuse of an idle kept-alive socket, which HTTP
// statuses are worth retrying, and the fields every attempt event starts with.

import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { AttemptCounts, Percentiles } from '../result/types.js';
import { watchIdle, type AttemptOutcome, type ExchangeResult } from './http.js';

/** Statuses worth retrying: the server may answer differently next time. */
export function retryableStatus(s: number): boolean {
  return s === 408 || s === 429 || s >= 500;
}

/** The pause before retry number `attempt` (1-based): the backoff, doubling with each retry. */
export function backoffWait(backoffMs: number, attempt: number): number {
  return backoffMs * 2 ** (attempt - 1);
}

export function percentiles(xs: number[]): Percentiles {
  const s = [...xs].sort((a, b) => a - b);
  const max = s.at(-1);
  if (max === undefined) return { p50: null, p90: null, p99: null, max: null };
  // The index is clamped to [0, s.length - 1] and s is not empty.
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max };
}

/** Rounded to the microsecond, as events and summaries carry times. */
const micros = (ms: number) => Math.round(ms * 1000) / 1000;

/** When an attempt started, in both clocks events carry. */
export interface AttemptStart {
  /** Ms since the session started. */
  startMs: number;
  /** Wall-clock time (ISO 8601). */
  wallTime: string;
}

/**
 * One run of a client: its clock, its stop control and its tallies. `noun` names it in the
 * abort and deadline errors ("harvest aborted", "workload deadline of N ms reached").
 * close() must be called when the run ends (it clears the deadline and the signal listener).
 */
export class Session {
  readonly startedAt = new Date().toISOString();
  private readonly t0 = performance.now();
  private readonly ctl = new AbortController();
  private cause: 'deadline' | 'aborted' | null = null;
  private readonly deadline: ReturnType<typeof setTimeout> | null;
  private readonly outer: AbortSignal | undefined;
  private readonly onOuterAbort = () => {
    this.cause ??= 'aborted';
    const r: unknown = this.outer?.reason;
    this.ctl.abort(r instanceof Error ? r : new Error(r === undefined ? `${this.noun} aborted` : String(r)));
  };
  /** TCP connections opened (attempted: connect timeouts and refusals count). */
  connections = 0;
  private readonly counts = {
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
  private readonly connectTimes: number[] = [];
  private readonly okTimes: number[] = [];

  constructor(
    private readonly noun: string,
    maxDurationMs: number,
    signal?: AbortSignal,
  ) {
    this.outer = signal;
    if (signal?.aborted) this.onOuterAbort();
    else signal?.addEventListener('abort', this.onOuterAbort, { once: true });
    this.deadline =
      maxDurationMs > 0
        ? setTimeout(() => {
            this.cause ??= 'deadline';
            this.ctl.abort(new Error(`${noun} deadline of ${maxDurationMs} ms reached`));
          }, maxDurationMs)
        : null;
  }

  /** Aborts the in-flight attempt and any backoff sleep when the run must stop. */
  get signal(): AbortSignal {
    return this.ctl.signal;
  }

  /** Why the run must stop (the first of the deadline and the caller's signal), or null. */
  get stopCause(): 'deadline' | 'aborted' | null {
    return this.cause;
  }

  sinceStart(): number {
    return performance.now() - this.t0;
  }

  /** An attempt begins: counts a retry when `attempt` > 1, and takes its start times. */
  startAttempt(attempt: number): AttemptStart {
    if (attempt > 1) this.counts.retries++;
    return { startMs: this.sinceStart(), wallTime: new Date().toISOString() };
  }

  /** An attempt ended with `outcome` (as judged by the client): counts it and keeps its times. */
  tally(outcome: AttemptOutcome, r: ExchangeResult): void {
    const c = this.counts;
    c.total++;
    if (r.connectMs !== null) this.connectTimes.push(r.connectMs);
    switch (outcome) {
      case 'ok':
        c.ok++;
        this.okTimes.push(r.totalMs);
        break;
      case 'connect-timeout':
        c.connectTimeouts++;
        break;
      case 'read-timeout':
        c.readTimeouts++;
        break;
      case 'reset':
        c.resets++;
        break;
      case 'http-error':
        c.httpErrors++;
        break;
      case 'parse-error':
        c.parseErrors++;
        break;
      default:
        c.other++;
    }
  }

  /**
   * The summary's measured fields, in the summaries' key order, as of now: the throughput is of
   * `bytes` over the run's duration; `between` (a client's own fields) goes after durationMs.
   */
  totals<B extends object>(bytes: number, between: B): SessionTotals & B {
    const c = this.counts;
    const durationMs = micros(this.sinceStart());
    return {
      attempts: {
        total: c.total,
        ok: c.ok,
        timedOut: c.connectTimeouts + c.readTimeouts,
        connectTimeouts: c.connectTimeouts,
        readTimeouts: c.readTimeouts,
        resets: c.resets,
        errors: c.httpErrors + c.parseErrors + c.other,
        httpErrors: c.httpErrors,
        parseErrors: c.parseErrors,
        failed: c.total - c.ok,
        retries: c.retries,
      },
      connections: this.connections,
      durationMs,
      ...between,
      throughputBytesPerSec: durationMs > 0 ? Math.round((bytes / durationMs) * 1000) : 0,
      connectMs: percentiles(this.connectTimes),
      requestMs: percentiles(this.okTimes),
    };
  }

  close(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.outer?.removeEventListener('abort', this.onOuterAbort);
  }
}

/**
 * One worker's kept-alive socket between requests: the next attempt reuses it if the server has
 * not closed it meanwhile, else a new connection is numbered from the session's count.
 */
export class IdleSocket {
  private socket: net.Socket | null = null;
  private check: (() => boolean) | null = null;
  private connection: number | null = null;

  constructor(private readonly session: Session) {}

  /** The socket for the next attempt (null: connect anew) and the connection's serial. */
  take(): { socket: net.Socket | null; connection: number } {
    const idle = this.socket;
    const alive = idle !== null && this.check?.() === true;
    if (idle && !alive) idle.destroy();
    const connection = alive ? this.connection : null;
    this.socket = null;
    this.check = null;
    return alive ? { socket: idle, connection: connection! } : { socket: null, connection: ++this.session.connections };
  }

  /** Keep the exchange's socket if it may carry the next request. */
  keep(r: ExchangeResult, connection: number): void {
    if (!r.socket) return;
    this.socket = r.socket;
    this.check = watchIdle(r.socket);
    this.connection = connection;
  }

  /** Close the kept socket (before a retry's backoff, and at the end). */
  close(): void {
    this.check?.();
    this.socket?.destroy();
    this.socket = null;
    this.check = null;
  }
}

/** The fields every attempt event starts with (attemptHead), the harvest's and the workloads'. */
export interface AttemptHead<T extends string | null> {
  type: 'attempt';
  /** 0-based: the harvest's page number in the list, a workload's request index. */
  page: number;
  /** 1-based attempt number for this page or request. */
  attempt: number;
  /** The resumptionToken sent (null: the first page, requested with metadataPrefix; always null for a workload). */
  token: T;
  /** Ms since the run started, when this attempt started. */
  startMs: number;
  /** Wall-clock time the attempt started (ISO 8601), for joining with captures and server logs. */
  wallTime: string;
  /** The client's TCP port (the server log's remote_port); null if no socket got one. */
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
}

/** Every attempt event's fields but the client's own: the head, then how the attempt ended. */
export interface AttemptFields<T extends string | null> extends AttemptHead<T> {
  status: number | null;
  outcome: AttemptOutcome;
  error: string | null;
  /**
   * ECONNRESET, ECONNREFUSED, CONNECT_TIMEOUT, READ_TIMEOUT, EOF, HTTP_503, ...; a harvest's
   * OAI_badResumptionToken, ...; a workload's WRONG_SIZE, WRONG_BYTES, WRONG_COUNT.
   */
  errorCode: string | null;
}

/** The summary fields the session measures (Session.totals). */
export interface SessionTotals {
  attempts: AttemptCounts;
  /** TCP connections opened (attempted: connect timeouts and refusals count). */
  connections: number;
  durationMs: number;
  /** The run's bytes per second (which bytes: see each summary). */
  throughputBytesPerSec: number;
  /** Over attempts that established a new connection. */
  connectMs: Percentiles;
  /** totalMs over successful attempts. */
  requestMs: Percentiles;
}

/** The fields every attempt event starts with, in the events' order. */
export function attemptHead<T extends string | null>(
  page: number,
  attempt: number,
  token: T,
  start: AttemptStart,
  connection: number,
  r: ExchangeResult,
): AttemptHead<T> {
  return {
    type: 'attempt',
    page,
    attempt,
    token,
    startMs: micros(start.startMs),
    wallTime: start.wallTime,
    localPort: r.localPort,
    connection,
    reused: r.reused,
    connectMs: r.connectMs,
    ttfbMs: r.ttfbMs,
    totalMs: r.totalMs,
    bytes: r.bytes,
  };
}
