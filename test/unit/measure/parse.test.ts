import { describe, expect, it } from 'vitest';
import { chainTargetPackets, natFlowCount, parseConntrackList, parseConntrackStats, parseIptablesCounters, parseNstat, percentile } from '../../../src/measure/parse.js';

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
    const n = parseNstat('#kernel\nIpInReceives                    1234               0.0\nTcpRetransSegs                  17                 0.0\nTcpExtTCPSACKDiscard            5                  0.0\n');
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
      proto: 'tcp', state: 'CLOSE',
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
