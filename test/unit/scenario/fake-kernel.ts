// A faked kernel answer for the sysctl checks (what src/scenario/kernel-sysctls.ts probes on a real
// one): a few real per-namespace names of 6.x, bbr/cubic/reno on offer, and the refusals a real
// kernel gives for out-of-range values.
import type { KernelSysctls } from '../../../src/scenario/sysctls.js';

export const FAKE_KERNEL: KernelSysctls = {
  release: '6.99.0-fake',
  names: new Set([
    'net.netfilter.nf_conntrack_tcp_be_liberal',
    'net.netfilter.nf_conntrack_tcp_loose',
    'net.netfilter.nf_conntrack_tcp_ignore_invalid_rst',
    'net.netfilter.nf_conntrack_log_invalid',
    'net.netfilter.nf_conntrack_max',
    'net.ipv4.tcp_sack',
    'net.ipv4.tcp_dsack',
    'net.ipv4.tcp_timestamps',
    'net.ipv4.tcp_rmem',
    'net.ipv4.tcp_congestion_control',
    'net.ipv4.tcp_available_congestion_control',
    'net.ipv4.ip_forward',
    'net.core.somaxconn',
  ]),
  congestion: ['reno', 'bbr', 'cubic'],
  refused: new Map([
    ['net.netfilter.nf_conntrack_tcp_be_liberal=2', 'Invalid argument'],
    ['net.netfilter.nf_conntrack_max=5', 'Permission denied (read-only in a network namespace)'],
    ['net.ipv4.tcp_congestion_control=vegas', 'No such file or directory'],
    ['net.ipv4.tcp_rmem=4096 abc', 'Invalid argument'],
  ]),
};
