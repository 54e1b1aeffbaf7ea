// Sysctls a scenario may set: the shape check alone, the kernel's answers (faked), the closest
// names an unknown one gets, every place a scenario sets them, and one probe of the real kernel
// (root: a throwaway network namespace).
import { describe, expect, it } from 'vitest';
import { itWith, requireRoot, requireTool } from '../../gate.js';
import { allOf } from '../../gate.js';
import { probeKernelSysctls, scenarioSysctls } from '../../../src/scenario/kernel-sysctls.js';
import { parseScenario } from '../../../src/scenario/load.js';
import { checkSysctl, closestNames, editDistance, SYSCTL_ABOUT } from '../../../src/scenario/sysctls.js';
import { FAKE_KERNEL } from './fake-kernel.js';
import { problems } from './problems.js';

const base = `
name: t
workload: { kind: oai-pmh, records: 10 }
`;

describe('sysctls: shape, then the kernel', () => {
  it('without a kernel checks only the shape: a net.* name, a one-line value', () => {
    expect(checkSysctl('net.core.somaxconn', '8192')).toBeUndefined();
    expect(checkSysctl('net.ipv4.tcp_rmem', '4096 131072 6291456')).toBeUndefined();
    expect(checkSysctl('kernel.shmmax', '5')).toMatch(/^"kernel\.shmmax" is not a per-network-namespace sysctl/);
    expect(checkSysctl('net.ipv4/../../kernel', '1')).toMatch(/not a per-network-namespace sysctl/);
    expect(checkSysctl('net.ipv4.tcp_sack', '1\n0')).toMatch(/one non-empty line/);
  });

  it('with a kernel: a name it has and a value it takes pass, whether or not ctlab knows the setting', () => {
    expect(SYSCTL_ABOUT['net.core.somaxconn']).toBeUndefined();
    expect(checkSysctl('net.core.somaxconn', '8192', FAKE_KERNEL)).toBeUndefined();
    expect(checkSysctl('net.ipv4.tcp_congestion_control', 'bbr', FAKE_KERNEL)).toBeUndefined();
  });

  it('an unknown name says which kernel and the closest real name', () => {
    expect(checkSysctl('net.netfilter.nf_conntrack_tcp_be_liberl', '1', FAKE_KERNEL)).toBe(
      'unknown sysctl "net.netfilter.nf_conntrack_tcp_be_liberl": not per network namespace on kernel 6.99.0-fake; did you mean net.netfilter.nf_conntrack_tcp_be_liberal?',
    );
    // Not a typo but the same family: the longest shared prefix.
    expect(checkSysctl('net.netfilter.nf_conntrack_tcp_be_lenient', '1', FAKE_KERNEL)).toMatch(
      /did you mean net\.netfilter\.nf_conntrack_tcp_be_liberal\?$/,
    );
    // Nothing close: no guess.
    expect(checkSysctl('net.ipv4.xyzzy_plugh', '1', FAKE_KERNEL)).toBe(
      'unknown sysctl "net.ipv4.xyzzy_plugh": not per network namespace on kernel 6.99.0-fake',
    );
  });

  it("a refused value carries the kernel's error; congestion control names what the kernel offers", () => {
    expect(checkSysctl('net.netfilter.nf_conntrack_tcp_be_liberal', '2', FAKE_KERNEL)).toBe(
      'kernel 6.99.0-fake refuses net.netfilter.nf_conntrack_tcp_be_liberal=2: Invalid argument',
    );
    expect(checkSysctl('net.ipv4.tcp_congestion_control', 'vegas', FAKE_KERNEL)).toBe(
      'kernel 6.99.0-fake refuses net.ipv4.tcp_congestion_control=vegas: No such file or directory (this kernel offers: reno, bbr, cubic)',
    );
  });

  it('edit distance and ranking', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(closestNames('net.ipv4.tcp_sackk', FAKE_KERNEL.names)).toEqual(['net.ipv4.tcp_sack', 'net.ipv4.tcp_dsack']);
    // The right leaf under the wrong folder.
    expect(closestNames('net.core.tcp_sack', FAKE_KERNEL.names)[0]).toBe('net.ipv4.tcp_sack');
  });

  it('every place a scenario sets sysctls is checked, at its line', () => {
    const text = `${base}server: { sysctls: { net.core.somaxconnn: 1 } }
client: { sysctls: { net.ipv4.tcp_sack: 1 } }
variants:
  - name: a
    sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 2 }
    client: { sysctls: { net.netfilter.nf_conntrack_max: 5 } }
`;
    expect(problems(text)).toEqual([
      expect.stringMatching(
        /^4: server\.sysctls\.net\.core\.somaxconnn: unknown sysctl .*did you mean net\.core\.somaxconn\?$/,
      ),
      expect.stringMatching(
        /^8: variants\[0\]\.sysctls\.net\.netfilter\.nf_conntrack_tcp_be_liberal: kernel 6\.99\.0-fake refuses .*=2: Invalid argument$/,
      ),
      expect.stringMatching(
        /^9: variants\[0\]\.client\.sysctls\.net\.netfilter\.nf_conntrack_max: .*=5: Permission denied/,
      ),
    ]);
  });

  it('scenarioSysctls lists each name=value once, from server, client, variants and matrix servers', () => {
    const s = parseScenario(
      `${base}server: { sysctls: { net.core.somaxconn: 4096 } }
client: { sysctls: { net.ipv4.tcp_sack: 0 } }
variants:
  - { name: a, sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 0 } }
  - { name: b, sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 }, client: { sysctls: { net.ipv4.tcp_sack: 0 } } }
matrix:
  axes:
    firewall: [asa]
    server: { cc: { sysctls: { net.ipv4.tcp_congestion_control: cubic } } }
`,
      's.yaml',
    );
    expect(scenarioSysctls(s).sort()).toEqual([
      ['net.core.somaxconn', '4096'],
      ['net.ipv4.tcp_congestion_control', 'cubic'],
      ['net.ipv4.tcp_sack', '0'],
      ['net.netfilter.nf_conntrack_tcp_be_liberal', '0'],
      ['net.netfilter.nf_conntrack_tcp_be_liberal', '1'],
    ]);
  });
});

describe('sysctls: the real kernel', () => {
  itWith(
    allOf(requireRoot(), requireTool('unshare: apt-get install -y util-linux')),
    'a throwaway network namespace lists them and tries each value',
    async () => {
      const k = await probeKernelSysctls([
        ['net.netfilter.nf_conntrack_tcp_be_liberal', '1'],
        ['net.netfilter.nf_conntrack_tcp_be_liberal', '2'],
        ['net.core.somaxconn', '8192'],
        ['net.ipv4.tcp_congestion_control', 'no-such-cc'],
      ]);
      expect(k.release).toMatch(/^\d+\.\d+/);
      // Per-namespace entries, conntrack's included; host-wide ones (net.core.netdev_max_backlog) are not.
      expect(k.names.has('net.netfilter.nf_conntrack_tcp_be_liberal')).toBe(true);
      expect(k.names.has('net.core.somaxconn')).toBe(true);
      expect(k.names.has('net.ipv4.tcp_rmem')).toBe(true);
      expect(k.names.has('net.core.netdev_max_backlog')).toBe(false);
      expect(k.congestion).toContain('reno');
      expect([...k.refused]).toEqual([
        ['net.netfilter.nf_conntrack_tcp_be_liberal=2', 'Invalid argument'],
        ['net.ipv4.tcp_congestion_control=no-such-cc', 'No such file or directory'],
      ]);
      const file = `${base}variants:\n  - { name: a, sysctls: { net.netfilter.nf_conntrack_tcp_be_liberl: 1 } }\n`;
      expect(() => parseScenario(file, 'r.yaml', { kernel: k })).toThrow(
        /did you mean net\.netfilter\.nf_conntrack_tcp_be_liberal\?/,
      );
    },
  );
});
