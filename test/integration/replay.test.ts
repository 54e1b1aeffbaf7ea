// `ctlab replay` on this machine's kernel, end to end (tcpreplay, a router namespace's
// conntrack, NFLOG):
// - self-check against a live run: replaying the flag-off variant's server.pcap finds exactly the
//   packets that run's live invalid-reasons.pcap holds (same packets, same reasons), and none
//   with be_liberal=1;
// - a capture the project did not make (the prototype's, 830 packets): every SACK-bearing ACK,
//   and nothing else, is marked "ACK is over upper bound";
// - an anonymized capture replays to the same verdicts, packet by packet;
// - the CLI: --expect as a CI gate (exit 0/1), bad input exit 2 (a --sysctl the kernel does not
//   have or refuses, too), no namespace left behind.
// Needs root, tcpreplay, tcpdump, iptables and editcap (test/gate.ts): without them it fails when
// CI=true and skips with the reason otherwise.
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { normaliseReason } from '../../src/evidence/analyze.js';
import { readTcpPackets } from '../../src/evidence/packets.js';
import { ipToString, readU16, readU32 } from '../../src/packet/bytes.js';
import { buildTcpPacket } from '../../src/packet/packet.js';
import { LINKTYPE_RAW, writePcap } from '../../src/packet/pcap.js';
import { TCP_ACK, TCP_SYN } from '../../src/packet/tcp.js';
import { anonymize } from '../../src/replay/anonymize.js';
import { readCapture, tcpPackets } from '../../src/replay/capture.js';
import type { ReplayResult } from '../../src/replay/result.js';
import { runReplay } from '../../src/replay/run.js';
import { newRunId } from '../../src/runtime/labels.js';
import { compareKernelVersions } from '../../src/result/kernel.js';
import { sleep } from '../../src/util/sleep.js';
import { allOf, describeWith, requireRoot, requireTool } from '../gate.js';
import { assertBuilt, ctlab, REPO, tempDir } from '../unit/cli/cli.js';
import { LATE_ACKS, lateAckCapture } from './replay-late.js';

const FIXTURE = join(REPO, 'test/fixtures/evidence/run/flag-off');
const REFERENCE = join(REPO, 'test/fixtures/deadlock-upper-half-offset.pcap');

// What `ctlab replay` needs on the host (src/replay/lab.ts checkHost), plus editcap for the pcapng test.
const prerequisites = allOf(
  requireRoot(),
  requireTool(
    'tcpreplay: apt-get install tcpreplay',
    'tcpprep: apt-get install tcpreplay',
    'tcpdump: apt-get install tcpdump',
    'ip: apt-get install iproute2',
    'iptables: apt-get install iptables',
    'taskset: apt-get install util-linux',
    'editcap: apt-get install tshark',
  ),
);

async function replay(capture: string, extra: Partial<Parameters<typeof runReplay>[0]> = {}): Promise<ReplayResult> {
  const runId = newRunId();
  const r = await runReplay({
    capture,
    outDir: tempDir('ctlab-replay-'),
    kernels: ['host'],
    sysctls: {},
    expect: [],
    pace: false,
    runId,
    version: 'test',
    log: () => {},
    ...extra,
  });
  const left = (await execa('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.includes(runId));
  expect(left, 'namespaces left behind').toEqual([]);
  return r;
}

/** "src:port>dst:port/seq/ack/ipid" of each original TCP packet, by its frame number. */
function originalKeys(file: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const p of tcpPackets(readCapture(new Uint8Array(readFileSync(file)))).packets) {
    const ihl = (p.ip[0]! & 15) * 4;
    out.set(
      p.frame,
      `${ipToString(readU32(p.ip, 12))}:${readU16(p.ip, ihl)}>${ipToString(readU32(p.ip, 16))}:${readU16(p.ip, ihl + 2)}/${readU32(p.ip, ihl + 4)}/${readU32(p.ip, ihl + 8)}/${readU16(p.ip, 4)}`,
    );
  }
  return out;
}

const byFrame = (r: ReplayResult, setting = 0) =>
  new Map(r.runs[setting]!.packetVerdicts.filter((v) => v.invalid).map((v) => [v.frame, v.reasonKind]));

describeWith(prerequisites, 'ctlab replay on the host kernel', () => {
  beforeAll(() => {
    assertBuilt();
  });

  it('finds exactly the INVALID packets of the live run, with the same reasons; none with be_liberal=1', async () => {
    const r = await replay(join(FIXTURE, 'server.pcap'));
    expect(r.runs.map((x) => x.setting.name)).toEqual(['be_liberal=0', 'be_liberal=1']);
    expect(r.problems).toEqual([]);
    const live = readTcpPackets(new Uint8Array(readFileSync(join(FIXTURE, 'invalid-reasons.pcap'))));
    const liveKeys = new Map(
      live.map((p) => [
        `${p.src}:${p.sport}>${p.dst}:${p.dport}/${p.seq}/${p.ack}/${p.ipId}`,
        normaliseReason(p.prefix ?? ''),
      ]),
    );
    expect(liveKeys.size).toBe(live.length); // each live record is one distinct packet
    const keys = originalKeys(join(FIXTURE, 'server.pcap'));
    const replayed = new Map([...byFrame(r)].map(([frame, reason]) => [keys.get(frame)!, reason]));
    expect(r.runs[0]!.invalid).toBe(live.length);
    expect(replayed).toEqual(liveKeys);
    expect(r.runs[1]!.invalid).toBe(0);
    expect(r.runs[1]!.packetVerdicts).toEqual([]);
    expect(r.verdict).toMatch(
      /^Conntrack would have dropped 162 of the client's ACKs .*in 3 connections: ACK is over upper bound \(ACKed data not seen yet\); with be_liberal=1 it drops none\.$/,
    );
    expect(r.preprocessing.padded).toBeGreaterThan(0);
    expect(r.flows.every((f) => !f.pickedUp)).toBe(true);
  }, 120_000);

  it("the same capture as pcapng (written by Wireshark's editcap) gives the same verdicts", async () => {
    const ng = join(tempDir('ctlab-replay-ng-'), 'server.pcapng');
    await execa('editcap', ['-F', 'pcapng', join(FIXTURE, 'server.pcap'), ng]);
    const r = await replay(ng);
    expect(r.capture.format).toBe('pcapng');
    expect(byFrame(r)).toEqual(byFrame(await replay(join(FIXTURE, 'server.pcap'))));
    expect(r.runs[0]!.invalid).toBe(162);
  }, 120_000);

  it('marks every SACK-bearing ACK of the prototype\'s capture, and nothing else, "ACK is over upper bound"', async () => {
    const r = await replay(REFERENCE);
    const sackFrames = new Set<number>();
    const cap = readCapture(new Uint8Array(readFileSync(REFERENCE)));
    const tcp = tcpPackets(cap).packets;
    // readTcpPackets sees the same TCP packets in the same order: take its SACK blocks.
    readTcpPackets(new Uint8Array(readFileSync(REFERENCE))).forEach((p, i) => {
      if (p.sack.length) sackFrames.add(tcp[i]!.frame);
    });
    expect(sackFrames.size).toBeGreaterThan(100);
    const inv = byFrame(r);
    expect(new Set(inv.keys())).toEqual(sackFrames);
    expect(new Set(inv.values())).toEqual(new Set(['ACK is over upper bound (ACKed data not seen yet)']));
    expect(r.runs[1]!.invalid).toBe(0);
    expect(r.preprocessing.ipv6Skipped).toBe(2);
  }, 120_000);

  it('an anonymized capture replays to the same verdicts, packet by packet', async () => {
    const dir = tempDir('ctlab-anon-');
    const anon = join(dir, 'anon.pcap');
    writeFileSync(anon, anonymize(new Uint8Array(readFileSync(REFERENCE))).pcap);
    const text = readFileSync(anon);
    expect(text.includes(Buffer.from([198, 18, 3, 2]))).toBe(false);
    const [a, b] = [await replay(REFERENCE), await replay(anon)];
    // The anonymized file holds only the TCP packets: compare by replay index.
    const verdicts = (r: ReplayResult) =>
      r.runs.map((x) => x.packetVerdicts.map((v) => `${v.index}:${v.invalid}:${v.reasonKind}`));
    expect(verdicts(b)).toEqual(verdicts(a));
    expect(b.runs[0]!.invalid).toBe(180);
  }, 180_000);

  it('late ACKs: INVALID "ACK is under the lower bound" before 6.1, logged and let through from 6.1 on', async () => {
    const file = join(tempDir('ctlab-late-'), 'late.pcap');
    writeFileSync(file, lateAckCapture());
    const r = await replay(file);
    expect(r.problems).toEqual([]);
    const [off, on] = r.runs;
    const logged = off!.packetVerdicts.filter((v) => v.reason !== null);
    expect(logged).toHaveLength(LATE_ACKS);
    if (compareKernelVersions(release(), '6.1') < 0) {
      expect(off!.invalid).toBe(LATE_ACKS);
      expect(new Set(logged.map((v) => v.reasonKind))).toEqual(
        new Set(['ACK is under the lower bound (possible overly delayed ACK)']),
      );
    } else {
      expect(off!.invalid).toBe(0);
      expect(new Set(logged.map((v) => v.reasonKind))).toEqual(
        new Set(['ignored ACK under lower bound (possible overly delayed)']),
      );
    }
    expect(on!.invalid).toBe(0);
  }, 60_000);

  it('an interrupted replay (SIGINT) removes its namespaces and exits 130', async () => {
    const dir = tempDir('ctlab-replay-int-');
    const file = join(dir, 'slow.pcap');
    // 30 ACKs one second apart: with --pace the replay takes 30 s, long enough to interrupt.
    const pk = [
      buildTcpPacket({ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 40000, dstPort: 80, seq: 1, flags: TCP_SYN }),
    ];
    for (let i = 0; i < 30; i++)
      pk.push(
        buildTcpPacket({
          src: '192.0.2.1',
          dst: '192.0.2.2',
          srcPort: 40000,
          dstPort: 80,
          seq: 2,
          ack: 1,
          flags: TCP_ACK,
        }),
      );
    writeFileSync(
      file,
      writePcap(
        pk.map((data, i) => ({ timeMs: 1_700_000_000_000 + i * 1000, data })),
        LINKTYPE_RAW,
      ),
    );
    const child = execa('node', [join(REPO, 'bin/ctlab.js'), 'replay', file, '--pace', '--out', join(dir, 'out')], {
      reject: false,
      all: true,
    });
    let runId = '';
    let said = '';
    child.all?.on('data', (d: Buffer) => {
      said += d.toString();
    });
    const deadline = Date.now() + 30_000;
    let up = false;
    while (Date.now() < deadline && !up) {
      await sleep(200);
      const m = /\(run ([\w-]+)\)/.exec(said);
      if (m) runId = m[1]!;
      if (runId) up = (await execa('ip', ['netns', 'list'])).stdout.includes(`ctlab-${runId}-0-rpw`);
    }
    expect(up, "the replay's namespaces came up").toBe(true);
    await sleep(1500); // tcpreplay is playing now
    child.kill('SIGINT');
    const res = await child;
    expect(res.exitCode).toBe(130);
    expect((await execa('ip', ['netns', 'list'])).stdout).not.toContain(runId);
    expect((await execa('sh', ['-c', `ps -eo args | grep -v grep | grep -c "${dir}" || true`])).stdout.trim()).toBe(
      '0',
    );
  }, 60_000);

  it('the CLI: --expect gates (exit 1 / 0), --flow filters, bad input exits 2', async () => {
    const out = tempDir('ctlab-replay-cli-');
    const fail = await ctlab(
      ['replay', join(FIXTURE, 'server.pcap'), '--out', join(out, 'a'), '--expect', 'invalid == 0'],
      { timeoutMs: 90_000 },
    );
    expect(fail.exitCode, fail.stderr).toBe(1);
    expect(fail.stdout).toMatch(/FAIL invalid == 0 \(measured be_liberal=0: 162, be_liberal=1: 0\)/);
    expect(readFileSync(join(out, 'a', 'junit.xml'), 'utf8')).toMatch(/failures="1"/);
    const pass = await ctlab(
      [
        'replay',
        join(FIXTURE, 'server.pcap'),
        '--out',
        join(out, 'b'),
        '--expect',
        'invalid[be_liberal=1] == 0',
        '--flow',
        ':55030',
      ],
      { timeoutMs: 90_000 },
    );
    expect(pass.exitCode, pass.stderr).toBe(0);
    const r = JSON.parse(readFileSync(join(out, 'b', 'replay.json'), 'utf8')) as ReplayResult;
    expect(r.flows.map((f) => f.client)).toEqual(['198.18.1.2:55030']);
    expect(r.runs[0]!.invalidFlows).toBe(1);
    const bad = await ctlab(['replay', join(FIXTURE, 'events.jsonl')]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim().split('\n')[0]).toMatch(/events\.jsonl: not a pcap file/);
    // --sysctl is checked against this kernel in a throwaway namespace before anything starts.
    const typo = await ctlab([
      'replay',
      join(FIXTURE, 'server.pcap'),
      '--out',
      join(out, 'c'),
      '--sysctl',
      'net.netfilter.nf_conntrack_tcp_loos=0',
    ]);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr.trim()).toMatch(
      /^ctlab: --sysctl: unknown sysctl "net\.netfilter\.nf_conntrack_tcp_loos": .*did you mean net\.netfilter\.nf_conntrack_tcp_loose\?$/,
    );
    const refused = await ctlab([
      'replay',
      join(FIXTURE, 'server.pcap'),
      '--out',
      join(out, 'c'),
      '--sysctl',
      'net.netfilter.nf_conntrack_tcp_loose=abc',
    ]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr.trim()).toMatch(
      /^ctlab: --sysctl: kernel \S+ refuses net\.netfilter\.nf_conntrack_tcp_loose=abc: Invalid argument$/,
    );
    expect(existsSync(join(out, 'c'))).toBe(false);
  }, 240_000);
});
