// The middlebox process against the real kernel: three network namespaces on the host
// (client <-> mb <-> server, veths, offloads off), all forwarded TCP through NFQUEUE with no
// bypass, the bundled middlebox (dist/bundle/middlebox.mjs) with the addon built on the host.
// Needs root, ip, iptables, ethtool, tcpdump, gcc + libnetfilter-queue-dev. With CI=true a
// missing prerequisite fails the suite; otherwise it is skipped.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAddon, createTopo, missingPrereqs, SERVER_IP, type Topo } from '../../bench/netns.js';
import { BUNDLES } from '../../src/bundles.js';
import { repoRoot } from '../../src/util/repo-root.js';
import { networkLayer, readPcap } from '../../src/packet/pcap.js';
import type { MiddleboxCounters } from '../../src/middlebox/engine.js';
import type { CountersSnapshot } from '../../src/middlebox/runner.js';
import type { MiddleboxProfile, PathModel } from '../../src/scenario/model.js';
import { describeWith, gate } from '../gate.js';
import { sleep } from '../../src/util/sleep.js';

const MAIN = join(repoRoot(), BUNDLES.middlebox.out);
const prerequisites = gate(
  ...missingPrereqs(['tcpdump', 'gcc']),
  !existsSync(MAIN) && `${MAIN} (run npm run build)`,
  !existsSync('/usr/include/libnetfilter_queue/libnetfilter_queue.h') && 'libnetfilter-queue-dev',
);

const PORT = 8080;
const QUEUE = 7;
const profile = (p: Partial<MiddleboxProfile> = {}): MiddleboxProfile => ({
  name: 'test',
  isn: { client: false, server: false },
  sackTranslation: true,
  options: { sackPermitted: { strip: 'none' }, windowScale: { strip: 'none' }, timestamps: { strip: 'none' } },
  ...p,
});
const path = (p: Partial<PathModel> = {}): PathModel => ({
  delayMs: 0,
  rateMbit: 0,
  loss: { kind: 'none' },
  reorder: { rate: 0, extraDelayMs: 0 },
  ...p,
});

// One small TCP tool, run with the host's node inside the namespaces.
const APP = String.raw`
import net from 'node:net';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
const [mode, host, port, a, b, c] = process.argv.slice(2);
if (mode === 'server') {
  const data = readFileSync(a);
  const chunk = Number(b || 0), tickMs = Number(c || 0);
  net.createServer((s) => {
    s.on('error', () => {});
    if (!chunk) { s.end(data); return; }
    let o = 0;
    const t = setInterval(() => {
      if (o >= data.length) { clearInterval(t); s.end(); return; }
      s.write(data.subarray(o, o + chunk)); o += chunk;
    }, tickMs);
    s.on('close', () => clearInterval(t));
  }).listen(Number(port), host, () => process.stdout.write('listening\n'));
} else if (mode === 'client') {
  const idleMs = Number(a);
  const t0 = performance.now();
  let connectMs = -1, bytes = 0, done = false;
  const h = createHash('sha256');
  const s = net.connect({ host, port: Number(port) });
  const finish = (complete, error) => {
    if (done) return; done = true;
    process.stdout.write(JSON.stringify({ complete, error, connectMs, bytes, sha256: h.digest('hex') }) + '\n');
    s.destroy(); process.exit(0);
  };
  s.setTimeout(idleMs, () => finish(false, 'idle timeout'));
  s.on('connect', () => { connectMs = performance.now() - t0; });
  s.on('data', (d) => { bytes += d.length; h.update(d); });
  s.on('end', () => finish(true));
  s.on('error', (e) => finish(false, e.code || e.message));
} else if (mode === 'connect') {
  const n = Number(a), timeoutMs = Number(b);
  const times = [];
  const one = () => new Promise((res) => {
    const t0 = performance.now();
    const s = net.connect({ host, port: Number(port) });
    s.setTimeout(timeoutMs, () => { s.destroy(); res(-1); });
    s.on('connect', () => { res(performance.now() - t0); s.destroy(); });
    s.on('error', () => res(-1));
  });
  for (let i = 0; i < n; i++) times.push(await one());
  process.stdout.write(JSON.stringify(times) + '\n');
}
`;

describeWith(prerequisites, 'middlebox on the host kernel', () => {
  const work = mkdtempSync(join(tmpdir(), 'ctlab-mbtest-'));
  const prefix = `ctmb${process.pid % 100000}`;
  let topo: Topo;
  let addon: string;
  const appPath = join(work, 'app.mjs');
  const children: ChildProcess[] = [];

  beforeAll(() => {
    addon = buildAddon(join(work, 'native'));
    writeFileSync(appPath, APP);
    // The reference server firewall (INVALID -> counted DROP) is on for every test; only the
    // conntrack test asserts on it.
    topo = createTopo(prefix, { queue: QUEUE, serverFirewall: { tcpPorts: [PORT, PORT + 1, PORT + 2] } });
    topo.forwardToQueue(true);
  });

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    topo?.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  /** A file of random bytes and its sha256. */
  function payload(name: string, bytes: number): { file: string; sha256: string } {
    const file = join(work, name);
    const data = randomBytes(bytes);
    writeFileSync(file, data);
    return { file, sha256: createHash('sha256').update(data).digest('hex') };
  }

  function waitLine(child: ChildProcess, re: RegExp, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      let out = '',
        err = '';
      const t = setTimeout(
        () => reject(new Error(`${what}: no ${re} within ${timeoutMs} ms; stderr: ${err}`)),
        timeoutMs,
      );
      child.stdout!.on('data', (d) => {
        out += String(d);
        if (re.test(out)) {
          clearTimeout(t);
          resolve();
        }
      });
      child.stderr!.on('data', (d) => {
        err += String(d);
      });
      child.on('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`${what} exited ${code} before ${re}; stderr: ${err}`));
      });
    });
  }

  async function startServer(
    file: string,
    pace?: { chunk: number; tickMs: number },
    port = PORT,
  ): Promise<ChildProcess> {
    const args = ['node', appPath, 'server', SERVER_IP, String(port), file];
    args.push(String(pace?.chunk ?? 0), String(pace?.tickMs ?? 0));
    const s = topo.spawn(topo.server, args);
    children.push(s);
    await waitLine(s, /listening/, 'test server');
    return s;
  }

  interface Mb {
    child: ChildProcess;
    countersFile: string;
    flowsFile: string;
    stderr: () => string;
    exited: Promise<number | null>;
  }
  async function startMb(p: MiddleboxProfile, pm: PathModel): Promise<Mb> {
    const id = Math.random().toString(36).slice(2, 8);
    const cfgFile = join(work, `mb-${id}.json`);
    const countersFile = join(work, `counters-${id}.json`);
    const flowsFile = join(work, `flows-${id}.jsonl`);
    writeFileSync(cfgFile, JSON.stringify({ queue: QUEUE, seed: 7, profile: p, path: pm, countersFile, flowsFile }));
    const child = topo.spawn(topo.mb, [process.execPath, MAIN, '--config', cfgFile], {
      env: { ...process.env, CTLAB_NFQUEUE_ADDON: addon },
    });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (d) => {
      err += String(d);
    });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    await waitLine(child, /^ready$/m, 'middlebox');
    return { child, countersFile, flowsFile, stderr: () => err, exited };
  }

  async function stopMb(
    mb: Mb,
  ): Promise<{ counters: CountersSnapshot & { engine: MiddleboxCounters }; flows: unknown[] }> {
    mb.child.kill('SIGTERM');
    const code = await mb.exited;
    expect(code, `middlebox exit code; stderr: ${mb.stderr()}`).toBe(0);
    const counters = JSON.parse(readFileSync(mb.countersFile, 'utf8'));
    const flows = readFileSync(mb.flowsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    return { counters, flows };
  }

  function client(
    idleMs: number,
    timeoutMs = 30_000,
    port = PORT,
  ): Promise<{ complete: boolean; error?: string; connectMs: number; bytes: number; sha256: string }> {
    return new Promise((resolve, reject) => {
      const c = topo.spawn(topo.client, ['node', appPath, 'client', SERVER_IP, String(port), String(idleMs)]);
      children.push(c);
      let out = '',
        err = '';
      const t = setTimeout(() => {
        c.kill('SIGKILL');
        reject(new Error(`client did not finish in ${timeoutMs} ms`));
      }, timeoutMs);
      c.stdout!.on('data', (d) => {
        out += String(d);
      });
      c.stderr!.on('data', (d) => {
        err += String(d);
      });
      c.on('exit', () => {
        clearTimeout(t);
        try {
          resolve(JSON.parse(out.trim().split('\n').pop()!));
        } catch {
          reject(new Error(`client output ${JSON.stringify(out)} stderr ${err}`));
        }
      });
    });
  }

  it('pass-through: a 4 MB transfer is byte-exact and every packet goes through the binding', async () => {
    const { file, sha256 } = payload('pass.bin', 4 << 20);
    const srv = await startServer(file);
    const mb = await startMb(profile(), path());
    try {
      const r = await client(5000);
      expect(r).toMatchObject({ complete: true, bytes: 4 << 20, sha256 });
    } finally {
      srv.kill();
    }
    const { counters, flows } = await stopMb(mb);
    // 4 MiB in 1448-byte segments is > 2,900 data packets one way.
    expect(counters.binding.packets).toBeGreaterThan(2900);
    expect(counters.binding.verdicts).toBe(counters.binding.packets);
    expect(counters.binding.batches).toBeGreaterThan(0);
    expect(counters.binding.enobufs).toBe(0);
    expect(counters.binding.verdictErrors).toBe(0);
    expect(counters.engine.packetsSeen).toBe(counters.binding.packets);
    expect(counters.kernel).toMatchObject({ queue: QUEUE, queueDropped: 0, userDropped: 0 });
    expect(flows.length).toBe(1);
  });

  it('ISN randomization with fixed offsets shifts seq/ack by exactly those offsets on the wire', async () => {
    const dc = 0x10000000,
      ds = 0xf0000001;
    const { file, sha256 } = payload('isn.bin', 300_000);
    const srv = await startServer(file);
    const mb = await startMb(
      profile({ isn: { client: true, server: true }, fixedOffsets: { client: dc, server: ds } }),
      path(),
    );
    const capC = join(work, 'client.pcap'),
      capS = join(work, 'server.pcap');
    const tcpdump = (node: typeof topo.client, file: string) =>
      topo.spawn(node, [
        'tcpdump',
        '--immediate-mode',
        '-U',
        '-n',
        '-s',
        '128',
        '-i',
        'eth0',
        '-w',
        file,
        'tcp port 8080',
      ]);
    const dumps = [tcpdump(topo.client, capC), tcpdump(topo.server, capS)];
    children.push(...dumps);
    await Promise.all(
      dumps.map(
        (d) =>
          new Promise<void>((res, rej) => {
            let e = '';
            d.stderr!.on('data', (x) => {
              e += String(x);
              if (/listening on/.test(e)) res();
            });
            d.on('exit', (code) => rej(new Error(`tcpdump exited ${code}: ${e}`)));
          }),
      ),
    );
    try {
      const r = await client(5000);
      expect(r).toMatchObject({ complete: true, bytes: 300_000, sha256 });
    } finally {
      srv.kill();
      await sleep(300);
      await Promise.all(
        dumps.map(
          (d) =>
            new Promise((res) => {
              d.on('exit', res);
              d.kill('SIGINT');
            }),
        ),
      );
    }
    await stopMb(mb);

    type Seg = { c2s: boolean; flags: number; seq: number; ack: number };
    const segs = (file: string): Seg[] => {
      const pc = readPcap(readFileSync(file));
      const out: Seg[] = [];
      for (const p of pc.packets) {
        const nl = networkLayer(pc.linktype, p.data);
        if (nl?.ipVersion !== 4) continue;
        const ip = p.data.subarray(nl.offset);
        const t = ip.subarray((ip[0]! & 15) * 4);
        const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
        out.push({ c2s: dv.getUint16(2) === PORT, flags: t[13]!, seq: dv.getUint32(4), ack: dv.getUint32(8) });
      }
      return out;
    };
    const atClient = segs(capC),
      atServer = segs(capS);
    // Translate each side's view into the other's and compare as multisets: veth delivery on
    // two CPUs may swap two packets, but every segment must appear shifted by exactly the offsets.
    const key = (s: Seg) => `${s.flags}/${s.seq}/${s.flags & 0x10 ? s.ack : '-'}`;
    const sorted = (xs: string[]) => [...xs].sort();
    for (const c2s of [true, false]) {
      const a = atClient.filter((s) => s.c2s === c2s),
        b = atServer.filter((s) => s.c2s === c2s);
      expect(a.length).toBeGreaterThan(c2s ? 10 : 200);
      expect(b.length).toBe(a.length); // no loss on this path
      // client -> server: seq gains dc, ack (of server data) loses ds; server -> client: seq gains ds, ack loses dc
      const [dSeq, dAck] = c2s ? [dc, -ds] : [ds, -dc];
      const expectedAtServer = c2s
        ? a.map((x) => key({ ...x, seq: (x.seq + dSeq) >>> 0, ack: (x.ack + dAck) >>> 0 }))
        : a.map((x) => key({ ...x, seq: (x.seq - dSeq) >>> 0, ack: (x.ack - dAck) >>> 0 }));
      expect(sorted(b.map(key))).toEqual(sorted(expectedAtServer));
      // And the SYN / SYN-ACK, exactly.
      const syn = c2s ? 0x02 : 0x12;
      expect(b.find((s) => s.flags === syn)!.seq).toBe(
        c2s ? (a.find((s) => s.flags === syn)!.seq + dc) >>> 0 : (a.find((s) => s.flags === syn)!.seq - ds) >>> 0,
      );
    }
  });

  it('fails closed: killing the middlebox mid-transfer stops traffic instead of bypassing', async () => {
    // 8 MB paced at 64 KB / 10 ms (about 1.3 s): the kill lands in the middle.
    const { file } = payload('closed.bin', 8 << 20);
    const srv = await startServer(file, { chunk: 65536, tickMs: 10 });
    const mb = await startMb(profile({ isn: { client: true, server: true } }), path());
    try {
      const pending = client(2500);
      await sleep(400);
      mb.child.kill('SIGKILL');
      expect(await mb.exited).toBe(null); // killed by the signal
      const r = await pending;
      expect(r.complete).toBe(false);
      expect(r.bytes).toBeGreaterThan(0);
      expect(r.bytes).toBeLessThan(8 << 20);
      // And nothing new gets through either: the rule has no --queue-bypass.
      const c = topo.spawn(topo.client, ['node', appPath, 'connect', SERVER_IP, String(PORT), '1', '1500']);
      children.push(c);
      let out = '';
      c.stdout!.on('data', (d) => {
        out += String(d);
      });
      await new Promise((res) => c.on('exit', res));
      expect(JSON.parse(out)).toEqual([-1]);
    } finally {
      srv.kill();
    }
  });

  it('delay: 20 ms one way makes the connect RTT >= 40 ms, and held rewritten packets stay byte-exact', async () => {
    const { file, sha256 } = payload('delay.bin', 1 << 20);
    const srv = await startServer(file);
    const mb = await startMb(profile({ isn: { client: true, server: true } }), path({ delayMs: 20 }));
    try {
      const c = topo.spawn(topo.client, ['node', appPath, 'connect', SERVER_IP, String(PORT), '5', '3000']);
      children.push(c);
      let out = '';
      c.stdout!.on('data', (d) => {
        out += String(d);
      });
      await new Promise((res) => c.on('exit', res));
      const times = JSON.parse(out) as number[];
      for (const t of times) {
        expect(t).toBeGreaterThanOrEqual(40);
        expect(t).toBeLessThan(200);
      }
      const r = await client(5000);
      expect(r).toMatchObject({ complete: true, bytes: 1 << 20, sha256 });
    } finally {
      srv.kill();
    }
    await sleep(200); // let the last held packets (FIN, ACK) go
    const { counters } = await stopMb(mb);
    expect(counters.binding.held).toBeGreaterThan(700); // every packet was held
    expect(counters.binding.released).toBe(counters.binding.held);
    expect(counters.hold.depth).toBe(0);
    expect(counters.hold.poolOverflows).toBe(0);
  });

  it('exits 1 with one clear line on a bad config, and when the queue is already bound', async () => {
    const bad = join(work, 'bad.json');
    writeFileSync(bad, JSON.stringify({ queue: QUEUE, seed: 1 }));
    const r1 = spawnSync(process.execPath, [MAIN, '--config', bad], {
      encoding: 'utf8',
      env: { ...process.env, CTLAB_NFQUEUE_ADDON: addon },
    });
    expect(r1.status).toBe(1);
    expect(r1.stdout).not.toMatch(/ready/);
    expect(r1.stderr.trim()).toBe(
      `middlebox: fatal: middlebox config ${bad}: profile: required (object) (and 3 more problems)`,
    );

    const mb = await startMb(profile(), path());
    try {
      const cfg = join(work, 'second.json');
      writeFileSync(
        cfg,
        JSON.stringify({
          queue: QUEUE,
          seed: 1,
          profile: profile(),
          path: path(),
          countersFile: join(work, 'c2.json'),
          flowsFile: join(work, 'f2.jsonl'),
        }),
      );
      const r2 = spawnSync('ip', ['netns', 'exec', topo.mb, process.execPath, MAIN, '--config', cfg], {
        encoding: 'utf8',
        timeout: 10_000,
        env: { ...process.env, CTLAB_NFQUEUE_ADDON: addon },
      });
      expect(r2.status).toBe(1);
      expect(r2.stdout).not.toMatch(/ready/);
      // The kernel answers EPERM when another socket owns the queue.
      expect(r2.stderr).toMatch(/^middlebox: fatal: nfqueue: bind queue .*: Operation not permitted\n$/);
    } finally {
      await stopMb(mb);
    }
  });

  it('untranslated SACK + loss: the server conntrack marks packets INVALID; translated SACK: none', async () => {
    // The failure class itself, at the kernel: server offset in the harmful (positive) half,
    // every 4th server data segment dropped once so the client sends SACKs.
    // Each case on its own server port, with a counting rule for INVALID packets to that port:
    // leftovers of earlier connections (the killed one keeps retransmitting) cannot interfere.
    const { file, sha256 } = payload('ct.bin', 2 << 20);
    const invalidTo = (port: number): number => {
      const out = topo.exec(topo.server, ['iptables', '-nvxL', 'INPUT']);
      const line = out.split('\n').find((l) => l.includes(`ctlab-count-${port}`));
      if (!line) throw new Error(`no counting rule for port ${port}`);
      return Number(line.trim().split(/\s+/)[0]);
    };
    const run = async (sackTranslation: boolean, port: number) => {
      topo.exec(topo.server, [
        'iptables',
        '-I',
        'INPUT',
        '1',
        '-p',
        'tcp',
        '--dport',
        String(port),
        '-m',
        'conntrack',
        '--ctstate',
        'INVALID',
        '-m',
        'comment',
        '--comment',
        `ctlab-count-${port}`,
      ]);
      const srv = await startServer(file, undefined, port);
      const mb = await startMb(
        profile({
          isn: { client: true, server: true },
          sackTranslation,
          fixedOffsets: { client: 0x01000000, server: 0x10000000 },
        }),
        path({ loss: { kind: 'every-nth', n: 4, direction: 'to-client' } }),
      );
      try {
        const r = await client(3000, 30_000, port);
        await sleep(200);
        const { counters } = await stopMb(mb);
        return { r, invalid: invalidTo(port), counters };
      } finally {
        srv.kill();
      }
    };
    const fixed = await run(true, PORT + 1);
    expect(fixed.counters.engine.droppedByLoss).toBeGreaterThan(0);
    expect(fixed.counters.engine.sackBlocksTranslated).toBeGreaterThan(0);
    expect(fixed.invalid).toBe(0);
    expect(fixed.r).toMatchObject({ complete: true, bytes: 2 << 20, sha256 });
    const broken = await run(false, PORT + 2);
    expect(broken.counters.engine.droppedByLoss).toBeGreaterThan(0);
    expect(broken.counters.engine.sackBlocksUntranslated).toBeGreaterThan(0);
    expect(broken.invalid).toBeGreaterThan(0);
  });
});
