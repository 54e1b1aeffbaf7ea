// `ctlab clean --run ID` after a SIGKILLed replay: namespaces named like a replay's for a fresh
// run id (ctlab-<run id>-<setting>-rpr / -rpw, src/replay/lab.ts), with a tcpdump and a sleep in
// them as tcpreplay/tcpdump would be, are removed with their processes; decoys with another run id,
// and one whose run id only starts with ours, stay (this test deletes them itself afterwards).
// Needs root, ip and tcpdump, and a Docker engine for the CLI's container clean (test/gate.ts).
import { execa, type ResultPromise } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { cleanReplay } from '../../src/replay/clean.js';
import { replayNetns } from '../../src/replay/lab.js';
import { newRunId } from '../../src/runtime/labels.js';
import { allOf, describeWith, requireRoot, requireTool } from '../gate.js';
import { assertBuilt, ctlab } from '../unit/cli/cli.js';
import { dockerGate } from './docker-gate.js';

const created: string[] = [];
const procs: ResultPromise[] = [];

async function addNetns(name: string): Promise<void> {
  await execa('ip', ['netns', 'add', name]);
  created.push(name);
}

/** A long-running process inside the namespace (not waited for here). */
function startIn(name: string, cmd: string[]): ResultPromise {
  const p = execa('ip', ['netns', 'exec', name, ...cmd], { reject: false, stdio: 'ignore', cleanup: false });
  procs.push(p);
  return p;
}

async function netnsNames(): Promise<string[]> {
  return (await execa('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0] ?? '');
}

async function pidsIn(name: string): Promise<number> {
  return (await execa('ip', ['netns', 'pids', name])).stdout.split('\n').filter((l) => l.trim()).length;
}

async function waitPids(name: string, n: number): Promise<void> {
  for (let i = 0; i < 100 && (await pidsIn(name)) < n; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await pidsIn(name)).toBe(n);
}

afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs);
  for (const n of created) await execa('ip', ['netns', 'del', n], { reject: false });
});

async function leftover(runId: string, decoyRun: string) {
  const mine = [replayNetns(runId, 0), replayNetns(runId, 1)];
  const decoys = [replayNetns(decoyRun, 0).router, replayNetns(`${runId}x`, 0).router];
  for (const m of mine) {
    await addNetns(m.router);
    await addNetns(m.wire);
  }
  for (const d of decoys) await addNetns(d);
  await execa('ip', ['-n', mine[0]!.router, 'link', 'set', 'lo', 'up']); // tcpdump needs an interface that is up
  const tcpdump = startIn(mine[0]!.router, ['tcpdump', '-i', 'lo', '-n', '-w', '/dev/null']);
  const sleeper = startIn(mine[1]!.wire, ['sleep', '600']);
  const decoySleeper = startIn(decoys[0]!, ['sleep', '600']);
  await waitPids(mine[0]!.router, 1);
  await waitPids(mine[1]!.wire, 1);
  await waitPids(decoys[0]!, 1);
  return { mine: mine.flatMap((m) => [m.router, m.wire]), decoys, tcpdump, sleeper, decoySleeper };
}

const g = allOf(requireRoot(), requireTool('ip: apt-get install iproute2', 'tcpdump: apt-get install tcpdump'));

describeWith(g, 'ctlab clean: replay namespaces', () => {
  it("cleanReplay({ runId }) removes that run's namespaces and processes, nothing else", async () => {
    const runId = newRunId();
    const l = await leftover(runId, newRunId());
    const r = await cleanReplay({ runId });
    expect(r.namespaces).toEqual([...l.mine].sort());
    expect(r.processes).toBe(2);
    expect((await l.tcpdump).signal).toBe('SIGKILL');
    expect((await l.sleeper).signal).toBe('SIGKILL');
    const names = await netnsNames();
    for (const n of l.mine) expect(names).not.toContain(n);
    for (const d of l.decoys) expect(names).toContain(d);
    expect(await pidsIn(l.decoys[0]!)).toBe(1);
    expect(l.decoySleeper.exitCode).toBeNull(); // still running
  }, 60_000);
});

const withDocker = allOf(g, await dockerGate());
describeWith(withDocker, 'ctlab clean --run: replay namespaces (the CLI)', () => {
  it('says what it removed and leaves the decoys', async () => {
    assertBuilt();
    const runId = newRunId();
    const l = await leftover(runId, newRunId());
    const res = await ctlab(['clean', '--run', runId]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toContain(`4 replay namespace(s) ${[...l.mine].sort().join(' ')} (2 process(es))`);
    expect(res.stdout).toContain(`of run ${runId}`);
    const names = await netnsNames();
    for (const n of l.mine) expect(names).not.toContain(n);
    for (const d of l.decoys) expect(names).toContain(d);
    expect(l.decoySleeper.exitCode).toBeNull(); // still running
  }, 60_000);
});
