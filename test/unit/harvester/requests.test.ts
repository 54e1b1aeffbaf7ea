// The http, upload and bulk workloads' client against the lab's HTTP service, both on this
// machine's loopback (no lab): the bytes and byte counts each side reports agree, a wrong size
// or wrong bytes fail the attempt, retries and the service's access log; the service's own
// answers; the command line; the service's pattern.
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unackedBytes } from '../../../src/harvester/http.js';
import { parseRequestsArgs } from '../../../src/harvester/requests-cli.js';
import { runRequests, type RequestEvent, type RequestWorkload } from '../../../src/harvester/requests.js';
import { matchesPattern, PATTERN, patternBytes } from '../../../src/service/bytes.js';
import { createService, listen } from '../../../src/service/server.js';

const client = { connectTimeoutMs: 2000, readTimeoutMs: 2000, retries: 1, backoffMs: 10, maxDurationMs: 20_000 };
let server: http.Server;
let base: string;
let logFile: string;

beforeAll(async () => {
  logFile = join(mkdtempSync(join(tmpdir(), 'ctlab-service-')), 'access.log');
  server = createService({ port: 0, accessLogFd: openSync(logFile, 'a') });
  await listen(server, { port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const accessLines = () =>
  readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the workloads against the service', () => {
  it('http: every response in full, checked byte by byte, over kept-alive connections', async () => {
    const events: RequestEvent[] = [];
    const w: RequestWorkload = {
      kind: 'http',
      requests: 5,
      sizes: [1000, 70_000],
      concurrency: 2,
      keepAlive: true,
      ...client,
    };
    const s = await runRequests({ baseUrl: base, workload: w, onEvent: (e) => events.push(e) });
    expect(s).toMatchObject({ kind: 'http', complete: true, ok: 5, requests: 5, stoppedBecause: 'complete' });
    expect(s.bytes).toBe(1000 * 3 + 70_000 * 2);
    expect(s.expectedBytes).toBe(s.bytes);
    expect(s.connections).toBe(2);
    expect(events.filter((e) => e.type === 'attempt').map((e) => (e.type === 'attempt' ? e.size : 0))).toHaveLength(5);
    expect(events.at(-1)).toEqual(s);
  });

  it('upload: the service answers the byte count it read, the client checks it, both logs agree', async () => {
    const before = accessLines().length;
    const w: RequestWorkload = {
      kind: 'upload',
      requests: 3,
      sizes: [1, 200_000, 3_000_000],
      concurrency: 1,
      keepAlive: false,
      ...client,
    };
    const s = await runRequests({ baseUrl: base, workload: w });
    expect(s).toMatchObject({ complete: true, ok: 3, wrongCount: 0, bytes: 3_200_001, bytesSent: 3_200_001 });
    const log = accessLines().slice(before);
    expect(log.map((l) => [l.request, l.body_bytes_received, l.request_completion])).toEqual([
      ['POST /upload HTTP/1.1', 1, 'OK'],
      ['POST /upload HTTP/1.1', 200_000, 'OK'],
      ['POST /upload HTTP/1.1', 3_000_000, 'OK'],
    ]);
  });

  it('bulk: by size and by duration, in both directions', async () => {
    const bulk = (direction: 'to-client' | 'to-server', bytes: number | null, durationMs: number | null) =>
      runRequests({ baseUrl: base, workload: { kind: 'bulk', direction, bytes, durationMs, ...client, retries: 0 } });
    expect(await bulk('to-client', 5_000_000, null)).toMatchObject({ complete: true, bytes: 5_000_000 });
    expect(await bulk('to-server', 5_000_000, null)).toMatchObject({
      complete: true,
      bytes: 5_000_000,
      bytesSent: 5_000_000,
    });
    const down = await bulk('to-client', null, 300);
    expect(down.complete).toBe(true);
    expect(down.bytes).toBeGreaterThan(0);
    expect(down.durationMs).toBeGreaterThanOrEqual(290);
    const up = await bulk('to-server', null, 300);
    expect(up).toMatchObject({ complete: true });
    expect(up.bytes).toBe(up.bytesSent);
    expect(up.bytes).toBeGreaterThan(0);
  });

  it('a response of the wrong size or with the wrong bytes fails its attempts, and is retried', async () => {
    // A server that answers every GET with 10 bytes of zeros, whatever was asked.
    const liar = net.createServer((s) =>
      s.once('data', () =>
        s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n\0\0\0\0\0\0\0\0\0\0'),
      ),
    );
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
    try {
      const events: RequestEvent[] = [];
      const wrong = await runRequests({
        baseUrl: url,
        workload: { kind: 'http', requests: 1, sizes: [20], concurrency: 1, keepAlive: false, ...client },
        onEvent: (e) => events.push(e),
      });
      expect(wrong).toMatchObject({ complete: false, ok: 0, stoppedBecause: 'requests-failed' });
      expect(wrong.attempts).toMatchObject({ total: 2, retries: 1, failed: 2, errors: 2 });
      expect(events.flatMap((e) => (e.type === 'attempt' ? [e.errorCode] : []))).toEqual(['WRONG_SIZE', 'WRONG_SIZE']);
      const corrupt = await runRequests({
        baseUrl: url,
        workload: { kind: 'http', requests: 1, sizes: [10], concurrency: 1, keepAlive: false, ...client, retries: 0 },
        onEvent: (e) => events.push(e),
      });
      expect(corrupt.ok).toBe(0);
      expect(events.at(-2)).toMatchObject({ type: 'attempt', errorCode: 'WRONG_BYTES' });
    } finally {
      liar.close();
    }
  });

  it('an upload acknowledged with another byte count is a wrong count', async () => {
    const liar = net.createServer((s) =>
      s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{"bytes": 7}')),
    );
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    try {
      const s = await runRequests({
        baseUrl: `http://127.0.0.1:${(liar.address() as AddressInfo).port}`,
        workload: {
          kind: 'upload',
          requests: 1,
          sizes: [100],
          concurrency: 1,
          keepAlive: false,
          ...client,
          retries: 0,
        },
      });
      expect(s).toMatchObject({ complete: false, ok: 0, wrongCount: 1, bytes: 7 });
    } finally {
      liar.close();
    }
  });

  it("the service's other answers: its index, 400 for a bad count, 404 elsewhere", async () => {
    const get = async (path: string) => {
      const r = await fetch(`${base}${path}`);
      return [r.status, (await r.arrayBuffer()).byteLength];
    };
    expect(await get('/')).toEqual([200, expect.any(Number)]);
    expect(await get('/bytes/x')).toEqual([400, expect.any(Number)]);
    expect(await get(`/bytes/${2 ** 40}`)).toEqual([400, expect.any(Number)]);
    expect(await get('/stream?bytes=1&ms=1')).toEqual([400, expect.any(Number)]);
    expect(await get('/nothing')).toEqual([404, 9]);
    expect(await get('/bytes/0')).toEqual([200, 0]);
  });
});

describe('the pieces', () => {
  it('the pattern: any slice matches at its offset, and a changed byte does not', () => {
    const b = patternBytes(65_000, 2000);
    expect(b.subarray(0, 536)).toEqual(PATTERN.subarray(65_000));
    expect(matchesPattern(b, 65_000)).toBe(true);
    b[100] = b[100]! ^ 1;
    expect(matchesPattern(b, 65_000)).toBe(false);
    expect(patternBytes(65536, 65536)).toBe(PATTERN);
  });

  it('unackedBytes reads tx_queue of a connection in /proc/net/tcp', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0201A8C6:C8B2 0202A8C6:0050 01 0001E240:00000000 01:00000014 00000000     0        0 1 1',
    ].join('\n');
    expect(unackedBytes(0xc8b2, 80, text)).toBe(0x1e240);
    expect(unackedBytes(0xc8b3, 80, text)).toBeNull();
  });

  it('the command line: the workload as JSON, checked; mistakes are one line', () => {
    const w = { kind: 'upload', requests: 2, sizes: [5], concurrency: 1, keepAlive: false, ...client };
    expect(parseRequestsArgs(['--workload', JSON.stringify(w), '--base-url', 'http://198.18.2.2']).workload).toEqual(w);
    expect(() => parseRequestsArgs(['--workload', '{', '--base-url', 'http://x'])).toThrow(/--workload is not JSON/);
    expect(() =>
      parseRequestsArgs(['--workload', JSON.stringify({ ...w, sizes: [0] }), '--base-url', 'http://x']),
    ).toThrow(/--workload: sizes\[0\]: must be at least 1/);
    expect(() => parseRequestsArgs(['--workload', JSON.stringify(w)])).toThrow(/--base-url URL is required/);
  });
});
