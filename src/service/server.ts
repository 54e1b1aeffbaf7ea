// The HTTP service the server node runs for the http, upload, bulk and command workloads (nginx
// stays for oai-pmh): deterministic bytes out, bodies counted in, and an access log in nginx's
// JSON shape (lab/server/nginx.conf) so the evidence joins it with the client's attempts the
// same way. Runs in the lab (dist/bundle/service.mjs).
//   GET  /bytes/<n>            n bytes of the pattern (src/service/bytes.ts), Content-Length
//   POST /upload               reads the whole body, answers {"bytes": <count>, "ms": <reading time>}
//   GET  /stream?bytes=<n>     bulk to the client: n bytes (Content-Length)
//   GET  /stream?ms=<t>        bulk to the client: the pattern for t ms, chunked
//   GET  /                     a one-line text saying what is here
// Anything else: 404 (400 for a bad number). Sizes are bounded (MAX_BYTES) so a typo cannot
// make the server send forever.

import { writeSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { patternBytes } from './bytes.js';

/** The largest body /bytes and /stream send (64 GiB, the bulk workload's limit). */
export const MAX_BYTES = 64 * 1024 ** 3;
/** The longest /stream?ms= (an hour, the bulk workload's limit). */
export const MAX_STREAM_MS = 3_600_000;

export interface ServiceOptions {
  port: number;
  host?: string;
  /** Append one JSON line per request here (a file descriptor, written synchronously). */
  accessLogFd?: number;
}

/** One access log line: nginx's fields (lab/server/nginx.conf) plus what the service read. */
export interface AccessLine {
  msec: number;
  connection: number;
  connection_requests: number;
  remote_addr: string;
  remote_port: number;
  request: string;
  status: number;
  bytes_sent: number;
  body_bytes_sent: number;
  /** Request body bytes the service read. */
  body_bytes_received: number;
  request_time: number;
  /** "OK" when the whole response was handed to the kernel, '' when the connection ended first. */
  request_completion: string;
}

const INDEX = 'ctlab service: GET /bytes/<n>, POST /upload, GET /stream?bytes=<n>|ms=<t>\n';

interface ConnInfo {
  serial: number;
  requests: number;
  /** socket.bytesWritten when the current response started (bytes_sent = the difference). */
  writtenAtStart: number;
}

/** Write `total` pattern bytes (or for `ms` milliseconds when total is null) with back-pressure. */
function pump(res: http.ServerResponse, total: number | null, ms: number | null, done: (sent: number) => void): void {
  let sent = 0;
  const until = ms === null ? Number.POSITIVE_INFINITY : performance.now() + ms;
  const step = () => {
    for (;;) {
      if (res.destroyed) return done(sent);
      const left = total === null ? 65536 : total - sent;
      if (left <= 0 || performance.now() >= until) {
        res.end();
        return done(sent);
      }
      const n = Math.min(65536 - (sent % 65536), left);
      const chunk = patternBytes(sent, n);
      sent += n;
      if (!res.write(chunk)) {
        res.once('drain', step);
        return;
      }
    }
  };
  step();
}

/** Parse a whole number of at most `max`; null when it is not one. */
function whole(s: string | null, max: number): number | null {
  if (s === null || !/^\d{1,15}$/.test(s)) return null;
  const n = Number(s);
  return n <= max ? n : null;
}

export function createService(o: ServiceOptions): http.Server {
  let serials = 0;
  const conns = new WeakMap<net.Socket, ConnInfo>();
  const server = http.createServer({ keepAliveTimeout: 15_000 });
  // Uploads and streams may take long on an impaired path: no whole-request deadline.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.on('connection', (s: net.Socket) => {
    conns.set(s, { serial: ++serials, requests: 0, writtenAtStart: 0 });
    s.setNoDelay(true);
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const t0 = performance.now();
    const sock = req.socket;
    const c = conns.get(sock) ?? { serial: ++serials, requests: 0, writtenAtStart: 0 };
    c.requests++;
    c.writtenAtStart = sock.bytesWritten;
    let bodyIn = 0;
    let bodyOut = 0;
    let logged = false;
    const log = (complete: boolean) => {
      if (logged) return;
      logged = true;
      if (o.accessLogFd === undefined) return;
      const line: AccessLine = {
        msec: Date.now() / 1000,
        connection: c.serial,
        connection_requests: c.requests,
        remote_addr: sock.remoteAddress ?? '',
        remote_port: sock.remotePort ?? 0,
        request: `${req.method} ${req.url} HTTP/${req.httpVersion}`,
        status: res.statusCode,
        bytes_sent: sock.bytesWritten - c.writtenAtStart,
        body_bytes_sent: bodyOut,
        body_bytes_received: bodyIn,
        request_time: Math.round(performance.now() - t0) / 1000,
        request_completion: complete ? 'OK' : '',
      };
      writeSync(o.accessLogFd, `${JSON.stringify(line)}\n`);
    };
    res.on('finish', () => log(true));
    res.on('close', () => log(false));
    const url = new URL(req.url ?? '/', 'http://service');
    const send = (status: number, body: string, type = 'text/plain') => {
      const b = Buffer.from(body);
      bodyOut = b.length;
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': b.length });
      res.end(b);
    };
    req.on('data', (chunk: Buffer) => {
      bodyIn += chunk.length;
    });
    if (req.method === 'GET' && url.pathname.startsWith('/bytes/')) {
      const n = whole(url.pathname.slice('/bytes/'.length), MAX_BYTES);
      if (n === null) return send(400, `not a byte count of at most ${MAX_BYTES}\n`);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': n });
      return pump(res, n, null, (sent) => {
        bodyOut = sent;
      });
    }
    if (req.method === 'GET' && url.pathname === '/stream') {
      const n = whole(url.searchParams.get('bytes'), MAX_BYTES);
      const ms = whole(url.searchParams.get('ms'), MAX_STREAM_MS);
      if ((n === null) === (ms === null)) return send(400, 'give bytes=<n> or ms=<t>\n');
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream',
        ...(n !== null ? { 'Content-Length': n } : {}),
      });
      return pump(res, n, ms, (sent) => {
        bodyOut = sent;
      });
    }
    if (req.method === 'POST' && url.pathname === '/upload') {
      req.on('end', () =>
        send(200, `${JSON.stringify({ bytes: bodyIn, ms: Math.round(performance.now() - t0) })}\n`, 'application/json'),
      );
      req.on('error', () => res.destroy());
      return;
    }
    if (req.method === 'GET' && url.pathname === '/') return send(200, INDEX);
    // Drain what the client sent, then answer.
    req.resume();
    req.on('end', () => send(404, 'not here\n'));
  });
  return server;
}

/** Listen; resolves once bound (rejects with the listen error, e.g. EADDRINUSE). */
export function listen(server: http.Server, o: Pick<ServiceOptions, 'port' | 'host'>): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
