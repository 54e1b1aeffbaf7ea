// The client node's kube-proxy-style NAT in the scenario (`client: { serviceVip, dropInvalid,
// sysctls }`, per-variant overrides) and the expectations of the nat-reset class.
import { describe, expect, it } from 'vitest';
import { problems } from './problems.js';
import { checkExpectations } from '../../../src/result/expectations.js';
import type { VariantResult } from '../../../src/result/types.js';
import { loadScenario, parseScenario, variantClient } from '../../../src/scenario/load.js';
import { checkServiceVip, LINK_NETS } from '../../../src/scenario/vip.js';
import { variantResult } from '../result/variant.js';
import { ADDR } from '../../../src/topology/build.js';

const doc = (client: string, variantClient = '') => `
name: t
${client}
variants:
  - name: v
${variantClient}
    expect: [server.estabResets == 0]
`;

describe('client: in a scenario', () => {
  it('reads the VIP, the INVALID rule and the client sysctls', () => {
    const s = parseScenario(
      doc(
        'client: { serviceVip: 198.18.3.80, dropInvalid: true, sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 } }',
      ),
      'x.yaml',
    );
    expect(s.client).toEqual({
      serviceVip: '198.18.3.80',
      dropInvalid: true,
      sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': '1' },
    });
    expect(variantClient(s, s.variants[0]!)).toEqual({
      serviceVip: '198.18.3.80',
      dropInvalid: true,
      sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': '1', 'net.netfilter.nf_conntrack_log_invalid': '6' },
    });
  });

  it('leaves a scenario without client: as a plain client', () => {
    const s = parseScenario(doc(''), 'x.yaml');
    expect(s.client).toBeUndefined();
    expect(variantClient(s, s.variants[0]!)).toBeUndefined();
  });

  it('pins the client conntrack to be_liberal=0 when it NATs, so the host never decides', () => {
    const s = parseScenario(doc('client: { serviceVip: 198.19.0.10 }'), 'x.yaml');
    expect(variantClient(s, s.variants[0]!)!.sysctls['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('0');
  });

  it('lets a variant drop the NAT (serviceVip: none), add the INVALID rule or merge sysctls', () => {
    const s = loadScenario('scenarios/nat-reset.yaml');
    const by = (n: string) => variantClient(s, s.variants.find((v) => v.name === n)!)!;
    expect(by('nat')).toMatchObject({ serviceVip: '198.18.3.80', dropInvalid: false });
    expect(by('nat-drop-invalid')).toMatchObject({ serviceVip: '198.18.3.80', dropInvalid: true });
    expect(by('nat-liberal').sysctls['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('1');
    expect(by('nat-liberal').dropInvalid).toBe(false);
    const direct = by('direct');
    expect(direct.serviceVip).toBeUndefined();
    expect(direct.dropInvalid).toBe(false);
    // No NAT, no rule: only what the scenario set explicitly, nothing added.
    expect(direct.sysctls).toEqual({
      'net.netfilter.nf_conntrack_tcp_be_liberal': '0',
      'net.ipv4.tcp_rmem': '4096 32768 65536',
    });
  });

  it('rejects VIPs outside the lab, on its links or owned by a host, with the field and line', () => {
    expect(problems(doc('client: { serviceVip: 10.0.0.1 }'))).toEqual([
      expect.stringMatching(/^3: client\.serviceVip: .*outside the lab's 198\.18\.0\.0\/15/),
    ]);
    expect(problems(doc('client: { serviceVip: 198.20.0.1 }'))[0]).toMatch(/outside the lab/);
    for (const host of [ADDR.client, ADDR.server, ADDR.mbClientSide, ADDR.mbServerSide, '198.18.2.80']) {
      expect(problems(doc(`client: { serviceVip: ${host} }`))[0], host).toMatch(/link subnet/);
    }
    expect(problems(doc('client: { serviceVip: 198.19.255.255 }'))[0]).toMatch(/broadcast/);
    expect(problems(doc('client: { serviceVip: 198.18.3.256 }'))[0]).toMatch(/client\.serviceVip: .*IPv4 address/);
    expect(problems(doc('client: { serviceVip: 198.18.3.80 }', '    client: { serviceVip: 198.18.1.2 }'))[0]).toMatch(
      /^6: variants\[0\]\.client\.serviceVip: .*link subnet/,
    );
  });

  it('rejects unknown fields and sysctls the kernel does not have or refuses, in the scenario and in a variant', () => {
    expect(problems(doc('client: { serviceVIP: 198.18.3.80 }'))).toEqual(['3: client.serviceVIP: unknown field']);
    expect(problems(doc('client: { sysctls: { net.ipv4.ip_forwarding: 1 } }'))[0]).toMatch(
      /client\.sysctls\.net\.ipv4\.ip_forwarding: unknown sysctl .*did you mean net\.ipv4\.ip_forward\?$/,
    );
    expect(problems(doc('', '    client: { sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 2 } }'))[0]).toMatch(
      /variants\[0\]\.client\.sysctls.*refuses net\.netfilter\.nf_conntrack_tcp_be_liberal=2: Invalid argument/,
    );
    expect(problems(doc('', '    client: { nat: true }'))[0]).toMatch(/variants\[0\]\.client\.nat: unknown field/);
  });

  it("checks the VIP rule itself against the topology's addresses", () => {
    for (const a of [ADDR.client, ADDR.mbClientSide, ADDR.server, ADDR.mbServerSide]) {
      expect(
        LINK_NETS.some((n) => n.split('.').slice(0, 3).join('.') === a.split('.').slice(0, 3).join('.')),
        a,
      ).toBe(true);
      expect(checkServiceVip(a)).toBeDefined();
    }
    expect(checkServiceVip('198.18.3.80')).toBeUndefined();
    expect(checkServiceVip('198.19.128.1')).toBeUndefined();
    expect(checkServiceVip('198.18.0.0')).toMatch(/network or broadcast/);
  });
});

function result(over: Partial<VariantResult['client']> = {}, serverNstat: Record<string, number> = {}): VariantResult {
  return variantResult({
    name: 'nat',
    kernel: '5.10.0-35-cloud-amd64',
    attempts: { ok: 2, resets: 1, retries: 1, failed: 1 },
    server: { nstat: serverNstat },
    client: { nstat: { TcpOutRsts: 17 }, ...over },
    dir: 'nat',
  });
}

describe('nat-reset expectations', () => {
  it('accepts the new metrics in expectations, kernel-conditionally too', () => {
    const s = loadScenario('scenarios/nat-reset.yaml');
    const nat = s.variants.find((v) => v.name === 'nat')!;
    expect(nat.expect.filter((e) => e.kernel?.text === '< 6.1').map((e) => e.metric)).toEqual([
      'client.conntrackInvalid',
      'client.outRsts',
      'server.estabResets',
      'attempts.resets',
      'complete',
    ]);
    const broken = result({ conntrackInvalid: 9 }, { TcpEstabResets: 2 });
    const old = checkExpectations(
      { ...broken, harvest: { ...broken.harvest, records: 0, complete: false } },
      nat.expect,
    );
    expect(old.length).toBe(5);
    expect(old.every((e) => e.kernel === '< 6.1' && e.passed)).toBe(true);
    // The same numbers on a 6.18 kernel fail its expectations: nothing may reset there.
    expect(
      checkExpectations({ ...broken, kernel: '6.18.44' }, nat.expect)
        .filter((e) => !e.passed)
        .map((e) => e.text.split(' (')[0]),
    ).toEqual([
      'client.conntrackInvalid == 0',
      'server.estabResets == 0',
      'attempts.resets == 0',
      'attempts.failed == 0',
    ]);
    const fresh = checkExpectations(
      {
        ...result({ conntrackInvalid: 0 }, { TcpEstabResets: 0 }),
        kernel: '6.18.44',
        attempts: { ...result().attempts, failed: 0, resets: 0 },
      },
      nat.expect,
    );
    expect(fresh.every((e) => e.kernel === '>= 6.1')).toBe(true);
    expect(fresh.map((e) => e.passed)).toEqual(fresh.map(() => true));
  });
});
