// startLab: one variant's lab, up and left running for a user's own test (the same bring-up as a
// variant of `ctlab run`: src/run/variant.ts's bringUp), with what a test needs from it: exec in
// its nodes, its counters (the run's collectors, src/measure/collect.ts), its captures, its
// addresses, and disposal by run label (`await using`, or stop()).
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { prepareRuntime } from '../cli/lab.js';
import { CtlabError } from '../errors.js';
import { collectClient, collectMiddlebox, collectServer, readMiddleboxLive } from '../measure/collect.js';
import type { VariantResult } from '../result/types.js';
import { bringUp, stopCaptures, type NodeOf } from '../run/variant.js';
import { newRunId } from '../runtime/labels.js';
import type { ExecOptions, ExecResult, Runtime } from '../runtime/types.js';
import type { ScenarioInput } from '../scenario/schema.js';
import { ADDR, buildTopology, type Topology } from '../topology/build.js';
import { checkOptions, labOptionsSchema } from './options.js';
import { checkImages, checkVariants, loadScenarioInput, sayTo } from './run.js';
import type { RuntimeKind } from '../cli/lab.js';

/** A lab's nodes: the client (where the harvester runs), the middlebox and the server (nginx, its firewall and conntrack). */
export type LabNodeName = 'client' | 'middlebox' | 'server';
const NODE_NAMES: readonly LabNodeName[] = ['client', 'middlebox', 'server'];

/** One node of a started lab. */
export interface LabNode {
  readonly name: LabNodeName;
  /** Run a command in the node (no shell: give `['sh', '-c', '...']` for one). Rejects with a CtlabError (code EXEC) on a non-zero exit unless `reject: false`. */
  exec(command: string[], options?: ExecOptions): Promise<ExecResult>;
  /** A file's bytes from the node. */
  readFile(path: string): Promise<Buffer>;
  /** Write a file into the node (absolute path). */
  writeFile(path: string, content: Buffer | string): Promise<void>;
}

/** The counters a run collects, read now: the same fields as a variant of result.json. */
export interface LabCounters {
  /** The server firewall's INVALID drops (`invalidDrops`), `conntrack -S` (`conntrackStats`), `nstat` (`nstat`). */
  server: VariantResult['server'];
  /** The client's `nstat`, and its conntrack and NAT when the scenario gives it a `client`. */
  client: VariantResult['client'];
  /** The middlebox's counters (its last snapshot: it writes them every second while it runs). */
  middlebox: VariantResult['middlebox'];
}

/** One packet capture of the lab, stopped. */
export interface LabCapture {
  /** e.g. "client.pcap", "server.pcap", "invalid-reasons.pcap", "invalid-drops.pcap". */
  name: string;
  node: LabNodeName;
  /** What it captured, in words. */
  what: string;
  /** The pcap file's bytes. */
  bytes: Buffer;
  /** Where it was written on this machine, when `captures({ dir })` was given a folder. */
  path?: string;
}

/** A started lab: dispose of it with `await using lab = await startLab(...)`, or `await lab.stop()`. */
export interface Lab extends AsyncDisposable {
  /** The run id all of the lab's objects are labelled with (`ctlab.run`); `ctlab clean --run <id>` removes them. */
  readonly runId: string;
  /** The scenario's name. */
  readonly scenario: string;
  /** The variant the lab was set up for. */
  readonly variant: string;
  /** The middlebox's seed (the scenario's, or the one given). */
  readonly seed: number;
  /** The server: its address and port on the lab network, and the repository's URL as the client reaches it (the service VIP's when the client NATs). */
  readonly server: { address: string; port: number; url: string };
  /** The client's address on the lab network. */
  readonly client: { address: string };
  /** One of the lab's nodes. */
  node(name: LabNodeName): LabNode;
  /** `lab.node(name).exec(command, options)`. */
  exec(name: LabNodeName, command: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Read every counter a run reads, now (the traffic and the captures go on). */
  counters(): Promise<LabCounters>;
  /** Stop the captures (once; later calls return the same) and get their bytes; with `dir`, also write them there. */
  captures(options?: { dir?: string }): Promise<LabCapture[]>;
  /** Remove the lab: every container (or namespace) and network of its run id. Idempotent. */
  stop(): Promise<void>;
}

/** startLab's options. Every one is optional; an unknown one is an error. */
export interface StartLabOptions {
  /** The variant to set the lab up for, by name (default: the scenario's first). */
  variant?: string;
  /** `docker` (default: containers) or `netns` (plain network namespaces on this host, as root). */
  runtime?: RuntimeKind;
  /** Overrides the scenario's seed (the middlebox's offsets and losses). */
  seed?: number;
  /** The run id the lab's objects are labelled with (default a fresh one). */
  runId?: string;
  /** Progress lines, warnings and notes (default: none). */
  progress?: (message: string) => void;
  /** Image build output in the progress. */
  verbose?: boolean;
}

class StartedLab implements Lab {
  readonly server: Lab['server'];
  readonly client: Lab['client'];
  private stopping?: Promise<void>;
  private stopped?: Promise<LabCapture[]>;

  constructor(
    private readonly rt: Runtime,
    private readonly topo: Topology,
    private readonly nodeOf: NodeOf,
  ) {
    this.server = { address: ADDR.server, port: 80, url: topo.harvester.url };
    this.client = { address: ADDR.client };
  }

  get runId(): string {
    return this.rt.runId;
  }
  get scenario(): string {
    return this.topo.scenario;
  }
  get variant(): string {
    return this.topo.variant;
  }
  get seed(): number {
    return this.topo.seed;
  }

  private inner(name: LabNodeName) {
    if (!NODE_NAMES.includes(name))
      throw new CtlabError('SCENARIO', `no lab node ${JSON.stringify(name)}`, {
        hint: `nodes: ${NODE_NAMES.join(', ')}`,
      });
    if (this.stopping) throw new CtlabError('LAB', `lab ${this.runId} was stopped`);
    return this.nodeOf(name === 'client' ? this.topo.names.harvester : this.topo.names[name]);
  }

  node(name: LabNodeName): LabNode {
    this.inner(name); // a bad name fails here, not at the first exec
    return {
      name,
      exec: async (command, options) => this.inner(name).exec(command, options),
      readFile: async (path) => this.inner(name).readFile(path),
      writeFile: async (path, content) => this.inner(name).writeFile(path, content),
    };
  }

  async exec(name: LabNodeName, command: string[], options?: ExecOptions): Promise<ExecResult> {
    return this.node(name).exec(command, options);
  }

  async counters(): Promise<LabCounters> {
    const mb = this.inner('middlebox');
    const [server, client, live] = await Promise.all([
      collectServer(this.inner('server'), this.topo),
      collectClient(this.inner('client'), this.topo),
      readMiddleboxLive(mb),
    ]);
    const middlebox = await collectMiddlebox(mb, live);
    return { server: server.counters, client: client.counters, middlebox: middlebox.counters };
  }

  async captures(options: { dir?: string } = {}): Promise<LabCapture[]> {
    if (!this.stopped) this.inner('server'); // a stopped lab's captures are gone (unless read before)
    this.stopped ??= (async () => {
      await stopCaptures(this.nodeOf, this.topo.captures);
      const byNode = Object.fromEntries(
        NODE_NAMES.map((n) => [n === 'client' ? this.topo.names.harvester : this.topo.names[n], n]),
      ) as Record<string, LabNodeName>;
      return Promise.all(
        this.topo.captures.map(async (c) => ({
          name: c.name,
          node: byNode[c.node]!, // every capture is in one of the three nodes
          what: c.what,
          bytes: await this.nodeOf(c.node).readFile(c.file),
        })),
      );
    })();
    return this.stopped.then(async (caps) => {
      if (options.dir === undefined) return caps;
      const dir = resolve(options.dir);
      await mkdir(dir, { recursive: true });
      return Promise.all(
        caps.map(async (c) => {
          const path = join(dir, c.name);
          await writeFile(path, c.bytes);
          return { ...c, path };
        }),
      );
    });
  }

  stop(): Promise<void> {
    this.stopping ??= this.rt.destroy();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * Bring up one variant's lab of a scenario (a YAML file's path, or an object of the file's
 * shape), as `ctlab run` does before its harvest: the three nodes, their links, the server's
 * firewall, repository and nginx, the middlebox and the captures. Nothing runs in it until the
 * test does. The scenario is validated as a file is (code SCENARIO, nothing started); a lab that
 * does not come up is removed before the rejection.
 */
export async function startLab(input: string | ScenarioInput, options: StartLabOptions = {}): Promise<Lab> {
  const o = checkOptions('startLab', labOptionsSchema, options);
  const progress = o.progress ?? (() => {});
  const s = await loadScenarioInput(input, sayTo(progress));
  checkVariants(s, o.variant === undefined ? undefined : [o.variant]);
  checkImages(s, { runtime: o.runtime ?? 'docker' });
  const v = o.variant === undefined ? s.variants[0]! : s.variants.find((x) => x.name === o.variant)!; // checked above
  const runId = o.runId ?? newRunId();
  const createRuntime = await prepareRuntime({
    kind: o.runtime ?? 'docker',
    runId,
    verbose: o.verbose,
    progress,
    traps: { crashes: false },
  });
  const rt = await createRuntime(runId);
  const topo = buildTopology(s, v, o.seed ?? s.seed);
  try {
    const t = Date.now();
    const node = await bringUp(rt, topo);
    progress(`${v.name}: lab ${runId} up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return new StartedLab(rt, topo, node);
  } catch (e) {
    await rt.destroy().catch(() => {});
    throw e;
  }
}
