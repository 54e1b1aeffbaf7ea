// replay.json's derived parts without a kernel: --expect parsing and evaluation over runs, the
// verdict sentence, summary.md / junit.xml / report.html from a result; and the CLI's bad-input
// exits (2, one line, nothing started) for files that are not captures.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, writePcap } from '../../../src/packet/pcap.js';
import { renderReplayHtml } from '../../../src/replay/html.js';
import { renderReplayJunit, renderReplayMarkdown } from '../../../src/replay/output.js';
import {
  evaluate,
  parseExpectation,
  REPLAY_SCHEMA,
  verdictText,
  type PacketVerdict,
  type ReplayResult,
  type ReplayRun,
} from '../../../src/replay/result.js';
import { settingsFor } from '../../../src/replay/run.js';
import { assertBuilt, ctlab, tempDir } from '../cli/cli.js';

const verdict = (i: number, over: Partial<PacketVerdict> = {}): PacketVerdict => ({
  index: i,
  frame: i + 2,
  timeMs: 1000 + i,
  flow: 1 + (i % 3),
  dir: 'c2s',
  flags: '.',
  seq: 1,
  ack: 2,
  len: 0,
  invalid: true,
  reason: 'nf_ct_proto_6: ACK is over upper bound 123 (ACKed data not seen yet)',
  reasonKind: 'ACK is over upper bound (ACKed data not seen yet)',
  ...over,
});

function run(kernel: string, liberal: string, n: number): ReplayRun {
  const pv = Array.from({ length: n }, (_, i) => verdict(i));
  return {
    kernel,
    release: kernel === 'host' ? '6.18.0' : `${kernel}.0-1`,
    setting: { name: `be_liberal=${liberal}`, sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': liberal } },
    sysctls: {},
    packets: { replayed: 500, sent: 500, received: 500 },
    invalid: n,
    invalidFlows: Math.min(3, n),
    reasons: n
      ? [{ reason: 'ACK is over upper bound (ACKed data not seen yet)', packets: n, flows: Math.min(3, n) }]
      : [],
    flows: [1, 2, 3].map((f) => ({
      flow: f,
      invalid: pv.filter((v) => v.flow === f).length,
      firstInvalid: pv.find((v) => v.flow === f) ?? null,
    })),
    packetVerdicts: pv,
    replayMs: 100,
    packetsPerSecond: 5000,
    problems: [],
  };
}

function result(runs: ReplayRun[], kernels: string[], expect: string[] = []): ReplayResult {
  const multi = kernels.length > 1;
  const ex = expect.map((e) => evaluate(parseExpectation(e), runs, multi));
  return {
    schema: REPLAY_SCHEMA,
    ctlabVersion: '0.1.0',
    capture: { file: '/x/server.pcap', sha256: 'ab'.repeat(32), format: 'pcap', linktypes: [1] },
    startedAt: '2026-12-01T00:00:00Z',
    durationMs: 1000,
    options: { flow: null, pace: false, kernels, settings: settingsFor({}) },
    preprocessing: {
      frames: 502,
      tcp: 500,
      ipv6Skipped: 2,
      nonTcpSkipped: 0,
      nonIpSkipped: 0,
      fragmentsSkipped: 0,
      malformedSkipped: 0,
      padded: 250,
      paddedBytes: 1000,
      checksumsFixed: 250,
      ttlRaised: 0,
      filteredOutFlows: 0,
      filteredOutPackets: 0,
      replayed: 500,
      firstTimeMs: 1000,
      lastTimeMs: 2000,
    },
    addressMap: { '10.1.1.1': '198.18.0.1' },
    flows: [1, 2, 3].map((id) => ({
      id,
      client: `10.1.1.1:${4000 + id}`,
      server: '10.2.2.2:80',
      mappedClient: '',
      mappedServer: '',
      sawSyn: id !== 3,
      clientBy: 'syn' as const,
      packets: 100,
      pickedUp: id === 3,
    })),
    runs,
    expectations: ex,
    passed: ex.every((e) => e.passed),
    verdict: verdictText(runs, kernels),
    problems: [],
  };
}

describe('expectations', () => {
  it('parses metric, operator, number and an optional setting', () => {
    expect(parseExpectation(' invalid == 0 ')).toEqual({ text: 'invalid == 0', metric: 'invalid', op: '==', value: 0 });
    expect(parseExpectation('invalid[be_liberal=1] <= 3')).toEqual({
      text: 'invalid[be_liberal=1] <= 3',
      metric: 'invalid',
      op: '<=',
      value: 3,
      where: { key: 'be_liberal', value: '1' },
    });
    expect(() => parseExpectation('drops == 0')).toThrow(/unknown metric "drops" \(one of invalid, invalid_flows/);
    expect(() => parseExpectation('invalid = 0')).toThrow(/expected "<metric> <op> <number>"/);
  });

  it('holds only when it holds on every run it applies to, and applies to at least one', () => {
    const runs = [run('host', '0', 5), run('host', '1', 0)];
    expect(evaluate(parseExpectation('invalid == 0'), runs, false)).toEqual({
      text: 'invalid == 0',
      passed: false,
      actual: { 'be_liberal=0': 5, 'be_liberal=1': 0 },
    });
    expect(evaluate(parseExpectation('invalid[be_liberal=1] == 0'), runs, false).passed).toBe(true);
    expect(evaluate(parseExpectation('invalid[be_liberal=7] == 0'), runs, false)).toEqual({
      text: 'invalid[be_liberal=7] == 0',
      passed: false,
      actual: {},
    });
    expect(evaluate(parseExpectation('invalid_flows > 2'), [run('host', '0', 5)], false).passed).toBe(true);
  });
});

describe('settings', () => {
  it('be_liberal 0 and 1 by default, --sysctl on top of each; a be_liberal --sysctl replaces the pair', () => {
    expect(settingsFor({}).map((s) => s.name)).toEqual(['be_liberal=0', 'be_liberal=1']);
    const loose = settingsFor({ 'net.netfilter.nf_conntrack_tcp_loose': '0' });
    expect(loose.map((s) => s.name)).toEqual([
      'be_liberal=0, nf_conntrack_tcp_loose=0',
      'be_liberal=1, nf_conntrack_tcp_loose=0',
    ]);
    expect(loose[1]!.sysctls).toEqual({
      'net.netfilter.nf_conntrack_log_invalid': '6',
      'net.netfilter.nf_conntrack_tcp_loose': '0',
      'net.netfilter.nf_conntrack_tcp_be_liberal': '1',
    });
    expect(settingsFor({ 'net.netfilter.nf_conntrack_tcp_be_liberal': '1' }).map((s) => s.name)).toEqual([
      'be_liberal=1',
    ]);
  });
});

describe('verdict and reports', () => {
  it('says what would have been dropped, by whom, why, and what be_liberal=1 changes', () => {
    expect(verdictText([run('host', '0', 147), run('host', '1', 0)], ['host'])).toBe(
      "Conntrack would have dropped 147 of the client's ACKs in 3 connections: ACK is over upper bound (ACKed data not seen yet); with be_liberal=1 it drops none.",
    );
    expect(verdictText([run('host', '0', 0), run('host', '1', 0)], ['host'])).toBe(
      'Conntrack would have dropped none of the 500 packets; with be_liberal=1 it drops none.',
    );
    const mixed = run('host', '0', 4);
    mixed.packetVerdicts[3] = { ...mixed.packetVerdicts[3]!, dir: 's2c', flags: 'R', reasonKind: 'invalid rst' };
    expect(verdictText([mixed, run('host', '1', 1)], ['host'])).toBe(
      'Conntrack would have dropped 4 packets in 3 connections: ACK is over upper bound (ACKed data not seen yet); with be_liberal=1 it drops 1.',
    );
  });

  it('names each kernel when there are several', () => {
    const v = verdictText(
      [run('5.10', '0', 4), run('5.10', '1', 0), run('6.1', '0', 0), run('6.1', '1', 0)],
      ['5.10', '6.1'],
    );
    expect(v).toBe(
      "On 5.10 (5.10.0-1), conntrack would have dropped 4 of the client's ACKs in 3 connections: ACK is over upper bound (ACKed data not seen yet); with be_liberal=1 it drops none. On 6.1 (6.1.0-1), conntrack would have dropped none of the 500 packets; with be_liberal=1 it drops none.",
    );
  });

  it('summary.md, junit.xml and report.html carry the verdict, the runs and the failures', () => {
    const r = result(
      [run('5.10', '0', 4), run('5.10', '1', 0), run('6.1', '0', 0), run('6.1', '1', 0)],
      ['5.10', '6.1'],
      ['invalid == 0'],
    );
    const md = renderReplayMarkdown(r);
    expect(md).toContain('**FAILED**: On 5.10');
    expect(md).toContain('| 5.10 / be_liberal=0 | 5.10.0-1 | 500 | 4 | 3 |');
    expect(md).toContain(
      '- **FAIL** `invalid == 0`: 5.10 / be_liberal=0 4, 5.10 / be_liberal=1 0, 6.1 / be_liberal=0 0, 6.1 / be_liberal=1 0',
    );
    expect(md).toContain('1 of 3 flows start without their SYN');
    const junit = renderReplayJunit(r);
    expect(junit).toMatch(/tests="5" failures="1"/);
    expect(junit).toContain('<failure message="expected invalid == 0, measured 5.10 / be_liberal=0: 4');
    const html = renderReplayHtml(r);
    expect(html).toContain('<div class="verdict fail">');
    expect(html.match(/<line class="c2s"/g)).toHaveLength(4);
    expect(html).toContain(
      '<th>5.10<br><span class="sub">5.10.0-1</span></th><th>6.1<br><span class="sub">6.1.0-1</span></th>',
    );
  });
});

describe('ctlab replay: bad input exits 2 with one line, before anything starts', () => {
  it.each([
    [
      'not a capture',
      () => new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      /: not a pcap file: magic 0x47455420$/,
    ],
    [
      'a truncated capture',
      () => writePcap([{ timeMs: 0, data: new Uint8Array(60) }], LINKTYPE_ETHERNET).subarray(0, 70),
      /: pcap record 0 data cut at byte 40$/,
    ],
    [
      'a capture with no TCP',
      () =>
        writePcap(
          [{ timeMs: 0, data: Uint8Array.from([...new Array(12).fill(0), 0x08, 0x06, ...new Array(28).fill(0)]) }],
          LINKTYPE_ETHERNET,
        ),
      /: no IPv4 TCP packet to replay \(1 frames: 0 IPv6, 0 other IPv4, 1 not IP, 0 malformed\)$/,
    ],
    [
      'an unknown link type',
      () => writePcap([{ timeMs: 0, data: new Uint8Array(60) }], 147),
      /: link type 147 is not one replay reads/,
    ],
  ])('%s', async (_n, bytes, line) => {
    assertBuilt();
    const dir = tempDir('ctlab-replay-bad-');
    const f = join(dir, 'in.pcap');
    writeFileSync(f, bytes());
    const r = await ctlab(['replay', f, '--out', join(dir, 'out')]);
    expect(r.exitCode).toBe(2);
    const first = r.stderr.split('\n')[0]!;
    expect(first.startsWith(`ctlab: ${f}`)).toBe(true);
    expect(first).toMatch(line);
  });

  it('a bad --expect or --flow', async () => {
    assertBuilt();
    const a = await ctlab(['replay', 'whatever.pcap', '--expect', 'drops == 0']);
    expect(a.exitCode).toBe(2);
    expect(a.stderr).toMatch(/^ctlab: --expect "drops == 0": unknown metric "drops"/);
    const b = await ctlab(['replay', 'whatever.pcap', '--flow', 'host x']);
    expect(b.exitCode).toBe(2);
    expect(b.stderr).toMatch(/^ctlab: --flow "host x": expected ip, ip:port/);
  });
});
