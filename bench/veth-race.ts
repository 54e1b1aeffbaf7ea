// Counts vanished veth ends: three concurrent loops of lab starts (the standard three-host lab,
// two links), each start torn down before the next. ctlab has no lab set-up retry any more, so
// every "Cannot find device" / "No such device" while wiring is counted. Prints starts, vanished
// ends and other failures. (The cause was the Docker link helper's exit read before it ran; see
// DockerRuntime.runHelper. Before that fix: 6 vanished in 60 starts; after: 0 in 2 x 60.)
//   npm run bench:veth-race                                          # Docker, 3 loops x 20
//   node dist/bench/veth-race.js --runtime netns --loops 3 --starts 20
//   node dist/bench/veth-race.js --monitor                           # plus `ip -t monitor link` in every node
// --monitor records every link event inside each node's network namespace (nsenter + ip monitor)
// and, for a vanished end, prints that node's events next to the lab's own steps.

import { spawn, type ChildProcess } from 'node:child_process';
import { CtlabError } from '../src/errors.js';
import { standardImages, upStandardLab, type LookupRuntime } from '../src/runtime/standard-lab.js';
import { sleep } from '../src/util/sleep.js';

/** The symptom: a fresh veth end not found while its node configures it. */
function isVanishedDevice(err: unknown): boolean {
  return (
    err instanceof CtlabError &&
    /Cannot find device|No such device|no device matches/.test(`${err.message} ${err.stderr ?? ''}`)
  );
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const t0 = Date.now();
const stamp = () => `${((Date.now() - t0) / 1000).toFixed(3)}s`;

interface Tally {
  starts: number;
  vanished: number;
  other: number;
  details: string[];
}

/** `ip -t monitor link` inside one node's network namespace, lines kept with the node name. */
function monitorNode(pid: number, name: string, sink: string[]): ChildProcess {
  const p = spawn('nsenter', ['--target', String(pid), '--net', '--', 'ip', '-t', 'monitor', 'link'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  p.stdout.on('data', (d: Buffer) => {
    for (const l of d.toString('utf8').split('\n')) if (l.trim()) sink.push(`${stamp()} [${name}] ${l.trim()}`);
  });
  return p;
}

async function oneLoop(
  loop: number,
  starts: number,
  make: () => Promise<LookupRuntime>,
  monitor: boolean,
  tally: Tally,
): Promise<void> {
  for (let i = 0; i < starts; i++) {
    const rt = await make();
    const events: string[] = [];
    const monitors: ChildProcess[] = [];
    const wrapped: LookupRuntime = monitor
      ? Object.assign(Object.create(rt) as LookupRuntime, {
          createNode: async (spec: Parameters<LookupRuntime['createNode']>[0]) => {
            const n = await rt.createNode(spec);
            monitors.push(monitorNode(n.pid, `${rt.runId}/${spec.name} pid ${n.pid}`, events));
            events.push(`${stamp()} ctlab: node ${spec.name} up (pid ${n.pid})`);
            await sleep(100); // the monitor subscribes before the links come
            return n;
          },
          link: async (spec: Parameters<LookupRuntime['link']>[0]) => {
            events.push(
              `${stamp()} ctlab: link ${spec.a.node}:${spec.a.ifname} <-> ${spec.b.node}:${spec.b.ifname} starts`,
            );
            try {
              await rt.link(spec);
            } finally {
              events.push(`${stamp()} ctlab: link ${spec.a.node}:${spec.a.ifname} ends`);
            }
          },
        })
      : rt;
    tally.starts++;
    try {
      await upStandardLab(wrapped);
    } catch (e) {
      const msg = e instanceof CtlabError ? `${e.message} ${e.stderr ?? ''}`.trim() : String(e);
      if (isVanishedDevice(e)) tally.vanished++;
      else tally.other++;
      tally.details.push(
        `loop ${loop} start ${i + 1} (${rt.runId}) ${isVanishedDevice(e) ? 'VANISHED' : 'FAILED'}: ${msg}`,
      );
      if (monitor) {
        await sleep(300);
        tally.details.push(...events.map((l) => `    ${l}`));
      }
    } finally {
      for (const m of monitors) m.kill();
      await rt.destroy();
    }
    process.stdout.write(`${stamp()} loop ${loop}: ${i + 1}/${starts} (vanished so far ${tally.vanished})\n`);
  }
}

async function main(): Promise<void> {
  const runtime = arg('--runtime') ?? 'docker';
  const loops = Number(arg('--loops') ?? 3);
  const starts = Number(arg('--starts') ?? 20);
  const monitor = process.argv.includes('--monitor');
  let make: () => Promise<LookupRuntime>;
  if (runtime === 'docker') {
    const { DockerRuntime } = await import('../src/runtime/docker.js');
    const images = await standardImages();
    make = () => DockerRuntime.create({ images });
  } else if (runtime === 'netns') {
    const { NetnsRuntime } = await import('../src/runtime/netns/runtime.js');
    const { stageOptRoot } = await import('../src/runtime/opt-root.js');
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const optRoot = await stageOptRoot({ dest: join(await mkdtemp(join(tmpdir(), 'ctlab-veth-race-')), 'opt') });
    make = () => NetnsRuntime.create({ optRoot });
  } else {
    throw new CtlabError('SCENARIO', `--runtime ${runtime}: docker or netns`);
  }
  const tally: Tally = { starts: 0, vanished: 0, other: 0, details: [] };
  const t = Date.now();
  await Promise.all(Array.from({ length: loops }, (_, l) => oneLoop(l + 1, starts, make, monitor, tally)));
  for (const d of tally.details) console.log(d);
  console.log(
    `veth race (${runtime}, ${loops} concurrent loops x ${starts} starts, no retries): ${tally.starts} starts, ${tally.vanished} vanished veth ends, ${tally.other} other failures, ${((Date.now() - t) / 1000).toFixed(0)} s`,
  );
  if (tally.vanished || tally.other) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err instanceof CtlabError ? err.format() : err);
  process.exit(1);
});
