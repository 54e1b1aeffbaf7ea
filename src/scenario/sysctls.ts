// Which sysctls a scenario may set (server.sysctls, client.sysctls, variants', matrix server
// profiles): any sysctl that is per network namespace on the kernel the node runs. The file alone
// can only be checked for shape (a name under net., a one-line value); the kernel's own answer
// (does the name exist in a fresh network namespace, does the kernel accept the value) comes from
// a KernelSysctls probe (src/scenario/kernel-sysctls.ts) and is checked here, so unit tests can
// fake it. The `about` texts explain the settings that matter to this lab, for the report.

/** What the kernel the lab runs on says about sysctls, as probed in a throwaway network namespace. */
export interface KernelSysctls {
  /** `uname -r` of that kernel. */
  release: string;
  /** Every sysctl a fresh network namespace has, dotted (net.ipv4.tcp_sack), conntrack's included. */
  names: ReadonlySet<string>;
  /** net.ipv4.tcp_available_congestion_control, split (empty when unknown). */
  congestion: readonly string[];
  /** "name=value" → the kernel's error writing it (e.g. "Invalid argument"); absent: accepted. */
  refused: ReadonlyMap<string, string>;
}

/** What each setting that matters to the lab does (for the report); other valid sysctls have none. */
export const SYSCTL_ABOUT: Record<string, string> = {
  'net.netfilter.nf_conntrack_tcp_be_liberal': 'conntrack accepts out-of-window TCP packets (the fix)',
  'net.netfilter.nf_conntrack_tcp_loose': 'conntrack picks up established connections mid-stream',
  'net.netfilter.nf_conntrack_tcp_ignore_invalid_rst': 'conntrack ignores out-of-window RSTs',
  'net.netfilter.nf_conntrack_log_invalid': 'log INVALID packets of this protocol number (6 = TCP, 255 = all)',
  'net.netfilter.nf_conntrack_tcp_max_retrans': 'retransmissions before conntrack shortens the timeout',
  'net.netfilter.nf_conntrack_checksum': 'conntrack verifies checksums',
  'net.ipv4.tcp_sack': 'the server offers and uses SACK',
  'net.ipv4.tcp_dsack': 'the server sends duplicate SACKs',
  'net.ipv4.tcp_window_scaling': 'the server offers window scaling',
  'net.ipv4.tcp_timestamps': 'TCP timestamps',
  'net.ipv4.tcp_recovery': 'loss recovery (1 = RACK)',
  'net.ipv4.tcp_congestion_control': 'congestion control algorithm (any the kernel offers)',
  'net.ipv4.tcp_rmem': 'receive buffer min/default/max',
  'net.ipv4.tcp_wmem': 'send buffer min/default/max',
  'net.ipv4.tcp_mtu_probing': 'path MTU probing',
};

const NAME_RE = /^net\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;

/** The key the probe's `refused` map uses. */
export const sysctlKey = (name: string, value: string): string => `${name}=${value}`;

/**
 * Returns an error message, or undefined when name=value is settable. Without `kernel` only the
 * shape is checked; with it, the name must exist per network namespace and the value be accepted.
 */
export function checkSysctl(name: string, value: string, kernel?: KernelSysctls): string | undefined {
  if (!NAME_RE.test(name))
    return `"${name}" is not a per-network-namespace sysctl (those are net.*, dotted, e.g. net.ipv4.tcp_sack)`;
  if (/[\n\r]/.test(value) || value.trim() === '') return `${name}: the value must be one non-empty line`;
  if (!kernel) return undefined;
  if (!kernel.names.has(name)) {
    const near = closestNames(name, kernel.names);
    return `unknown sysctl "${name}": not per network namespace on kernel ${kernel.release}${
      near.length ? `; did you mean ${orList(near)}?` : ''
    }`;
  }
  const err = kernel.refused.get(sysctlKey(name, value));
  if (err === undefined) return undefined;
  const offers =
    name === 'net.ipv4.tcp_congestion_control' && kernel.congestion.length
      ? ` (this kernel offers: ${kernel.congestion.join(', ')})`
      : '';
  return `kernel ${kernel.release} refuses ${name}=${value}: ${err}${offers}`;
}

function orList(xs: string[]): string {
  return xs.length === 1 ? xs[0]! : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;
}

/** Levenshtein distance, one row at a time. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Up to three real names closest to `name`: by edit distance over the whole name and over its
 * last component (a typo in the leaf, or the right leaf under the wrong folder), ties broken by the
 * longer shared prefix; with no near typo, those sharing the longest prefix (into the leaf). Names too far off to be a typo, or clearly worse than the best, are left out.
 */
export function closestNames(name: string, names: Iterable<string>, max = 3): string[] {
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  const scored: Array<{ n: string; d: number; p: number }> = [];
  for (const n of names) {
    const d = Math.min(editDistance(name, n), editDistance(leaf, n.slice(n.lastIndexOf('.') + 1)) + 1);
    if (d > Math.max(2, Math.min(5, Math.floor(leaf.length / 4)))) continue;
    let p = 0;
    while (p < name.length && name[p] === n[p]) p++;
    scored.push({ n, d, p });
  }
  scored.sort((x, y) => x.d - y.d || y.p - x.p || x.n.localeCompare(y.n));
  if (scored.length === 0) return sharedPrefix(name, names, max);
  // Only the best and the nearly best: one clear typo gets one suggestion.
  const best = scored[0]!.d;
  return scored
    .filter((x) => x.d <= best + 1)
    .slice(0, max)
    .map((x) => x.n);
}

/** No near typo: the names sharing the longest prefix with `name`, if it reaches into the leaf. */
function sharedPrefix(name: string, names: Iterable<string>, max: number): string[] {
  const leafAt = name.lastIndexOf('.') + 1;
  let best = leafAt + 3;
  let out: string[] = [];
  for (const n of names) {
    let p = 0;
    while (p < name.length && name[p] === n[p]) p++;
    if (p > best) [best, out] = [p, [n]];
    else if (p === best) out.push(n);
  }
  return out.sort().slice(0, max);
}
