// The client node's plan for the nat-reset class: kube-proxy's DNAT of the VIP in the client's
// own nat table, the counted INVALID drop, the client sysctls at creation, the harvester aimed
// at the VIP, and nothing of it for the control.
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../../src/scenario/load.js';
import { ADDR, buildTopology, clientSetup } from '../../../src/topology/build.js';

const s = loadScenario('scenarios/nat-reset.yaml');
const topo = (name: string) => buildTopology(s, s.variants.find((v) => v.name === name)!, 5);
const harvesterSetup = (t: ReturnType<typeof topo>) => t.setup[t.names.harvester]!.map((c) => c.join(' '));

describe('client-side NAT topology', () => {
  it("DNATs the VIP to the server in the client's OUTPUT chain and aims the harvester at the VIP", () => {
    const t = topo('nat');
    expect(harvesterSetup(t)).toContain(
      'iptables -w -t nat -A OUTPUT -d 198.18.3.80/32 -p tcp --dport 80 -j DNAT --to-destination 198.18.2.2:80',
    );
    expect(harvesterSetup(t).filter((c) => c.includes('INVALID'))).toEqual([]);
    expect(t.harvester.url).toBe('http://198.18.3.80/oai');
    expect(t.harvester.command.join(' ')).toContain('--base-url http://198.18.3.80/oai');
    // The server itself is unchanged: it never sees the VIP.
    expect(t.server.url).toBe(`http://${ADDR.server}/oai`);
    expect(t.client).toMatchObject({ serviceVip: '198.18.3.80', dropInvalid: false, iptables: 'iptables' });
  });

  it("sets the client conntrack's sysctls at creation, per variant", () => {
    const sys = (name: string) => topo(name).nodes.find((n) => n.role === 'harvester')!.sysctls!;
    expect(sys('nat')['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('0');
    expect(sys('nat')['net.netfilter.nf_conntrack_log_invalid']).toBe('6');
    expect(sys('nat-liberal')['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('1');
    // The server's flag is not the one under test here.
    expect(
      topo('nat-liberal').nodes.find((n) => n.role === 'server')!.sysctls!['net.netfilter.nf_conntrack_tcp_be_liberal'],
    ).toBe('0');
  });

  it("adds kube-proxy's INVALID drop through a counted chain, after nothing else", () => {
    expect(harvesterSetup(topo('nat-drop-invalid')).slice(-3)).toEqual([
      'iptables -w -N CTLAB_INVALID',
      'iptables -w -A CTLAB_INVALID -j DROP',
      'iptables -w -A INPUT -m conntrack --ctstate INVALID -j CTLAB_INVALID',
    ]);
  });

  it("captures the client's INVALID reasons only where its conntrack runs", () => {
    const cap = (name: string) => topo(name).captures.find((c) => c.name === 'client-invalid-reasons.pcap');
    expect(cap('nat')).toMatchObject({ node: 'harvester', iface: 'nflog:0' });
    expect(cap('direct')).toBeUndefined();
  });

  it('the control connects to the server directly, with no NAT and no rule', () => {
    const t = topo('direct');
    expect(t.harvester.url).toBe(`http://${ADDR.server}/oai`);
    expect(harvesterSetup(t).filter((c) => c.startsWith('iptables'))).toEqual([]);
    expect(clientSetup({ dropInvalid: false, sysctls: {} })).toEqual([]);
  });

  it('plans nothing on the client for a scenario without client:', () => {
    const plain = loadScenario('scenarios/harvester-asa.yaml');
    const t = buildTopology(plain, plain.variants[0]!, 1);
    expect(t.client).toBeUndefined();
    expect(t.nodes.find((n) => n.role === 'harvester')!.sysctls).toBeUndefined();
    expect(t.harvester.url).toBe(`http://${ADDR.server}/oai`);
    expect(t.captures.map((c) => c.name)).not.toContain('client-invalid-reasons.pcap');
  });
});
