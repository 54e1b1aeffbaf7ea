// One HTTP/1.1 exchange over a node:net socket, timed exactly: connect from the socket's 'connect'
// event, first byte from the first 'data' event, a progress timeout that is re-armed by every byte
// received and, while a request body is being sent, by every chunk the socket accepts (the
// kernel took the previous ones): a stalled upload times out like a stalled download. Written on node:net rather than
// node:http so that nothing (agent pools, parser buffering, implicit retries) sits between the
// harvester and the TCP connection it is measuring.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export type AttemptOutcome =
  | 'ok'
  | 'connect-timeout'
  | 'read-timeout'
  | 'reset'
  | 'http-error'
  | 'parse-error'
  | 'error';

export interface ConnectTarget {
  host: string;
  port: number;
  localAddress?: string;
}

/** Makes the TCP socket (tests inject one that never connects, to simulate a black hole). */
export type SocketFactory = (target: ConnectTarget) => net.Socket;

export const defaultSocketFactory: SocketFactory = (t) =>
  net.connect({ host: t.host, port: t.port, ...(t.localAddress ? { localAddress: t.localAddress } : {}) });

export interface ExchangeOptions {
  target: ConnectTarget;
  /** The whole request (request line, headers, blank line). */
  request: Buffer;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  /** An idle keep-alive socket to send on; a new connection is opened when absent. */
  socket?: net.Socket | null;
  /** Keep the socket open afterwards if the response allows (keep-alive mode). */
  keepAlive: boolean;
  socketFactory?: SocketFactory;
  /** Abort (deadline, SIGTERM): ends the exchange with outcome 'error' and this reason. */
  signal?: AbortSignal;
  /**
   * A request body sent after `request` (the head): chunks pulled one at a time, null at the
   * end; `chunked` frames them as chunked transfer coding (the head must say so).
   */
  body?: { next: () => Buffer | null; chunked: boolean };
  /** Response body bytes go here as they arrive instead of being kept (`body` is then empty). */
  onBody?: (chunk: Buffer) => void;
}

export interface ExchangeResult {
  outcome: Exclude<AttemptOutcome, 'parse-error'>;
  status: number | null;
  headers: Record<string, string>;
  body: Buffer | null;
  /** Bytes received on the socket for this exchange: headers, framing and body. */
  bytes: number;
  /** Request body bytes written to the socket (without chunk framing). */
  bytesSent: number;
  /** Wall-clock ms from exchange start to the 'connect' event; null if reused or never connected. */
  connectMs: number | null;
  /** Ms from exchange start to the first response byte; null if none arrived. */
  ttfbMs: number | null;
  totalMs: number;
  localPort: number | null;
  reused: boolean;
  error: string | null;
  /** errno-style code (ECONNRESET, ECONNREFUSED, ...), or CONNECT_TIMEOUT, READ_TIMEOUT, EOF, ABORTED. */
  errorCode: string | null;
  /** The socket, still open and idle, when it may carry the next request; otherwise null. */
  socket: net.Socket | null;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Bytes the kernel still holds unacknowledged on the TCP connection from `localPort` to
 * `remotePort` (tx_queue in /proc/net/tcp of this network namespace), or null when unknown.
 * An upload's bytes leave the socket long before the peer has them (the kernel's send buffer
 * holds megabytes): this is how far the peer really got.
 */
export function unackedBytes(localPort: number, remotePort: number, text?: string): number | null {
  let t = text;
  if (t === undefined) {
    try {
      t = readFileSync('/proc/net/tcp', 'latin1');
    } catch {
      return null;
    }
  }
  for (const line of t.split('\n')) {
    const f = line.trim().split(/\s+/);
    const local = f[1]?.split(':')[1];
    const remote = f[2]?.split(':')[1];
    const tx = f[4]?.split(':')[0];
    if (local && remote && tx && Number.parseInt(local, 16) === localPort && Number.parseInt(remote, 16) === remotePort)
      return Number.parseInt(tx, 16);
  }
  return null;
}

/** How often an upload's acknowledged progress is looked at. */
const ACK_POLL_MS = 200;

/** Incremental body framing: Content-Length, chunked, or until the server closes. */
export class BodyReader {
  private parts: Buffer[] = [];
  private got = 0;
  done = false;
  // chunked state
  private chunkLeft = 0;
  private line = '';
  private phase: 'size' | 'data' | 'data-crlf' | 'trailer' = 'size';

  constructor(
    readonly mode: 'length' | 'chunked' | 'close',
    readonly length: number,
    /** Where body bytes go instead of being kept. */
    private readonly sink?: (chunk: Buffer) => void,
  ) {
    if (mode === 'length' && length === 0) this.done = true;
  }

  private take(b: Buffer): void {
    if (this.sink) this.sink(b);
    else this.parts.push(b);
  }

  /** Feed bytes; returns false on a framing error (bad chunk size). */
  push(buf: Buffer): boolean {
    if (this.done) return true; // bytes past the end: the caller will not reuse this socket
    if (this.mode === 'close') {
      this.take(buf);
      this.got += buf.length;
      return true;
    }
    if (this.mode === 'length') {
      const take = Math.min(buf.length, this.length - this.got);
      this.take(take === buf.length ? buf : buf.subarray(0, take));
      this.got += take;
      if (this.got === this.length) this.done = true;
      return true;
    }
    let i = 0;
    while (i < buf.length && !this.done) {
      if (this.phase === 'data') {
        const take = Math.min(this.chunkLeft, buf.length - i);
        this.take(buf.subarray(i, i + take));
        this.got += take;
        this.chunkLeft -= take;
        i += take;
        if (this.chunkLeft === 0) this.phase = 'data-crlf';
        continue;
      }
      // Line-oriented phases: chunk-size line, CRLF after data, trailer lines.
      const nl = buf.indexOf(0x0a, i);
      const end = nl < 0 ? buf.length : nl + 1;
      this.line += buf.toString('latin1', i, end);
      i = end;
      if (nl < 0) {
        if (this.line.length > 4096) return false;
        break;
      }
      const line = this.line.replace(/\r?\n$/, '');
      this.line = '';
      if (this.phase === 'size') {
        const m = /^([0-9A-Fa-f]+)\s*(;.*)?$/.exec(line);
        if (!m) return false;
        this.chunkLeft = parseInt(m[1]!, 16);
        this.phase = this.chunkLeft === 0 ? 'trailer' : 'data';
      } else if (this.phase === 'data-crlf') {
        if (line !== '') return false;
        this.phase = 'size';
      } else if (line === '') {
        this.done = true; // end of trailer
      }
    }
    return true;
  }

  /** The server closed the connection: complete only for close-delimited bodies. */
  eof(): void {
    if (this.mode === 'close') this.done = true;
  }

  body(): Buffer {
    return Buffer.concat(this.parts);
  }

  received(): number {
    return this.got;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Map a socket error to an outcome, given whether the connection was established. */
function classify(
  err: NodeJS.ErrnoException,
  connected: boolean,
): Exclude<AttemptOutcome, 'ok' | 'parse-error' | 'http-error'> {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return 'reset';
    case 'ETIMEDOUT':
      // The kernel gave up (SYN retries, or retransmission/user timeout): the same symptom.
      return connected ? 'read-timeout' : 'connect-timeout';
    default:
      return 'error';
  }
}

/**
 * Perform one request/response exchange. Never rejects: every failure is an outcome. On any
 * failure the socket is destroyed (a timed-out connection is closed, as a real harvester does).
 */
export function exchange(opts: ExchangeOptions): Promise<ExchangeResult> {
  const t0 = performance.now();
  return new Promise<ExchangeResult>((resolve) => {
    const given = opts.socket;
    const reused = given != null && !given.destroyed;
    let socket: net.Socket;
    try {
      socket = reused ? given : (opts.socketFactory ?? defaultSocketFactory)(opts.target);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      resolve({
        outcome: 'error',
        status: null,
        headers: {},
        body: null,
        bytes: 0,
        bytesSent: 0,
        connectMs: null,
        ttfbMs: null,
        totalMs: round(performance.now() - t0),
        localPort: null,
        reused: false,
        error: e.message,
        errorCode: e.code ?? null,
        socket: null,
      });
      return;
    }
    let connected = reused;
    let connectMs: number | null = null;
    let ttfbMs: number | null = null;
    let bytes = 0;
    let bytesSent = 0;
    let head: Buffer | null = null;
    let status: number | null = null;
    let headers: Record<string, string> = {};
    let body: BodyReader | null = null;
    let serverWantsClose = false;
    let finished = false;
    let localPort: number | null = reused ? (socket.localPort ?? null) : null;
    let connectTimer: NodeJS.Timeout | null = null;
    let readTimer: NodeJS.Timeout | null = null;
    let ackTimer: NodeJS.Timeout | null = null;

    const portNow = () => {
      // The kernel picks the port at connect(); it is readable while the SYN is still pending.
      if (localPort === null && socket.localPort) localPort = socket.localPort;
    };

    const finish = (outcome: ExchangeResult['outcome'], error: string | null, errorCode: string | null) => {
      if (finished) return;
      finished = true;
      portNow();
      if (connectTimer) clearTimeout(connectTimer);
      if (readTimer) clearTimeout(readTimer);
      if (ackTimer) clearInterval(ackTimer);
      socket.off('connect', onConnect);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('drain', writeBody);
      opts.signal?.removeEventListener('abort', onAbort);
      const ok = outcome === 'ok' || outcome === 'http-error';
      const keep =
        ok &&
        opts.keepAlive &&
        !serverWantsClose &&
        body !== null &&
        body.mode !== 'close' &&
        !socket.destroyed &&
        !socket.readableEnded;
      let out: net.Socket | null = null;
      if (keep) {
        out = socket;
      } else {
        socket.on('error', () => {}); // late errors from a socket being torn down are not news
        socket.destroy();
      }
      resolve({
        outcome,
        status,
        headers,
        body: body?.done ? body.body() : null,
        bytes,
        bytesSent,
        connectMs,
        ttfbMs,
        totalMs: round(performance.now() - t0),
        localPort,
        reused,
        error,
        errorCode,
        socket: out,
      });
    };

    const armRead = () => {
      if (readTimer) readTimer.refresh();
      else
        readTimer = setTimeout(
          () =>
            finish(
              'read-timeout',
              `no data received for ${opts.readTimeoutMs} ms (${bytes} bytes so far)`,
              'READ_TIMEOUT',
            ),
          opts.readTimeoutMs,
        );
    };

    const parseHead = (buf: Buffer): boolean => {
      const text = buf.toString('latin1');
      const lines = text.split('\r\n');
      const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
      if (!m) {
        finish('error', `not an HTTP/1.x response: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`, 'EPROTO');
        return false;
      }
      status = Number(m[2]);
      headers = {};
      for (const line of lines.slice(1)) {
        if (!line) continue;
        const c = line.indexOf(':');
        if (c <= 0) continue;
        const k = line.slice(0, c).trim().toLowerCase();
        const v = line.slice(c + 1).trim();
        headers[k] = headers[k] !== undefined ? `${headers[k]}, ${v}` : v;
      }
      const conn = (headers.connection ?? '').toLowerCase();
      serverWantsClose = conn.includes('close') || (m[1] === '0' && !conn.includes('keep-alive'));
      const te = (headers['transfer-encoding'] ?? '').toLowerCase();
      if (te.includes('chunked')) body = new BodyReader('chunked', 0, opts.onBody);
      else if (headers['content-length'] !== undefined) {
        const len = Number(headers['content-length']);
        if (!Number.isSafeInteger(len) || len < 0) {
          finish('error', `bad Content-Length ${JSON.stringify(headers['content-length'])}`, 'EPROTO');
          return false;
        }
        body = new BodyReader('length', len, opts.onBody);
      } else if (status === 204 || status === 304) body = new BodyReader('length', 0);
      else {
        body = new BodyReader('close', 0, opts.onBody);
        serverWantsClose = true;
      }
      return true;
    };

    const complete = () => {
      const s = status!; // complete() runs once a head was parsed, which set status
      if (s >= 200 && s < 300) finish('ok', null, null);
      else finish('http-error', `HTTP ${s}`, `HTTP_${s}`);
    };

    const feed = (chunk: Buffer) => {
      if (head === null || body === null) {
        head = head ? Buffer.concat([head, chunk]) : chunk;
        for (;;) {
          const idx = head.indexOf(CRLFCRLF);
          if (idx < 0) {
            if (head.length > 65536) finish('error', 'response headers larger than 64 KiB', 'EPROTO');
            return;
          }
          const rest = head.subarray(idx + 4);
          if (!parseHead(head.subarray(0, idx))) return;
          // parseHead returned true: it set status and body.
          if (status! >= 100 && status! < 200) {
            // An interim response (100 Continue): the real one follows.
            head = rest;
            body = null;
            status = null;
            continue;
          }
          head = Buffer.alloc(0);
          if (rest.length && !body!.push(rest)) return finish('error', 'bad chunked encoding', 'EPROTO');
          break;
        }
      } else if (!body.push(chunk)) {
        return finish('error', 'bad chunked encoding', 'EPROTO');
      }
      if (body!.done) complete();
    };

    function onConnect() {
      connected = true;
      connectMs = round(performance.now() - t0);
      portNow();
      if (connectTimer) clearTimeout(connectTimer);
      connectTimer = null;
      socket.setNoDelay(true);
      send();
    }
    function onData(chunk: Buffer) {
      if (ttfbMs === null) ttfbMs = round(performance.now() - t0);
      bytes += chunk.length;
      armRead();
      feed(chunk);
    }
    function onEnd() {
      if (body !== null) {
        body.eof();
        if (body.done) return complete();
        finish(
          'error',
          body.mode === 'length'
            ? `connection closed by the server after ${body.received()} of ${body.length} body bytes`
            : 'connection closed by the server inside a chunked body',
          'EOF',
        );
      } else {
        finish(
          'error',
          bytes
            ? 'connection closed by the server inside the response headers'
            : 'connection closed by the server before any response',
          'EOF',
        );
      }
    }
    function onError(err: NodeJS.ErrnoException) {
      finish(classify(err, connected), err.message, err.code ?? null);
    }
    function onClose() {
      finish('error', 'connection closed', 'ECLOSED');
    }
    function onAbort() {
      const reason = opts.signal?.reason;
      finish('error', reason instanceof Error ? reason.message : String(reason ?? 'aborted'), 'ABORTED');
    }
    function send() {
      armRead();
      socket.write(opts.request);
      if (opts.body) {
        writeBody();
        watchAcks();
      }
    }
    /** While a body is sent, the peer acknowledging bytes is progress too (unackedBytes()). */
    function watchAcks() {
      let last: number | null = null;
      ackTimer = setInterval(() => {
        const lp = socket.localPort;
        const rp = socket.remotePort;
        if (!lp || !rp) return;
        const q = unackedBytes(lp, rp);
        if (q !== null && last !== null && q < last) armRead();
        last = q;
      }, ACK_POLL_MS);
      ackTimer.unref();
    }
    /** Write the request body's chunks while the socket takes them; 'drain' resumes. */
    function writeBody() {
      const b = opts.body!; // called only with a body
      for (;;) {
        if (finished) return;
        const c = b.next();
        if (c === null) {
          if (b.chunked) socket.write('0\r\n\r\n');
          return;
        }
        bytesSent += c.length;
        let ok: boolean;
        if (b.chunked) {
          socket.write(`${c.length.toString(16)}\r\n`);
          socket.write(c);
          ok = socket.write('\r\n');
        } else ok = socket.write(c);
        // The socket took it below its high-water mark: the kernel is taking bytes, progress.
        armRead();
        if (!ok) {
          socket.once('drain', writeBody);
          return;
        }
      }
    }

    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    if (opts.signal) {
      if (opts.signal.aborted) return onAbort();
      opts.signal.addEventListener('abort', onAbort, { once: true });
    }
    if (reused) {
      send();
    } else {
      socket.once('connect', onConnect);
      connectTimer = setTimeout(
        () => finish('connect-timeout', `no connection within ${opts.connectTimeoutMs} ms`, 'CONNECT_TIMEOUT'),
        opts.connectTimeoutMs,
      );
    }
  });
}

/**
 * Watch an idle keep-alive socket: if the server closes it (keepalive_timeout) or it errors while
 * idle, it is not reused. Returns a function that stops watching and says whether it is usable.
 */
export function watchIdle(socket: net.Socket): () => boolean {
  let dead = false;
  const kill = () => {
    dead = true;
  };
  socket.on('end', kill);
  socket.on('close', kill);
  socket.on('error', kill);
  return () => {
    socket.off('end', kill);
    socket.off('close', kill);
    socket.off('error', kill);
    return !dead && !socket.destroyed && !socket.readableEnded;
  };
}
