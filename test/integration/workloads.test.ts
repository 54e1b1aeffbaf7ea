// The workloads beside oai-pmh against the real lab (Docker, real kernel): scenarios/http-asa,
// upload-asa, bulk-asa and command-curl run at once, sharing one image build, and their claims
// are checked against counters each side keeps on its own: the server's HTTP service's access
// log (what it sent and read) against the client's summary, conntrack's NFLOG reasons against
// the firewall's INVALID drop counter. A command that is not found in the client node fails the
// run in one line with exit 3 and leaves nothing behind (the CLI, run beside them). Without
// Docker: fails when CI=true, skips (with a message) otherwise.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildImages, runtimeFor } from '../../src/cli/lab.js';
import { analyzeVariant } from '../../src/evidence/index.js';
import type { RunResult, VariantResult, WorkloadResult } from '../../src/result/types.js';
import { runScenario } from '../../src/run/run.js';
import { newRunId } from '../../src/runtime/labels.js';
import { loadScenario } from '../../src/scenario/load.js';
import { describeWith } from '../gate.js';
import { dockerGate, labelledContainers } from './docker-gate.js';

const SCENARIOS = ['http-asa', 'upload-asa', 'bulk-asa', 'command-curl'] as const;
const prerequisites = await dockerGate();

/** The service's access log of a variant, one object per request. */
interface Access {
  request: string;
  status: number;
  body_bytes_sent: number;
  body_bytes_received: number;
  request_completion: string;
}

describeWith(prerequisites, 'the http, upload, bulk and command workloads (real Docker, real kernel)', () => {
  const out = mkdtempSync(join(tmpdir(), 'ctlab-workloads-'));
  const runs: Record<string, { runId: string; result: RunResult }> = {};
  let missing: { code: number | null; stderr: string; runId: string | undefined };

  const access = (name: string, v: VariantResult): Access[] =>
    readFileSync(join(out, name, v.dir, 'service-access.log'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Access);
  const variant = (name: string, variantName: string) =>
    runs[name]!.result.variants.find((v) => v.name === variantName)!;
  const section = <K extends WorkloadResult['kind']>(v: VariantResult, kind: K) => {
    expect(v.workload?.kind).toBe(kind);
    return v.workload as Extract<WorkloadResult, { kind: K }>;
  };

  beforeAll(async () => {
    const images = await buildImages({ runId: newRunId(), progress: () => {} });
    // The command-not-found run goes through the CLI: its exit code and its one line are the claim.
    const file = join(out, 'missing.yaml');
    writeFileSync(
      file,
      'name: command-missing\nworkload: { kind: command, command: "ctlab-no-such-tool --get $CTLAB_URL" }\nvariants: [{ name: only }]\n',
    );
    const cli = new Promise<typeof missing>((resolve) => {
      const p = spawn(process.execPath, ['bin/ctlab.js', 'run', file, '--out', join(out, 'missing')], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      p.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      p.stdout.resume();
      p.on('close', (code) => resolve({ code, stderr, runId: /\brun (\d{8}-\d{6}-[0-9a-f]+)/.exec(stderr)?.[1] }));
    });
    await Promise.all(
      SCENARIOS.map(async (name) => {
        const runId = newRunId();
        const result = await runScenario(loadScenario(`scenarios/${name}.yaml`), {
          outDir: join(out, name),
          runId,
          createRuntime: (id) => runtimeFor(id, images),
        });
        runs[name] = { runId, result };
      }),
    );
    missing = await cli;
  }, 400_000);

  afterAll(() => {
    console.log(`[workloads.test] run folders kept in ${out}`);
  });

  it('every scenario meets its expectations and leaves nothing labelled behind', async () => {
    for (const name of SCENARIOS) {
      const { result, runId } = runs[name]!;
      expect(
        result.variants.flatMap((v) => v.expectations.filter((e) => !e.passed).map((e) => `${v.name}: ${e.text}`)),
        name,
      ).toEqual([]);
      expect(result.problems, name).toEqual([]);
      expect(await labelledContainers(runId), name).toBe(0);
    }
  });

  it('INVALID drops agree with conntrack: NFLOG reasons = conntrack -S = the firewall counter; none with be_liberal=1', async () => {
    for (const name of ['http-asa', 'bulk-asa'] as const) {
      for (const v of runs[name]!.result.variants) {
        const ev = await analyzeVariant(join(out, name, v.dir));
        const judged = ev.reasons.reduce((a, x) => a + x.judged, 0);
        expect(judged, `${name}/${v.name}`).toBe(v.server.conntrackInvalid);
        expect(v.server.invalidDrops, `${name}/${v.name}`).toBe(v.server.conntrackInvalid);
      }
      expect(variant(name, 'flag-off').server.invalidDrops, name).toBeGreaterThan(0);
      expect(variant(name, 'flag-on').server.invalidDrops, name).toBe(0);
    }
  });

  it("http: the service's log and the client agree on every request and every byte", () => {
    for (const v of runs['http-asa']!.result.variants) {
      const w = section(v, 'http');
      const log = access('http-asa', v);
      // The service logs a request when its response ends; one still being sent when the client
      // gave up (a stalled connection, flag off) may not have ended yet when the lab stops.
      if (v.name === 'flag-on') expect(log.length, v.name).toBe(v.attempts.total);
      else expect(log.length, v.name).toBeLessThanOrEqual(v.attempts.total);
      expect(
        log.every((l) => /^GET \/bytes\/(200000|500000) HTTP\/1\.1$/.test(l.request)),
        v.name,
      ).toBe(true);
      const complete = log.filter((l) => l.request_completion === 'OK');
      expect(complete.length, v.name).toBeGreaterThanOrEqual(w.ok);
      if (v.name === 'flag-on') {
        expect(w.ok).toBe(16);
        expect(complete.reduce((a, l) => a + l.body_bytes_sent, 0)).toBe(w.bytes);
        expect(w.bytes).toBe(w.expectedBytes);
      }
    }
  });

  it('upload: the byte counts the service read are the ones the client sent and was acknowledged', () => {
    for (const v of runs['upload-asa']!.result.variants) {
      const w = section(v, 'upload');
      const log = access('upload-asa', v).filter((l) => l.request_completion === 'OK');
      expect(log.length, v.name).toBe(w.acknowledged);
      expect(
        log.reduce((a, l) => a + l.body_bytes_received, 0),
        v.name,
      ).toBe(w.bytesAcknowledged);
      expect(w.bytesAcknowledged, v.name).toBe(w.bytesSent);
      expect(w.bytesSent, v.name).toBe(w.expectedBytes);
      expect(w.wrongCount, v.name).toBe(0);
    }
    expect(variant('upload-asa', 'flag-on').server.invalidDrops).toBe(0);
  });

  it('bulk: the stream stalls with the flag off; with it on the client got every byte the service sent', () => {
    const off = variant('bulk-asa', 'flag-off');
    expect(section(off, 'bulk').complete).toBe(false);
    expect(off.attempts.timedOut).toBe(1);
    const on = variant('bulk-asa', 'flag-on');
    const w = section(on, 'bulk');
    const [line] = access('bulk-asa', on);
    expect(line?.request).toBe('GET /stream?ms=4000 HTTP/1.1');
    expect(line?.request_completion).toBe('OK');
    expect(line?.body_bytes_sent).toBe(w.bytes);
    expect(w.bytes).toBeGreaterThan(0);
  });

  it("command: its exit code, output and duration are kept, and the service saw curl's three requests", () => {
    const v = variant('command-curl', 'curl');
    const w = section(v, 'command');
    expect(w).toMatchObject({ exitCode: 0, timedOut: false, signal: null, complete: true });
    expect(w.stdout).toBe('HTTP 200 300000 bytes\n'.repeat(3));
    expect(readFileSync(join(out, 'command-curl', v.dir, 'command-stdout.txt'), 'utf8')).toBe(w.stdout);
    expect(w.durationMs).toBeGreaterThan(0);
    const log = access('command-curl', v);
    expect(log.map((l) => [l.request.replace(/ HTTP.*/, ''), l.body_bytes_sent, l.request_completion])).toEqual(
      Array(3).fill(['GET /bytes/300000', 300000, 'OK']),
    );
  });

  it('a command not found in the client node: exit 3, one line naming it, nothing left running', async () => {
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(
      /^ctlab: the command workload's program was not found in the client node: ctlab-no-such-tool \(sh exited 127\)$/m,
    );
    expect(missing.runId).toBeDefined();
    expect(await labelledContainers(missing.runId!)).toBe(0);
  });
});
