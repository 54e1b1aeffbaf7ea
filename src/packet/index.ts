// The packet layer: zero-copy IPv4/TCP accessors, TCP options, checksums, decode/encode, pcap.
export * from './bytes.js';
export * from './checksum.js';
export * from './ipv4.js';
export * from './tcp.js';
export * from './options.js';
export * from './packet.js';
export * from './pcap.js';
