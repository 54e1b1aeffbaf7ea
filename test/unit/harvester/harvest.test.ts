import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  backoffWait,
  harvest,
  type AttemptEvent,
  type HarvestEvent,
  type HarvestOptions,
  type HarvestSummary,
} from '../../../src/harvester/harvest.js';
import { parseHarvestArgs, runHarvestCli } from '../../../src/harvester/cli.js';
import { generatorArgv, harvesterArgv } from '../../../src/harvester/workload.js';
import { runGeneratorCli } from '../../../src/repository/cli.js';
import { generateRepository } from '../../../src/repository/generate.js';
import { closedPort, serve, smallRepo, type Fault, type TestServer } from './servers.js';
import { itWith, requireTool } from '../../gate.js';
import { sleep } from '../../../src/util/sleep.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(opts: Parameters<typeof serve>[0] = {}): Promise<TestServer> {
  const s = await serve(opts);
  servers.push(s);
  return s;
}

/** Fault for the first requests in order, then 'ok'. */
const first =
  (...faults: Fault[]) =>
  (n: number): Fault =>
    faults[n] ?? 'ok';

async function run(o: Partial<HarvestOptions> & { baseUrl: string }) {
  const events: HarvestEvent[] = [];
  const summary = await harvest({
    connectTimeoutMs: 500,
    readTimeoutMs: 300,
    retries: 3,
    backoffMs: 20,
    ...o,
    onEvent: (e) => events.push(JSON.parse(JSON.stringify(e))), // must survive JSON
  });
  const attempts = events.filter((e): e is AttemptEvent => e.type === 'attempt');
  expect(events.at(-1)).toEqual(JSON.parse(JSON.stringify(summary)));
  expect(attempts).toHaveLength(summary.attempts.total);
  return { summary, attempts };
}

function expectConsistent(s: HarvestSummary, attempts: AttemptEvent[]) {
  const n = (o: string) => attempts.filter((a) => a.outcome === o).length;
  expect(s.attempts.ok).toBe(n('ok'));
  expect(s.attempts.readTimeouts).toBe(n('read-timeout'));
  expect(s.attempts.connectTimeouts).toBe(n('connect-timeout'));
  expect(s.attempts.timedOut).toBe(n('read-timeout') + n('connect-timeout'));
  expect(s.attempts.resets).toBe(n('reset'));
  expect(s.attempts.errors).toBe(n('http-error') + n('parse-error') + n('error'));
  expect(s.attempts.failed).toBe(attempts.length - n('ok'));
  expect(s.attempts.retries).toBe(attempts.filter((a) => a.attempt > 1).length);
  expect(s.bytes).toBe(attempts.reduce((a, e) => a + e.bytes, 0));
  expect(s.records).toBe(attempts.reduce((a, e) => a + (e.outcome === 'ok' ? (e.records ?? 0) : 0), 0));
  for (const p of [s.connectMs, s.requestMs]) {
    if (p.max === null) continue;
    expect(p.p50!).toBeLessThanOrEqual(p.p90!);
    expect(p.p90!).toBeLessThanOrEqual(p.p99!);
    expect(p.p99!).toBeLessThanOrEqual(p.max);
  }
  for (let i = 1; i < attempts.length; i++)
    expect(attempts[i]!.startMs).toBeGreaterThanOrEqual(attempts[i - 1]!.startMs + attempts[i - 1]!.totalMs - 1);
}

describe('harvest against a healthy repository', () => {
  it('follows the tokens to the end, one TCP connection per request, one event per attempt', async () => {
    const srv = await start();
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl });
    expect(s).toMatchObject({
      complete: true,
      records: 950,
      expectedRecords: 950,
      pages: 10,
      stoppedBecause: 'complete',
      failedPage: null,
      connections: 10,
    });
    expect(srv.connections).toBe(10);
    expect(srv.requests.map((r) => r.query)).toEqual([
      'verb=ListRecords&metadataPrefix=oai_dc',
      ...srv.repo.manifest.pages.slice(1).map((p) => `verb=ListRecords&resumptionToken=${p.requestToken}`),
    ]);
    attempts.forEach((a, i) => {
      expect(a).toMatchObject({
        page: i,
        attempt: 1,
        outcome: 'ok',
        status: 200,
        reused: false,
        connection: i + 1,
        error: null,
      });
      expect(a.token).toBe(srv.repo.manifest.pages[i]!.requestToken);
      expect(a.nextToken).toBe(srv.repo.manifest.pages[i]!.resumptionToken);
      expect(a.records).toBe(srv.repo.manifest.pages[i]!.records);
      expect(a.localPort).toBe(srv.requests[i]!.remotePort); // joins with the server's log
      expect(a.bytes).toBeGreaterThan(srv.repo.manifest.pages[i]!.bytes);
      expect(a.connectMs!).toBeGreaterThan(0);
      expect(a.ttfbMs!).toBeGreaterThanOrEqual(a.connectMs!);
      expect(a.totalMs).toBeGreaterThanOrEqual(a.ttfbMs!);
      expect(Date.parse(a.wallTime)).not.toBeNaN();
    });
    expectConsistent(s, attempts);
    expect(s.throughputBytesPerSec).toBeGreaterThan(0);
    expect(s.requestMs.max).not.toBeNull();
  });

  it('harvests the incident-sized list (3,812 records in 39 pages)', async () => {
    const srv = await start({ repo: generateRepository({ records: 3812, pageSize: 100, recordBytes: 3000, seed: 1 }) });
    const { summary: s } = await run({ baseUrl: srv.baseUrl });
    expect(s).toMatchObject({ complete: true, records: 3812, expectedRecords: 3812, pages: 39 });
    expect(s.bytes).toBeGreaterThan(srv.repo.manifest.totalBytes);
  });

  it('keep-alive reuses one TCP connection for every page', async () => {
    const srv = await start();
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl, keepAlive: true });
    expect(s.complete).toBe(true);
    expect(srv.connections).toBe(1);
    expect(s.connections).toBe(1);
    expect(new Set(attempts.map((a) => a.localPort)).size).toBe(1);
    expect(attempts.map((a) => a.reused)).toEqual([false, ...Array(9).fill(true)]);
    expect(attempts.slice(1).every((a) => a.connectMs === null)).toBe(true);
  });

  it('keep-alive opens a new connection when the server says Connection: close or a request fails', async () => {
    const srv = await start({ plan: first('ok', 'ok-close', 'ok', 'reset') });
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl, keepAlive: true });
    expect(s.complete).toBe(true);
    expect(attempts.slice(0, 3).map((a) => [a.outcome, a.connection, a.reused])).toEqual([
      ['ok', 1, false],
      ['ok', 1, true],
      ['ok', 2, false],
    ]);
    expect(attempts[3]).toMatchObject({ page: 3, outcome: 'reset', reused: true, connection: 2 });
    expect(attempts[4]).toMatchObject({ page: 3, attempt: 2, outcome: 'ok', reused: false, connection: 3 });
    expect(srv.connections).toBe(3);
    expect(s.attempts.failed).toBe(1);
  });

  it('reads chunked responses, also over a kept-alive connection', async () => {
    const srv = await start({ plan: () => 'chunked' });
    const { summary: s } = await run({ baseUrl: srv.baseUrl, keepAlive: true });
    expect(s).toMatchObject({ complete: true, records: 950 });
    expect(srv.connections).toBe(1);
  });
});

describe('harvest against faulty servers', () => {
  it('a server that never answers: read-timeout, then retries after doubling backoff', async () => {
    const srv = await start({ plan: first('hang', 'hang') });
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl, readTimeoutMs: 150, backoffMs: 100 });
    expect(s.complete).toBe(true);
    expect(attempts.slice(0, 3).map((a) => a.outcome)).toEqual(['read-timeout', 'read-timeout', 'ok']);
    expect(attempts[0]).toMatchObject({
      page: 0,
      attempt: 1,
      bytes: 0,
      ttfbMs: null,
      status: null,
      errorCode: 'READ_TIMEOUT',
    });
    // Timers never fire early, so lower bounds hold on any machine; how late they fire depends on
    // the machine's load, so there is no upper bound (the outcome says which timer fired).
    expect(attempts[0]!.totalMs).toBeGreaterThanOrEqual(149);
    expect(attempts[0]!.connectMs).not.toBeNull(); // connected fine; the answer never came
    // Backoff: 100 ms before the 1st retry, 200 ms before the 2nd (each after a 150 ms timeout).
    expect([1, 2, 3].map((a) => backoffWait(100, a))).toEqual([100, 200, 400]);
    const gap1 = attempts[1]!.startMs - attempts[0]!.startMs;
    const gap2 = attempts[2]!.startMs - attempts[1]!.startMs;
    expect(gap1).toBeGreaterThanOrEqual(249);
    expect(gap2).toBeGreaterThanOrEqual(349);
    expect(s.attempts).toMatchObject({ total: 12, ok: 10, timedOut: 2, readTimeouts: 2, retries: 2, failed: 2 });
    expectConsistent(s, attempts);
  });

  it('a response that stalls mid-body: read-timeout with the bytes received so far', async () => {
    const srv = await start({ plan: first('ok', 'stall') });
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl, readTimeoutMs: 150 });
    expect(s.complete).toBe(true);
    expect(attempts[1]).toMatchObject({ page: 1, attempt: 1, outcome: 'read-timeout', status: 200, records: null });
    expect(attempts[1]!.bytes).toBeGreaterThan(srv.repo.manifest.pages[1]!.bytes / 2 - 1);
    expect(attempts[1]!.ttfbMs).not.toBeNull();
    expect(attempts[2]).toMatchObject({ page: 1, attempt: 2, outcome: 'ok' });
  });

  it('a connection reset, before or during the response: reset, retried', async () => {
    const srv = await start({ plan: first('reset', 'ok', 'reset-mid-body') });
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl });
    expect(s.complete).toBe(true);
    expect(attempts.map((a) => a.outcome).slice(0, 5)).toEqual(['reset', 'ok', 'reset', 'ok', 'ok']);
    expect(attempts[0]!.errorCode).toBe('ECONNRESET');
    expect(attempts[2]!.bytes).toBeGreaterThan(0);
    expect(s.attempts.resets).toBe(2);
    expectConsistent(s, attempts);
  });

  it('a connection closed mid-body: error EOF, retried', async () => {
    const srv = await start({ plan: first('eof-mid-body') });
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl });
    expect(s.complete).toBe(true);
    expect(attempts[0]).toMatchObject({ outcome: 'error', errorCode: 'EOF' });
    expect(attempts[0]!.error).toMatch(/after \d+ of \d+ body bytes/);
  });

  it('HTTP 503 is an http-error and is retried; HTTP 404 stops the harvest', async () => {
    const srv = await start({ plan: first('ok', '503', '503') });
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl });
    expect(s.complete).toBe(true);
    expect(attempts.slice(1, 4).map((a) => [a.outcome, a.status])).toEqual([
      ['http-error', 503],
      ['http-error', 503],
      ['ok', 200],
    ]);
    expect(s.attempts.errors).toBe(2);

    const srv2 = await start({ plan: first('ok', '404') });
    const r2 = await run({ baseUrl: srv2.baseUrl });
    expect(r2.summary).toMatchObject({
      complete: false,
      stoppedBecause: 'http-status',
      failedPage: 1,
      records: 100,
      pages: 1,
    });
    expect(r2.attempts).toHaveLength(2);
  });

  it('a truncated or mis-encoded page is a parse-error, retried', async () => {
    const srv = await start({ plan: first('truncate', 'ok', 'bad-utf8') });
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl });
    expect(s.complete).toBe(true);
    expect(attempts[0]).toMatchObject({ outcome: 'parse-error', status: 200, errorCode: 'EPARSE' });
    expect(attempts[0]!.error).toMatch(/end of document/);
    expect(attempts[2]).toMatchObject({ outcome: 'parse-error' });
    expect(attempts[2]!.error).toMatch(/UTF-8/);
    expect(s.attempts.parseErrors).toBe(2);
  });

  it('a page that keeps failing: retries exhausted, the harvest stops incomplete', async () => {
    const srv = await start({ plan: (n) => (n >= 3 ? 'hang' : 'ok') });
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl, readTimeoutMs: 80, retries: 2, backoffMs: 10 });
    expect(s).toMatchObject({
      complete: false,
      stoppedBecause: 'retries-exhausted',
      failedPage: 3,
      records: 300,
      expectedRecords: 950,
      pages: 3,
    });
    expect(attempts.filter((a) => a.page === 3).map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(srv.requests).toHaveLength(6); // nothing after the failed page
    expect(s.lastError).toMatch(/no data received for 80 ms/);
    expectConsistent(s, attempts);
  });

  it('an OAI-PMH error stops the harvest at once and is reported', async () => {
    const repo = smallRepo();
    const errorBody = repo.files.find((f) => f.path === 'errors/badResumptionToken.xml')!.content;
    const srv = await start({ override: (file, b) => (file === repo.manifest.pages[2]!.file ? errorBody : b) });
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl });
    expect(s).toMatchObject({ complete: false, stoppedBecause: 'oai-error', failedPage: 2, records: 200 });
    expect(s.oaiError).toEqual({ code: 'badResumptionToken', message: 'The resumptionToken is invalid or expired.' });
    expect(attempts).toHaveLength(3); // not retried
    expect(attempts[2]).toMatchObject({ outcome: 'error', status: 200, errorCode: 'OAI_badResumptionToken' });
  });

  it('a page with a record missing: every page fetched, but incomplete (count-mismatch)', async () => {
    const repo = smallRepo();
    const srv = await start({
      override: (file, b) =>
        file === repo.manifest.pages[4]!.file
          ? Buffer.from(b.toString().replace(/<record>[\s\S]*?<\/record>\n/, ''))
          : b,
    });
    const { summary: s } = await run({ baseUrl: srv.baseUrl });
    expect(s).toMatchObject({
      complete: false,
      stoppedBecause: 'count-mismatch',
      records: 949,
      expectedRecords: 950,
      pages: 10,
    });
  });

  it('a repository that sends a token already followed: token-loop, not an endless harvest', async () => {
    const repo = smallRepo();
    const page1 = repo.files.find((f) => f.path === repo.manifest.pages[1]!.file)!.content;
    // Every token request gets page 1 again, which carries the same next token.
    const srv = await start({ override: (file, b) => (file.startsWith('ListRecords/tokens/') ? page1 : b) });
    const { summary: s } = await run({ baseUrl: srv.baseUrl });
    expect(s.stoppedBecause).toBe('token-loop');
    expect(s.complete).toBe(false);
    expect(srv.requests.length).toBeLessThan(5);
  });

  it('a black-hole connect (injected socket that never connects): connect-timeout, retried', async () => {
    const srv = await start();
    let made = 0;
    const { summary: s, attempts } = await run({
      baseUrl: srv.baseUrl,
      connectTimeoutMs: 100,
      backoffMs: 10,
      socketFactory: (t) => (++made === 1 ? new net.Socket() : net.connect(t.port, t.host)),
    });
    expect(s.complete).toBe(true);
    expect(attempts[0]).toMatchObject({
      outcome: 'connect-timeout',
      connectMs: null,
      ttfbMs: null,
      bytes: 0,
      errorCode: 'CONNECT_TIMEOUT',
    });
    expect(attempts[0]!.totalMs).toBeGreaterThanOrEqual(99);
    expect(s.attempts).toMatchObject({ connectTimeouts: 1, timedOut: 1, retries: 1 });
    expect(s.connections).toBe(11);
  });

  itWith(
    requireTool('python3: apt-get install -y python3'),
    'a real black hole: a listener whose accept queue is full drops the SYN (connect-timeout)',
    async () => {
      // A listener that never accepts, with its queue (backlog 0 -> 1 slot) already filled: the
      // kernel drops further SYNs, so connect() hangs exactly as behind a black hole.
      const py: ChildProcess = spawn(
        'python3',
        [
          '-c',
          [
            'import socket,sys,time',
            's=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(0)',
            'print(s.getsockname()[1]); sys.stdout.flush()',
            'time.sleep(30)',
          ].join('\n'),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        const port = Number(await new Promise<string>((r) => py.stdout!.once('data', (d) => r(String(d).trim()))));
        const fillers: net.Socket[] = [];
        for (let i = 0; i < 2; i++) {
          const f = net.connect(port, '127.0.0.1');
          f.on('error', () => {});
          fillers.push(f);
        }
        await sleep(100);
        const { summary: s, attempts } = await run({
          baseUrl: `http://127.0.0.1:${port}/oai`,
          connectTimeoutMs: 150,
          retries: 1,
          backoffMs: 10,
        });
        fillers.forEach((f) => f.destroy());
        expect(s).toMatchObject({ complete: false, stoppedBecause: 'retries-exhausted', failedPage: 0 });
        expect(attempts.map((a) => a.outcome)).toEqual(['connect-timeout', 'connect-timeout']);
        expect(attempts[0]!.localPort).not.toBeNull(); // the port of the SYN, for finding it in a capture
      } finally {
        py.kill();
      }
    },
  );

  it('a refused connection: error ECONNREFUSED, retried, then incomplete', async () => {
    const port = await closedPort();
    const { summary: s, attempts } = await run({ baseUrl: `http://127.0.0.1:${port}/oai`, retries: 2, backoffMs: 10 });
    expect(s).toMatchObject({
      complete: false,
      stoppedBecause: 'retries-exhausted',
      records: 0,
      pages: 0,
      expectedRecords: null,
    });
    expect(attempts.map((a) => [a.outcome, a.errorCode])).toEqual(Array(3).fill(['error', 'ECONNREFUSED']));
  });

  it('the overall deadline ends a hanging attempt, and is not slept into', async () => {
    const srv = await start({ plan: () => 'hang' });
    // A read timeout (60 s) far beyond the test's own timeout: only the deadline can end the attempt.
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl, readTimeoutMs: 60_000, maxDurationMs: 250 });
    expect(s).toMatchObject({ complete: false, stoppedBecause: 'deadline', failedPage: 0 });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ outcome: 'error', errorCode: 'ABORTED' });
    expect(s.durationMs).toBeGreaterThanOrEqual(249);
    expect(s.durationMs).toBeLessThan(60_000); // ended by the deadline, not by the read timeout

    const srv2 = await start({ plan: () => 'hang' });
    const r2 = await run({ baseUrl: srv2.baseUrl, readTimeoutMs: 100, backoffMs: 60_000, maxDurationMs: 2000 });
    expect(r2.summary.stoppedBecause).toBe('deadline');
    expect(r2.attempts).toHaveLength(1); // the 60 s backoff would pass the deadline: stop now
    expect(r2.summary.durationMs).toBeLessThan(60_000); // the backoff was not slept
  });

  it('an abort signal stops the harvest with a summary', async () => {
    const srv = await start({ plan: () => 'hang' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stopped by SIGTERM')), 100);
    const { summary: s, attempts } = await run({ baseUrl: srv.baseUrl, readTimeoutMs: 5000, signal: ac.signal });
    expect(s.stoppedBecause).toBe('aborted');
    expect(attempts[0]!.error).toBe('stopped by SIGTERM');
  });
});

describe('options and the command line', () => {
  it('rejects bad options before any connection', async () => {
    await expect(harvest({ baseUrl: 'https://127.0.0.1/oai' })).rejects.toThrow(/http:\/\//);
    await expect(harvest({ baseUrl: 'http://127.0.0.1/oai?verb=Identify' })).rejects.toThrow(/query/);
    await expect(harvest({ baseUrl: 'not a url' })).rejects.toThrow(/not a URL/);
    await expect(harvest({ baseUrl: 'http://127.0.0.1/oai', retries: -1 })).rejects.toThrow(
      /retries must be an integer >= 0/,
    );
    await expect(harvest({ baseUrl: 'http://127.0.0.1/oai', readTimeoutMs: 0 })).rejects.toMatchObject({
      code: 'SCENARIO',
    });
  });

  it('runs from the command line: events file, summary on stdout, exit codes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctlab-harvest-'));
    try {
      const srv = await start({ plan: first('ok', 'hang') });
      let out = '';
      let err = '';
      const io = { stdout: (s: string) => (out += s), stderr: (s: string) => (err += s) };
      const events = join(dir, 'events.jsonl');
      const code = await runHarvestCli(
        [
          '--base-url',
          srv.baseUrl,
          '--events',
          events,
          '--read-timeout-ms',
          '100',
          '--backoff-ms=10',
          '--retries',
          '1',
        ],
        io,
      );
      expect(code).toBe(0);
      const lines = readFileSync(events, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => l.type)).toEqual([...Array(11).fill('attempt'), 'summary']);
      expect(lines[1]).toMatchObject({ page: 1, attempt: 1, outcome: 'read-timeout' });
      expect(JSON.parse(out)).toEqual(lines.at(-1));
      expect(err).toMatch(/page 1 attempt 1 port \d+: read-timeout/);

      const srv2 = await start({ plan: () => 'hang' });
      out = '';
      expect(
        await runHarvestCli(
          ['--base-url', srv2.baseUrl, '--read-timeout-ms', '50', '--retries', '0', '--quiet', '--keep-alive'],
          io,
        ),
      ).toBe(1);
      expect(JSON.parse(out)).toMatchObject({ complete: false, keepAlive: true, stoppedBecause: 'retries-exhausted' });

      for (const argv of [
        [],
        ['--base-url'],
        ['--base-url', 'https://x/oai'],
        ['--base-url', srv.baseUrl, '--retries', 'three'],
        ['--base-url', srv.baseUrl, '--frobnicate'],
        ['--base-url', srv.baseUrl, '--events', join(dir, 'no/such/dir/e.jsonl')],
      ]) {
        err = '';
        expect(await runHarvestCli(argv, io), argv.join(' ')).toBe(2);
        expect(err.trim().split('\n'), argv.join(' ')).toHaveLength(1);
      }
      expect(srv.requests).toHaveLength(11); // the usage errors made no request
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('command lines from the scenario workload', () => {
  const w = {
    kind: 'oai-pmh',
    records: 3812,
    pageSize: 100,
    recordBytes: 3000,
    keepAlive: true,
    connectTimeoutMs: 3000,
    readTimeoutMs: 7000,
    retries: 2,
    backoffMs: 250,
    maxDurationMs: 120000,
  } as const;

  it('harvesterArgv parses back to the workload settings', () => {
    const p = parseHarvestArgs(harvesterArgv(w, { baseUrl: 'http://198.18.2.2/oai', events: '/out/events.jsonl' }));
    expect(p.events).toBe('/out/events.jsonl');
    expect(p.options).toEqual({
      baseUrl: 'http://198.18.2.2/oai',
      keepAlive: true,
      connectTimeoutMs: 3000,
      readTimeoutMs: 7000,
      retries: 2,
      backoffMs: 250,
      maxDurationMs: 120000,
    });
    const off = parseHarvestArgs(
      harvesterArgv({ ...w, keepAlive: false }, { baseUrl: 'http://198.18.2.2/oai', events: 'e' }),
    );
    expect(off.options.keepAlive).toBeUndefined();
  });

  it('generatorArgv runs the generator with the workload sizes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctlab-gen-'));
    try {
      let out = '';
      const code = runGeneratorCli(generatorArgv({ ...w, records: 250, recordBytes: 1200 }, { out: dir, seed: 4 }), {
        stdout: (s) => (out += s),
        stderr: () => {},
      });
      expect(code).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ records: 250, pages: 3 });
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      expect(m.options).toMatchObject({ records: 250, pageSize: 100, recordBytes: 1200, seed: 4 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
