// The middlebox's per-packet engine: parses an IPv4 packet in place, finds or creates its flow,
// applies the path (loss, delay, reordering, late packets) and the profile's rewrites (ISN offsets, SACK
// edges, options), and keeps the TCP checksum right by incremental updates (RFC 1624).
// Pure and synchronous: the NFQUEUE loop (main.ts) hands it packets and honours its verdicts.
// It allocates nothing per packet on the common path.
import type { MiddleboxProfile, PathModel } from '../scenario/model.js';
import { ipToString, readU8, readU16, readU32, writeU16 } from '../packet/bytes.js';
import { scanTcpOptions } from '../packet/options.js';
import { IPPROTO_TCP } from '../packet/ipv4.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../packet/tcp.js';
import {
  F_FIN_CLIENT,
  F_FIN_SERVER,
  F_MAXEND_C2S,
  F_RST_CLIENT,
  F_RST_SERVER,
  F_SERVER_ISN,
  FlowTable,
} from './flows.js';
import { PacketContext } from './mutations/context.js';
import { PathImpairment } from './mutations/impair.js';
import { IsnRewriter } from './mutations/isn.js';
import { OptionRewriter } from './mutations/options.js';
import { splitSeed } from './rng.js';

export interface EngineConfig {
  profile: MiddleboxProfile;
  path: PathModel;
  seed: number;
  /** Flows tracked at most (default 2^20); SYNs beyond pass unmodified, counted in flowTableFull. */
  maxFlows?: number;
}

/** process() verdict: drop the packet. */
export const DROP = -1;

/**
 * Which half of the sequence space a server-ISN offset ds lies in, as an unsigned 32-bit
 * number: 'pos' for 1 ≤ ds ≤ 2^31−1 (positive as a signed 32-bit integer), 'neg' for
 * 2^31 ≤ ds ≤ 2^32−1, 'zero' for 0 (no server offset). Same split as the prototype's corr.sh.
 *
 * Why it matters (Linux ≥ 6.1, net/netfilter/nf_conntrack_proto_tcp.c): with SACK untranslated,
 * the client's SACK edges reach the server shifted by +ds. tcp_sack() keeps the highest right
 * edge only if after() the ACK number, and tcp_in_window() returns INVALID with "ACK is over
 * upper bound %u (ACKed data not seen yet)" when that edge is after the server's td_end.
 * - 'pos': the edge lands ahead of everything the server sent → INVALID; with
 *   `--ctstate INVALID -j DROP` every SACK-bearing dup-ACK is eaten and loss recovery
 *   deadlocks. THE HARMFUL HALF. (Measured: the prototype's deadlock capture has
 *   ds ≈ 0x10000000, and the INVALID reasons captured are all "ACK is over upper bound".)
 * - 'neg': the edge lands before the ACK number, so tcp_sack() ignores it and the ACK passes
 *   (edges far below would at worst hit the lower-bound check, which 6.1+ turned into
 *   "ignored", not INVALID).
 */
export type OffsetHalf = 'pos' | 'neg' | 'zero';
export const HARMFUL_SERVER_OFFSET_HALF: OffsetHalf = 'pos';

export function offsetHalf(offset: number): OffsetHalf {
  const u = offset >>> 0;
  return u === 0 ? 'zero' : u < 0x80000000 ? 'pos' : 'neg';
}

export interface MiddleboxCounters {
  packetsSeen: number;
  /** Packets whose bytes were changed. */
  packetsRewritten: number;
  nonTcp: number;
  /** IP fragments (passed through untouched: a fragment may not hold the TCP header). */
  fragments: number;
  /** Packets that could not be parsed (bad lengths, malformed TCP options): passed unmodified. */
  malformed: number;
  /** TCP packets of no known flow (no SYN seen): passed unmodified. */
  untracked: number;
  /** Flows created (one per new client SYN). */
  flows: number;
  flowTableFull: number;
  synRetransmissions: number;
  sackBlocksSeen: number;
  sackBlocksTranslated: number;
  /** Blocks left in the wrong sequence space (translation off, non-zero peer offset). */
  sackBlocksUntranslated: number;
  optionsStripped: number;
  windowScaleSet: number;
  droppedByLoss: number;
  /** Packets returned with a hold time > 0. */
  held: number;
  /** Data segments held extraDelayMs longer to reorder them. */
  reordered: number;
  /** Pure client→server ACKs held late.clientAcks.holdMs longer (path.late). */
  lateClientAcks: number;
  /** First transmissions of server→client data held late.serverData.holdMs longer (path.late). */
  lateServerData: number;
  /** Flows by the half their server offset fell in (see offsetHalf()); 'pos' is the harmful one. */
  serverOffsetPos: number;
  serverOffsetNeg: number;
  serverOffsetZero: number;
}

export interface FlowRecord {
  /** 0-based creation order; the key of the flow's random draws. */
  ordinal: number;
  client: string;
  server: string;
  firstSeenMs: number;
  lastSeenMs: number;
  clientIsn: number;
  /** Real server ISN, from its SYN-ACK (null if none seen). */
  serverIsn: number | null;
  /** Added to client→server sequence numbers (unsigned 32-bit). */
  clientOffset: number;
  /** Added to server→client sequence numbers (unsigned 32-bit). */
  serverOffset: number;
  serverOffsetHalf: OffsetHalf;
  packetsToServer: number;
  packetsToClient: number;
  /** IP bytes (total length) each way, dropped packets included. */
  bytesToServer: number;
  bytesToClient: number;
  /** First transmissions of data segments each way. */
  dataSegmentsToServer: number;
  dataSegmentsToClient: number;
  dropsToServer: number;
  dropsToClient: number;
  sackBlocksTranslated: number;
  sackBlocksUntranslated: number;
  synRetransmissions: number;
  reordered: number;
  /** Packets held as late packets (path.late): pure ACKs to the server, data segments to the client. */
  lateToServer: number;
  lateToClient: number;
  finFromClient: boolean;
  finFromServer: boolean;
  rstFromClient: boolean;
  rstFromServer: boolean;
}

export class MiddleboxEngine {
  /** Whether the last process() call changed the packet's bytes. */
  modified = false;

  private readonly table: FlowTable;
  private readonly ctx = new PacketContext();
  private readonly isn: IsnRewriter;
  private readonly opts: OptionRewriter;
  private readonly path: PathImpairment;
  /** Anything to rewrite at all? (false: the transparent profile, only the path applies). */
  private readonly rewrites: boolean;
  private readonly c: MiddleboxCounters = {
    packetsSeen: 0,
    packetsRewritten: 0,
    nonTcp: 0,
    fragments: 0,
    malformed: 0,
    untracked: 0,
    flows: 0,
    flowTableFull: 0,
    synRetransmissions: 0,
    sackBlocksSeen: 0,
    sackBlocksTranslated: 0,
    sackBlocksUntranslated: 0,
    optionsStripped: 0,
    windowScaleSet: 0,
    droppedByLoss: 0,
    held: 0,
    reordered: 0,
    lateClientAcks: 0,
    lateServerData: 0,
    serverOffsetPos: 0,
    serverOffsetNeg: 0,
    serverOffsetZero: 0,
  };

  constructor(cfg: EngineConfig) {
    const [lo, hi] = splitSeed(cfg.seed);
    this.table = new FlowTable(1024, cfg.maxFlows ?? 1 << 20);
    this.isn = new IsnRewriter(cfg.profile, lo, hi);
    this.opts = new OptionRewriter(cfg.profile.options);
    this.path = new PathImpairment(cfg.path, lo, hi);
    this.rewrites = cfg.profile.isn.client || cfg.profile.isn.server || this.opts.active;
    this.ctx.table = this.table;
  }

  /**
   * Process one IPv4 packet in place in buf[off, off+len) (never changes its length). Returns
   * DROP, or the time in ms to hold the packet before releasing it (0 = release now).
   */
  process(buf: Uint8Array, off: number, len: number, nowMs: number): number {
    const c = this.c;
    this.modified = false;
    c.packetsSeen++;
    const delay = this.path.delayMs;
    // IPv4 sanity: anything we cannot parse goes through untouched (the receiver will judge it).
    // The caller hands a packet inside buf (off + len <= buf.length); the byte reads below stay
    // inside it: the IPv4 header by `len < 20` and `ihl < 20 || total > len`, the TCP header by
    // `tcpLen < 20` and `thl > tcpLen`.
    if (len < 20 || readU8(buf, off) >>> 4 !== 4) {
      c.malformed++;
      return this.hold(delay);
    }
    const ihl = (readU8(buf, off) & 0x0f) << 2;
    const total = readU16(buf, off + 2);
    if (ihl < 20 || total < ihl || total > len) {
      c.malformed++;
      return this.hold(delay);
    }
    if (buf[off + 9] !== IPPROTO_TCP) {
      c.nonTcp++;
      return this.hold(delay);
    }
    if ((readU16(buf, off + 6) & 0x3fff) !== 0) {
      c.fragments++;
      return this.hold(delay);
    }
    const t = off + ihl;
    const tcpLen = total - ihl;
    if (tcpLen < 20) {
      c.malformed++;
      return this.hold(delay);
    }
    const thl = (readU8(buf, t + 12) >>> 4) << 2;
    if (thl < 20 || thl > tcpLen) {
      c.malformed++;
      return this.hold(delay);
    }
    const ctx = this.ctx;
    ctx.nopts = thl > 20 ? scanTcpOptions(buf, t + 20, t + thl, ctx.opts) : 0;
    if (ctx.nopts < 0) {
      c.malformed++;
      return this.hold(delay);
    }

    const src = readU32(buf, off + 12);
    const dst = readU32(buf, off + 16);
    const sport = readU16(buf, t);
    const dport = readU16(buf, t + 2);
    const flags = readU8(buf, t + 13);
    const seq = readU32(buf, t + 4);
    const table = this.table;

    let r = table.lookup(src, dst, sport, dport);
    if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      // r >= 0: a flow of the table (bounds: see FlowTable); so below for f and fd.
      if (r >= 0 && (r & 1) === 0 && table.isn[r]! === seq) {
        // A retransmitted SYN (same ISN): same flow, same offsets.
        c.synRetransmissions++;
        table.synRetrans[r >>> 1]!++;
      } else {
        // A new connection (possibly reusing the 4-tuple with a new ISN): a new flow.
        const f = table.create(src, dst, sport, dport, nowMs);
        if (f < 0) {
          c.flowTableFull++;
          return this.hold(delay);
        }
        table.isn[2 * f] = seq;
        this.isn.assign(table, f);
        c.flows++;
        const half = offsetHalf(table.offset[2 * f + 1]!);
        if (half === 'pos') c.serverOffsetPos++;
        else if (half === 'neg') c.serverOffsetNeg++;
        else c.serverOffsetZero++;
        r = f << 1;
      }
    }
    if (r < 0) {
      c.untracked++;
      return this.hold(delay);
    }
    const f = r >>> 1; // r >= 0: f < table.count, so [f] and [fd] are in bounds (see FlowTable)
    const dir = r & 1;
    const fd = r; // 2 * f + dir
    table.lastSeen[f] = nowMs;
    table.packets[fd]!++;
    table.bytes[fd]! += total;
    if (flags & TCP_FIN) table.flags[f]! |= dir ? F_FIN_SERVER : F_FIN_CLIENT;
    if (flags & TCP_RST) table.flags[f]! |= dir ? F_RST_SERVER : F_RST_CLIENT;
    if (dir === 1 && (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) {
      table.isn[fd] = seq;
      table.flags[f]! |= F_SERVER_ISN;
    }

    // The path: loss of first transmissions of data, then reordering.
    let hold = delay;
    const payloadLen = tcpLen - thl;
    if (payloadLen > 0) {
      const end = (seq + payloadLen) >>> 0;
      const seenBit = F_MAXEND_C2S << dir;
      const relSeq = (seq - table.isn[fd]!) >>> 0;
      if (!(table.flags[f]! & seenBit) || ((seq - table.maxEnd[fd]!) | 0) >= 0) {
        // First transmission: starts at or beyond everything seen so far in this direction.
        table.flags[f]! |= seenBit;
        table.maxEnd[fd] = end;
        const n = ++table.dataSegs[fd]!;
        if (this.path.drop(f, dir, n, relSeq)) {
          table.drops[fd]!++;
          c.droppedByLoss++;
          return DROP;
        }
        if (dir === 1) {
          // Late server data: the original arrives after its successors (and, once the client
          // has SACKed them, usually after its own fast retransmission).
          const late = this.path.lateDataHold(n);
          if (late > 0) {
            hold += late;
            table.late[fd]!++;
            c.lateServerData++;
          }
        }
      } else if (((end - table.maxEnd[fd]!) | 0) > 0) {
        table.maxEnd[fd] = end;
      }
      const extra = this.path.reorderHold(f, dir, relSeq);
      if (extra > 0) {
        hold += extra;
        c.reordered++;
        table.reordered[f]!++;
      }
    } else if (dir === 0 && (flags & (TCP_ACK | TCP_SYN | TCP_FIN | TCP_RST)) === TCP_ACK) {
      // A pure client ACK: late ones reach the server after ACKs of later data.
      const late = this.path.lateAckHold(++table.pureAcks[fd]!);
      if (late > 0) {
        hold += late;
        table.late[fd]!++;
        c.lateClientAcks++;
      }
    }

    // The rewrites.
    if (this.rewrites) {
      ctx.buf = buf;
      ctx.t = t;
      ctx.thl = thl;
      ctx.flags = flags;
      ctx.payloadLen = payloadLen;
      ctx.check = readU16(buf, t + 16);
      ctx.modified = false;
      ctx.flow = f;
      ctx.dir = dir;
      this.opts.apply(ctx);
      if (ctx.nopts > 0) this.isn.rewriteSack(ctx);
      this.isn.rewriteSeqAck(ctx);
      if (ctx.modified) {
        writeU16(buf, t + 16, ctx.check);
        this.modified = true;
        c.packetsRewritten++;
      }
    }
    return this.hold(hold);
  }

  private hold(ms: number): number {
    if (ms > 0) this.c.held++;
    return ms;
  }

  counters(): MiddleboxCounters {
    return {
      ...this.c,
      sackBlocksSeen: this.isn.sackBlocksSeen,
      sackBlocksTranslated: this.isn.sackBlocksTranslated,
      sackBlocksUntranslated: this.isn.sackBlocksUntranslated,
      optionsStripped: this.opts.stripped,
      windowScaleSet: this.opts.wscaleSet,
    };
  }

  flowRecords(): FlowRecord[] {
    const t = this.table;
    const out: FlowRecord[] = [];
    // f < t.count: [f] and [2 * f + 1] are in bounds (see FlowTable).
    for (let f = 0; f < t.count; f++) {
      const p = t.ports[f]!;
      const fl = t.flags[f]!;
      out.push({
        ordinal: f,
        client: `${ipToString(t.caddr[f]!)}:${p >>> 16}`,
        server: `${ipToString(t.saddr[f]!)}:${p & 0xffff}`,
        firstSeenMs: t.firstSeen[f]!,
        lastSeenMs: t.lastSeen[f]!,
        clientIsn: t.isn[2 * f]!,
        serverIsn: fl & F_SERVER_ISN ? t.isn[2 * f + 1]! : null,
        clientOffset: t.offset[2 * f]!,
        serverOffset: t.offset[2 * f + 1]!,
        serverOffsetHalf: offsetHalf(t.offset[2 * f + 1]!),
        packetsToServer: t.packets[2 * f]!,
        packetsToClient: t.packets[2 * f + 1]!,
        bytesToServer: t.bytes[2 * f]!,
        bytesToClient: t.bytes[2 * f + 1]!,
        dataSegmentsToServer: t.dataSegs[2 * f]!,
        dataSegmentsToClient: t.dataSegs[2 * f + 1]!,
        dropsToServer: t.drops[2 * f]!,
        dropsToClient: t.drops[2 * f + 1]!,
        sackBlocksTranslated: t.sackTranslated[f]!,
        sackBlocksUntranslated: t.sackUntranslated[f]!,
        synRetransmissions: t.synRetrans[f]!,
        reordered: t.reordered[f]!,
        lateToServer: t.late[2 * f]!,
        lateToClient: t.late[2 * f + 1]!,
        finFromClient: (fl & F_FIN_CLIENT) !== 0,
        finFromServer: (fl & F_FIN_SERVER) !== 0,
        rstFromClient: (fl & F_RST_CLIENT) !== 0,
        rstFromServer: (fl & F_RST_SERVER) !== 0,
      });
    }
    return out;
  }
}
