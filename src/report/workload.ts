// A variant's workload in words, the same for every report (terminal table, summary.md,
// report.html, the verdict, progress lines): what it was asked ("a harvest of 3,812 records",
// "20 uploads"), how far it got ("3 of 20 uploads acknowledged"), and the table row's label and
// cell. Results written before the other workloads existed read as harvests.
import { workloadComplete, workloadKind } from '../result/metrics.js';
import type { VariantResult, WorkloadResult } from '../result/types.js';

const n = (x: number) => Math.round(x).toLocaleString('en-US');

/** Bytes for a reader: "1.5 MB", "64 kB", "900 B" (SI, as throughput is shown). */
export function bytesWords(b: number): string {
  if (b >= 1e9) return `${(b / 1e9).toFixed(b >= 1e10 ? 0 : 1)} GB`;
  if (b >= 1e6) return `${(b / 1e6).toFixed(b >= 1e7 ? 0 : 1)} MB`;
  if (b >= 1e3) return `${(b / 1e3).toFixed(b >= 1e4 ? 0 : 1)} kB`;
  return `${n(b)} B`;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The workload's section, or a harvest's built from `harvest` (older results). */
function section(v: VariantResult): WorkloadResult {
  return (
    v.workload ?? {
      kind: 'oai-pmh',
      complete: v.harvest.complete,
      stoppedBecause: v.harvest.stoppedBecause,
      bytes: null,
      durationMs: v.durationMs,
      records: v.harvest.records,
      expectedRecords: v.harvest.expectedRecords,
    }
  );
}

/** How far it got, e.g. "3,812 of 3,812 records", "3 of 20 uploads acknowledged", "the command exited 127". */
export function progressWords(v: VariantResult): string {
  const w = section(v);
  switch (w.kind) {
    case 'oai-pmh':
      return `${n(w.records)} of ${n(w.expectedRecords)} records`;
    case 'http':
      return `${n(w.ok)} of ${n(w.requests)} requests answered in full`;
    case 'upload':
      return `${n(w.acknowledged)} of ${n(w.requests)} uploads acknowledged${w.wrongCount > 0 ? ` (${n(w.wrongCount)} with a wrong byte count)` : ''}`;
    case 'bulk': {
      const to = w.direction === 'to-client' ? 'to the client' : 'to the server';
      const target = w.targetBytes !== null ? ` of ${bytesWords(w.targetBytes)}` : ` in ${secs(w.durationMs)}`;
      return `${bytesWords(w.bytes ?? 0)}${target} ${to}${w.targetMs !== null ? ` (asked: ${secs(w.targetMs)})` : ''}`;
    }
    case 'command':
      return w.timedOut
        ? `the command was stopped after ${secs(w.durationMs)} (${w.signal ?? 'timeout'})`
        : `the command exited ${w.exitCode} after ${secs(w.durationMs)}`;
  }
}

/** What a complete run of it did, e.g. "harvested all 3,812 records", "had all 20 uploads acknowledged". */
export function completeWords(v: VariantResult): string {
  const w = section(v);
  switch (w.kind) {
    case 'oai-pmh':
      return `harvested all ${n(w.expectedRecords)} records`;
    case 'http':
      return `got all ${n(w.requests)} responses in full`;
    case 'upload':
      return `had all ${n(w.requests)} uploads acknowledged with their byte counts`;
    case 'bulk':
      return w.targetBytes !== null
        ? `moved all ${bytesWords(w.targetBytes)} ${w.direction === 'to-client' ? 'to the client' : 'to the server'}`
        : `kept the transfer ${w.direction === 'to-client' ? 'to the client' : 'to the server'} going for ${secs(w.targetMs ?? 0)}`;
    case 'command':
      return 'ran the command to exit code 0';
  }
}

/** The noun of the workload for sentences: "the harvest", "the requests", "the uploads", "the transfer", "the command". */
export function workloadNoun(v: VariantResult): string {
  return {
    'oai-pmh': 'the harvest',
    http: 'the requests',
    upload: 'the uploads',
    bulk: 'the transfer',
    command: 'the command',
  }[workloadKind(v)];
}

/** The table's progress row: its label and its cell ("3,812 / 3,812", "3 / 20", "12 MB / 50 MB", "exit 0"). */
export function progressRow(vs: VariantResult[]): { label: string; cell: (v: VariantResult) => string } {
  const kinds = new Set(vs.map(workloadKind));
  const only = kinds.size === 1 ? [...kinds][0] : undefined;
  const label =
    only === 'oai-pmh'
      ? 'records'
      : only === 'http'
        ? 'requests ok'
        : only === 'upload'
          ? 'uploads acknowledged'
          : only === 'bulk'
            ? 'bytes moved'
            : only === 'command'
              ? 'command exit'
              : 'workload';
  const cell = (v: VariantResult) => {
    const w = section(v);
    switch (w.kind) {
      case 'oai-pmh':
        return `${n(w.records)} / ${n(w.expectedRecords)}`;
      case 'http':
        return `${n(w.ok)} / ${n(w.requests)}`;
      case 'upload':
        return `${n(w.acknowledged)} / ${n(w.requests)}`;
      case 'bulk':
        return w.targetBytes !== null
          ? `${bytesWords(w.bytes ?? 0)} / ${bytesWords(w.targetBytes)}`
          : bytesWords(w.bytes ?? 0);
      case 'command':
        return w.timedOut ? `stopped (${w.signal ?? 'timeout'})` : `exit ${w.exitCode}`;
    }
  };
  return { label, cell };
}

/** The "complete" row's label: "harvest complete", "workload complete". */
export function completeLabel(vs: VariantResult[]): string {
  return vs.every((v) => workloadKind(v) === 'oai-pmh') ? 'harvest complete' : 'workload complete';
}

export { workloadComplete };
