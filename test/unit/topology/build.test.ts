import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../../src/scenario/load.js';
import { ADDR, buildTopology } from '../../../src/topology/build.js';

const s = loadScenario('scenarios/harvester-asa.yaml');

describe('topology', () => {
  const off = buildTopology(s, s.variants[0]!, 99);
  const on = buildTopology(s, s.variants[1]!, 99);

  it('sets the flag per variant on the server only, at creation', () => {
    const srv = (t: typeof off) => t.nodes.find((n) => n.role === 'server')!;
    expect(srv(off).sysctls!['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('0');
    expect(srv(on).sysctls!['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('1');
    expect(srv(on).sysctls!['net.netfilter.nf_conntrack_log_invalid']).toBe('6');
    expect(off.nodes.find((n) => n.role === 'middlebox')!.sysctls).toEqual({ 'net.ipv4.ip_forward': '1' });
    expect(off.nodes.find((n) => n.role === 'harvester')!.sysctls).toBeUndefined();
  });

  it('wires client - middlebox - server with lab addresses only', () => {
    expect(off.links).toHaveLength(2);
    const addrs = off.links.flatMap((l) => [l.a.address, l.b.address]);
    for (const a of addrs) expect(a).toMatch(/^198\.1[89]\./);
    expect(off.links[0]!.a.node).toBe('harvester');
    expect(off.links[0]!.b.node).toBe('middlebox');
    expect(off.links[1]!.b).toMatchObject({ node: 'server', address: `${ADDR.server}/24` });
    // Routes only towards the lab range, never a default route.
    const routes = Object.values(off.setup)
      .flat()
      .filter((c) => c[0] === 'ip' && c[1] === 'route');
    expect(routes.length).toBe(2);
    for (const r of routes) {
      expect(r).toContain(ADDR.labNet);
      expect(r).not.toContain('default');
    }
  });

  it('queues forwarded TCP without bypass (fail closed) and shapes both directions', () => {
    const mb = off.setup.middlebox!.map((c) => c.join(' '));
    const nfq = mb.find((c) => c.includes('NFQUEUE'))!;
    expect(nfq).toBe('iptables -A FORWARD -p tcp -j NFQUEUE --queue-num 0');
    expect(mb.filter((c) => c.includes('htb rate 100mbit'))).toHaveLength(2);
  });

  it('passes the seed, profile and path to the middlebox and the workload to the harvester', () => {
    expect(off.middlebox.config.seed).toBe(99);
    expect(off.middlebox.config.profile.sackTranslation).toBe(false);
    expect(off.middlebox.config.path.loss).toEqual({ kind: 'rate', rate: 0.015, direction: 'to-client' });
    const h = off.harvester.command.join(' ');
    if (s.workload.kind !== 'oai-pmh') throw new Error('the fixture is a harvest');
    expect(h).toContain('--base-url http://198.18.2.2/oai');
    expect(h).toContain(`--read-timeout-ms ${s.workload.readTimeoutMs}`);
    expect(h).toContain(`--retries ${s.workload.retries}`);
    expect(h).not.toContain('--keep-alive');
    expect(off.harvester.timeoutMs).toBeGreaterThan(s.workload.maxDurationMs);
  });

  it('omits the INVALID rule when the scenario says so', () => {
    const t = buildTopology(
      { ...s, server: { ...s.server, firewall: { dropInvalid: false, backend: 'legacy' } } },
      s.variants[0]!,
      1,
    );
    const fw = t.setup.server!.find((c) => c[0] === 'ctlab-firewall')!;
    expect(fw).toEqual(['ctlab-firewall', '--backend', 'legacy', '--no-drop-invalid']);
  });
});
