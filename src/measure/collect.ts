// Collects the counters of a finished harvest from the lab's nodes into typed facts: which
// command or file holds what, read in which node. Each collector returns the facts a result
// keeps and the raw text it read (kept as the variant's files, by file name). The parsing is
// parse.ts's; when to collect (and stopping what must stop first) is src/run/variant.ts's.
import { CtlabError } from '../errors.js';
import type { InvalidCount, VariantResult } from '../result/types.js';
import type { LabNode } from '../runtime/types.js';
import { COUNT_TABLE, invalidCountOf } from '../topology/firewall.js';
import { ADDR, CLIENT_INVALID_CHAIN, NFQUEUE_NUM, PATHS, type Topology } from '../topology/build.js';
import { keepNstat } from './nstat.js';
import {
  chainTargetPackets,
  countLines,
  natFlowCount,
  parseConntrackList,
  parseConntrackStats,
  parseIptablesCounters,
  parseKernelQueueStats,
  parseMiddleboxCounters,
  parseNstat,
  parseSysctlOutput,
  type KernelQueueStats,
} from './parse.js';

/** Read back in the server node: what the kernel actually ran with, not what was asked for. */
export const SERVER_SETTINGS = [
  'net.ipv4.tcp_congestion_control',
  'net.ipv4.tcp_sack',
  'net.ipv4.tcp_timestamps',
  'net.ipv4.tcp_window_scaling',
  'net.netfilter.nf_conntrack_tcp_be_liberal',
  'net.netfilter.nf_conntrack_tcp_loose',
  'net.netfilter.nf_conntrack_tcp_ignore_invalid_rst',
];

/** The server firewall's INVALID chain (lab/server/firewall.sh): its DROP rule's counter is server.invalidDrops. */
const SERVER_INVALID_CHAIN = 'CTLAB_INVALID';

/** Raw text read from a node, keyed by the file name it is kept under (e.g. "server-nstat.txt"). */
export type RawFiles = Record<string, string>;

/** A file's text in a node, '' when it is missing. */
export async function readText(node: LabNode, path: string): Promise<string> {
  try {
    return (await node.readFile(path)).toString('utf8');
  } catch {
    return '';
  }
}

export interface ServerSettings {
  /** `uname -r` in the server node. */
  kernel: string;
  /** SERVER_SETTINGS and the scenario's own sysctls as `sysctl` printed them (those it could not read are absent). */
  settings: Record<string, string>;
}

/** The kernel the server runs and the TCP settings it runs with (SERVER_SETTINGS, plus `also`: the scenario's sysctls). */
export async function readServerSettings(node: LabNode, also: string[] = []): Promise<ServerSettings> {
  const kernel = (await node.exec(['uname', '-r'])).stdout.trim();
  const names = [...new Set([...SERVER_SETTINGS, ...also])];
  const settings = parseSysctlOutput((await node.exec(['sysctl', ...names], { reject: false })).stdout);
  return { kernel, settings };
}

/**
 * The INVALID counts around a node's own ruleset (the ctlab_count table), read in `node`; `who`
 * names the node in the error when the table cannot be read. `text` is kept as the node's
 * `<who>-invalid-count.json`.
 */
export async function readInvalidCount(
  node: LabNode,
  who: 'server' | 'client',
): Promise<{ count: InvalidCount; text: string }> {
  const r = await node.exec(['nft', '-j', 'list', 'counters', 'table', 'inet', COUNT_TABLE], { reject: false });
  const count = invalidCountOf(r.stdout);
  if (!count)
    throw new CtlabError('LAB', `the ${who}'s ${COUNT_TABLE} counters could not be read`, {
      stderr: `${r.stderr}\n${r.stdout}`,
    });
  return { count, text: r.stdout };
}

/** The server's counters: its firewall's INVALID drops, `conntrack -S`, nstat. */
export async function collectServer(
  node: LabNode,
  topo: Pick<Topology, 'server'>,
): Promise<{ counters: VariantResult['server']; raw: RawFiles }> {
  const [ipt, cts, nstat, count] = await Promise.all([
    node.exec([topo.server.iptables, '-w', '-L', '-v', '-x', '-n'], { reject: false }),
    node.exec(['conntrack', '-S'], { reject: false }),
    node.exec(['nstat', '-az'], { reject: false }),
    topo.server.rules ? readInvalidCount(node, 'server') : undefined,
  ]);
  const ctStats = parseConntrackStats(cts.stdout);
  const invalidCount = count?.count;
  return {
    counters: {
      invalidDrops: invalidCount
        ? invalidCount.before - invalidCount.after
        : (chainTargetPackets(parseIptablesCounters(ipt.stdout), SERVER_INVALID_CHAIN, 'DROP') ?? 0),
      ...(invalidCount ? { invalidCount } : {}),
      conntrackInvalid: ctStats.invalid ?? 0,
      conntrackStats: ctStats,
      nstat: keepNstat(parseNstat(nstat.stdout)),
    },
    raw: {
      'server-iptables.txt': ipt.stdout,
      'server-conntrack-stats.txt': cts.stdout,
      'server-nstat.txt': nstat.stdout,
      ...(count ? { 'server-invalid-count.json': count.text } : {}),
    },
  };
}

/**
 * The client NAT's counters from its iptables listing (filter and nat tables), `conntrack -S` and
 * `conntrack -L`; with its own ruleset, its INVALID drops are the bracket's (`count`).
 */
export function clientCounters(
  tc: NonNullable<Topology['client']>,
  iptables: string,
  stats: string,
  list: string,
  count?: InvalidCount,
): Omit<VariantResult['client'], 'nstat'> {
  const ctStats = parseConntrackStats(stats);
  return {
    ...(tc.serviceVip
      ? { serviceVip: tc.serviceVip, natFlows: natFlowCount(parseConntrackList(list), tc.serviceVip, ADDR.server) }
      : {}),
    sysctls: tc.sysctls,
    conntrackInvalid: ctStats.invalid ?? 0,
    conntrackStats: ctStats,
    invalidDrops: count
      ? count.before - count.after
      : tc.dropInvalid
        ? (chainTargetPackets(parseIptablesCounters(iptables), CLIENT_INVALID_CHAIN, 'DROP') ?? null)
        : null,
    ...(count ? { invalidCount: count } : {}),
  };
}

/** The client's counters: nstat, and its conntrack, NAT table and INVALID rule when it has any (the nat-reset class). */
export async function collectClient(
  node: LabNode,
  topo: Pick<Topology, 'client'>,
): Promise<{ counters: VariantResult['client']; raw: RawFiles }> {
  const tc = topo.client;
  const [nstat, nat] = await Promise.all([
    node.exec(['nstat', '-az'], { reject: false }),
    tc
      ? Promise.all([
          node.exec(['sh', '-c', `${tc.iptables} -w -L -v -x -n; ${tc.iptables} -w -t nat -L -v -x -n`], {
            reject: false,
          }),
          node.exec(['conntrack', '-S'], { reject: false }),
          node.exec(['conntrack', '-L'], { reject: false }),
          tc.firewall ? readInvalidCount(node, 'client') : undefined,
        ])
      : undefined,
  ]);
  const counters: VariantResult['client'] = { nstat: keepNstat(parseNstat(nstat.stdout)) };
  const raw: RawFiles = { 'client-nstat.txt': nstat.stdout };
  if (tc && nat) {
    const [ipt, cts, ctl, count] = nat;
    Object.assign(counters, clientCounters(tc, ipt.stdout, cts.stdout, ctl.stdout, count?.count));
    Object.assign(raw, {
      'client-iptables.txt': ipt.stdout,
      'client-conntrack-stats.txt': cts.stdout,
      'client-conntrack.txt': ctl.stdout,
      ...(count ? { 'client-invalid-count.json': count.text } : {}),
    });
  }
  return { counters, raw };
}

/** What only a running middlebox can tell: whether it is alive, and the kernel's view of its queue. */
export interface MiddleboxLive {
  alive: boolean;
  /** NFQUEUE_NUM's line of /proc/net/netfilter/nfnetlink_queue; undefined when the queue is unbound. */
  queue: KernelQueueStats | undefined;
}

/** Read while the middlebox still runs (its queue's /proc line goes when it exits). */
export async function readMiddleboxLive(mb: LabNode): Promise<MiddleboxLive> {
  const alive = (await mb.exec(['sh', '-c', `kill -0 $(cat ${PATHS.middleboxPid})`], { reject: false })).exitCode === 0;
  const queue = parseKernelQueueStats(await readText(mb, '/proc/net/netfilter/nfnetlink_queue')).find(
    (q) => q.queue === NFQUEUE_NUM,
  );
  return { alive, queue };
}

/** Kernel NFQUEUE drops: queue full plus socket full. */
export function queueDrops(q: KernelQueueStats | undefined): number {
  return (q?.queueDropped ?? 0) + (q?.userDropped ?? 0);
}

/**
 * The middlebox's counters (engine, binding, hold queue, cpu; its final file once it has
 * stopped), its flow records and its log. `countersWritten` is false when its counters file
 * was missing or did not parse (the counters are then empty).
 */
export async function collectMiddlebox(
  mb: LabNode,
  live: MiddleboxLive,
): Promise<{ counters: VariantResult['middlebox']; countersWritten: boolean; raw: RawFiles }> {
  const countersText = await readText(mb, PATHS.middleboxCounters);
  const file = parseMiddleboxCounters(countersText);
  const flows = await readText(mb, PATHS.middleboxFlows);
  const log = await readText(mb, PATHS.middleboxLog);
  return {
    counters: {
      counters: file?.engine ?? {},
      binding: file?.binding ?? {},
      hold: file?.hold ?? {},
      cpu: file?.cpu ?? {},
      queueDrops: queueDrops(live.queue),
      flows: countLines(flows),
    },
    countersWritten: file !== undefined,
    raw: { 'middlebox-counters.json': countersText, 'middlebox-flows.jsonl': flows, 'middlebox.log': log },
  };
}
