import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { DockerRuntime } from '../../../src/runtime/docker.js';

/**
 * A Docker engine that answers like Docker 20.10: a wait (condition "not-running") on a container
 * that is still "created" returns at once with StatusCode 0. The link helper exits 2 ("File
 * exists"); the nodes accept no exec, so wiring on after a premature 0 fails differently.
 */
function fakeEngine(calls: string[]): Docker {
  let seq = 0;
  const make = (opts: { name: string; Cmd: string[] }) => {
    const helper = opts.name.includes('-helper-');
    let started = false;
    let exited!: (v: { StatusCode: number }) => void;
    const exit = new Promise<{ StatusCode: number }>((r) => {
      exited = r;
    });
    return {
      id: `c${++seq}`,
      async start() {
        calls.push(`start ${opts.name}`);
        started = true;
        if (helper) setTimeout(() => exited({ StatusCode: 2 }), 20);
      },
      async wait() {
        calls.push(`wait ${opts.name}`);
        return started ? exit : { StatusCode: 0 };
      },
      async inspect() {
        return { State: { Pid: 100 + seq } };
      },
      async logs() {
        return Buffer.from('RTNETLINK answers: File exists\n');
      },
      async remove() {
        calls.push(`remove ${opts.name}`);
      },
      async exec() {
        throw new Error(`exec in ${opts.name}: the pair was never made`);
      },
    };
  };
  const containers = new Map<string, ReturnType<typeof make>>();
  return {
    ping: async () => 'OK',
    createContainer: async (opts: { name: string; Cmd: string[] }) => {
      const c = make(opts);
      containers.set(c.id, c);
      return c;
    },
    getContainer: (id: string) => containers.get(id),
  } as unknown as Docker;
}

describe('the Docker link helper', () => {
  it('is started before its exit is read, so its real exit status decides the link', async () => {
    const calls: string[] = [];
    const rt = await DockerRuntime.create({
      runId: 'unit-run',
      images: { base: 'b', server: 's', middlebox: 'm' },
      docker: fakeEngine(calls),
    });
    await rt.createNode({ name: 'server', role: 'server' });
    await rt.createNode({ name: 'middlebox', role: 'middlebox' });
    const link = rt.link({
      a: { node: 'server', ifname: 'eth-mb', address: '198.18.2.2/24' },
      b: { node: 'middlebox', ifname: 'eth-server', address: '198.18.2.1/24' },
    });
    await expect(link).rejects.toThrow(
      /link server:eth-mb <-> middlebox:eth-server failed: RTNETLINK answers: File exists/,
    );
    const helper = calls.filter((c) => c.includes('-helper-'));
    expect(helper.map((c) => c.split(' ')[0])).toEqual(['start', 'wait', 'remove']);
  });
});
