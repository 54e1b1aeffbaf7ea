// The nstat counters a run keeps: the one list of their names. result.json's server.nstat and
// client.nstat hold these (the rest stay in the raw server-nstat.txt / client-nstat.txt), the
// evidence hands them to the report, and the report's TCP table words the ones it shows.

export const NSTAT_KEPT = [
  'TcpActiveOpens',
  'TcpPassiveOpens',
  'TcpAttemptFails',
  'TcpEstabResets',
  'TcpInSegs',
  'TcpOutSegs',
  'TcpRetransSegs',
  'TcpOutRsts',
  'TcpExtTCPTimeouts',
  'TcpExtTCPSACKDiscard',
  'TcpExtTCPSackRecovery',
  'TcpExtTCPSACKReneging',
  'TcpExtTCPLossProbes',
  'TcpExtTCPFastRetrans',
  'TcpExtTCPSlowStartRetrans',
  'TcpExtTCPLostRetransmit',
  'TcpExtTCPDSACKIgnoredOld',
  'TcpExtTCPDSACKIgnoredNoUndo',
  'TcpExtTCPSpuriousRTOs',
  'TcpExtTCPAbortOnTimeout',
  'TcpExtTCPSynRetrans',
  'TcpExtTCPACKSkippedSeq',
  'TcpExtTCPZeroWindowDrop',
  'TcpExtTCPRcvQDrop',
  // Segments dropped by the receiver for lying past its advertised window (Linux 6.17 on).
  'TcpExtBeyondWindow',
  'TcpExtTCPOFOQueue',
  'TcpExtTCPOFODrop',
] as const;

export type NstatName = (typeof NSTAT_KEPT)[number];

/** All of nstat's counters → the kept ones, in NSTAT_KEPT's order (0 for one the kernel lacks). */
export function keepNstat(all: Record<string, number>): Record<NstatName, number> {
  const out = {} as Record<NstatName, number>;
  for (const k of NSTAT_KEPT) out[k] = all[k] ?? 0;
  return out;
}
