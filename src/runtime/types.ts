// One runtime interface (containerlab's shape): create a node, exec in it, copy files out,
// wire a link, remove. Docker sits behind it (src/runtime/docker.ts); a runtime of plain
// network namespaces can sit behind the same interface later.

export type Role = 'server' | 'middlebox' | 'harvester';

export interface NodeSpec {
  /** Unique within a lab, e.g. "server". */
  name: string;
  role: Role;
  /** Sysctls set at creation (/proc/sys is read-only inside a container). */
  sysctls?: Record<string, string>;
  /** Extra environment for the node's processes. */
  env?: Record<string, string>;
}

export interface ExecOptions {
  /** Kill the command and fail with timedOut=true after this long. */
  timeoutMs?: number;
  /** Run in the background: resolve once started, with exitCode null. */
  detach?: boolean;
  /** Do not throw on a non-zero exit code; return it. */
  reject?: boolean;
  stdin?: string;
}

export interface ExecResult {
  command: string[];
  node: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** An interface end of a point-to-point link. */
export interface LinkEnd {
  node: string;
  ifname: string;
  /** CIDR, e.g. "198.18.1.2/24". */
  address: string;
}

export interface LinkSpec {
  a: LinkEnd;
  b: LinkEnd;
  mtu?: number;
}

/** A running node. */
export interface LabNode {
  readonly spec: NodeSpec;
  /** Runtime-specific id (container id, namespace name). */
  readonly id: string;
  /** PID of a process in the node's network namespace (for wiring veths). */
  readonly pid: number;
  exec(cmd: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Read a file from the node. */
  readFile(path: string): Promise<Buffer>;
  /** Write a file into the node. */
  writeFile(
    path: string,
    content: Buffer | string,
  ): Promise<void> /** What its main process logged so far (the user's images; ctlab's nodes log nothing there). */;
  logs?(): Promise<string>;
}

/** The user's own image, run in a node's network namespace (`server.image`, `client.image`). */
export interface ImageSpec {
  /** The node whose network namespace the container joins. */
  node: string;
  image: string;
  env?: Record<string, string>;
  /** The container's command (the image's entrypoint stays). */
  command?: string[];
  /** What ctlab waits for (probed from the node, which shares the namespace); absent: running. */
  ready?: { port: number } | { http: string; port: number } | { log: string };
  startupTimeoutMs: number;
}

export interface Runtime {
  readonly kind: 'docker' | 'netns';
  /** The run id every object of this lab carries (label ctlab.run). */
  readonly runId: string;
  createNode(spec: NodeSpec): Promise<LabNode>;
  /** Create a veth pair straight between two nodes' network namespaces and configure both ends. */
  link(spec: LinkSpec): Promise<void>;
  /**
   * Start the user's image in a node's network namespace and wait until it is ready; returns it
   * as a node to exec in. Only the Docker runtime has it. removeNode(node) removes it too.
   */
  startImage?(spec: ImageSpec): Promise<LabNode>;
  removeNode(name: string): Promise<void>;
  /** Remove everything this runtime created for runId. Idempotent; never throws for absent objects. */
  destroy(): Promise<void>;
}
