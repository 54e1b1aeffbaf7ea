// The namespace runtime's pure parts: the holder script (valid sh, quoting, sysctls, the
// private mounts it promises), identity parsing, host program checks, and the shared veth code.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  configureEndScript,
  NODE_DEFAULT_SYSCTLS,
  validateLinkSpec,
  vethAddCommand,
  wireLink,
} from '../../../src/runtime/link.js';
import { missingMessage, missingPrograms } from '../../../src/runtime/host-programs.js';
import { holderScript } from '../../../src/runtime/netns/holder.js';
import { shq } from '../../../src/util/shq.js';
import { NETNS_HOST_PROGRAMS } from '../../../src/runtime/netns/host-check.js';
import { parseEnviron } from '../../../src/runtime/netns/procs.js';
import { CtlabError } from '../../../src/errors.js';
import type { ExecOptions, ExecResult, LabNode, LinkSpec } from '../../../src/runtime/types.js';

const plan = {
  root: '/run/ctlab-netns/r1/nodes/server/root',
  optRoot: "/tmp/o p't",
  hostname: 'server',
  sysctls: { ...NODE_DEFAULT_SYSCTLS, 'net.ipv4.tcp_rmem': '4096 131072 6291456' },
};

describe('holderScript', () => {
  const script = holderScript(plan);

  it('is valid sh', () => {
    const r = spawnSync('sh', ['-n', '-c', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('sets every sysctl in one sysctl -w, values with spaces quoted', () => {
    const line = script.split('\n').find((l) => l.startsWith('sysctl '))!;
    expect(line).toContain("'net.ipv4.ip_forward=0'");
    expect(line).toContain("'net.ipv6.conf.all.disable_ipv6=1'");
    expect(line).toContain("'net.ipv4.tcp_rmem=4096 131072 6291456'");
  });

  it('quotes paths with quotes and spaces so sh sees them verbatim', () => {
    const r = spawnSync('sh', ['-c', `O=${shq(plan.optRoot)}; printf %s "$O"`], { encoding: 'utf8' });
    expect(r.stdout).toBe(plan.optRoot);
    expect(script).toContain(`O=${shq(plan.optRoot)}`);
  });

  it('promises the private view: tmpfs root, /etc copied, private /run /tmp and nginx dirs, opt bound read-only, pivot, lo up, ready', () => {
    const order = [
      'mount -t tmpfs -o mode=0755 ctlab-root "$R"',
      'mount -t proc proc "$R/proc"',
      'mount -t tmpfs -o mode=0755 tmpfs "$R/run"',
      'mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"',
      'cp -a /etc "$R/etc"',
      'mount --bind -o ro "$O" "$R/opt/ctlab"',
      'cp "$O/lab/server/firewall.sh" "$R/usr/local/sbin/ctlab-firewall"',
      'pivot_root . .ctlab-oldroot',
      'ip link set lo up',
      'echo ready',
      'exec $HOLD sleep infinity',
    ];
    let at = -1;
    for (const s of order) {
      const i = script.indexOf(s);
      expect(i, s).toBeGreaterThan(at);
      at = i;
    }
    expect(script).toMatch(/for w in \/var\/log\/nginx \/var\/lib\/nginx \/var\/tmp; do/);
    // host directories are bound read-only, never writable
    expect(script).not.toMatch(/mount --bind (?!-o ro)/);
  });

  it('refuses sysctl names and host names that could inject shell', () => {
    expect(() => holderScript({ ...plan, sysctls: { 'a;rm -rf /': '1' } })).toThrow(CtlabError);
    expect(() => holderScript({ ...plan, hostname: 'x$(id)' })).toThrow(CtlabError);
  });
});

describe('identity and host checks', () => {
  it('parses /proc/<pid>/environ', () => {
    expect(parseEnviron(Buffer.from('A=1\0CTLAB_RUN=r-1\0CTLAB_NODE=server\0EMPTY=\0junk\0'))).toEqual({
      A: '1',
      CTLAB_RUN: 'r-1',
      CTLAB_NODE: 'server',
      EMPTY: '',
    });
  });

  it('finds programs on PATH only if executable, and names the apt package of the missing ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctlab-path-'));
    writeFileSync(join(dir, 'fakeprog-x'), '#!/bin/sh\n');
    chmodSync(join(dir, 'fakeprog-x'), 0o755);
    writeFileSync(join(dir, 'fakeprog-noexec'), '');
    const r = missingPrograms(
      [
        { program: 'fakeprog-x', pkg: 'px', why: 'a' },
        { program: 'fakeprog-noexec', pkg: 'pn', why: 'b' },
        { program: 'fakeprog-absent', pkg: 'pn', why: 'c' },
      ],
      dir,
    );
    expect(r.programs['fakeprog-x']).toBe(join(dir, 'fakeprog-x'));
    expect(r.missing.map((m) => m.program)).toEqual(['fakeprog-noexec', 'fakeprog-absent']);
    const m = missingMessage(r.missing);
    expect(m.message).toContain('fakeprog-absent (pn: c)');
    expect(m.hint).toBe('apt-get install -y pn');
  });

  it('needs the programs the topology and the images rely on', () => {
    const names = NETNS_HOST_PROGRAMS.map((p) => p.program);
    for (const p of [
      'unshare',
      'nsenter',
      'node',
      'nginx',
      'iptables-nft',
      'iptables-legacy',
      'conntrack',
      'tcpdump',
      'ip',
      'tc',
      'ethtool',
      'nstat',
      'sysctl',
    ])
      expect(names).toContain(p);
  });
});

describe('shared veth wiring (link.ts)', () => {
  const spec: LinkSpec = {
    a: { node: 'c', ifname: 'eth0', address: '198.18.1.2/24' },
    b: { node: 'm', ifname: 'eth1', address: '198.18.1.1/24' },
    mtu: 1500,
  };

  it('creates both ends straight in the nodes (by pid) and configures each end with offloads off', () => {
    expect(vethAddCommand(spec, 11, 22)).toEqual([
      'ip',
      'link',
      'add',
      'eth0',
      'netns',
      '11',
      'type',
      'veth',
      'peer',
      'name',
      'eth1',
      'netns',
      '22',
    ]);
    const s = configureEndScript(spec.a, 1400);
    expect(s.split('\n')).toEqual([
      'set -e',
      'ip link set dev eth0 mtu 1400',
      'ip addr add 198.18.1.2/24 dev eth0',
      'ethtool -K eth0 tso off gso off gro off tx off rx off',
      'ip link set dev eth0 up',
    ]);
  });

  it('rejects names and addresses that must not reach a shell', () => {
    expect(() => validateLinkSpec({ ...spec, a: { ...spec.a, ifname: 'eth0;reboot' } })).toThrow(/bad interface name/);
    expect(() => validateLinkSpec({ ...spec, a: { ...spec.a, ifname: 'a-name-too-long-x' } })).toThrow(
      /bad interface name/,
    );
    expect(() => validateLinkSpec({ ...spec, b: { ...spec.b, address: '198.18.1.300/24' } })).toThrow(/bad address/);
    expect(() => validateLinkSpec({ ...spec, mtu: 10 })).toThrow(/bad MTU/);
  });

  function fakeNode(name: string, pid: number, fail: boolean, log: string[]): LabNode {
    return {
      spec: { name, role: 'server' },
      id: name,
      pid,
      async exec(cmd: string[], _o?: ExecOptions): Promise<ExecResult> {
        log.push(`${name}: ${cmd.join(' ').split('\n')[1] ?? cmd.join(' ')}`);
        if (fail && cmd[0] === 'sh') throw new CtlabError('EXEC', 'x failed', { stderr: 'Cannot find device "eth0"' });
        return { command: cmd, node: name, exitCode: 0, stdout: '', stderr: '', timedOut: false, durationMs: 0 };
      },
      readFile: async () => Buffer.alloc(0),
      writeFile: async () => undefined,
    };
  }

  it('adds the pair once, then configures both ends; a failing end is reported, never rewired', async () => {
    const log: string[] = [];
    const adds: string[][] = [];
    await wireLink(spec, fakeNode('c', 11, false, log), fakeNode('m', 22, false, log), async (cmd) => {
      adds.push(cmd);
    });
    expect(adds).toEqual([vethAddCommand(spec, 11, 22)]);
    expect(log.sort()).toEqual(['c: ip link set dev eth0 mtu 1500', 'm: ip link set dev eth1 mtu 1500']);
    const adds2: string[][] = [];
    await expect(
      wireLink(spec, fakeNode('c', 11, true, []), fakeNode('m', 22, false, []), async (cmd) => {
        adds2.push(cmd);
      }),
    ).rejects.toThrow('x failed');
    expect(adds2.length).toBe(1);
  });
});
