// The namespace runtime's host check: Linux, root, the host programs it runs (each with its apt
// package), conntrack and NFQUEUE in the kernel. Throws a CtlabError naming what is missing.

import { existsSync } from 'node:fs';
import { CtlabError } from '../../errors.js';
import { ADDON_BUILD_PROGRAMS } from '../opt-root.js';
import { missingMessage, missingPrograms, type HostCheck, type HostProgram } from '../host-programs.js';

export const NETNS_HOST_PROGRAMS: readonly HostProgram[] = [
  { program: 'unshare', pkg: 'util-linux', why: 'creates the node namespaces' },
  { program: 'nsenter', pkg: 'util-linux', why: 'runs commands in a node' },
  { program: 'mount', pkg: 'mount', why: "builds each node's private filesystem view" },
  { program: 'sh', pkg: 'dash', why: 'node set-up scripts' },
  { program: 'ip', pkg: 'iproute2', why: 'veths, addresses, routes' },
  { program: 'tc', pkg: 'iproute2', why: 'path shaping (HTB)' },
  { program: 'nstat', pkg: 'iproute2', why: 'TCP counters' },
  { program: 'ethtool', pkg: 'ethtool', why: 'offloads off' },
  { program: 'sysctl', pkg: 'procps', why: 'node sysctls' },
  { program: 'iptables-nft', pkg: 'iptables', why: 'firewall (nft backend), NFQUEUE rule' },
  { program: 'iptables-legacy', pkg: 'iptables', why: 'firewall (legacy backend)' },
  { program: 'conntrack', pkg: 'conntrack', why: 'conntrack -S / -L' },
  { program: 'tcpdump', pkg: 'tcpdump', why: 'captures' },
  { program: 'node', pkg: 'nodejs', why: 'repository, middlebox and harvester' },
  { program: 'nginx', pkg: 'nginx-light', why: 'the web server' },
];

/**
 * Everything the namespace runtime needs from the host: Linux, root, the programs, conntrack and
 * NFQUEUE in the kernel. Throws CtlabError('HOST' or 'KERNEL') naming what is missing.
 */
export function checkNetnsHost(o: { build?: boolean } = {}): HostCheck {
  if (process.platform !== 'linux')
    throw new CtlabError('HOST', `the namespace runtime needs Linux, not ${process.platform}`);
  if (process.getuid?.() !== 0) {
    throw new CtlabError('HOST', 'the namespace runtime needs root (it creates network and mount namespaces)', {
      hint: 'run as root, e.g. `sudo npx ctlab run ... --runtime netns`',
    });
  }
  const check = missingPrograms([...NETNS_HOST_PROGRAMS, ...(o.build ? ADDON_BUILD_PROGRAMS : [])]);
  if (check.missing.length) {
    const m = missingMessage(check.missing);
    throw new CtlabError('HOST', m.message, { hint: m.hint });
  }
  const kernelMissing: string[] = [];
  if (!existsSync('/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal'))
    kernelMissing.push('connection tracking (nf_conntrack)');
  if (!existsSync('/proc/net/netfilter/nfnetlink_queue')) kernelMissing.push('NFQUEUE (nfnetlink_queue)');
  if (kernelMissing.length) {
    throw new CtlabError('KERNEL', `the kernel lacks ${kernelMissing.join(' and ')}`, {
      hint: '`modprobe nf_conntrack nfnetlink_queue`, or a kernel built with CONFIG_NF_CONNTRACK and CONFIG_NETFILTER_NETLINK_QUEUE',
    });
  }
  return check;
}
