// Server (and client: `client.sysctls`) sysctls a scenario may set. All are per-network-namespace, so Docker can set them at
// container creation; each has the values the kernel accepts, so a bad value fails at validation
// rather than as a container that will not start.

export interface SysctlSpec {
  /** What the setting does, for error messages and the report. */
  about: string;
  values: RegExp;
  valuesText: string;
}

const bool = { values: /^[01]$/, valuesText: '0 or 1' };
const uint = { values: /^\d+$/, valuesText: 'a whole number' };

export const KNOWN_SYSCTLS: Record<string, SysctlSpec> = {
  'net.netfilter.nf_conntrack_tcp_be_liberal': {
    about: 'conntrack accepts out-of-window TCP packets (the fix)',
    ...bool,
  },
  'net.netfilter.nf_conntrack_tcp_loose': { about: 'conntrack picks up established connections mid-stream', ...bool },
  'net.netfilter.nf_conntrack_tcp_ignore_invalid_rst': { about: 'conntrack ignores out-of-window RSTs', ...bool },
  'net.netfilter.nf_conntrack_log_invalid': {
    about: 'log INVALID packets of this protocol number (6 = TCP, 255 = all)',
    values: /^(\d|[1-9]\d|1\d\d|2[0-4]\d|25[0-5])$/,
    valuesText: '0 to 255',
  },
  'net.netfilter.nf_conntrack_tcp_max_retrans': {
    about: 'retransmissions before conntrack shortens the timeout',
    ...uint,
  },
  'net.netfilter.nf_conntrack_checksum': { about: 'conntrack verifies checksums', ...bool },
  'net.ipv4.tcp_sack': { about: 'the server offers and uses SACK', ...bool },
  'net.ipv4.tcp_dsack': { about: 'the server sends duplicate SACKs', ...bool },
  'net.ipv4.tcp_window_scaling': { about: 'the server offers window scaling', ...bool },
  'net.ipv4.tcp_timestamps': { about: 'TCP timestamps', values: /^[0-2]$/, valuesText: '0, 1 or 2' },
  'net.ipv4.tcp_recovery': { about: 'loss recovery (1 = RACK)', ...uint },
  'net.ipv4.tcp_congestion_control': {
    about: 'congestion control algorithm',
    values: /^(cubic|reno)$/,
    valuesText: 'cubic or reno (built into this kernel)',
  },
  'net.ipv4.tcp_rmem': {
    about: 'receive buffer min/default/max',
    values: /^\d+\s+\d+\s+\d+$/,
    valuesText: 'three whole numbers',
  },
  'net.ipv4.tcp_wmem': {
    about: 'send buffer min/default/max',
    values: /^\d+\s+\d+\s+\d+$/,
    valuesText: 'three whole numbers',
  },
  'net.ipv4.tcp_mtu_probing': { about: 'path MTU probing', values: /^[0-2]$/, valuesText: '0, 1 or 2' },
};

/** Returns an error message, or undefined when name=value is settable. */
export function checkSysctl(name: string, value: string): string | undefined {
  const spec = KNOWN_SYSCTLS[name];
  if (!spec) return `unknown sysctl "${name}" (ctlab can set: ${Object.keys(KNOWN_SYSCTLS).join(', ')})`;
  if (!spec.values.test(value)) return `${name} must be ${spec.valuesText}, not "${value}"`;
  return undefined;
}
