// Both runtimes against the real kernel: the Docker runtime (real engine) and the namespace
// runtime (plain network namespaces, root, no Docker) run the same runtime-agnostic cases (three
// nodes wired with veths, exec/file semantics, real traffic through the middlebox, nothing
// leaking to the host, the server firewall); each also has its own: Docker's labels and name
// clash, netns's private file views and host files untouched; clean teardown and cleanup after a
// SIGKILLed start-up for both. Without Docker (or without root, for netns): fails when CI=true,
// skips (with a message) otherwise.

import { execa } from 'execa';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanLab } from '../../src/runtime/cleanup.js';
import { connectDocker } from '../../src/runtime/connect.js';
import { checkKernel, DockerRuntime } from '../../src/runtime/docker.js';
import { repoRoot } from '../../src/util/repo-root.js';
import { newRunId, runFilter } from '../../src/runtime/labels.js';
import { cleanNetnsLab } from '../../src/runtime/netns/clean.js';
import { findLabProcesses } from '../../src/runtime/netns/procs.js';
import { NETNS_STATE_ROOT, NetnsRuntime } from '../../src/runtime/netns/runtime.js';
import { LAB, standardImages, upStandardLab, type LookupRuntime } from '../../src/runtime/standard-lab.js';
import { CtlabError } from '../../src/errors.js';
import { dockerGate, netnsGate } from './docker-gate.js';
import { describeWith, type Gate } from '../gate.js';
import { sleep } from '../../src/util/sleep.js';

const docker = await dockerGate();
const netns = netnsGate();

const root = repoRoot();

async function labelled(runId: string): Promise<number> {
  const d = await connectDocker();
  return (await d.listContainers({ all: true, filters: runFilter(runId) })).length;
}

/** Processes of a namespace run still alive (by identity or in its namespaces). */
async function netnsLeft(runId: string): Promise<number[]> {
  return (await findLabProcesses((run) => run === runId)).victims;
}

async function hostVeths(): Promise<string[]> {
  const { stdout } = await execa('ip', ['-o', 'link', 'show', 'type', 'veth']);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]!.trim().split('@')[0]!)
    .sort();
}

/** Packet counter of the first FORWARD rule whose text matches `re`, from iptables -v -x. */
async function forwardPackets(rt: LookupRuntime, re: RegExp): Promise<number> {
  const { stdout } = await rt.node('middlebox').exec(['iptables', '-w', '-v', '-x', '-n', '-L', 'FORWARD']);
  const line = stdout.split('\n').find((l) => re.test(l));
  if (!line) throw new Error(`no FORWARD rule matching ${re} in:\n${stdout}`);
  return Number(line.trim().split(/\s+/)[0]);
}

function inLab(addr: string): boolean {
  const m = /^198\.(\d+)\./.exec(addr);
  return m !== null && (m[1] === '18' || m[1] === '19');
}

const sha = (p: string) => (existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'absent');

interface Flavor {
  kind: 'docker' | 'netns';
  gate: Gate;
  create(): Promise<LookupRuntime & { listNodes(): { pid: number }[] }>;
}

const flavors: Flavor[] = [
  { kind: 'docker', gate: docker, create: async () => DockerRuntime.create({ images: await standardImages() }) },
  { kind: 'netns', gate: netns, create: () => NetnsRuntime.create() },
];

describe.each(flavors)('$kind runtime (real kernel)', (f) => {
  describeWith(f.gate, `three wired nodes (${f.kind})`, () => {
    let rt: LookupRuntime & { listNodes(): { pid: number }[] };
    let vethsBefore: string[];
    // Host files a node's set-up writes its own copy of: they must not change.
    const hostFiles = [
      '/etc/nginx/nginx.conf',
      '/usr/local/sbin/ctlab-firewall',
      '/etc/ctlab/middlebox.json',
      '/srv/oai/manifest.json',
      '/var/log/nginx/access.log',
      '/run/nginx.pid',
    ];
    let hostBefore: string[];

    beforeAll(async () => {
      vethsBefore = await hostVeths();
      hostBefore = hostFiles.map(sha);
      rt = await f.create();
      await upStandardLab(rt);
    });

    afterAll(async () => {
      await rt?.destroy();
    });

    it.runIf(f.kind === 'docker')('labels every container with the run id and puts the run id in names', async () => {
      const d = await connectDocker();
      const list = await d.listContainers({ all: true, filters: runFilter(rt.runId) });
      expect(list.map((c) => c.Labels['ctlab.node']).sort()).toEqual(['client', 'middlebox', 'server']);
      for (const c of list) {
        expect(c.Names[0]).toContain(rt.runId);
        expect(c.HostConfig.NetworkMode).toBe('none');
      }
    });

    it("has conntrack and NFQUEUE in the nodes' kernel", async () => {
      expect(await checkKernel(rt.node('server'))).toEqual({ conntrack: true, nfqueue: true });
    });

    it('execs with exit codes, stderr, stdin, timeouts and EXEC errors', async () => {
      const c = rt.node('client');
      const r = await c.exec(['sh', '-c', 'echo out; echo err >&2; exit 3'], { reject: false });
      expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false, node: 'client' });
      await expect(c.exec(['sh', '-c', 'echo boom >&2; exit 7'])).rejects.toMatchObject({
        code: 'EXEC',
        exitCode: 7,
        stderr: 'boom\n',
      });
      expect((await c.exec(['wc', '-c'], { stdin: 'x'.repeat(100_000) })).stdout.trim()).toBe('100000');
      const t0 = Date.now();
      // A duration no other process on the machine uses: netns nodes share the host's pid namespace.
      const nap = `30.${String(Date.now() % 100000).padStart(5, '0')}`;
      const slow = await c.exec(['sleep', nap], { timeoutMs: 700, reject: false });
      expect(slow.timedOut).toBe(true);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect((await c.exec(['pgrep', '-f', `sleep ${nap}`], { reject: false })).exitCode).toBe(1); // killed, not left running
      const bg = await c.exec(['sh', '-c', 'sleep 0.3; echo done > /tmp/bg'], { detach: true });
      expect(bg.exitCode).toBeNull();
      await sleep(800);
      expect((await c.readFile('/tmp/bg')).toString()).toBe('done\n');
    });

    it('reads and writes files byte for byte', async () => {
      const bytes = Buffer.alloc(70_000);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
      await rt.node('server').writeFile('/tmp/blob.bin', bytes);
      expect((await rt.node('server').readFile('/tmp/blob.bin')).equals(bytes)).toBe(true);
      const sum = await rt.node('server').exec(['md5sum', '/tmp/blob.bin']);
      expect(sum.stdout.split(' ')[0]).toMatch(/^[0-9a-f]{32}$/);
      await expect(rt.node('server').readFile('/nonexistent')).rejects.toMatchObject({ code: 'EXEC' });
    });

    it('wires veths with lab addresses, offloads off, and no route out of 198.18.0.0/15', async () => {
      const ifs: Record<string, string[]> = {
        client: ['lo', 'eth-mb'],
        server: ['lo', 'eth-mb'],
        middlebox: ['lo', 'eth-client', 'eth-server'],
      };
      for (const [name, want] of Object.entries(ifs)) {
        const n = rt.node(name);
        const links = (await n.exec(['ip', '-o', 'link'])).stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(':')[1]!.trim().split('@')[0]!);
        expect(links.sort()).toEqual([...want].sort());
        for (const line of (await n.exec(['ip', '-4', '-o', 'route', 'show', 'table', 'all'])).stdout
          .split('\n')
          .filter(Boolean)) {
          const t = line.split(/\s+/);
          const dst = ['local', 'broadcast', 'unicast', 'multicast'].includes(t[0]!) ? t[1]! : t[0]!;
          if (dst === 'default') expect(inLab(t[t.indexOf('via') + 1]!), line).toBe(true);
          else expect(inLab(dst) || dst.startsWith('127.'), line).toBe(true);
        }
        expect((await n.exec(['ip', '-6', '-o', 'route', 'show', 'table', 'all'])).stdout.trim()).toBe('');
      }
      const feats = (await rt.node('client').exec(['ethtool', '-k', 'eth-mb'])).stdout;
      for (const f of [
        'tcp-segmentation-offload',
        'generic-segmentation-offload',
        'generic-receive-offload',
        'tx-checksumming',
        'rx-checksumming',
      ]) {
        expect(feats).toMatch(new RegExp(`^${f}: off`, 'm'));
      }
      expect((await rt.node('middlebox').exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim()).toBe('1');
      expect((await rt.node('server').exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim()).toBe('0');
    });

    it('carries client -> server traffic through the middlebox and none through the host', async () => {
      const mb = rt.node('middlebox');
      // NFQUEUE with no program bound: --queue-bypass lets packets through, and its counter counts them.
      await mb.exec([
        'iptables',
        '-w',
        '-A',
        'FORWARD',
        '-p',
        'tcp',
        '-m',
        'comment',
        '--comment',
        'lab-tcp',
        '-j',
        'NFQUEUE',
        '--queue-num',
        '0',
        '--queue-bypass',
      ]);
      await mb.exec([
        'iptables',
        '-w',
        '-A',
        'FORWARD',
        '-p',
        'icmp',
        '-m',
        'comment',
        '--comment',
        'lab-icmp',
        '-j',
        'ACCEPT',
      ]);
      const tcp0 = await forwardPackets(rt, /lab-tcp/);
      const icmp0 = await forwardPackets(rt, /lab-icmp/);
      expect(tcp0).toBe(0);

      await rt
        .node('client')
        .exec(['ping', '-c', '3', '-i', '0.2', '-W', '2', LAB.server.address.split('/')[0]!], { timeoutMs: 10_000 });
      expect(await forwardPackets(rt, /lab-icmp/)).toBeGreaterThanOrEqual(icmp0 + 6); // 3 requests + 3 replies

      const server = rt.node('server');
      await server.exec(['sh', '-c', 'nc -l -p 9000 > /tmp/got'], { detach: true });
      await server.exec([
        'sh',
        '-c',
        'for i in $(seq 50); do ss -ltn | grep -q :9000 && exit 0; sleep 0.1; done; exit 1',
      ]);
      const payload = `hello-lab-${rt.runId}\n`.repeat(2000); // ~50 kB: many full-sized segments
      await rt
        .node('client')
        .exec(['nc', '-N', '-w', '5', '198.18.2.2', '9000'], { stdin: payload, timeoutMs: 15_000 });
      await server.exec([
        'sh',
        '-c',
        `for i in $(seq 50); do [ "$(wc -c < /tmp/got)" -ge ${payload.length} ] && exit 0; sleep 0.1; done; exit 1`,
      ]);
      expect((await server.readFile('/tmp/got')).toString()).toBe(payload);
      const tcp1 = await forwardPackets(rt, /lab-tcp/);
      expect(tcp1).toBeGreaterThan(payload.length / 1448); // at least one packet per MSS-sized segment

      // The host saw none of it: no lab address, route or conntrack entry in the host's namespace.
      expect((await execa('ip', ['-o', 'addr'])).stdout).not.toContain('198.18.');
      expect((await execa('ip', ['-o', 'route', 'show', 'table', 'all'])).stdout).not.toContain('198.18.');
      const hostCt = existsSync('/proc/net/nf_conntrack')
        ? readFileSync('/proc/net/nf_conntrack', 'utf8')
        : (await execa('conntrack', ['-L'], { reject: false })).stdout;
      expect(hostCt).not.toContain('198.18.');
    });

    it('installs the hardened server firewall, with --no-drop-invalid and --backend legacy', async () => {
      const s = rt.node('server');
      await s.exec(['ctlab-firewall']);
      const rules = (await s.exec(['iptables-nft', '-S'])).stdout;
      expect(rules).toContain('-P INPUT DROP');
      expect(rules).toMatch(/-A INPUT -m conntrack --ctstate INVALID -j CTLAB_INVALID/);
      expect(rules).toMatch(/-A CTLAB_INVALID -j NFLOG --nflog-prefix +"?ctlab-invalid"? --nflog-group 1/);
      expect(rules).toMatch(/-A CTLAB_INVALID -j DROP/);
      // still reachable: ping is allowed, a port that is not 80 is not
      await rt.node('client').exec(['ping', '-c', '1', '-W', '2', '198.18.2.2'], { timeoutMs: 5000 });
      // conntrack is live in the server's namespace once a rule needs it (so the host check above
      // would have seen lab flows had they crossed the host)
      expect((await s.exec(['conntrack', '-L'])).stdout).toContain('src=198.18.1.2');
      const closed = await rt
        .node('client')
        .exec(['nc', '-z', '-w', '1', '198.18.2.2', '9001'], { reject: false, timeoutMs: 5000 });
      expect(closed.exitCode).not.toBe(0);
      await s.exec(['ctlab-firewall', '--no-drop-invalid']);
      expect((await s.exec(['iptables-nft', '-S'])).stdout).not.toContain('--ctstate INVALID');
      await s.exec(['ctlab-firewall', '--backend', 'legacy', '--iperf', '--port', '8080']);
      expect((await s.exec(['iptables-legacy', '-S'])).stdout).toMatch(/--dport 5201/);
      expect((await s.exec(['iptables-legacy', '-S'])).stdout).toMatch(/--dport 8080 .*-j ACCEPT/);
      expect((await s.exec(['iptables-nft', '-S', 'INPUT'])).stdout).not.toContain('-A INPUT');
      await s.exec(['ctlab-firewall', '--flush']);
      expect((await s.exec(['nstat', '-a'])).exitCode).toBe(0);
    });

    it.runIf(f.kind === 'docker')('refuses a clashing container name with a LAB error', async () => {
      const twin = await DockerRuntime.create({ images: await standardImages(), runId: rt.runId });
      await expect(twin.createNode({ name: 'client', role: 'harvester' })).rejects.toMatchObject({
        code: 'LAB',
        message: expect.stringContaining('name clash'),
      });
    });

    it.runIf(f.kind === 'docker')(
      "reads a link helper's own exit: a pair whose name exists fails with File exists, and no helper stays",
      async () => {
        await expect(rt.link({ a: LAB.client, b: LAB.mbClient, mtu: 1500 })).rejects.toMatchObject({
          code: 'LAB',
          message: expect.stringMatching(/^link client:eth-mb <-> middlebox:eth-client failed: .*File exists/),
        });
        const d = await connectDocker();
        const filters = { label: [`ctlab.run=${rt.runId}`, 'ctlab.kind=helper'] };
        expect(await d.listContainers({ all: true, filters })).toEqual([]);
      },
    );

    it.runIf(f.kind === 'netns')('refuses a second runtime with the same run id (name clash)', async () => {
      await expect(NetnsRuntime.create({ runId: rt.runId })).rejects.toMatchObject({
        code: 'LAB',
        message: expect.stringContaining('name clash'),
      });
    });

    it.runIf(f.kind === 'netns')("gives each node a private file view and never writes the host's files", async () => {
      const [c, s] = [rt.node('client'), rt.node('server')];
      const probe = `/tmp/ctlab-probe-${rt.runId}`;
      await c.writeFile(probe, 'client only\n');
      expect((await c.readFile(probe)).toString()).toBe('client only\n');
      await expect(s.readFile(probe)).rejects.toMatchObject({ code: 'EXEC' }); // not in another node
      expect(existsSync(probe)).toBe(false); // not on the host
      // The images' paths exist in every node, from the staged /opt/ctlab and lab/server.
      expect((await s.readFile('/etc/nginx/nginx.conf')).toString()).toBe(
        readFileSync(join(root, 'lab/server/nginx.conf'), 'utf8'),
      );
      expect(
        (
          await s.exec([
            'sh',
            '-c',
            'command -v ctlab-firewall; ls /opt/ctlab/native; test -d /etc/ctlab && test -d /srv/oai && test -d /run/ctlab && echo dirs',
          ])
        ).stdout,
      ).toBe('/usr/local/sbin/ctlab-firewall\nnfqueue.node\ndirs\n');
      // What the set-up writes lands in the node only.
      await s.exec([
        'sh',
        '-c',
        'echo x > /etc/ctlab/probe && echo x > /srv/oai/probe && echo x > /var/log/nginx/probe && echo x > /var/lib/nginx/probe',
      ]);
      for (const p of ['/etc/ctlab/probe', '/srv/oai/probe', '/var/log/nginx/probe', '/var/lib/nginx/probe'])
        expect(existsSync(p), p).toBe(false);
      expect((await c.exec(['cat', '/var/log/nginx/probe'], { reject: false })).exitCode).not.toBe(0);
      // Host directories are bound read-only: a node cannot write the host's programs.
      const ro = await s.exec(['sh', '-c', 'echo x > /usr/ctlab-probe'], { reject: false });
      expect(ro.exitCode).not.toBe(0);
      expect(ro.stderr).toMatch(/Read-only file system/);
      // Each node has its own hostname, and lo is up.
      expect((await s.exec(['hostname'])).stdout.trim()).toBe('server');
      expect((await c.exec(['ping', '-c', '1', '-W', '2', '127.0.0.1'], { timeoutMs: 5000 })).exitCode).toBe(0);
    });

    it.runIf(f.kind === 'netns')(
      "removeNode() kills everything in that node's namespace, even a process that dropped the identity",
      async () => {
        const spare = await (rt as NetnsRuntime).createNode({ name: 'spare', role: 'harvester' });
        const ns = readlinkSync(`/proc/${spare.pid}/ns/net`);
        // env -i: no CTLAB_RUN in its environment; setsid: not in any group ctlab knows.
        await spare.exec(['env', '-i', '/usr/bin/setsid', 'sleep', '301'], { detach: true });
        await sleep(300);
        const inNs = async () =>
          (await findLabProcesses(() => true)).victims.filter((pid) => {
            try {
              return readlinkSync(`/proc/${pid}/ns/net`) === ns;
            } catch {
              return false;
            }
          });
        expect((await inNs()).length).toBeGreaterThanOrEqual(2); // holder + sleep
        await (rt as NetnsRuntime).removeNode('spare');
        expect(await inNs()).toEqual([]);
        expect(existsSync(join(NETNS_STATE_ROOT, rt.runId, 'nodes', 'spare'))).toBe(false);
      },
    );

    it('destroy() leaves no lab object and no veth on the host', async () => {
      const pids = rt.listNodes().map((n) => n.pid);
      await rt.destroy();
      await rt.destroy(); // idempotent
      if (f.kind === 'docker') expect(await labelled(rt.runId)).toBe(0);
      if (f.kind === 'netns') {
        expect(await netnsLeft(rt.runId)).toEqual([]);
        for (const pid of pids) expect(existsSync(`/proc/${pid}/ns/net`), `holder ${pid}`).toBe(false);
        expect(existsSync(join(NETNS_STATE_ROOT, rt.runId))).toBe(false);
        // No namespace of the run is left: every net namespace still in use belongs to a process without our identity.
        const { stdout } = await execa('sh', ['-c', `grep -lsa 'CTLAB_RUN=${rt.runId}' /proc/[0-9]*/environ || true`]);
        expect(stdout.trim()).toBe('');
        expect(hostFiles.map(sha)).toEqual(hostBefore);
      }
      // Other users of this machine may add or remove their own veths meanwhile: only ours matter.
      const ours = ['eth-mb', 'eth-client', 'eth-server'];
      const appeared = (await hostVeths()).filter((n) => !vethsBefore.includes(n));
      expect(appeared.filter((n) => ours.includes(n))).toEqual([]);
      const names = (await execa('ip', ['-o', 'link'])).stdout;
      for (const ifname of ours) {
        expect(names).not.toContain(`${ifname}:`);
        expect(names).not.toContain(`${ifname}@`);
      }
    });
  });
});

/** A child lab process with its output (stdout and stderr together) and its exit code or signal. */
function watched(p: ChildProcessByStdio<null, Readable, Readable>) {
  let out = '';
  p.stdout.on('data', (d) => {
    out += d;
  });
  p.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | string | null>((res) => p.on('exit', (code, sig) => res(code ?? sig)));
  return { p, exited, output: () => out };
}

describeWith(docker, 'cleanup after a killed run (real Docker)', () => {
  const child = join(root, 'dist', 'bench', 'lab-up.js');

  beforeAll(async () => {
    if (!existsSync(child)) throw new CtlabError('HOST', `${child} is missing`, { hint: 'run `npm run build` first' });
    await standardImages(); // warm, so the child starts creating containers at once
  });

  async function startChild(runId: string) {
    return watched(
      spawn(process.execPath, [child, '--hold', '--run-id', runId], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
  }

  it('SIGKILL mid start-up leaves only labelled containers, and cleanLab({runId}) removes them all', async () => {
    const runId = newRunId();
    const c = await startChild(runId);
    const deadline = Date.now() + 30_000;
    while ((await labelled(runId)) === 0) {
      if (Date.now() > deadline) throw new Error(`child created no container:\n${c.output()}`);
      await sleep(25);
    }
    c.p.kill('SIGKILL');
    expect(await c.exited).toBe('SIGKILL');
    await sleep(300); // a create already sent to dockerd may still land
    const left = await labelled(runId);
    expect(left).toBeGreaterThan(0); // the killed child could not clean up
    const removed = await cleanLab({ runId });
    expect(removed.containers.length).toBe(left);
    expect(removed.containers.every((x) => x.runId === runId)).toBe(true);
    expect(await labelled(runId)).toBe(0);
  }, 60_000);

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)(
    '%s during a run destroys the lab and exits %i',
    async (signal, code) => {
      const runId = newRunId();
      const c = await startChild(runId);
      const deadline = Date.now() + 30_000;
      while (!c.output().includes('holding')) {
        if (Date.now() > deadline) throw new Error(`child did not come up:\n${c.output()}`);
        await sleep(50);
      }
      expect(await labelled(runId)).toBe(3);
      c.p.kill(signal);
      expect(await c.exited).toBe(code);
      expect(await labelled(runId)).toBe(0);
    },
    60_000,
  );
});

describeWith(netns, 'cleanup after a killed run (netns)', () => {
  // The child brings the standard lab up with the compiled runtime, under the CLI's signal traps.
  const dist = (p: string) => pathToFileURL(join(root, 'dist', 'src', 'runtime', p)).href;
  const code = `
    const { NetnsRuntime } = await import(${JSON.stringify(dist('netns/runtime.js'))});
    const { upStandardLab } = await import(${JSON.stringify(dist('standard-lab.js'))});
    const { installCleanupTraps } = await import(${JSON.stringify(dist('cleanup.js'))});
    const rt = await NetnsRuntime.create({ runId: process.env.NETNS_TEST_RUN_ID });
    installCleanupTraps(rt);
    console.log('starting ' + rt.runId);
    await upStandardLab(rt);
    console.log('holding');
    setInterval(() => undefined, 60_000);`;

  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'src', 'runtime', 'netns', 'runtime.js')))
      throw new CtlabError('HOST', 'dist/src/runtime/netns/runtime.js is missing', {
        hint: 'run `npm run build` first',
      });
  });

  function startChild(runId: string) {
    return watched(
      spawn(process.execPath, ['--input-type=module', '-e', code], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NETNS_TEST_RUN_ID: runId },
      }),
    );
  }

  it("SIGKILL mid start-up leaves only that run's processes, and cleanNetnsLab({runId}) removes them all and nothing else", async () => {
    // A bystander lab of another run must survive the clean.
    const other = await NetnsRuntime.create();
    try {
      const bystander = await other.createNode({ name: 'bystander', role: 'harvester' });
      const runId = newRunId();
      const c = startChild(runId);
      const deadline = Date.now() + 30_000;
      // Mid start-up: once the first node is up (a holder that dies before it is ready takes its
      // namespaces with it: nothing to clean), while the others are still being made and wired.
      const nodesDir = join(NETNS_STATE_ROOT, runId, 'nodes');
      const up = () =>
        existsSync(nodesDir)
          ? readdirSync(nodesDir).filter((n) => existsSync(join(nodesDir, n, 'holder.json'))).length
          : 0;
      while (up() === 0) {
        if (Date.now() > deadline) throw new Error(`child created no node:\n${c.output()}`);
        await sleep(5);
      }
      expect(c.output()).not.toContain('holding');
      c.p.kill('SIGKILL');
      expect(await c.exited).toBe('SIGKILL');
      await sleep(300);
      const left = await netnsLeft(runId);
      expect(left.length).toBeGreaterThan(0); // the killed child could not clean up
      expect(existsSync(join(NETNS_STATE_ROOT, runId))).toBe(true);
      const removed = await cleanNetnsLab({ runId });
      expect(removed.processes).toBeGreaterThanOrEqual(left.length);
      expect(removed.nodes.length).toBeGreaterThan(0);
      expect(removed.nodes.every((n) => n.runId === runId)).toBe(true);
      expect(removed.stateDirs).toEqual([join(NETNS_STATE_ROOT, runId)]);
      expect(await netnsLeft(runId)).toEqual([]);
      expect(existsSync(join(NETNS_STATE_ROOT, runId))).toBe(false);
      // nothing else: the other run's node still answers
      expect((await bystander.exec(['true'])).exitCode).toBe(0);
      expect((await netnsLeft(other.runId)).length).toBeGreaterThan(0);
    } finally {
      await other.destroy();
    }
    expect(await netnsLeft(other.runId)).toEqual([]);
  }, 60_000);

  it('SIGTERM during a run destroys the lab and exits 143', async () => {
    const runId = newRunId();
    const c = startChild(runId);
    const deadline = Date.now() + 30_000;
    while (!c.output().includes('holding')) {
      if (Date.now() > deadline || c.p.exitCode !== null) throw new Error(`child did not come up:\n${c.output()}`);
      await sleep(50);
    }
    expect(new Set((await findLabProcesses((run) => run === runId)).nodes.map((n) => n.node))).toEqual(
      new Set(['client', 'middlebox', 'server']),
    );
    c.p.kill('SIGTERM');
    expect(await c.exited).toBe(143);
    expect(await netnsLeft(runId)).toEqual([]);
    expect(existsSync(join(NETNS_STATE_ROOT, runId))).toBe(false);
  }, 60_000);
});
