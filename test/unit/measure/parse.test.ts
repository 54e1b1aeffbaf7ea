import { describe, expect, it } from 'vitest';
import { keepNstat, NSTAT_KEPT } from '../../../src/measure/nstat.js';
import {
  chainTargetPackets,
  countLines,
  natFlowCount,
  parseConntrackList,
  parseConntrackStats,
  parseFlushOutput,
  parseHarvestSummary,
  parseIptablesCounters,
  parseKernelQueueStats,
  parseMiddleboxCounters,
  parseNstat,
  percentile,
} from '../../../src/measure/parse.js';
import { NFQUEUE_PROC, NFQUEUE_STATS } from './nfqueue.js';

// Output captured from iptables v1.8.9 (nf_tables) in a lab server.
const IPT = `Chain INPUT (policy DROP 3 packets, 180 bytes)
    pkts      bytes target     prot opt in     out     source               destination
       0        0 ACCEPT     0    --  lo     *       0.0.0.0/0            0.0.0.0/0
      41     2788 CTLAB_INVALID  0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctstate INVALID
   12000   700000 ACCEPT     0    --  *      *       0.0.0.0/0            0.0.0.0/0            ctstate RELATED,ESTABLISHED

Chain CTLAB_INVALID (1 references)
    pkts      bytes target     prot opt in     out     source               destination
      41     2788 NFLOG      0    --  *      *       0.0.0.0/0            0.0.0.0/0            nflog-prefix "ctlab-invalid" nflog-group 1
      41     2788 DROP       0    --  *      *       0.0.0.0/0            0.0.0.0/0
`;

describe('iptables counters', () => {
  it('reads chains, policies and rule counters', () => {
    const c = parseIptablesCounters(IPT);
    expect(c.map((x) => x.chain)).toEqual(['INPUT', 'CTLAB_INVALID']);
    expect(c[0]!.policy).toBe('DROP');
    expect(c[0]!.rules).toHaveLength(3);
    expect(c[0]!.rules[1]).toMatchObject({ packets: 41, bytes: 2788, target: 'CTLAB_INVALID' });
    expect(chainTargetPackets(c, 'CTLAB_INVALID', 'DROP')).toBe(41);
    expect(chainTargetPackets(c, 'INPUT', 'ACCEPT')).toBe(12000);
    expect(chainTargetPackets(c, 'NOPE', 'DROP')).toBeUndefined();
  });
});

describe('conntrack -S', () => {
  it('sums every field over CPUs', () => {
    const s = parseConntrackStats(
      'cpu=0   \tfound=0 invalid=12 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n' +
        'cpu=1   \tfound=2 invalid=30 insert=0 insert_failed=0 drop=1 early_drop=0 error=0 search_restart=4 clash_resolve=0 chaintoolong=0 \n',
    );
    expect(s.invalid).toBe(42);
    expect(s.found).toBe(2);
    expect(s.drop).toBe(1);
    expect(s.cpu).toBeUndefined();
  });
});

describe('nstat', () => {
  it('reads absolute counters', () => {
    const n = parseNstat(
      '#kernel\nIpInReceives                    1234               0.0\nTcpRetransSegs                  17                 0.0\nTcpExtTCPSACKDiscard            5                  0.0\n',
    );
    expect(n).toEqual({ IpInReceives: 1234, TcpRetransSegs: 17, TcpExtTCPSACKDiscard: 5 });
  });
});

describe('percentile', () => {
  it('uses nearest rank', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
  });
});

// `conntrack -L` (conntrack-tools 1.4.7) in a client node that DNATs 198.18.3.80 to the server.
const CT_LIST = `tcp      6 9 CLOSE src=198.18.1.2 dst=198.18.3.80 sport=37764 dport=80 src=198.18.2.2 dst=198.18.1.2 sport=80 dport=37764 [ASSURED] mark=0 use=1
tcp      6 431999 ESTABLISHED src=198.18.1.2 dst=198.18.2.2 sport=40000 dport=80 src=198.18.2.2 dst=198.18.1.2 sport=80 dport=40000 [ASSURED] mark=0 use=1
udp      17 29 src=198.18.1.2 dst=198.18.3.80 sport=5353 dport=53 [UNREPLIED] src=198.18.3.80 dst=198.18.1.2 sport=53 dport=5353 mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.
`;

describe('conntrack -L', () => {
  it('splits each entry into its original and reply directions', () => {
    const e = parseConntrackList(CT_LIST);
    expect(e).toHaveLength(3);
    expect(e[0]).toEqual({
      proto: 'tcp',
      state: 'CLOSE',
      orig: { src: '198.18.1.2', dst: '198.18.3.80', sport: 37764, dport: 80 },
      reply: { src: '198.18.2.2', dst: '198.18.1.2', sport: 80, dport: 37764 },
    });
    expect(e[2]!.state).toBeUndefined();
  });

  it('counts only entries DNATed from the VIP to the real server', () => {
    expect(natFlowCount(parseConntrackList(CT_LIST), '198.18.3.80', '198.18.2.2')).toBe(1);
    expect(natFlowCount(parseConntrackList(CT_LIST), '198.18.3.81', '198.18.2.2')).toBe(0);
    expect(parseConntrackList('conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n')).toEqual([]);
  });
});

describe('the conntrack-flush action', () => {
  it("parses the flush action's output", () => {
    expect(parseFlushOutput('conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.')).toBe(0);
    expect(
      parseFlushOutput(
        'conntrack entries: 2\nconntrack v1.4.7 (conntrack-tools): connection tracking table has been emptied.',
      ),
    ).toBe(2);
    expect(parseFlushOutput('nothing')).toBeUndefined();
  });
});

describe('kernel queue stats', () => {
  it('parses /proc/net/netfilter/nfnetlink_queue lines', () => {
    expect(parseKernelQueueStats(NFQUEUE_PROC)).toEqual(NFQUEUE_STATS);
  });
  it('ignores junk', () => {
    expect(parseKernelQueueStats('\nnot a line\n')).toEqual([]);
  });
});

describe("the middlebox's files", () => {
  it('reads the counters file, and says undefined when it is missing or cut short', () => {
    expect(parseMiddleboxCounters('{"engine":{"packetsSeen":5},"binding":{"batches":1},"kernel":null}')).toEqual({
      engine: { packetsSeen: 5 },
      binding: { batches: 1 },
      kernel: null,
    });
    expect(parseMiddleboxCounters('')).toBeUndefined();
    expect(parseMiddleboxCounters('{"engine":')).toBeUndefined();
  });
  it('counts flow records, not blank lines', () => {
    expect(countLines('{"ordinal":0}\n{"ordinal":1}\n\n  \n')).toBe(2);
    expect(countLines('')).toBe(0);
  });
});

describe("the harvester's summary", () => {
  it('is the last JSON line of type summary, whatever comes around it', () => {
    const out = [
      '{"type":"progress","records":100}',
      '{"type":"summary","records":3812,"complete":true}',
      'not json',
      '',
    ].join('\n');
    expect(parseHarvestSummary(out)).toMatchObject({ type: 'summary', records: 3812, complete: true });
    expect(parseHarvestSummary('{"type":"progress"}\nharvester crashed\n')).toBeUndefined();
  });
});

describe('the nstat counters a result keeps', () => {
  it('keeps each listed counter once, in order, 0 for one the kernel lacks', () => {
    expect(new Set(NSTAT_KEPT).size).toBe(NSTAT_KEPT.length);
    const kept = keepNstat({ TcpRetransSegs: 7, IpInReceives: 99 });
    expect(Object.keys(kept)).toEqual([...NSTAT_KEPT]);
    expect(kept.TcpRetransSegs).toBe(7);
    expect(kept.TcpExtTCPRcvQDrop).toBe(0);
    expect('IpInReceives' in kept).toBe(false);
  });
});
