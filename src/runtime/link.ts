// What both runtimes (Docker, plain network namespaces) share at the node level: the default
// node sysctls, the veth wiring and end configuration, and the kernel feature check. No Docker
// import here: the namespace runtime loads this inside machines that have no Docker.
import { CtlabError } from '../errors.js';
import type { LabNode, LinkEnd, LinkSpec } from './types.js';

/** Offloads off on every lab interface: packets must be real wire-sized segments. */
export const OFFLOADS_OFF = ['tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off', 'rx', 'off'];

/**
 * Sysctls every node starts with (a NodeSpec can override them): no forwarding; no IPv6, so the lab's links
 * carry only the IPv4 traffic under study (no router solicitations, no DAD, no fe80:: routes).
 */
export const NODE_DEFAULT_SYSCTLS: Record<string, string> = {
  // A new netns copies the host's ip_forward (1 wherever Docker runs); hosts should not route.
  'net.ipv4.ip_forward': '0',
  'net.ipv6.conf.all.disable_ipv6': '1',
  'net.ipv6.conf.default.disable_ipv6': '1',
};

const IFNAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;
const CIDR_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Throws CtlabError('LAB') for an interface name or address that must not reach a shell. */
export function validateLinkSpec(spec: LinkSpec): void {
  for (const end of [spec.a, spec.b]) {
    if (!IFNAME_RE.test(end.ifname))
      throw new CtlabError('LAB', `bad interface name ${end.ifname}`, {
        hint: 'at most 15 characters: letters, digits, ".", "_", "-"',
      });
    const m = CIDR_RE.exec(end.address);
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
      throw new CtlabError('LAB', `bad address ${end.address}`, { hint: 'an IPv4 CIDR, e.g. 198.18.1.2/24' });
    }
  }
  if (spec.mtu !== undefined && (!Number.isInteger(spec.mtu) || spec.mtu < 68 || spec.mtu > 65535)) {
    throw new CtlabError('LAB', `bad MTU ${spec.mtu}`, { hint: 'a whole number from 68 to 65535' });
  }
}

/** `ip link add` of a veth pair whose ends are created straight in the two nodes' namespaces (by pid). */
export function vethAddCommand(spec: LinkSpec, pidA: number, pidB: number): string[] {
  return [
    'ip',
    'link',
    'add',
    spec.a.ifname,
    'netns',
    String(pidA),
    'type',
    'veth',
    'peer',
    'name',
    spec.b.ifname,
    'netns',
    String(pidB),
  ];
}

/** The shell script (run inside the end's node) that configures one end and brings it up. */
export function configureEndScript(end: LinkEnd, mtu = 1500): string {
  const i = end.ifname;
  // One exec per end keeps wiring fast; `set -e` makes the first failure the error.
  return [
    'set -e',
    `ip link set dev ${i} mtu ${mtu}`,
    `ip addr add ${end.address} dev ${i}`,
    `ethtool -K ${i} ${OFFLOADS_OFF.join(' ')}`,
    `ip link set dev ${i} up`,
  ].join('\n');
}

/**
 * Wire `spec`: create the veth pair with `addVeth` (the runtime's way of running a command in the
 * host's network namespace: a helper container for Docker, directly for netns), then configure
 * both ends inside their nodes. `addVeth` resolves only once the pair exists: no retry here (the
 * "vanishing veth end" was a helper whose exit was read before it ran; see DockerRuntime.runHelper).
 */
export async function wireLink(
  spec: LinkSpec,
  a: LabNode,
  b: LabNode,
  addVeth: (cmd: string[], what: string) => Promise<void>,
): Promise<void> {
  validateLinkSpec(spec);
  await addVeth(
    vethAddCommand(spec, a.pid, b.pid),
    `link ${spec.a.node}:${spec.a.ifname} <-> ${spec.b.node}:${spec.b.ifname}`,
  );
  await Promise.all([
    a.exec(['sh', '-c', configureEndScript(spec.a, spec.mtu)], { timeoutMs: 10_000 }),
    b.exec(['sh', '-c', configureEndScript(spec.b, spec.mtu)], { timeoutMs: 10_000 }),
  ]);
}

/** What checkKernel found inside a node. */
export interface KernelReport {
  conntrack: boolean;
  nfqueue: boolean;
}

/**
 * The lab needs conntrack (the server judges packets INVALID) and NFQUEUE (the middlebox).
 * Looks from inside a node: /proc/net/nf_conntrack or `conntrack -S`, and
 * /proc/net/netfilter/nfnetlink_queue. Throws CtlabError('KERNEL') naming what is missing.
 */
export async function checkKernel(
  node: LabNode,
  need: { conntrack?: boolean; nfqueue?: boolean } = {},
): Promise<KernelReport> {
  const script = [
    'if [ -e /proc/net/nf_conntrack ] || conntrack -S >/dev/null 2>&1; then echo conntrack=1; else echo conntrack=0; fi',
    'if [ -e /proc/net/netfilter/nfnetlink_queue ]; then echo nfqueue=1; else echo nfqueue=0; fi',
  ].join('\n');
  const r = await node.exec(['sh', '-c', script], { timeoutMs: 10_000 });
  const report: KernelReport = { conntrack: /conntrack=1/.test(r.stdout), nfqueue: /nfqueue=1/.test(r.stdout) };
  const missing: string[] = [];
  if ((need.conntrack ?? true) && !report.conntrack) missing.push('connection tracking (nf_conntrack)');
  if ((need.nfqueue ?? true) && !report.nfqueue) missing.push('NFQUEUE (nfnetlink_queue)');
  if (missing.length) {
    throw new CtlabError('KERNEL', `the kernel lacks ${missing.join(' and ')} (seen from node ${node.spec.name})`, {
      hint: 'load the modules on the host (`modprobe nf_conntrack nfnetlink_queue`) or use a kernel built with CONFIG_NF_CONNTRACK and CONFIG_NETFILTER_NETLINK_QUEUE',
    });
  }
  return report;
}
