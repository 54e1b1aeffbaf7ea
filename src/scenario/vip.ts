// Where a client-side service VIP may live. The lab owns 198.18.0.0/15 and nothing else; the
// two /24s below are its links (client 198.18.1.2, gw .1.1; server 198.18.2.2, gw .2.1, as in
// src/topology/build.ts, which a unit test checks). A VIP is a Kubernetes-style service
// address: routed like any lab address (towards the middlebox) but owned by no host, so without
// the client's DNAT a packet to it goes nowhere, and a reply that escapes the reverse NAT
// visibly comes from the server's own address.

const toInt = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const inNet = (a: string, net: string, bits: number): boolean =>
  Math.floor(toInt(a) / 2 ** (32 - bits)) === Math.floor(toInt(net) / 2 ** (32 - bits));

export const LAB_NET = { address: '198.18.0.0', bits: 15 } as const;
/** The link subnets, whose addresses belong to (or neighbour) lab hosts on the wire. */
export const LINK_NETS = ['198.18.1.0', '198.18.2.0'] as const;

/** An error message, or undefined when `vip` (a dotted quad) can be a service VIP. */
export function checkServiceVip(vip: string): string | undefined {
  if (!inNet(vip, LAB_NET.address, LAB_NET.bits))
    return `service VIP ${vip} is outside the lab's 198.18.0.0/15: the lab sends nothing anywhere else (e.g. 198.18.3.80)`;
  const n = toInt(vip);
  if (n === toInt(LAB_NET.address) || n === toInt(LAB_NET.address) + 2 ** (32 - LAB_NET.bits) - 1)
    return `service VIP ${vip} is the lab network's own network or broadcast address (e.g. 198.18.3.80)`;
  for (const net of LINK_NETS) {
    if (inNet(vip, net, 24))
      return `service VIP ${vip} is in the link subnet ${net}/24 of the lab hosts; a VIP is an address no host owns, outside the links (e.g. 198.18.3.80)`;
  }
  return undefined;
}
