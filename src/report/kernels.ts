// The kernel axis in the reports: one label rule for a variant (name, repetition, kernel), the
// side-by-side comparison of kernels, and what each kernel's conntrack is known to do.
import { workloadComplete } from '../result/metrics.js';
import { workloadNoun } from './workload.js';
import type { ReasonCount, VariantEvidence } from '../evidence/types.js';
import { byKernelVersion } from '../result/kernel.js';
import type { KernelRun, RunResult, VariantResult } from '../result/types.js';

/** The distinct kernel releases of a run's variants, oldest first. */
export function kernelsOf(r: Pick<RunResult, 'variants'>): string[] {
  return [...new Set(r.variants.map((v) => v.kernel).filter((k) => k))].sort(byKernelVersion);
}

/** How a variant is named everywhere in the reports: "flag-off", "flag-off #2", "flag-off @ 5.10.0-35-cloud-amd64". */
export function variantLabel(r: Pick<RunResult, 'variants' | 'repetitions'>, v: VariantResult): string {
  let s = r.repetitions > 1 ? `${v.name} #${v.repetition}` : v.name;
  if (kernelsOf(r).length > 1) s += ` @ ${v.kernel}`;
  return s;
}

/**
 * What conntrack does differently across releases, as far as this lab has measured it. Each note
 * names the release range it applies to and the kernel change behind it; the report shows the
 * notes that apply to the kernels of the run, so a reader knows which behaviour the run shows.
 */
export interface KernelNote {
  /** Applies to releases in [from, until): undefined = unbounded. */
  from?: string;
  until?: string;
  text: string;
}

export const KERNEL_NOTES: KernelNote[] = [
  {
    text: 'SACK blocks beyond what conntrack saw sent ("ACK is over upper bound (ACKed data not seen yet)") are INVALID on every kernel measured (5.10, 6.1, 6.12, 6.18): the untranslated-SACK failure and its cure by nf_conntrack_tcp_be_liberal=1 do not depend on the release.',
  },
  {
    until: '6.1',
    text: 'Before 6.1, late packets are INVALID: an ACK or a data segment that arrives after later ones ("ACK is under the lower bound", "SEQ is under the lower bound") is dropped by an INVALID rule, so a path that reorders or delays packets breaks connections on its own.',
  },
  {
    from: '6.1',
    text: 'From 6.1 on ("netfilter: conntrack: ignore overly delayed tcp packets"), late ACKs and late data segments below the window are only "ignored": conntrack lets them through without updating its state from them (its log says "ignored ..."), so an INVALID rule no longer drops them. Several former INVALID cases are gone; the untranslated-SACK one is not.',
  },
  {
    until: '6.1',
    text: 'A data segment that starts past the highest window edge the receiver advertised is INVALID ("SEQ is over the upper bound (over the window of the receiver)"), however small the overshoot: a sender that overruns the window (as after a middlebox raised the SYN-ACK\'s window scale) loses every such segment to an INVALID rule (measured on 5.10).',
  },
  {
    from: '6.1',
    text: 'An overshoot past the receiver\'s window of at most the largest window it ever advertised is only logged ("N bytes more than expected", from "netfilter: conntrack: work around exceeded receive window") and let through; a larger one is still INVALID ("SEQ is over upper bound (over the window of the receiver)"), so a sender that overruns the window far enough still loses segments to an INVALID rule (measured on 6.1 and 6.18).',
  },
];

export function notesFor(release: string): KernelNote[] {
  return KERNEL_NOTES.filter(
    (n) => (!n.from || byKernelVersion(release, n.from) >= 0) && (!n.until || byKernelVersion(release, n.until) < 0),
  );
}

export interface KernelCell {
  kernel: string;
  variant: VariantResult;
  /** The server's conntrack: packets per reason. */
  reasons: Map<string, number>;
  /** The client's conntrack (its NAT), empty when not captured. */
  clientReasons: Map<string, number>;
  /** conntrack -S invalid at the client, null when unknown. */
  clientInvalid: number | null;
}

export interface KernelComparison {
  kernels: string[];
  /** One row per variant name (and repetition): that variant on each kernel. */
  rows: { name: string; cells: (KernelCell | undefined)[] }[];
  /** Reason strings judged on some kernels and not on others, per variant name and conntrack (server's or client's). */
  differences: { name: string; at: 'server' | 'client'; reason: string; onKernels: string[]; notOnKernels: string[] }[];
  /** Variants whose outcome (harvest complete, any INVALID drop) differs between kernels. */
  outcomeDifferences: {
    name: string;
    perKernel: { kernel: string; complete: boolean; noun: string; invalidDrops: number }[];
  }[];
}

/** Compare a run's variants across its kernels. `ev` is keyed by the variant's folder. */
export function compareKernels(
  r: RunResult,
  ev: Record<string, VariantEvidence | undefined>,
  dirOf: (v: VariantResult) => string,
): KernelComparison {
  const kernels = kernelsOf(r);
  const key = (v: VariantResult) => (r.repetitions > 1 ? `${v.name} #${v.repetition}` : v.name);
  const names = [...new Set(r.variants.map(key))];
  const rows = names.map((name) => ({
    name,
    cells: kernels.map((k) => {
      const v = r.variants.find((x) => key(x) === name && x.kernel === k);
      if (!v) return undefined;
      const e = ev[dirOf(v)];
      const tally = (rcs: ReasonCount[] | undefined) => {
        const m = new Map<string, number>();
        for (const rc of rcs ?? []) m.set(rc.reason, (m.get(rc.reason) ?? 0) + rc.judged);
        return m;
      };
      return {
        kernel: k,
        variant: v,
        reasons: tally(e?.reasons),
        clientReasons: tally(e?.clientReasons),
        clientInvalid: e?.clientCounters?.conntrackInvalid ?? v.client.conntrackInvalid ?? null,
      };
    }),
  }));
  const differences: KernelComparison['differences'] = [];
  const outcomeDifferences: KernelComparison['outcomeDifferences'] = [];
  for (const row of rows) {
    const present = row.cells.filter((c): c is KernelCell => !!c);
    if (present.length < 2) continue;
    for (const at of ['server', 'client'] as const) {
      const of = (c: KernelCell) => (at === 'server' ? c.reasons : c.clientReasons);
      const all = new Set(present.flatMap((c) => [...of(c).keys()]));
      for (const reason of [...all].sort()) {
        const on = present.filter((c) => (of(c).get(reason) ?? 0) > 0).map((c) => c.kernel);
        if (on.length > 0 && on.length < present.length) {
          differences.push({
            name: row.name,
            at,
            reason,
            onKernels: on,
            notOnKernels: present.filter((c) => !on.includes(c.kernel)).map((c) => c.kernel),
          });
        }
      }
    }
    const outcome = (c: KernelCell) => `${workloadComplete(c.variant)}/${c.variant.server.invalidDrops > 0}`;
    if (new Set(present.map(outcome)).size > 1) {
      outcomeDifferences.push({
        name: row.name,
        perKernel: present.map((c) => ({
          kernel: c.kernel,
          complete: workloadComplete(c.variant),
          noun: workloadNoun(c.variant),
          invalidDrops: c.variant.server.invalidDrops,
        })),
      });
    }
  }
  return { kernels, rows, differences, outcomeDifferences };
}

/** Plain sentences on what differed between kernels (empty for a one-kernel run). */
export function differenceSentences(c: KernelComparison): string[] {
  if (c.kernels.length < 2) return [];
  const out: string[] = [];
  for (const d of c.outcomeDifferences) {
    out.push(
      `${d.name}: ${d.perKernel
        .map(
          (p) =>
            `on ${p.kernel} ${p.noun} ${p.complete ? 'completed' : 'did not complete'} with ${p.invalidDrops.toLocaleString('en-US')} INVALID drop${p.invalidDrops === 1 ? '' : 's'}`,
        )
        .join('; ')}.`,
    );
  }
  for (const d of c.differences) {
    // "ignored ..." lines are logged by the same path but the packet is let through, not INVALID.
    // Newer kernels also log some let-through packets without saying so: at the client, where
    // conntrack -S is read, a count of 0 INVALID on every kernel that logged the reason tells.
    const cells =
      c.rows
        .find((r) => r.name === d.name)
        ?.cells.filter((x): x is KernelCell => !!x && d.onKernels.includes(x.kernel)) ?? [];
    const noneInvalid = d.at === 'client' && cells.length > 0 && cells.every((x) => x.clientInvalid === 0);
    const what = /^ignored\b/.test(d.reason)
      ? `conntrack logged "${d.reason}" (let through without updating its state, not INVALID)`
      : noneInvalid
        ? `conntrack logged "${d.reason}" but counted no packet INVALID (let through)`
        : `conntrack judged packets INVALID with "${d.reason}"`;
    out.push(
      `${d.name}: ${d.at === 'client' ? 'at the client, ' : ''}${what} on ${d.onKernels.join(', ')}, never on ${d.notOnKernels.join(', ')}.`,
    );
  }
  if (out.length === 0)
    out.push(`Every variant had the same outcome and the same INVALID reasons on ${c.kernels.join(', ')}.`);
  return out;
}

/** How each kernel ran (VM or native), for the timing caveat. */
export function emulationCaveat(runs: KernelRun[] | undefined): string | undefined {
  if (!runs || runs.length === 0) return undefined;
  const emulated = runs.filter((k) => k.vm?.accel === 'tcg');
  if (emulated.length === 0) return undefined;
  const native = runs.filter((k) => !k.vm);
  return (
    `${emulated.map((k) => k.release).join(', ')} ran in a VM under software emulation (qemu TCG), where every packet costs far more CPU than natively: ` +
    `compare their timings and throughput with each other only${native.length ? `, never with ${native.map((k) => k.release).join(', ')}, which ran natively` : ''}. ` +
    'Counts of INVALID drops and whether a harvest completed do compare.'
  );
}
