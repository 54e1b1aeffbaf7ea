// The collectors (src/measure/collect.ts) against nodes that answer with the files a real run
// kept: what they return must be what that run recorded in result.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  collectClient,
  collectMiddlebox,
  collectServer,
  readMiddleboxLive,
  readServerSettings,
  SERVER_SETTINGS,
} from '../../../src/measure/collect.js';
import type { RunResult } from '../../../src/result/types.js';
import type { ExecResult, LabNode } from '../../../src/runtime/types.js';
import { PATHS, type Topology } from '../../../src/topology/build.js';
import { NFQUEUE_PROC, NFQUEUE_STATS } from './nfqueue.js';

const RUN = join(import.meta.dirname, '../../fixtures/evidence/run');
const NAT = join(import.meta.dirname, '../../fixtures/evidence/nat-reset');
const result = JSON.parse(readFileSync(join(RUN, 'result.json'), 'utf8')) as RunResult;
const read = (...p: string[]) => readFileSync(join(...p), 'utf8');

/** A node whose commands print `replies[command line]` (exit 1 for anything else) and whose files are `files`. */
function fakeNode(
  replies: Record<string, string | { stdout: string; exitCode: number }>,
  files: Record<string, string> = {},
  calls: string[] = [],
): LabNode {
  return {
    spec: { name: 'n', role: 'server' },
    id: 'n',
    pid: 1,
    exec: async (cmd: string[]): Promise<ExecResult> => {
      const line = cmd.join(' ');
      calls.push(line);
      const r = replies[line];
      const { stdout, exitCode } =
        r === undefined ? { stdout: '', exitCode: 1 } : typeof r === 'string' ? { stdout: r, exitCode: 0 } : r;
      return { command: cmd, node: 'n', exitCode, stdout, stderr: '', timedOut: false, durationMs: 1 };
    },
    readFile: async (path: string) => {
      if (files[path] === undefined) throw new Error(`ENOENT: ${path}`);
      return Buffer.from(files[path]);
    },
    writeFile: async () => {},
  };
}

describe.each(['flag-off', 'flag-on'])('the counters of a real run (%s)', (name) => {
  const v = result.variants.find((x) => x.name === name)!;
  const dir = join(RUN, name);

  it("collects the server's as the run recorded them", async () => {
    const node = fakeNode({
      'iptables -w -L -v -x -n': read(dir, 'server-iptables.txt'),
      'conntrack -S': read(dir, 'server-conntrack-stats.txt'),
      'nstat -az': read(dir, 'server-nstat.txt'),
    });
    const s = await collectServer(node, { server: { iptables: 'iptables' } } as Pick<Topology, 'server'>);
    expect(s.counters).toEqual(v.server);
    expect(s.raw['server-iptables.txt']).toBe(read(dir, 'server-iptables.txt'));
    expect(Object.keys(s.raw)).toEqual(['server-iptables.txt', 'server-conntrack-stats.txt', 'server-nstat.txt']);
  });

  it("collects the client's nstat and nothing else when the client has no NAT", async () => {
    const calls: string[] = [];
    const c = await collectClient(fakeNode({ 'nstat -az': read(dir, 'client-nstat.txt') }, {}, calls), {});
    expect(c.counters).toEqual(v.client);
    expect(calls).toEqual(['nstat -az']);
    expect(Object.keys(c.raw)).toEqual(['client-nstat.txt']);
  });

  it("collects the middlebox's counters file and flow records", async () => {
    const mb = fakeNode(
      {},
      {
        [PATHS.middleboxCounters]: read(dir, 'middlebox-counters.json'),
        [PATHS.middleboxFlows]: read(dir, 'middlebox-flows.jsonl'),
        [PATHS.middleboxLog]: 'ready\n',
      },
    );
    const m = await collectMiddlebox(mb, { alive: true, queue: undefined });
    expect(m.counters).toEqual(v.middlebox);
    expect(m.countersWritten).toBe(true);
    expect(m.raw['middlebox.log']).toBe('ready\n');
  });
});

describe("the client NAT's counters", () => {
  const CT_LIST = `tcp      6 9 CLOSE src=198.18.1.2 dst=198.18.3.80 sport=37764 dport=80 src=198.18.2.2 dst=198.18.1.2 sport=80 dport=37764 [ASSURED] mark=0 use=1
tcp      6 431999 ESTABLISHED src=198.18.1.2 dst=198.18.2.2 sport=40000 dport=80 src=198.18.2.2 dst=198.18.1.2 sport=80 dport=40000 [ASSURED] mark=0 use=1
`;
  const client = (dropInvalid: boolean) =>
    ({
      client: {
        serviceVip: '198.18.3.80',
        dropInvalid,
        sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': '0' },
        iptables: 'iptables',
      },
    }) as unknown as Pick<Topology, 'client'>;
  const node = (ipt: string) =>
    fakeNode({
      'nstat -az': 'TcpOutRsts                      49                 0.0\n',
      'sh -c iptables -w -L -v -x -n; iptables -w -t nat -L -v -x -n': ipt,
      'conntrack -S': read(NAT, 'nat-5.10', 'client-conntrack-stats.txt'),
      'conntrack -L': CT_LIST,
    });

  it('reads its conntrack, NAT flows and INVALID rule (kube-proxy with the fix)', async () => {
    const c = await collectClient(node(read(NAT, 'nat-drop-invalid-5.10-client-iptables.txt')), client(true));
    expect(c.counters).toMatchObject({
      serviceVip: '198.18.3.80',
      natFlows: 1,
      conntrackInvalid: 86,
      invalidDrops: 203,
      sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': '0' },
    });
    expect(c.counters.nstat.TcpOutRsts).toBe(49);
    expect(c.counters.nstat.TcpEstabResets).toBe(0);
    expect(Object.keys(c.raw).sort()).toEqual([
      'client-conntrack-stats.txt',
      'client-conntrack.txt',
      'client-iptables.txt',
      'client-nstat.txt',
    ]);
  });

  it('says null for the INVALID drops of a client without the rule', async () => {
    const c = await collectClient(node(read(NAT, 'nat-5.10', 'client-iptables.txt')), client(false));
    expect(c.counters).toMatchObject({ conntrackInvalid: 86, invalidDrops: null, natFlows: 1 });
  });
});

describe('what only a running middlebox tells', () => {
  it("reads its queue's kernel counters and whether it lives", async () => {
    const mb = fakeNode(
      { [`sh -c kill -0 $(cat ${PATHS.middleboxPid})`]: '' },
      {
        '/proc/net/netfilter/nfnetlink_queue': NFQUEUE_PROC,
      },
    );
    const live = await readMiddleboxLive(mb);
    expect(live).toEqual({ alive: true, queue: NFQUEUE_STATS[0] });
    const m = await collectMiddlebox(mb, live);
    expect(m.counters.queueDrops).toBe(12);
    // No counters file: empty counters, and the caller is told.
    expect(m.countersWritten).toBe(false);
    expect(m.counters).toMatchObject({ counters: {}, binding: {}, hold: {}, cpu: {}, flows: 0 });
  });

  it('a dead middlebox with its queue unbound', async () => {
    expect(await readMiddleboxLive(fakeNode({}))).toEqual({ alive: false, queue: undefined });
  });
});

describe("the server's kernel and settings", () => {
  it('reads back what the kernel runs with, leaving out what sysctl could not read', async () => {
    const node = fakeNode({
      'uname -r': '6.18.0-ctlab\n',
      [`sysctl ${SERVER_SETTINGS.join(' ')}`]: {
        stdout: 'net.ipv4.tcp_sack = 1\nnet.netfilter.nf_conntrack_tcp_be_liberal = 0\n',
        exitCode: 255,
      },
    });
    expect(await readServerSettings(node)).toEqual({
      kernel: '6.18.0-ctlab',
      settings: { 'net.ipv4.tcp_sack': '1', 'net.netfilter.nf_conntrack_tcp_be_liberal': '0' },
    });
  });
});
