// Turns a capture's TCP packets into what the replay lab plays: flows found (client = the side
// that sent the SYN), addresses mapped one-to-one into 198.18.0.0/15 (the only range lab traffic
// may use here; ports, sequence numbers and everything else unchanged, so each flow stays the
// same flow to conntrack), the IP ID set to the packet's replay index (mod 65536) so each
// conntrack verdict can be tied to its packet, and each packet framed as Ethernet for the side
// it came from (client → server on the router's interface A, server → client on B).
import { ipToString, readU32, writeU16, writeU32 } from '../packet/bytes.js';
import { ipHeaderLength } from '../packet/ipv4.js';
import { fixChecksums } from '../packet/packet.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, tcpAck, tcpDstPort, tcpFlags, tcpSeq, tcpSrcPort } from '../packet/tcp.js';
import type { CapturedTcp } from './capture.js';

/** 198.18.0.0/15: mapped addresses count up from 198.18.0.1; 198.19.255.0/24 is the lab's own. */
const MAP_BASE = (198 << 24) | (18 << 16);
export const MAP_LIMIT = 2 * 65536 - 256 - 1;
export const ROUTER_MAC = { a: '02:c7:00:00:0a:01', b: '02:c7:00:00:0b:01' } as const;
export const WIRE_MAC = { a: '02:c7:00:00:0a:02', b: '02:c7:00:00:0b:02' } as const;

export type Direction = 'c2s' | 's2c';

export interface ReplayFlow {
  /** 1-based, in order of the flow's first packet. */
  id: number;
  /** Original addresses, "ip:port". */
  client: string;
  server: string;
  /** The same, as replayed (mapped into 198.18.0.0/15). */
  mappedClient: string;
  mappedServer: string;
  /** The capture began with the client's SYN; otherwise conntrack picked the flow up mid-stream (nf_conntrack_tcp_loose). */
  sawSyn: boolean;
  /** How the client side was decided. */
  clientBy: 'syn' | 'syn-ack' | 'port';
  packets: number;
}

export interface ReplayPacket {
  /** Replay order, 0-based (IP ID = index mod 65536). */
  index: number;
  /** Position in the original capture file. */
  frame: number;
  timeMs: number;
  flow: number;
  dir: Direction;
  flags: number;
  seq: number;
  ack: number;
  /** TCP payload length (from the IP header). */
  len: number;
  /** Mapped 4-tuple + seq + ack + IP ID: what an NFLOG record of this packet carries. */
  key: string;
}

export interface Prepared {
  flows: ReplayFlow[];
  packets: ReplayPacket[];
  /** Ethernet frames, in replay order. */
  frames: Uint8Array[];
  /** Original address → mapped address. */
  addressMap: Record<string, string>;
  /** Flows the --flow filter left out. */
  filteredOutFlows: number;
  filteredOutPackets: number;
}

/** A --flow filter: `ip`, `ip:port`, `:port` or `port N`; matches either end of a flow. */
export interface FlowFilter {
  text: string;
  ip?: string;
  port?: number;
}

export function parseFlowFilter(text: string): FlowFilter {
  const t = text.trim();
  let m = /^(?:port\s+|:)(\d{1,5})$/.exec(t);
  if (m) return checkPort({ text: t, port: Number(m[1]) });
  m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(t);
  if (m && m[1]!.split('.').every((x) => Number(x) <= 255))
    return checkPort({ text: t, ip: m[1], ...(m[2] ? { port: Number(m[2]) } : {}) });
  throw new Error(
    `--flow ${JSON.stringify(text)}: expected ip, ip:port, :port or "port N" (either end of a flow, as captured)`,
  );
}

function checkPort(f: FlowFilter): FlowFilter {
  if (f.port !== undefined && f.port > 65535)
    throw new Error(`--flow ${JSON.stringify(f.text)}: port ${f.port} is above 65535`);
  return f;
}

function matchesEnd(f: FlowFilter, end: string): boolean {
  const i = end.lastIndexOf(':');
  return (
    (f.ip === undefined || end.slice(0, i) === f.ip) && (f.port === undefined || Number(end.slice(i + 1)) === f.port)
  );
}

export function flowMatches(f: FlowFilter, flow: Pick<ReplayFlow, 'client' | 'server'>): boolean {
  return matchesEnd(f, flow.client) || matchesEnd(f, flow.server);
}

function macBytes(mac: string): number[] {
  return mac.split(':').map((x) => parseInt(x, 16));
}

const ETH_A = [...macBytes(ROUTER_MAC.a), ...macBytes(WIRE_MAC.a), 0x08, 0x00];
const ETH_B = [...macBytes(ROUTER_MAC.b), ...macBytes(WIRE_MAC.b), 0x08, 0x00];

/** Flow key independent of direction: "a:p|b:q" with the lower end first. */
function flowKey(src: string, dst: string): string {
  return src < dst ? `${src}|${dst}` : `${dst}|${src}`;
}

/**
 * Build the replay: flows, address map, rewritten and framed packets. `filter` keeps only the
 * flows it matches (whole flows: conntrack judges each flow on its own).
 */
export function prepare(input: readonly CapturedTcp[], filter?: FlowFilter): Prepared {
  // 1. Flows and their client side, from the first packets.
  interface F {
    flow: ReplayFlow;
  }
  const flows = new Map<string, F>();
  const ends = input.map((p) => {
    const ihl = ipHeaderLength(p.ip, 0);
    const src = `${ipToString(readU32(p.ip, 12))}:${tcpSrcPort(p.ip, ihl)}`;
    const dst = `${ipToString(readU32(p.ip, 16))}:${tcpDstPort(p.ip, ihl)}`;
    return { src, dst, ihl };
  });
  input.forEach((p, i) => {
    const { src, dst, ihl } = ends[i]!; // ends is input mapped one to one
    const k = flowKey(src, dst);
    let f = flows.get(k);
    const flags = tcpFlags(p.ip, ihl);
    if (!f) {
      const syn = (flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN;
      const synAck = (flags & (TCP_SYN | TCP_ACK | TCP_RST)) === (TCP_SYN | TCP_ACK);
      const portOf = (e: string) => Number(e.slice(e.lastIndexOf(':') + 1));
      // No handshake in the capture: the higher (ephemeral) port is the client's.
      const srcIsClient = syn ? true : synAck ? false : portOf(src) >= portOf(dst);
      f = {
        flow: {
          id: flows.size + 1,
          client: srcIsClient ? src : dst,
          server: srcIsClient ? dst : src,
          mappedClient: '',
          mappedServer: '',
          sawSyn: syn,
          clientBy: syn ? 'syn' : synAck ? 'syn-ack' : 'port',
          packets: 0,
        },
      };
      flows.set(k, f);
    }
    f.flow.packets++;
  });
  // 2. Keep the flows the filter wants; renumber them.
  const kept = [...flows.values()].filter((f) => !filter || flowMatches(filter, f.flow));
  const keptKeys = new Set<string>();
  const out: ReplayFlow[] = [];
  for (const f of kept) {
    f.flow.id = out.length + 1;
    out.push(f.flow);
    keptKeys.add(flowKey(f.flow.client, f.flow.server));
  }
  // 3. Address map, in order of first appearance among the kept packets.
  const addressMap: Record<string, string> = {};
  let next = 0;
  const mapAddr = (a: string): string => {
    let m = addressMap[a];
    if (m === undefined) {
      if (next >= MAP_LIMIT)
        throw new Error(
          `the capture has more than ${MAP_LIMIT} IPv4 addresses; 198.18.0.0/15 cannot hold them one to one`,
        );
      m = ipToString((MAP_BASE + 1 + next++) >>> 0);
      addressMap[a] = m;
    }
    return m;
  };
  const mapEnd = (e: string) => `${mapAddr(e.slice(0, e.lastIndexOf(':')))}${e.slice(e.lastIndexOf(':'))}`;
  for (const f of out) {
    f.mappedClient = mapEnd(f.client);
    f.mappedServer = mapEnd(f.server);
  }
  // 4. Rewrite and frame.
  const packets: ReplayPacket[] = [];
  const frames: Uint8Array[] = [];
  let filteredOutPackets = 0;
  input.forEach((p, i) => {
    const { src, dst, ihl } = ends[i]!; // ends is input mapped one to one
    const k = flowKey(src, dst);
    if (!keptKeys.has(k)) {
      filteredOutPackets++;
      return;
    }
    const flow = flows.get(k)!.flow; // keptKeys holds keys of `flows` only
    const dir: Direction = src === flow.client ? 'c2s' : 's2c';
    const index = packets.length;
    const frame = new Uint8Array(14 + p.ip.length);
    frame.set(dir === 'c2s' ? ETH_A : ETH_B, 0);
    frame.set(p.ip, 14);
    const ms = dir === 'c2s' ? flow.mappedClient : flow.mappedServer;
    const md = dir === 'c2s' ? flow.mappedServer : flow.mappedClient;
    const ipOf = (e: string) => e.slice(0, e.lastIndexOf(':'));
    writeU32(frame, 14 + 12, ipNum(ipOf(ms)));
    writeU32(frame, 14 + 16, ipNum(ipOf(md)));
    writeU16(frame, 14 + 4, index & 0xffff);
    const ipv = frame.subarray(14);
    fixChecksums(ipv, 0);
    const seq = tcpSeq(ipv, ihl);
    const ack = tcpAck(ipv, ihl);
    const thl = (ipv[ihl + 12]! >>> 4) << 2; // the TCP header was length-checked when the capture was read
    packets.push({
      index,
      frame: p.frame,
      timeMs: p.timeMs,
      flow: flow.id,
      dir,
      flags: tcpFlags(ipv, ihl),
      seq,
      ack,
      len: ipv.length - ihl - thl,
      key: packetKey(ms, md, seq, ack, index & 0xffff),
    });
    frames.push(frame);
  });
  return { flows: out, packets, frames, addressMap, filteredOutFlows: flows.size - out.length, filteredOutPackets };
}

function ipNum(s: string): number {
  const [a, b, c, d] = s.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** What ties an NFLOG record to the packet replayed: "src:port>dst:port/seq/ack/ipid" (mapped addresses). */
export function packetKey(src: string, dst: string, seq: number, ack: number, ipId: number): string {
  return `${src}>${dst}/${seq >>> 0}/${ack >>> 0}/${ipId}`;
}

/** Flags as tcpdump prints them: S, F, R, P, ., E, W, U. */
export function flagText(f: number): string {
  let s = '';
  if (f & TCP_SYN) s += 'S';
  if (f & TCP_FIN) s += 'F';
  if (f & TCP_RST) s += 'R';
  if (f & 0x08) s += 'P';
  if (f & 0x20) s += 'U';
  if (f & 0x40) s += 'E';
  if (f & 0x80) s += 'W';
  if (f & TCP_ACK) s += '.';
  return s || 'none';
}
