// The per-packet scratch state the mutations share: one instance per engine, reset for each
// packet, so the hot path allocates nothing.
import type { FlowTable } from '../flows.js';

export class PacketContext {
  buf: Uint8Array = new Uint8Array(0);
  /** Offset of the TCP header. */
  t = 0;
  /** TCP header length in bytes. */
  thl = 0;
  flags = 0;
  payloadLen = 0;
  /** The TCP checksum, updated incrementally by every change. */
  check = 0;
  modified = false;
  /** Offsets of the non-NOP options (see scanTcpOptions) and how many. */
  readonly opts = new Int32Array(40);
  nopts = 0;
  table!: FlowTable;
  flow = 0;
  /** 0 = client→server, 1 = server→client. */
  dir = 0;
}
