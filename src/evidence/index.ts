// Evidence: why each packet died, joined from a run folder's files, as facts (no prose).
export * from './types.js';
export { analyzeVariant, normaliseReason, sackInShiftedSpace } from './analyze.js';
export { analyzeRun, variantDir } from './run.js';
export { countRetransmissions, readTcpPackets, type TcpPacket, type RetransmissionCount } from './packets.js';
