// The workloads' facts and words: the client's summary and a command's status line parsed, each
// workload's metrics (null where a workload cannot have one), and the sentences every report
// shows for them (progress, the verdict, the table's rows).
import { describe, expect, it } from 'vitest';
import {
  commandNotFound,
  parseCommandStatus,
  parseHarvestSummary,
  parseRequestSummary,
} from '../../../src/measure/parse.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { variantTable, verdictSentence } from '../../../src/report/verdict.js';
import { actualText, progressWords } from '../../../src/report/workload.js';
import { checkExpectations, parseExpectation, type Expectation } from '../../../src/result/expectations.js';
import { metricValue, relativeThroughput } from '../../../src/result/metrics.js';
import type { VariantResult, WorkloadResult } from '../../../src/result/types.js';
import { runResult, variantResult } from './variant.js';

const base = { stoppedBecause: 'complete', durationMs: 5000 } as const;
const upload = (acknowledged: number, o: Partial<WorkloadResult> = {}): WorkloadResult =>
  ({
    kind: 'upload',
    ...base,
    complete: acknowledged === 20,
    bytes: acknowledged * 1000,
    requests: 20,
    acknowledged,
    wrongCount: 0,
    bytesSent: acknowledged * 1000,
    bytesAcknowledged: acknowledged * 1000,
    expectedBytes: 20_000,
    concurrency: 1,
    keepAlive: false,
    ...o,
  }) as WorkloadResult;
const command = (o: Partial<Extract<WorkloadResult, { kind: 'command' }>> = {}): WorkloadResult => ({
  kind: 'command',
  ...base,
  complete: true,
  bytes: null,
  command: 'curl -sS $CTLAB_URL/bytes/10',
  exitCode: 0,
  signal: null,
  timedOut: false,
  stdout: 'HTTP/1.1 200 OK\n',
  stderr: '',
  stdoutBytes: 16,
  stderrBytes: 0,
  ...o,
});
const v = (w: WorkloadResult, o: Parameters<typeof variantResult>[0] = {}): VariantResult =>
  variantResult({ workload: w, harvest: { records: 0, expectedRecords: 0, complete: w.complete, pages: 0 }, ...o });

describe('parsing what the client printed', () => {
  it("tells a workload's summary from a harvest's", () => {
    const w = '{"type":"attempt"}\n{"type":"summary","kind":"upload","complete":true}\n';
    expect(parseRequestSummary(w)).toMatchObject({ kind: 'upload', complete: true });
    expect(parseHarvestSummary(w)).toBeUndefined();
    expect(parseRequestSummary('{"type":"summary","records":3}')).toBeUndefined();
    expect(parseHarvestSummary('{"type":"summary","records":3}')).toMatchObject({ records: 3 });
  });

  it("a command's status line: exit code, duration, and timeout(1)'s codes", () => {
    expect(parseCommandStatus('ctlab-command rc=0 ms=1234\n')).toEqual({
      rc: 0,
      ms: 1234,
      timedOut: false,
      signal: null,
    });
    expect(parseCommandStatus('x\nctlab-command rc=124 ms=60003')).toMatchObject({ timedOut: true, signal: 'SIGTERM' });
    expect(parseCommandStatus('ctlab-command rc=137 ms=65001')).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(parseCommandStatus('nothing')).toBeUndefined();
  });

  it("names what sh could not find (dash's and bash's words)", () => {
    expect(commandNotFound('sh: 1: ctlab-no-such-tool: not found\n')).toBe('ctlab-no-such-tool');
    expect(commandNotFound('bash: line 1: nosuch: command not found\n')).toBe('nosuch');
    expect(commandNotFound('curl: (7) Failed to connect\n')).toBeUndefined();
  });
});

describe('metrics of every workload', () => {
  it('reads each one from its own section and null from the others', () => {
    const up = v(upload(17, { wrongCount: 2 }));
    expect(metricValue(up, 'uploads.acknowledged')).toBe(17);
    expect(metricValue(up, 'uploads.wrongCount')).toBe(2);
    expect(metricValue(up, 'complete')).toBe(false);
    expect(metricValue(up, 'bytes')).toBe(17_000);
    expect(metricValue(up, 'durationMs')).toBe(5000);
    expect(metricValue(up, 'records')).toBeNull();
    expect(metricValue(up, 'requests.ok')).toBeNull();
    expect(metricValue(up, 'command.exitCode')).toBeNull();
    expect(metricValue(up, 'attempts.timedOut')).toBe(0);
    const cmd = v(command({ exitCode: 3, complete: false, stderr: 'boom\n' }));
    expect(metricValue(cmd, 'command.exitCode')).toBe(3);
    expect(metricValue(cmd, 'command.output')).toBe('HTTP/1.1 200 OK\nboom\n');
    expect(metricValue(cmd, 'command.timedOut')).toBe(false);
    // ctlab does not see a command's HTTP: no attempts, no throughput, no bytes.
    expect(metricValue(cmd, 'attempts.timedOut')).toBeNull();
    expect(metricValue(cmd, 'throughputMbit')).toBeNull();
    expect(metricValue(cmd, 'bytes')).toBeNull();
    expect(relativeThroughput(cmd, cmd)).toBeNull();
    // A result written before the workloads existed is a harvest.
    expect(metricValue(variantResult({ harvest: { records: 9 } }), 'records')).toBe(9);
  });

  it('a text expectation is tested on the whole text and keeps a short actual', () => {
    const long = 'x'.repeat(500);
    const e = [
      parseExpectation('command.stdout contains "200 OK"'),
      parseExpectation(`command.stderr matches 'x{300}'`),
    ] as Expectation[];
    const [a, b] = checkExpectations(v(command({ stderr: long })), e);
    expect(a).toMatchObject({ passed: true, actual: 'HTTP/1.1 200 OK\n' });
    expect(b!.passed).toBe(true);
    expect(b!.actual).toBe(`${'x'.repeat(200)}…`);
    expect(actualText('a\nb')).toBe('"a\\nb"');
    expect(actualText(3)).toBe('3');
  });
});

describe('the words for each workload', () => {
  it('progress', () => {
    expect(progressWords(v(upload(3)))).toBe('3 of 20 uploads acknowledged');
    expect(progressWords(v(upload(3, { wrongCount: 1 })))).toBe(
      '3 of 20 uploads acknowledged (1 with a wrong byte count)',
    );
    expect(
      progressWords(
        v({
          kind: 'http',
          ...base,
          complete: false,
          bytes: 1,
          requests: 16,
          ok: 14,
          expectedBytes: 2,
          concurrency: 4,
          keepAlive: false,
        }),
      ),
    ).toBe('14 of 16 requests answered in full');
    expect(
      progressWords(
        v({
          kind: 'bulk',
          ...base,
          complete: true,
          bytes: 1_300_000,
          direction: 'to-server',
          targetBytes: 5e6,
          targetMs: null,
        }),
      ),
    ).toBe('1.3 MB of 5.0 MB to the server');
    expect(progressWords(v(command({ exitCode: 127 })))).toBe('the command exited 127 after 5.0 s');
    expect(progressWords(v(command({ timedOut: true, signal: 'SIGTERM', exitCode: null })))).toBe(
      'the command was stopped after 5.0 s (SIGTERM)',
    );
    expect(progressWords(variantResult({ harvest: { records: 3, expectedRecords: 3812 } }))).toBe('3 of 3,812 records');
  });

  it('the verdict of an upload reads as uploads, not records', () => {
    const off = v(upload(3), {
      name: 'flag-off',
      sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': '0' },
      attempts: { timedOut: 9 },
      server: { invalidDrops: 41 },
    });
    const on = v(upload(20), { name: 'flag-on', sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': '1' } });
    expect(verdictSentence([off, on])).toBe(
      "Reproduced: with nf_conntrack_tcp_be_liberal=0 the server's firewall dropped 41 packets that conntrack judged INVALID and the uploads stalled (3 of 20 uploads acknowledged, 9 timed-out attempts); with =1 it had all 20 uploads acknowledged with their byte counts with no timeout and no INVALID drop.",
    );
    const t = variantTable(runResult([off, on]));
    expect(t).toMatch(/^uploads acknowledged\s+3 \/ 20\s+20 \/ 20$/m);
    expect(t).toMatch(/^workload complete\s+NO\s+yes$/m);
    expect(t).not.toMatch(/records/);
    const md = renderMarkdown(runResult([off, on]));
    expect(md).toContain('| uploads acknowledged | 3 / 20 | 20 / 20 |');
  });

  it("a command's verdict, and its table without HTTP attempts", () => {
    const ok = v(command(), { name: 'curl' });
    expect(verdictSentence([ok])).toBe(
      'Not reproduced: no packet was dropped as INVALID and every variant ran the command to exit code 0 without a timeout.',
    );
    const bad = v(command({ exitCode: 1, complete: false }), { name: 'curl' });
    expect(verdictSentence([bad])).toBe(
      'The workload failed without any packet judged INVALID, so conntrack is not the cause here (curl: the command exited 1 after 5.0 s, 0 INVALID drops).',
    );
    const t = variantTable(runResult([bad]));
    expect(t).toMatch(/^command exit\s+exit 1$/m);
    expect(t).toMatch(/^attempts\s+-$/m);
  });
});
