// runActions: each action at its time after the harvest starts, on its node; an action still
// pending when the harvest ends is reported as never run (not silently skipped).
import { describe, expect, it } from 'vitest';
import { runActions } from '../../../src/run/variant.js';
import type { ExecResult, LabNode } from '../../../src/runtime/types.js';
import type { ActionSpec } from '../../../src/topology/build.js';
import { sleep } from '../../../src/util/sleep.js';

function fakeNode(
  name: string,
  calls: { node: string; cmd: string[]; at: number }[],
  t0: () => number,
  reply = { exitCode: 0, stderr: 'conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted.\n' },
): LabNode {
  return {
    spec: { name, role: 'server' },
    id: name,
    exec: async (cmd: string[]): Promise<ExecResult> => {
      calls.push({ node: name, cmd, at: Date.now() - t0() });
      return {
        command: cmd,
        node: name,
        exitCode: reply.exitCode,
        stdout: '',
        stderr: reply.stderr,
        timedOut: false,
        durationMs: 1,
      };
    },
  } as unknown as LabNode;
}

const spec = (atMs: number, node = 'server'): ActionSpec => ({
  atMs,
  node,
  command: ['conntrack', '-F'],
  text: `flush at ${atMs}`,
});

describe('runActions', () => {
  it('runs each action on its node at its time while the harvest runs', async () => {
    const calls: { node: string; cmd: string[]; at: number }[] = [];
    const t0 = Date.now();
    const nodes = { server: fakeNode('server', calls, () => t0), client: fakeNode('client', calls, () => t0) };
    const r = await runActions((n) => nodes[n as 'server'], [spec(30, 'client'), spec(80)], t0, sleep(200));
    expect(calls.map((c) => c.node)).toEqual(['client', 'server']);
    expect(calls[0]!.at).toBeGreaterThanOrEqual(29);
    expect(calls[1]!.at).toBeGreaterThanOrEqual(79);
    expect(r[1]).toMatchObject({ text: 'flush at 80', node: 'server', atMs: 80, ok: true, flushedEntries: 3 });
    expect(r[1]!.ranAtMs).toBeGreaterThanOrEqual(79);
  });

  it('does not run an action due after the harvest ended, and returns as soon as it ends', async () => {
    const calls: { node: string; cmd: string[]; at: number }[] = [];
    const t0 = Date.now();
    const r = await runActions(() => fakeNode('server', calls, () => t0), [spec(20), spec(5000)], t0, sleep(60));
    expect(Date.now() - t0).toBeLessThan(5000); // did not wait for the action due at 5 s
    expect(calls).toHaveLength(1);
    expect(r.map((a) => a.ranAtMs === null)).toEqual([false, true]);
    expect(r[1]).toMatchObject({ ok: false, output: 'not run: the harvest had already ended' });
  });

  it('reports a failing command as not ok', async () => {
    const t0 = Date.now();
    const r = await runActions(
      () => fakeNode('server', [], () => t0, { exitCode: 1, stderr: 'conntrack: operation failed' }),
      [spec(0)],
      t0,
      sleep(30),
    );
    expect(r[0]).toMatchObject({ ok: false, output: 'conntrack: operation failed' });
    expect(r[0]!.flushedEntries).toBeUndefined();
  });
});
