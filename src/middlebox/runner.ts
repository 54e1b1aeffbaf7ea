// The middlebox process's loop, with the engine injected (main.ts passes the real one).
// Per batch: run the engine on each packet in place, fill verdicts, hold delayed packets;
// one libuv timer releases held packets in batches. Counters go to a file every second.
// Runs in the lab on Node 18 (dist/bundle/middlebox.mjs).

import { renameSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { MiddleboxProfile, PathModel } from '../scenario/model.js';
import { DESC, NfQueue, VERDICT, readKernelQueueStats, type NfQueueOptions } from './nfqueue.js';
import type { MiddleboxProcessConfig } from './process-config.js';
import { HoldQueue } from './timerq.js';

/** The per-packet engine's shape (src/middlebox/engine.ts). */
export interface PacketEngine {
  /** Returns ENGINE_DROP, or ms to hold the packet before release (0 = now). */
  process(buf: Uint8Array, off: number, len: number, nowMs: number): number;
  /** Whether the last process() changed bytes. */
  modified: boolean;
  counters(): object;
  flowRecords(): object[];
}
export interface PacketEngineConfig {
  profile: MiddleboxProfile;
  path: PathModel;
  seed: number;
}
export type EngineFactory = (cfg: PacketEngineConfig) => PacketEngine;

export interface RunningMiddlebox {
  readonly queue: NfQueue;
  /** Snapshot of every counter (what the counters file holds). */
  snapshot(): CountersSnapshot;
  /** Stop: unbind (the kernel drops queued and held packets), write the files. Idempotent. */
  stop(error?: string): void;
}

export interface CountersSnapshot {
  queue: number;
  pid: number;
  startedAt: string;
  updatedAt: string;
  uptimeMs: number;
  engine: object;
  binding: ReturnType<NfQueue['stats']>;
  hold: ReturnType<HoldQueue['stats']>;
  /** /proc/net/netfilter/nfnetlink_queue for this queue (null if it could not be read). */
  kernel: ReturnType<typeof readKernelQueueStats>;
  /** This process's CPU time, microseconds. */
  cpu: { userUs: number; systemUs: number };
  /** Set when the process is stopping because of an error. */
  error?: string;
}

/** Write a file atomically (tmp + rename): readers never see half a file. */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export interface StartOptions extends NfQueueOptions {
  addonPath?: string;
  /** Counters file period, ms (default 1000). */
  countersEveryMs?: number;
}

export function startMiddlebox(
  cfg: MiddleboxProcessConfig,
  createEngine: EngineFactory,
  opts: StartOptions = {},
): RunningMiddlebox {
  const engine = createEngine({ profile: cfg.profile, path: cfg.path, seed: cfg.seed });
  const hold = new HoldQueue({ poolBytes: cfg.holdPoolBytes });
  const startedAt = new Date();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let timerAt = Infinity;

  const { STRIDE, ID, OFF, LEN, VERDICT: V, MODIFIED } = DESC;
  const ACCEPT = VERDICT.ACCEPT,
    DROPV = VERDICT.DROP,
    HOLD = VERDICT.HOLD;

  // The hot path: one call per batch, no allocation per packet.
  const onBatch = (q: NfQueue, count: number): void => {
    const now = performance.now();
    const bytes = q.bytes;
    const desc = q.desc;
    // i < count: desc holds STRIDE entries for each packet of the batch (addon contract, nfqueue.ts).
    for (let i = 0; i < count; i++) {
      const b = i * STRIDE;
      const off = desc[b + OFF]!;
      const len = desc[b + LEN]!;
      const r = engine.process(bytes, off, len, now);
      if (r < 0) {
        desc[b + V] = DROPV;
      } else if (r > 0) {
        // Copy now if modified: the receive area is reused by the next batch.
        hold.push(now + r, desc[b + ID]!, ACCEPT, engine.modified ? bytes : null, off, len);
        desc[b + V] = HOLD;
      } else {
        desc[b + V] = ACCEPT;
        desc[b + MODIFIED] = engine.modified ? 1 : 0;
      }
    }
    if (hold.size > 0) {
      hold.releaseDue(now, release);
      armTimer();
    }
  };

  const queue = new NfQueue(cfg.queue, onBatch, { batch: cfg.batch, ...opts });
  const release = (count: number, rdesc: Int32Array, data: Uint8Array | null): void =>
    queue.release(count, rdesc, data);

  // ONE active timer, for the earliest release.
  function armTimer(): void {
    if (stopped) return;
    const next = hold.nextAt();
    if (next === Infinity) {
      if (timer) {
        clearTimeout(timer);
        timer = null;
        timerAt = Infinity;
      }
      return;
    }
    if (timer && timerAt <= next) return;
    if (timer) clearTimeout(timer);
    timerAt = next;
    timer = setTimeout(onTimer, Math.max(0, Math.ceil(next - performance.now())));
  }
  function onTimer(): void {
    timer = null;
    timerAt = Infinity;
    if (stopped) return;
    hold.releaseDue(performance.now(), release);
    armTimer();
  }

  function snapshot(error?: string): CountersSnapshot {
    const cpu = process.cpuUsage();
    const now = new Date();
    const s: CountersSnapshot = {
      queue: cfg.queue,
      pid: process.pid,
      startedAt: startedAt.toISOString(),
      updatedAt: now.toISOString(),
      uptimeMs: now.getTime() - startedAt.getTime(),
      engine: engine.counters(),
      binding: queue.stats(),
      hold: hold.stats(),
      kernel: readKernelQueueStats(cfg.queue),
      cpu: { userUs: cpu.user, systemUs: cpu.system },
    };
    if (error) s.error = error;
    return s;
  }
  const writeCounters = (error?: string) =>
    writeFileAtomic(cfg.countersFile, `${JSON.stringify(snapshot(error), null, 1)}\n`);

  writeCounters();
  const interval = setInterval(() => writeCounters(), opts.countersEveryMs ?? 1000);

  queue.start();

  return {
    queue,
    snapshot: () => snapshot(),
    stop(error?: string): void {
      if (stopped) return;
      stopped = true;
      clearInterval(interval);
      if (timer) clearTimeout(timer);
      timer = null;
      // Release nothing more: held packets die with the socket (fail closed).
      const s = snapshot(error);
      s.hold = hold.stats();
      hold.clear();
      queue.close();
      writeFileAtomic(cfg.countersFile, `${JSON.stringify(s, null, 1)}\n`);
      const lines = engine
        .flowRecords()
        .map((f) => JSON.stringify(f))
        .join('\n');
      writeFileAtomic(cfg.flowsFile, lines.length ? `${lines}\n` : '');
    },
  };
}
