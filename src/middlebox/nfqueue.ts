// Typed wrapper around the native NFQUEUE addon (lab/middlebox/native/nfqueue.c).
// Runs inside the middlebox image on Debian's Node 18 (bundled into dist/bundle/middlebox.mjs;
// the addon itself is loaded by path at run time, never bundled). Node built-ins and the pure parsers of src/measure/parse.ts only.
//
// Contract with the addon (one call into JS per batch):
//   - `bytes` views one long-lived receive area; packet i of a batch is
//     bytes[desc[i*STRIDE+OFF], +desc[i*STRIDE+LEN]);
//   - the batch callback edits packets in place and writes desc[i*STRIDE+VERDICT]
//     (ACCEPT, DROP or HOLD) and desc[i*STRIDE+MODIFIED] (1 = send the bytes back);
//   - after it returns, every non-HOLD verdict goes back to the kernel in one send;
//   - HOLD packets must be copied out (the area is reused by the next batch) and later
//     released with release(): one send for many verdicts.

import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseKernelQueueStats, type KernelQueueStats } from '../measure/parse.js';

// The /proc parser lives with the other counter parsers (src/measure/parse.ts).
export { parseKernelQueueStats, type KernelQueueStats };

/** Descriptor layout (Int32 fields per packet). */
export const DESC = {
  STRIDE: 8,
  ID: 0,
  OFF: 1,
  LEN: 2,
  VERDICT: 3,
  MODIFIED: 4,
  INDEV: 5,
  OUTDEV: 6,
  HWPROTO: 7,
} as const;
/** Release descriptor layout: id, verdict, offset in data, length (-1 = no payload). */
export const RDESC = { STRIDE: 4, ID: 0, VERDICT: 1, OFF: 2, LEN: 3 } as const;
export const VERDICT = { DROP: 0, ACCEPT: 1, HOLD: -1 } as const;
/** The addon ABI this wrapper speaks (the addon exports ABI; a mismatch fails at load). */
const ABI = 2;

export interface NfQueueOptions {
  /** Max packets per batch (one recvmmsg, one JS call, one verdict send). Default 128. */
  batch?: number;
  /** Socket receive buffer (SO_RCVBUFFORCE), bytes. Default 16 MiB. */
  rcvbuf?: number;
  /** Socket send buffer (SO_SNDBUFFORCE), bytes. Default 4 MiB. */
  sndbuf?: number;
  /** Kernel queue max length. Default 16384. */
  maxlen?: number;
}

/** Counters kept by the addon (all monotonic except maxBatch). */
export interface BindingStats {
  batches: number;
  packets: number;
  verdicts: number;
  accepts: number;
  drops: number;
  modified: number;
  held: number;
  released: number;
  /** recvmmsg() saw ENOBUFS: the kernel dropped packet messages (socket buffer full). */
  enobufs: number;
  sendErrors: number;
  /** Netlink error replies to verdicts (e.g. unknown packet id). */
  verdictErrors: number;
  recvCalls: number;
  sendCalls: number;
  maxBatch: number;
  nonPacketMessages: number;
  /** Wall time spent inside the JS batch callback, ns. */
  nsInJs: number;
  /** Wall time in recvmmsg / send syscalls, ns. */
  nsRecv: number;
  nsSend: number;
  /** Socket buffer sizes the kernel granted (SO_RCVBUF / SO_SNDBUF after the FORCE request). */
  rcvbufBytes: number;
  sndbufBytes: number;
}

interface NativeQueue {
  readonly buffer: ArrayBuffer;
  readonly desc: Int32Array;
  readonly batch: number;
  readonly queue: number;
  start(): void;
  release(count: number, rdesc: Int32Array, data: Uint8Array | null): void;
  stats(): BindingStats;
  close(): void;
}

interface Addon {
  NfQueue: new (queue: number, opts: NfQueueOptions, onBatch: (count: number) => void) => NativeQueue;
  DESC_STRIDE: number;
  RELEASE_STRIDE: number;
  SLOT: number;
  ABI: number;
}

/** Where the addon is looked for, in order. */
export function addonCandidates(explicit?: string): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  if (explicit) return [resolve(explicit)];
  const list: string[] = [];
  if (process.env.CTLAB_NFQUEUE_ADDON) list.push(resolve(process.env.CTLAB_NFQUEUE_ADDON));
  list.push('/opt/ctlab/native/nfqueue.node');
  // Next to the compiled code (an image that copies the addon into dist/).
  list.push(join(here, 'nfqueue.node'));
  return list;
}

let cached: Addon | undefined;

/** Load the addon (once). Throws a clear Error naming the paths tried. */
export function loadAddon(explicit?: string): Addon {
  if (cached && !explicit) return cached;
  const tried = addonCandidates(explicit);
  const path = tried.find((p) => existsSync(p));
  if (!path) {
    throw new Error(
      `nfqueue addon not found (tried ${tried.join(', ')}); build it with lab/middlebox/native/build.sh DIR and set CTLAB_NFQUEUE_ADDON=DIR/nfqueue.node`,
    );
  }
  const req = createRequire(import.meta.url);
  const addon = req(path) as Addon;
  if (addon.ABI !== ABI || addon.DESC_STRIDE !== DESC.STRIDE || addon.RELEASE_STRIDE !== RDESC.STRIDE) {
    throw new Error(`nfqueue addon at ${path} speaks ABI ${addon.ABI}, this code ABI ${ABI}: rebuild it`);
  }
  if (!explicit) cached = addon;
  return addon;
}

export type BatchHandler = (q: NfQueue, count: number) => void;

/** One bound NFQUEUE queue. Construction binds it (throws if the queue is taken or not root). */
export class NfQueue {
  readonly queue: number;
  readonly batchSize: number;
  /** The receive area; packets of the current batch live here. */
  readonly bytes: Uint8Array;
  /** Descriptors of the current batch (DESC layout). */
  readonly desc: Int32Array;
  private readonly native: NativeQueue;
  private closed = false;

  constructor(queue: number, onBatch: BatchHandler, opts: NfQueueOptions & { addonPath?: string } = {}) {
    const addon = loadAddon(opts.addonPath);
    const { addonPath: _ignored, ...nativeOpts } = opts;
    this.native = new addon.NfQueue(queue, nativeOpts, (count: number) => onBatch(this, count));
    this.queue = queue;
    this.batchSize = this.native.batch;
    this.bytes = new Uint8Array(this.native.buffer);
    this.desc = this.native.desc;
  }

  /** Start receiving (integrates the socket into the event loop). */
  start(): void {
    this.native.start();
  }

  /** Send `count` verdicts for held packets in one syscall. rdesc: RDESC layout; offsets index `data`. */
  release(count: number, rdesc: Int32Array, data: Uint8Array | null): void {
    if (count > 0) this.native.release(count, rdesc, data);
  }

  stats(): BindingStats {
    return this.native.stats();
  }

  /** Unbind: the kernel drops whatever is still queued or held (fail closed). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
  }
}

/** The kernel's view of one queue in this process's network namespace, or null if unbound. */
export function readKernelQueueStats(
  queue: number,
  path = '/proc/net/netfilter/nfnetlink_queue',
): KernelQueueStats | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  return parseKernelQueueStats(text).find((s) => s.queue === queue) ?? null;
}
