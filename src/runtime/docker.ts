// The Docker runtime: each lab node is a container with NO Docker network (NetworkMode none),
// NET_ADMIN + NET_RAW, sysctls set at creation, `sleep infinity` under Docker's init (tini) so
// exec'd processes are reaped. Links are veth pairs created straight between two containers'
// network namespaces by a short-lived helper container in the host's pid namespace.
// Every object carries label ctlab.run=<runId>; destroy() and cleanLab() find them by label.
//
// Which library does what:
// - testcontainers (GenericContainer, via LabContainer below) runs every container's lifecycle:
//   the builder (image, name, labels, command, network mode, capabilities; sysctls, init and
//   the pid namespace through the subclass, since GenericContainer has no builder method for
//   them), start, its wait strategies (ctlab's own: a node is up once the engine runs it, with
//   its pid; a link helper once it has exited), exec, file copy in and out, logs, and stop/remove. Its reaper (Ryuk)
//   runs where its image can be had (reaper.ts).
// - dockerode stays where testcontainers has nothing to offer: the engine's pid of each node
//   (read through the dockerode container testcontainers hands its wait strategy; the veth
//   wiring moves interfaces into /proc/<pid>/ns/net), exec with stdin or detached
//   (testcontainers' exec has neither), the label-based cleanup (destroy(), cleanup.ts) and the
//   content-hashed image builds (images.ts).

import type Docker from 'dockerode';
import { PassThrough, Readable } from 'node:stream';
import { basename, dirname } from 'node:path';
import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';
import { CtlabError } from '../errors.js';
import { connectDocker, dockerError, isNotFound } from './connect.js';
import { imageId } from './images.js';
import {
  assertNodeName,
  assertRunId,
  containerName,
  helperLabels,
  imageLabels,
  newRunId,
  nodeLabels,
  runFilter,
} from './labels.js';
import { ensureReaper } from './reaper.js';
import { Exited, httpProbe, listeningProbe, LogTail, ProbeFromNode, readLogs, Running } from './waits.js';
import { packTar, unpackTar } from './tar.js';
import { NODE_DEFAULT_SYSCTLS, wireLink } from './link.js';
import type { ExecOptions, ExecResult, ImageSpec, LabNode, LinkSpec, NodeSpec, Role, Runtime } from './types.js';
import { sleep } from '../util/sleep.js';
import { startupMs } from '../util/startup.js';

/**
 * GenericContainer plus the HostConfig fields it has no builder method for: a subclass that
 * sets them on the protected hostConfig, the way testcontainers' own modules extend it.
 */
export class LabContainer extends GenericContainer {
  /** Sysctls set at creation (/proc/sys is read-only inside a container). */
  withSysctls(sysctls: Record<string, string>): this {
    this.hostConfig.Sysctls = { ...this.hostConfig.Sysctls, ...sysctls };
    return this;
  }

  /** Docker's init (tini) as pid 1, so processes exec'd in the node are reaped. */
  withInit(): this {
    this.hostConfig.Init = true;
    return this;
  }

  /** Share the host's pid namespace (the link helper reaches nodes by their pids). */
  withHostPidNamespace(): this {
    this.hostConfig.PidMode = 'host';
    return this;
  }
}

export interface DockerRuntimeOptions {
  /** Default: a fresh id (labels.newRunId()). */
  runId?: string;
  /** Image per role, plus `base` (used for the link helper). From buildLabImages().images. */
  images: { base: string } & Partial<Record<Role, string>>;
  docker?: Docker;
  /** Where to say, once per process, whether testcontainers' reaper runs (default: stderr). */
  log?: (line: string) => void;
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
    /** The container as testcontainers started it: exec, file copy, logs, stop. */
    readonly started: StartedTestContainer,
    /** The engine's pid of the node's init (for veth wiring; read with dockerode). */
    readonly pid: number,
    readonly containerName: string,
    private readonly docker: Docker,
    /**
     * Whether timeouts go through coreutils timeout(1) in the container (ctlab's images have it;
     * a user's image may not: then ctlab stops waiting at the timeout and the process goes with
     * the container).
     */
    private readonly hasTimeout = true,
  ) {}

  get id(): string {
    return this.started.getId();
  }

  private envList(): string[] | undefined {
    return this.spec.env ? Object.entries(this.spec.env).map(([k, v]) => `${k}=${v}`) : undefined;
  }

  async exec(cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const t0 = Date.now();
    const node = this.spec.name;
    const timeoutMs = opts.timeoutMs;
    // coreutils timeout(1) kills the whole process group inside the node (a docker exec cannot
    // be killed through the API); exit 124 then means "timed out".
    const wrap = timeoutMs && !opts.detach && this.hasTimeout;
    const argv = wrap ? ['timeout', '-k', '2', `${Math.max(timeoutMs, 1) / 1000}`, ...cmd] : cmd;
    const r =
      opts.detach || opts.stdin !== undefined
        ? await this.execRaw(argv, opts)
        : await this.execTestcontainers(argv, timeoutMs, wrap ? 5000 : 0);
    if (opts.detach) return { command: cmd, node, ...r, durationMs: Date.now() - t0 };
    const durationMs = Date.now() - t0;
    const timedOut =
      r.timedOut ||
      (timeoutMs !== undefined && (r.exitCode === 124 || r.exitCode === 137) && durationMs >= timeoutMs - 50);
    const result: ExecResult = { command: cmd, node, ...r, timedOut, durationMs };
    if ((timedOut || r.exitCode !== 0) && opts.reject !== false) {
      throw new CtlabError(
        'EXEC',
        timedOut
          ? `\`${cmd.join(' ')}\` in node ${node} timed out after ${timeoutMs} ms`
          : `\`${cmd.join(' ')}\` in node ${node} failed with exit code ${r.exitCode}${result.stderr.trim() ? `: ${result.stderr.trim().split('\n').pop()}` : ''}`,
        {
          command: cmd,
          exitCode: r.exitCode,
          timedOut,
          stdout: result.stdout,
          stderr: result.stderr,
        },
      );
    }
    return result;
  }

  /** An attached command through testcontainers' exec. */
  private async execTestcontainers(
    argv: string[],
    timeoutMs: number | undefined,
    graceMs: number,
  ): Promise<{ exitCode: number | null; stdout: string; stderr: string; timedOut: boolean }> {
    let safety: NodeJS.Timeout | undefined;
    const env = this.spec.env;
    const run = this.started.exec(argv, env ? { env } : undefined).then(
      (r) => ({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, timedOut: false }),
      (err) => {
        throw dockerError(err, `exec in node ${this.spec.name}`);
      },
    );
    if (!timeoutMs) return run;
    try {
      // Belt and braces if timeout(1) itself hangs, or the timeout where there is no timeout(1):
      // stop waiting (the process goes with the container).
      return await Promise.race([
        run,
        new Promise<{ exitCode: null; stdout: string; stderr: string; timedOut: true }>((resolve) => {
          safety = setTimeout(
            () => resolve({ exitCode: null, stdout: '', stderr: '', timedOut: true }),
            timeoutMs + graceMs,
          );
        }),
      ]);
    } finally {
      if (safety) clearTimeout(safety);
    }
  }

  /** With stdin, or detached: straight through the engine's API (testcontainers' exec has neither). */
  private async execRaw(
    argv: string[],
    opts: ExecOptions,
  ): Promise<{ exitCode: number | null; stdout: string; stderr: string; timedOut: boolean }> {
    const container = this.docker.getContainer(this.id);
    const timeoutMs = opts.timeoutMs;
    let exec: Docker.Exec;
    try {
      exec = await container.exec({
        Cmd: argv,
        AttachStdout: !opts.detach,
        AttachStderr: !opts.detach,
        AttachStdin: opts.stdin !== undefined && !opts.detach,
        Env: this.envList(),
      });
    } catch (err) {
      throw dockerError(err, `exec in node ${this.spec.name}`);
    }
    if (opts.detach) {
      // With Detach the engine answers at once, but docker-modem keeps the connection open
      // (and the process alive for minutes): close whatever stream it hands back.
      const started = (await exec.start({ Detach: true } as Docker.ExecStartOptions)) as unknown as
        | { destroy?: () => void }
        | undefined;
      started?.destroy?.();
      return { exitCode: null, stdout: '', stderr: '', timedOut: false };
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
    return {
      exitCode,
      stdout: stdoutB.toString('utf8'),
      stderr: stderrB.toString('utf8'),
      timedOut: safetyFired,
    };
  }

  async logs(): Promise<string> {
    return readLogs(this.started).catch(() => '');
  }

  async readFile(path: string): Promise<Buffer> {
    let buf: Buffer;
    try {
      buf = await collect(await this.started.copyArchiveFromContainer(path));
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
      await this.started.copyArchiveToContainer(Readable.from([tar]), dirname(path));
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
  /** The user's images, by the node whose network namespace they joined. */
  private readonly imagesIn = new Map<string, DockerNode>();
  private linkSeq = 0;
  private destroyed = false;

  private constructor(
    readonly runId: string,
    readonly docker: Docker,
    readonly images: DockerRuntimeOptions['images'],
    /** Whether testcontainers' reaper watches this run's containers too. */
    readonly reaper: boolean,
  ) {}

  /** Connect to Docker (clear error when unreachable) and make a runtime for one run. */
  static async create(opts: DockerRuntimeOptions): Promise<DockerRuntime> {
    const runId = assertRunId(opts.runId ?? newRunId());
    const docker = await connectDocker({ docker: opts.docker });
    let reaper: boolean;
    try {
      reaper = (await ensureReaper(opts.log ?? ((l) => process.stderr.write(`ctlab: ${l}\n`)))).enabled;
    } catch (err) {
      throw dockerError(err, 'starting testcontainers');
    }
    return new DockerRuntime(runId, docker, opts.images, reaper);
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
    const up = new Running();
    const container = new LabContainer(image)
      .withName(name)
      .withHostname(spec.name)
      .withLabels(nodeLabels(this.runId, spec.name, spec.role))
      .withCommand(['sleep', 'infinity'])
      .withNetworkMode('none')
      .withAddedCapabilities('NET_ADMIN', 'NET_RAW')
      .withSysctls({ ...NODE_DEFAULT_SYSCTLS, ...spec.sysctls })
      .withInit()
      .withAutoCleanup(this.reaper)
      .withWaitStrategy(up)
      .withStartupTimeout(startupMs(30_000));
    if (spec.env) container.withEnvironment(spec.env);
    let started: StartedTestContainer;
    try {
      started = await container.start();
    } catch (err) {
      // The lab's images are built here, never pulled: a missing one (testcontainers then tried
      // a pull, which fails) is a build to do.
      if (!(await imageId(this.docker, image).catch(() => 'unknown')))
        throw new CtlabError('IMAGE', `image ${image} for node ${spec.name} is missing`, {
          hint: 'build the lab images (`node dist/src/runtime/build-images-cli.js`)',
          cause: err,
        });
      throw await this.startFailed(err, name, `node ${spec.name}`);
    }
    await this.unlessDestroyed(started, `node ${spec.name}`);
    const node = new DockerNode(spec, started, up.pid, name, this.docker);
    this.nodes.set(spec.name, node);
    return node;
  }

  /**
   * A container that did not start: remove what testcontainers left (a container that was
   * created but would not start stays), and say why in one CtlabError.
   */
  private async startFailed(err: unknown, name: string, what: string): Promise<CtlabError> {
    const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
    if (e.statusCode === 409 && /already in use|Conflict/i.test(e.json?.message ?? e.message ?? '')) {
      return new CtlabError('LAB', `a container named ${name} already exists (name clash)`, {
        hint: `remove the old lab with \`ctlab clean --run ${this.runId}\`, or start a new run id`,
        cause: err,
      });
    }
    await this.docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
    const msg = e.json?.message ?? e.message ?? String(err);
    if (/sysctl|\/proc\/sys\//i.test(msg)) {
      return new CtlabError('KERNEL', `${what} could not start: ${msg}`, {
        hint: 'a sysctl in the scenario does not exist in this kernel or is not per network namespace',
        cause: err,
      });
    }
    if (err instanceof CtlabError) return err;
    return new CtlabError('LAB', `${what} could not start: ${msg}`, { cause: err });
  }

  /**
   * The user's image in a node's network namespace (`NetworkMode: container:<node>`), through
   * testcontainers: pulled when it is not here, started, and waited for (its port listening or
   * its HTTP path answering, probed from the node; or a log line: Wait.forLogMessage). Failure
   * is one CtlabError naming the image and what it waited for, its last log lines as detail;
   * nothing of it is left (testcontainers removes a container that never became ready).
   */
  async startImage(spec: ImageSpec): Promise<DockerNode> {
    if (this.destroyed) throw new CtlabError('LAB', `run ${this.runId} was destroyed`);
    const host = this.node(spec.node);
    if (this.imagesIn.has(spec.node)) throw new CtlabError('LAB', `node ${spec.node} already runs an image`);
    const name = `${containerName(this.runId, spec.node)}-image`;
    const ready = spec.ready;
    const wait =
      ready === undefined
        ? { strategy: new Running(), what: 'the container to run' }
        : 'log' in ready
          ? { strategy: Wait.forLogMessage(new RegExp(ready.log)), what: `a log line matching /${ready.log}/` }
          : 'http' in ready
            ? {
                strategy: new ProbeFromNode(host, httpProbe(ready.port, ready.http)),
                what: `HTTP GET ${ready.http} on port ${ready.port} to answer 2xx`,
              }
            : {
                strategy: new ProbeFromNode(host, listeningProbe(ready.port)),
                what: `port ${ready.port} to listen`,
              };
    const tail = new LogTail(20);
    const container = new LabContainer(spec.image)
      .withName(name)
      .withLabels(imageLabels(this.runId, spec.node))
      .withNetworkMode(`container:${host.id}`)
      .withAutoCleanup(this.reaper)
      .withLogConsumer((stream) => tail.follow(stream))
      .withWaitStrategy(wait.strategy)
      .withStartupTimeout(spec.startupTimeoutMs);
    if (spec.env) container.withEnvironment(spec.env);
    if (spec.command) container.withCommand(spec.command);
    const t0 = Date.now();
    let started: StartedTestContainer;
    try {
      started = await container.start();
    } catch (err) {
      await sleep(100); // the last log lines still on their way
      await this.docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
      const msg = ((err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? String(err))
        .split('\n')[0]!
        .replace(/^\(HTTP code \d+\) [^-]*- /, '')
        .trim();
      const logs = tail.text();
      if (!(await imageId(this.docker, spec.image).catch(() => 'unknown')))
        throw new CtlabError(
          'IMAGE',
          `image ${spec.image} for node ${spec.node} is not on this machine and could not be pulled: ${msg}`,
          {
            hint: 'check the name, or build or load the image here first (`docker build -t ...`, `docker load`)',
            cause: err,
          },
        );
      const waited = Date.now() - t0 >= spec.startupTimeoutMs;
      throw new CtlabError(
        'LAB',
        waited
          ? `image ${spec.image} in node ${spec.node} was not ready within ${spec.startupTimeoutMs / 1000} s: it waited for ${wait.what}`
          : `image ${spec.image} in node ${spec.node} failed while ctlab waited for ${wait.what}: ${msg}`,
        {
          stderr: logs || '(the container logged nothing)',
          hint: `check the image's port and readiness in the scenario, and its logs (\`docker run ${spec.image}\`)`,
          cause: err,
        },
      );
    }
    await this.unlessDestroyed(started, `image ${spec.image}`);
    // A user's image may lack coreutils' timeout(1); ctlab's exec then stops waiting instead.
    const probe = await started.exec(['sh', '-c', 'command -v timeout'], {}).catch(() => undefined);
    const node = new DockerNode(
      { name: `${spec.node}-image`, role: host.spec.role, ...(spec.env ? { env: spec.env } : {}) },
      started,
      0,
      name,
      this.docker,
      probe?.exitCode === 0,
    );
    this.imagesIn.set(spec.node, node);
    return node;
  }

  /**
   * A container that finished starting after destroy() (a variant still coming up beside one
   * that failed) would outlive the lab: stop it and fail instead.
   */
  private async unlessDestroyed(started: StartedTestContainer, what: string): Promise<void> {
    if (!this.destroyed) return;
    await started.stop({ timeout: 0 }).catch(() => undefined);
    throw new CtlabError('LAB', `run ${this.runId} was destroyed while ${what} started`);
  }

  async link(spec: LinkSpec): Promise<void> {
    // The veth pair is created by a helper container in the host's pid and network namespaces.
    await wireLink(spec, this.node(spec.a.node), this.node(spec.b.node), (cmd, what) => this.runHelper(cmd, what));
  }

  /** Run a command in a short-lived helper container in the host's pid and network namespaces. */
  private async runHelper(cmd: string[], what: string): Promise<void> {
    if (this.destroyed) throw new CtlabError('LAB', `run ${this.runId} was destroyed`);
    const name = `${containerName(this.runId, 'helper')}-${++this.linkSeq}`;
    // Ready once exited. testcontainers starts it first, then waits. A wait sent before the start
    // (condition "not-running", the default) may reach the engine while the helper is still
    // "created", and Docker 20.10 then answers at once with StatusCode 0: measured 53 early
    // answers in 90 helper runs under load (6 concurrent loops). That was the "vanishing veth
    // end": ctlab configured ends that the helper had not made yet (`ip monitor link` in both
    // nodes showed no RTM_NEWLINK for that pair at all, never a deletion), and the removal below
    // took the helper, often before its `ip link add` ran. After the start the helper runs or has
    // exited, so "not-running" is its real exit (bench/veth-race.ts: 6 vanished in 60 lab starts
    // before, 0 in 2 x 60 after).
    const exit = new Exited();
    let started: StartedTestContainer | undefined;
    try {
      started = await new LabContainer(this.images.base)
        .withName(name)
        .withCommand(cmd)
        .withLabels(helperLabels(this.runId))
        .withNetworkMode('host')
        .withHostPidNamespace()
        .withAddedCapabilities('NET_ADMIN', 'SYS_ADMIN')
        .withAutoCleanup(this.reaper)
        .withWaitStrategy(exit)
        .withStartupTimeout(startupMs(60_000))
        .start();
      if (exit.statusCode !== 0) {
        const logs = (await readLogs(started)).trim();
        throw new CtlabError('LAB', `${what} failed: ${logs || `exit ${exit.statusCode}`}`, {
          command: cmd,
          exitCode: exit.statusCode,
          hint: /File exists/.test(logs)
            ? 'an interface with that name already exists in one of the nodes'
            : 'the node may have stopped; check `docker ps -a --filter label=ctlab.run`',
        });
      }
    } catch (err) {
      if (!started)
        await this.docker
          .getContainer(name)
          .remove({ force: true })
          .catch(() => undefined);
      throw err instanceof CtlabError ? err : dockerError(err, what);
    } finally {
      if (started) await started.stop({ timeout: 0 }).catch(() => undefined);
    }
  }

  async removeNode(name: string): Promise<void> {
    const image = this.imagesIn.get(name);
    this.imagesIn.delete(name);
    if (image) await image.started.stop({ timeout: 0 }).catch(() => undefined);
    const node = this.nodes.get(name);
    this.nodes.delete(name);
    if (node) {
      await node.started.stop({ timeout: 0 }).catch((err) => {
        if (!isNotFound(err)) throw dockerError(err, `removing node ${name}`);
      });
      return;
    }
    try {
      await this.docker.getContainer(containerName(this.runId, name)).remove({ force: true });
    } catch (err) {
      if (!isNotFound(err)) throw dockerError(err, `removing node ${name}`);
    }
  }

  /**
   * Stop the nodes testcontainers started, then remove every container still carrying this
   * run's label (found by label, not by name: helpers, half-made nodes). Idempotent.
   */
  async destroy(): Promise<void> {
    this.destroyed = true;
    const images = [...this.imagesIn.values()];
    this.imagesIn.clear();
    await Promise.all(images.map((n) => n.started.stop({ timeout: 0 }).catch(() => undefined)));
    const nodes = [...this.nodes.values()];
    this.nodes.clear();
    await Promise.all(nodes.map((n) => n.started.stop({ timeout: 0 }).catch(() => undefined)));
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
