// The Docker runtime: each lab node is a container with NO Docker network (NetworkMode none),
// NET_ADMIN + NET_RAW, sysctls set at creation, `sleep infinity` under Docker's init (tini) so
// exec'd processes are reaped. Links are veth pairs created straight between two containers'
// network namespaces by a short-lived helper container in the host's pid namespace.
// Every object carries label ctlab.run=<runId>; destroy() and cleanLab() find them by label.

import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { basename, dirname } from 'node:path';
import { CtlabError } from '../errors.js';
import { connectDocker, dockerError, isNotFound } from './connect.js';
import { assertNodeName, assertRunId, containerName, helperLabels, newRunId, nodeLabels, runFilter } from './labels.js';
import { packTar, unpackTar } from './tar.js';
import { NODE_DEFAULT_SYSCTLS, wireLink } from './link.js';
import type { ExecOptions, ExecResult, LabNode, LinkSpec, NodeSpec, Role, Runtime } from './types.js';
import { sleep } from '../util/sleep.js';

export interface DockerRuntimeOptions {
  /** Default: a fresh id (labels.newRunId()). */
  runId?: string;
  /** Image per role, plus `base` (used for the link helper). From buildLabImages().images. */
  images: { base: string } & Partial<Record<Role, string>>;
  docker?: Docker;
}

// Shared with the namespace runtime (src/runtime/link.ts); re-exported for existing importers.
export { checkKernel, NODE_DEFAULT_SYSCTLS, OFFLOADS_OFF, type KernelReport } from './link.js';

function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

export class DockerNode implements LabNode {
  constructor(
    readonly spec: NodeSpec,
    readonly id: string,
    readonly pid: number,
    readonly containerName: string,
    private readonly docker: Docker,
  ) {}

  private get container(): Docker.Container {
    return this.docker.getContainer(this.id);
  }

  async exec(cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const t0 = Date.now();
    const node = this.spec.name;
    const base = { command: cmd, node };
    const timeoutMs = opts.timeoutMs;
    // coreutils timeout(1) kills the whole process group inside the node (a docker exec cannot
    // be killed through the API); exit 124 then means "timed out".
    const argv = timeoutMs && !opts.detach ? ['timeout', '-k', '2', `${Math.max(timeoutMs, 1) / 1000}`, ...cmd] : cmd;
    let exec: Docker.Exec;
    try {
      exec = await this.container.exec({
        Cmd: argv,
        AttachStdout: !opts.detach,
        AttachStderr: !opts.detach,
        AttachStdin: opts.stdin !== undefined && !opts.detach,
        Env: this.spec.env ? Object.entries(this.spec.env).map(([k, v]) => `${k}=${v}`) : undefined,
      });
    } catch (err) {
      throw dockerError(err, `exec in node ${node}`);
    }
    if (opts.detach) {
      // With Detach the engine answers at once, but docker-modem keeps the connection open
      // (and the process alive for minutes): close whatever stream it hands back.
      const started = (await exec.start({ Detach: true } as Docker.ExecStartOptions)) as unknown as
        | { destroy?: () => void }
        | undefined;
      started?.destroy?.();
      return { ...base, exitCode: null, stdout: '', stderr: '', timedOut: false, durationMs: Date.now() - t0 };
    }
    const stream = (await exec.start({
      hijack: true,
      stdin: opts.stdin !== undefined,
    } as Docker.ExecStartOptions)) as NodeJS.ReadWriteStream & { destroy(): void };
    const out = new PassThrough();
    const err = new PassThrough();
    const outP = collect(out);
    const errP = collect(err);
    this.docker.modem.demuxStream(stream, out, err);
    if (opts.stdin !== undefined) {
      stream.write(opts.stdin);
      stream.end(); // half-close: the process sees EOF on stdin
    }
    let safetyFired = false;
    let safety: NodeJS.Timeout | undefined;
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
      if (timeoutMs) {
        // Belt and braces if timeout(1) itself hangs: kill the exec's process from the host
        // (works with a local engine) and stop waiting.
        safety = setTimeout(async () => {
          safetyFired = true;
          try {
            const pid = (await exec.inspect()).Pid;
            if (pid > 0) process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
          stream.destroy();
          resolve();
        }, timeoutMs + 5000);
      }
    });
    try {
      await ended;
    } finally {
      if (safety) clearTimeout(safety);
      out.end();
      err.end();
    }
    const [stdoutB, stderrB] = await Promise.all([outP, errP]);
    let exitCode: number | null = null;
    for (let i = 0; i < 50; i++) {
      // the exit code can lag the end of the stream by a moment
      const info = await exec.inspect();
      if (!info.Running) {
        exitCode = info.ExitCode;
        break;
      }
      await sleep(20);
    }
    const durationMs = Date.now() - t0;
    const timedOut =
      safetyFired ||
      (timeoutMs !== undefined && (exitCode === 124 || exitCode === 137) && durationMs >= timeoutMs - 50);
    const result: ExecResult = {
      ...base,
      exitCode,
      stdout: stdoutB.toString('utf8'),
      stderr: stderrB.toString('utf8'),
      timedOut,
      durationMs,
    };
    if ((timedOut || exitCode !== 0) && opts.reject !== false) {
      throw new CtlabError(
        'EXEC',
        timedOut
          ? `\`${cmd.join(' ')}\` in node ${node} timed out after ${timeoutMs} ms`
          : `\`${cmd.join(' ')}\` in node ${node} failed with exit code ${exitCode}${result.stderr.trim() ? `: ${result.stderr.trim().split('\n').pop()}` : ''}`,
        {
          command: cmd,
          exitCode,
          timedOut,
          stdout: result.stdout,
          stderr: result.stderr,
        },
      );
    }
    return result;
  }

  async readFile(path: string): Promise<Buffer> {
    let buf: Buffer;
    try {
      buf = await collect(await this.container.getArchive({ path }));
    } catch (err) {
      if (isNotFound(err)) throw new CtlabError('EXEC', `node ${this.spec.name} has no file ${path}`, { cause: err });
      throw dockerError(err, `reading ${path} from node ${this.spec.name}`);
    }
    const entry = unpackTar(buf).find((e) => e.type === 'file');
    if (!entry) throw new CtlabError('EXEC', `${path} in node ${this.spec.name} is not a regular file`);
    return entry.content;
  }

  async writeFile(path: string, content: Buffer | string): Promise<void> {
    if (!path.startsWith('/')) throw new CtlabError('EXEC', `writeFile needs an absolute path, not ${path}`);
    const tar = packTar([
      {
        name: basename(path),
        content: Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'),
        mtime: Math.floor(Date.now() / 1000),
      },
    ]);
    try {
      await this.container.putArchive(tar, { path: dirname(path) });
    } catch (err) {
      if (isNotFound(err))
        throw new CtlabError('EXEC', `node ${this.spec.name} has no directory ${dirname(path)}`, { cause: err });
      throw dockerError(err, `writing ${path} into node ${this.spec.name}`);
    }
  }
}

export class DockerRuntime implements Runtime {
  readonly kind = 'docker' as const;
  private readonly nodes = new Map<string, DockerNode>();
  private linkSeq = 0;
  private destroyed = false;

  private constructor(
    readonly runId: string,
    readonly docker: Docker,
    readonly images: DockerRuntimeOptions['images'],
  ) {}

  /** Connect to Docker (clear error when unreachable) and make a runtime for one run. */
  static async create(opts: DockerRuntimeOptions): Promise<DockerRuntime> {
    const runId = assertRunId(opts.runId ?? newRunId());
    const docker = await connectDocker({ docker: opts.docker });
    return new DockerRuntime(runId, docker, opts.images);
  }

  /** A node created by this runtime. */
  node(name: string): DockerNode {
    const n = this.nodes.get(name);
    if (!n) throw new CtlabError('LAB', `no node ${name} in run ${this.runId}`);
    return n;
  }

  listNodes(): DockerNode[] {
    return [...this.nodes.values()];
  }

  async createNode(spec: NodeSpec): Promise<DockerNode> {
    assertNodeName(spec.name);
    if (this.destroyed) throw new CtlabError('LAB', `run ${this.runId} was destroyed`);
    if (this.nodes.has(spec.name)) throw new CtlabError('LAB', `node ${spec.name} already exists in run ${this.runId}`);
    const image = this.images[spec.role];
    if (!image)
      throw new CtlabError('LAB', `no image for role ${spec.role}`, {
        hint: 'build the lab images first (`node dist/src/runtime/build-images-cli.js`)',
      });
    const name = containerName(this.runId, spec.name);
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer({
        name,
        Image: image,
        Cmd: ['sleep', 'infinity'],
        Hostname: spec.name,
        Labels: nodeLabels(this.runId, spec.name, spec.role),
        Env: spec.env ? Object.entries(spec.env).map(([k, v]) => `${k}=${v}`) : undefined,
        HostConfig: {
          NetworkMode: 'none',
          Init: true,
          CapAdd: ['NET_ADMIN', 'NET_RAW'],
          Sysctls: { ...NODE_DEFAULT_SYSCTLS, ...spec.sysctls },
        },
      });
    } catch (err) {
      const e = err as { statusCode?: number; json?: { message?: string } };
      if (e.statusCode === 409) {
        throw new CtlabError('LAB', `a container named ${name} already exists (name clash)`, {
          hint: `remove the old lab with \`ctlab clean --run ${this.runId}\`, or start a new run id`,
          cause: err,
        });
      }
      if (e.statusCode === 404) {
        throw new CtlabError('IMAGE', `image ${image} for node ${spec.name} is missing`, {
          hint: 'build the lab images (`node dist/src/runtime/build-images-cli.js`)',
          cause: err,
        });
      }
      throw dockerError(err, `creating node ${spec.name}`);
    }
    try {
      await container.start();
      const info = await container.inspect();
      const node = new DockerNode(spec, container.id, info.State.Pid, name, this.docker);
      this.nodes.set(spec.name, node);
      return node;
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      const msg = (err as { json?: { message?: string } }).json?.message ?? (err as Error).message;
      if (/sysctl|\/proc\/sys\//i.test(msg)) {
        throw new CtlabError('KERNEL', `node ${spec.name} could not start: ${msg}`, {
          hint: 'a sysctl in the scenario does not exist in this kernel or is not per network namespace',
          cause: err,
        });
      }
      throw new CtlabError('LAB', `node ${spec.name} could not start: ${msg}`, { cause: err });
    }
  }

  async link(spec: LinkSpec): Promise<void> {
    // The veth pair is created by a helper container in the host's pid and network namespaces.
    await wireLink(spec, this.node(spec.a.node), this.node(spec.b.node), (cmd, what) => this.runHelper(cmd, what));
  }

  /** Run a command in a short-lived helper container in the host's pid and network namespaces. */
  private async runHelper(cmd: string[], what: string): Promise<void> {
    const name = `${containerName(this.runId, 'helper')}-${++this.linkSeq}`;
    let container: Docker.Container | undefined;
    try {
      container = await this.docker.createContainer({
        name,
        Image: this.images.base,
        Cmd: cmd,
        Labels: helperLabels(this.runId),
        HostConfig: { PidMode: 'host', NetworkMode: 'host', CapAdd: ['NET_ADMIN', 'SYS_ADMIN'] },
      });
      // Start first, then wait. A wait sent before the start (condition "not-running", the
      // default) may reach the engine while the helper is still "created", and Docker 20.10 then
      // answers at once with StatusCode 0: measured 53 early answers in 90 helper runs under load
      // (6 concurrent loops). That was the "vanishing veth end": ctlab configured ends that the
      // helper had not made yet (`ip monitor link` in both nodes showed no RTM_NEWLINK for that
      // pair at all, never a deletion), and the `finally` below removed the helper, often before
      // its `ip link add` ran. After start() the helper runs or has exited, so "not-running" is
      // its real exit (bench/veth-race.ts: 6 vanished in 60 lab starts before, 0 in 2 x 60 after).
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      if (StatusCode !== 0) {
        const logs = (await container.logs({ stdout: true, stderr: true }))
          .toString('utf8')
          // biome-ignore lint/suspicious/noControlCharactersInRegex: drops the binary bytes of the 8-byte frame header Docker puts before each multiplexed log chunk
          .replace(/[\x00-\x08]/g, '')
          .trim();
        throw new CtlabError('LAB', `${what} failed: ${logs || `exit ${StatusCode}`}`, {
          command: cmd,
          exitCode: StatusCode,
          hint: /File exists/.test(logs)
            ? 'an interface with that name already exists in one of the nodes'
            : 'the node may have stopped; check `docker ps -a --filter label=ctlab.run`',
        });
      }
    } catch (err) {
      throw err instanceof CtlabError ? err : dockerError(err, what);
    } finally {
      if (container) await container.remove({ force: true }).catch(() => undefined);
    }
  }

  async removeNode(name: string): Promise<void> {
    const node = this.nodes.get(name);
    this.nodes.delete(name);
    const ref = node?.id ?? containerName(this.runId, name);
    try {
      await this.docker.getContainer(ref).remove({ force: true });
    } catch (err) {
      if (!isNotFound(err)) throw dockerError(err, `removing node ${name}`);
    }
  }

  /** Remove every container carrying this run's label (found by label, not by name). Idempotent. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    this.nodes.clear();
    const list = await this.docker.listContainers({ all: true, filters: runFilter(this.runId) }).catch((err) => {
      throw dockerError(err, 'listing lab containers');
    });
    await Promise.all(
      list.map((c) =>
        this.docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch((err) => {
            if (!isNotFound(err) && (err as { statusCode?: number }).statusCode !== 409)
              throw dockerError(err, `removing ${c.Names[0]}`);
          }),
      ),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
