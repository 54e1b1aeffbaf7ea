// ctlab's own testcontainers wait strategies (WaitStrategy objects that testcontainers runs
// after a container's start, with its start-up timeout) and a logs reader. The built-in ones
// reach a service through ports published on the host; lab containers have no Docker network
// (NetworkMode none, or a node's namespace), so these look through the engine (running, exited)
// or from inside the lab node that shares the service's network namespace.

import type Docker from 'dockerode';
import type { StartedTestContainer, WaitStrategy } from 'testcontainers';
import { sleep } from '../util/sleep.js';
import type { LabNode } from './types.js';

/** Common timeout bookkeeping of a WaitStrategy. */
abstract class Timed implements WaitStrategy {
  protected timeoutMs = 60_000;
  abstract waitUntilReady(container: Docker.Container): Promise<void>;
  withStartupTimeout(ms: number): this {
    this.timeoutMs = ms;
    return this;
  }
  isStartupTimeoutSet(): boolean {
    return true;
  }
  getStartupTimeout(): number {
    return this.timeoutMs;
  }
}

/** Throws when the container is no longer running (a service that crashed is not worth waiting for). */
async function assertRunning(container: Docker.Container): Promise<Docker.ContainerInspectInfo['State']> {
  const { State } = await container.inspect();
  if (State.Status === 'exited' || State.Status === 'dead')
    throw new Error(
      `the container ${State.Status} with code ${State.ExitCode}${State.Error ? ` (${State.Error})` : ''}`,
    );
  return State;
}

/**
 * A lab node (or the user's client container): ready once the engine says it runs, with the pid
 * of its init (the engine's pid, read from the container's inspect, for the veth wiring).
 */
export class Running extends Timed {
  pid = 0;
  protected override timeoutMs = 30_000;
  async waitUntilReady(container: Docker.Container): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const state = await assertRunning(container);
      if (state.Running && state.Pid > 0) {
        this.pid = state.Pid;
        return;
      }
      if (Date.now() > deadline) throw new Error(`the container was not running after ${this.timeoutMs} ms`);
      await sleep(20);
    }
  }
}

/**
 * A one-shot container: ready once it has exited (the engine's wait, sent after the start),
 * keeping its exit code. It never throws on a non-zero code, so the container stays for its
 * logs to be read.
 */
export class Exited extends Timed {
  statusCode: number | undefined;
  async waitUntilReady(container: Docker.Container): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const r = (await Promise.race([
        container.wait(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`it did not exit within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ])) as { StatusCode: number };
      this.statusCode = r.StatusCode;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}

/**
 * A service in a lab node's network namespace: ready once `probe` succeeds in that node (which
 * has the tools: ss, curl), polled every 200 ms while the container runs.
 */
export class ProbeFromNode extends Timed {
  constructor(
    private readonly node: LabNode,
    private readonly probe: string[],
  ) {
    super();
  }
  async waitUntilReady(container: Docker.Container): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      await assertRunning(container);
      const r = await this.node.exec(this.probe, { reject: false, timeoutMs: 5000 });
      if (r.exitCode === 0 && r.stdout.trim() !== '') return;
      if (Date.now() > deadline) throw new Error(`not ready after ${this.timeoutMs} ms`);
      await sleep(200);
    }
  }
}

/** ss in the node: prints the listening socket on `port` (nothing while none listens). */
export function listeningProbe(port: number): string[] {
  return ['ss', '-Hltn', `sport = :${port}`];
}

/** curl in the node against the service on the loopback: prints the status of a 2xx answer. */
export function httpProbe(port: number, path: string): string[] {
  return [
    'curl',
    '-fsS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--max-time',
    '2',
    `http://127.0.0.1:${port}${path}`,
  ];
}

/**
 * A container's logs as text, through testcontainers (which follows them): until the stream ends
 * (an exited container) or nothing came for `idleMs` (a running one's never ends).
 */
export async function readLogs(
  c: StartedTestContainer,
  opts: { tail?: number; idleMs?: number } = {},
): Promise<string> {
  const stream = await c.logs({ tail: opts.tail });
  const idleMs = opts.idleMs ?? 300;
  return new Promise((resolve) => {
    let text = '';
    const done = () => {
      clearTimeout(timer);
      stream.destroy();
      resolve(text);
    };
    let timer = setTimeout(done, idleMs);
    stream.on('data', (d: Buffer | string) => {
      text += d.toString();
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    });
    stream.on('end', done);
    stream.on('error', done);
  });
}

/** The last lines of a followed log stream (testcontainers' log consumer), kept as they arrive. */
export class LogTail {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly keep = 20) {}
  follow(stream: NodeJS.ReadableStream): void {
    stream.on('data', (d: Buffer | string) => {
      const parts = (this.partial + d.toString()).split('\n');
      this.partial = parts.pop() ?? '';
      this.lines.push(...parts);
      if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
    });
    stream.on('error', () => undefined);
  }
  text(): string {
    return [...this.lines, this.partial].filter((l) => l.trim() !== '').join('\n');
  }
}
