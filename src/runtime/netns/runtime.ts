// The namespace runtime: each lab node is a plain Linux network namespace (plus its own mount,
// UTS and IPC namespaces) held by one "holder" process, with no Docker anywhere, so the lab also
// runs inside a small VM. Same Runtime interface and the same veth code (link.ts) as Docker.
// This file is the Runtime itself: create nodes (holder.ts), wire links, remove nodes, destroy.
//
//   holder  = `unshare --net --mount --uts --ipc --propagation private -- sh -c <holderScript>`:
//             builds a private root, pivots into it, sets the node's sysctls, brings lo up, then
//             sleeps. Its pid is the node's pid.
//   exec    = node.ts: `nsenter --target <pid> --net --mount --uts --ipc --root --wd -- <cmd>`.
//   identity: every holder and exec'd process carries CTLAB_RUN=<runId> and CTLAB_NODE=<name> in
//             its environment; destroy() and cleanNetnsLab() (clean.ts) find them through /proc
//             (procs.ts), then kill every process in those network namespaces and nothing in the
//             host's. Veths die with their namespaces. State: /run/ctlab-netns/<runId>/.
// Host programs come from the host (host-check.ts names what is missing and the apt package).

import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CtlabError } from '../../errors.js';
import { startupMs } from '../../util/startup.js';
import { STD_PATH } from '../host-programs.js';
import { assertNodeName, assertRunId, newRunId } from '../labels.js';
import { NODE_DEFAULT_SYSCTLS, wireLink } from '../link.js';
import { assertOptRoot, stageOptRoot } from '../opt-root.js';
import type { LinkSpec, NodeSpec, Runtime } from '../types.js';
import { holderScript } from './holder.js';
import { checkNetnsHost } from './host-check.js';
import { NetnsNode } from './node.js';
import { ENV_NODE, ENV_RUN, hostNetnses, killLab, killNetns, netnsOf } from './procs.js';

/** Where every run keeps its state (on the host's /run: gone after a reboot, like the namespaces). */
export const NETNS_STATE_ROOT = '/run/ctlab-netns';

export interface NetnsRuntimeOptions {
  /** Default: a fresh id (labels.newRunId()). */
  runId?: string;
  /**
   * A directory laid out like the images' /opt/ctlab (package.json, dist/, native/nfqueue.node,
   * lab/server/{firewall.sh,nginx.conf}; see stageOptRoot), bound read-only into every node.
   * Default: staged from this repository into the run's state directory (builds the addon once).
   */
  optRoot?: string;
  /** Progress lines (addon build). */
  log?: (m: string) => void;
}

export class NetnsRuntime implements Runtime {
  readonly kind = 'netns' as const;
  private readonly nodes = new Map<string, NetnsNode>();
  private destroyed = false;

  private constructor(
    readonly runId: string,
    /** /run/ctlab-netns/<runId> */
    readonly stateDir: string,
    readonly optRoot: string,
    /** Path of every NETNS_HOST_PROGRAMS entry: checkHost refused a host that lacks one, so `programs.x!` holds. */
    private readonly programs: Record<string, string>,
  ) {}

  /** Check the host (root, programs, kernel), stage /opt/ctlab unless given, and make a runtime for one run. */
  static async create(opts: NetnsRuntimeOptions = {}): Promise<NetnsRuntime> {
    const runId = assertRunId(opts.runId ?? newRunId());
    const check = checkNetnsHost();
    const stateDir = join(NETNS_STATE_ROOT, runId);
    if (existsSync(stateDir)) {
      throw new CtlabError('LAB', `run ${runId} already has namespace state in ${stateDir} (name clash)`, {
        hint: `remove the old lab with \`ctlab clean --run ${runId}\`, or start a new run id`,
      });
    }
    await mkdir(join(stateDir, 'nodes'), { recursive: true });
    try {
      let optRoot = opts.optRoot;
      if (optRoot === undefined) optRoot = await stageOptRoot({ dest: join(stateDir, 'opt'), log: opts.log });
      else assertOptRoot(optRoot);
      return new NetnsRuntime(runId, stateDir, optRoot, check.programs);
    } catch (e) {
      await rm(stateDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** A node created by this runtime. */
  node(name: string): NetnsNode {
    const n = this.nodes.get(name);
    if (!n) throw new CtlabError('LAB', `no node ${name} in run ${this.runId}`);
    return n;
  }

  listNodes(): NetnsNode[] {
    return [...this.nodes.values()];
  }

  private pathInNodes(): string {
    // The host's node may live outside the standard dirs (e.g. /opt/node/bin): keep its dir.
    const nodeDir = dirname(this.programs.node ?? '/usr/bin/node');
    return [...(STD_PATH.includes(nodeDir) ? [] : [nodeDir]), ...STD_PATH].join(':');
  }

  async createNode(spec: NodeSpec): Promise<NetnsNode> {
    assertNodeName(spec.name);
    if (this.destroyed) throw new CtlabError('LAB', `run ${this.runId} was destroyed`);
    if (this.nodes.has(spec.name)) throw new CtlabError('LAB', `node ${spec.name} already exists in run ${this.runId}`);
    const dir = join(this.stateDir, 'nodes', spec.name);
    const root = join(dir, 'root');
    try {
      await mkdir(root, { recursive: false }).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') {
          await mkdir(dir, { recursive: true });
          await mkdir(root);
          return;
        }
        throw e;
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw new CtlabError('LAB', `node ${spec.name} already exists in run ${this.runId} (name clash)`, {
          hint: `\`ctlab clean --run ${this.runId}\``,
        });
      throw e;
    }
    const script = holderScript({
      root,
      optRoot: this.optRoot,
      hostname: spec.name,
      sysctls: { ...NODE_DEFAULT_SYSCTLS, ...spec.sysctls },
    });
    const env = {
      PATH: this.pathInNodes(),
      HOME: '/root',
      LANG: 'C.UTF-8',
      ...spec.env,
      [ENV_RUN]: this.runId,
      [ENV_NODE]: spec.name,
    };
    // detached: its own session, so Ctrl-C in the terminal reaches ctlab (which cleans up), not the holders.
    const child = spawn(
      this.programs.unshare!,
      ['--net', '--mount', '--uts', '--ipc', '--propagation', 'private', '--', 'sh', '-c', script],
      {
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: '/',
      },
    );
    const pid = child.pid;
    const startMs = startupMs(30_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const outcome = await new Promise<'ready' | 'exit' | 'timeout' | 'error'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), startMs);
      child.stdout.on('data', () => {
        if (/^ready$/m.test(stdout)) {
          clearTimeout(timer);
          resolve('ready');
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        resolve('exit');
      });
      child.on('error', () => {
        clearTimeout(timer);
        resolve('error');
      });
    });
    child.stdout.destroy();
    child.stderr.destroy();
    const netns = pid !== undefined ? netnsOf(pid) : undefined;
    const hostNs = hostNetnses();
    if (outcome !== 'ready' || pid === undefined || netns === undefined || hostNs.has(netns)) {
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      const msg =
        stderr.trim().split('\n').filter(Boolean).pop() ??
        (outcome === 'timeout' ? `no answer within ${startMs / 1000} s` : `exit ${child.exitCode ?? child.signalCode}`);
      if (/sysctl/.test(stderr)) {
        throw new CtlabError('KERNEL', `node ${spec.name} could not start: ${msg}`, {
          stderr,
          hint: 'a sysctl in the scenario does not exist in this kernel or is not per network namespace',
        });
      }
      throw new CtlabError('LAB', `node ${spec.name} could not start: ${msg}`, {
        stderr,
        command: [
          'unshare',
          '--net',
          '--mount',
          '--uts',
          '--ipc',
          '--propagation',
          'private',
          '--',
          'sh',
          '-c',
          '<holder script>',
        ],
      });
    }
    child.unref();
    await writeFile(
      join(dir, 'holder.json'),
      `${JSON.stringify({ runId: this.runId, node: spec.name, pid, netns })}\n`,
    );
    const node = new NetnsNode(spec, `ctlab-${this.runId}-${spec.name}`, pid, netns, this.runId, {
      nsenter: this.programs.nsenter!,
      path: this.pathInNodes(),
    });
    this.nodes.set(spec.name, node);
    return node;
  }

  async link(spec: LinkSpec): Promise<void> {
    const ip = this.programs.ip!;
    // Both ends are created straight in the nodes' namespaces: no end ever exists on the host.
    await wireLink(spec, this.node(spec.a.node), this.node(spec.b.node), async (cmd, what) => {
      // Asynchronous: another lab's variant keeps running while this one wires.
      const r = await execa(ip, cmd.slice(1), { reject: false, timeout: 10_000, stdin: 'ignore' });
      if (r.exitCode !== 0) {
        const status = r.exitCode ?? null;
        const err = (r.stderr || (status === null ? (r.shortMessage ?? '') : '')).trim();
        throw new CtlabError('LAB', `${what} failed: ${err || `exit ${status}`}`, {
          command: cmd,
          exitCode: status,
          hint: /File exists/.test(err)
            ? 'an interface with that name already exists in one of the nodes'
            : 'the node may have stopped; check `ctlab clean`',
        });
      }
    });
  }

  async removeNode(name: string): Promise<void> {
    const n = this.nodes.get(name);
    this.nodes.delete(name);
    await killLab((run, node) => run === this.runId && node === name);
    // Anything left in the namespace without the identity (a daemon that cleared its environment).
    if (n) await killNetns(n.netns);
    await rm(join(this.stateDir, 'nodes', name), { recursive: true, force: true });
  }

  /** Kill every process of this run (and in its namespaces); remove the state directory. Idempotent. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    const netnses = [...this.nodes.values()].map((n) => n.netns);
    this.nodes.clear();
    await killLab((run) => run === this.runId);
    for (const ns of netnses) await killNetns(ns);
    await rm(this.stateDir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
