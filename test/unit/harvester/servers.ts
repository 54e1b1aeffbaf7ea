// Loopback OAI-PMH servers for the harvester tests: the generated repository served by node:net
// with a per-request fault plan (hang, stall mid-body, reset, 503, truncation, ...), counting
// TCP connections and requests on the server side.

import net from 'node:net';
import { generateRepository, type GeneratedRepository } from '../../../src/repository/generate.js';
import { resolveOaiRequest } from '../../../src/repository/resolve.js';

export type Fault =
  | 'ok'
  | 'ok-close' // the page, with Connection: close, then FIN (even if the client asked keep-alive)
  | 'hang' // read the request, never answer
  | 'stall' // send headers and half the body, then nothing
  | 'reset' // answer with a TCP RST
  | 'reset-mid-body' // half the body, then RST
  | 'eof-mid-body' // half the body, then FIN
  | '503' // HTTP 503 Service Unavailable
  | '404' // HTTP 404
  | 'truncate' // a complete HTTP response whose XML is cut short
  | 'bad-utf8' // invalid UTF-8 in the body
  | 'chunked'; // the right page, chunked, in small writes

export interface ServerRequest {
  n: number; // 0-based over the server's life
  connection: number; // 1-based serial of the TCP connection it came on
  query: string;
  remotePort: number;
  fault: Fault;
}

export interface TestServer {
  port: number;
  baseUrl: string;
  repo: GeneratedRepository;
  connections: number;
  requests: ServerRequest[];
  close(): Promise<void>;
}

export interface ServeOptions {
  repo?: GeneratedRepository;
  /** Fault for the n-th request (0-based, over the server's life). */
  plan?: (n: number, query: string) => Fault;
  /** Override the body of a file (tests tamper with pages). */
  override?: (file: string, body: Buffer) => Buffer;
}

export const SMALL = { records: 950, pageSize: 100, recordBytes: 1500, seed: 11 };
let cached: GeneratedRepository | null = null;
export function smallRepo(): GeneratedRepository {
  cached ??= generateRepository(SMALL);
  return cached;
}

export async function serve(opts: ServeOptions = {}): Promise<TestServer> {
  const repo = opts.repo ?? smallRepo();
  const files = new Map(repo.files.map((f) => [f.path, f.content]));
  const sockets = new Set<net.Socket>();
  const state = { connections: 0, requests: [] as ServerRequest[] };

  const body = (query: string): Buffer => {
    const r = resolveOaiRequest(query);
    const file = files.has(r.file) ? r.file : r.fallback;
    const b = files.get(file)!;
    return opts.override ? opts.override(file, b) : b;
  };

  const server = net.createServer((sock) => {
    const connection = ++state.connections;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const target = /^GET (\S+) HTTP\/1\.1/.exec(head)?.[1] ?? '/';
        const query = target.includes('?') ? target.slice(target.indexOf('?') + 1) : '';
        const close = /\r\nconnection: close/i.test(head);
        const n = state.requests.length;
        const fault = opts.plan ? opts.plan(n, query) : 'ok';
        state.requests.push({ n, connection, query, remotePort: sock.remotePort!, fault });
        respond(sock, fault, body(query), close);
      }
    });
  });

  function respond(sock: net.Socket, fault: Fault, b: Buffer, close: boolean) {
    const hdr = (status: string, len: number, extra = '') =>
      `HTTP/1.1 ${status}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: ${len}\r\n` +
      `Connection: ${close ? 'close' : 'keep-alive'}\r\n${extra}\r\n`;
    const finish = () => (close ? sock.end() : undefined);
    const half = b.subarray(0, b.length >> 1);
    switch (fault) {
      case 'ok':
        sock.write(hdr('200 OK', b.length));
        sock.write(b);
        return finish();
      case 'ok-close':
        sock.write(hdr('200 OK', b.length).replace('Connection: keep-alive', 'Connection: close'));
        sock.end(b);
        return;
      case 'hang':
        return;
      case 'stall':
        sock.write(hdr('200 OK', b.length));
        sock.write(half);
        return;
      case 'reset':
        return void sock.resetAndDestroy();
      case 'reset-mid-body':
        sock.write(hdr('200 OK', b.length));
        sock.write(half, () => setTimeout(() => sock.resetAndDestroy(), 20));
        return;
      case 'eof-mid-body':
        sock.write(hdr('200 OK', b.length));
        sock.end(half);
        return;
      case '503':
      case '404': {
        const msg = Buffer.from(fault === '503' ? 'busy, try later\n' : 'not here\n');
        sock.write(
          hdr(fault === '503' ? '503 Service Unavailable' : '404 Not Found', msg.length, 'Retry-After: 1\r\n'),
        );
        sock.write(msg);
        return finish();
      }
      case 'truncate': {
        const t = b.subarray(0, Math.floor(b.length * 0.7));
        sock.write(hdr('200 OK', t.length));
        sock.write(t);
        return finish();
      }
      case 'bad-utf8': {
        const x = Buffer.concat([b.subarray(0, 400), Buffer.from([0xff, 0xfe, 0xc3]), b.subarray(400)]);
        sock.write(hdr('200 OK', x.length));
        sock.write(x);
        return finish();
      }
      case 'chunked': {
        sock.setNoDelay(true);
        let out = `HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\nConnection: ${close ? 'close' : 'keep-alive'}\r\n\r\n`;
        sock.write(out);
        for (let i = 0; i < b.length; i += 7919) {
          const c = b.subarray(i, i + 7919);
          sock.write(`${c.length.toString(16)}\r\n`);
          sock.write(c);
          sock.write('\r\n');
        }
        out = '0\r\n\r\n';
        sock.write(out);
        return finish();
      }
    }
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}/oai`,
    repo,
    get connections() {
      return state.connections;
    },
    requests: state.requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A port on 127.0.0.1 with nothing listening (connections are refused). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
