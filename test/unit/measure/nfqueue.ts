// Shared by the measure tests: /proc/net/netfilter/nfnetlink_queue with two queues (0 bound and
// dropping, 7 idle), as the kernel prints it, and what parseKernelQueueStats makes of it.
import type { KernelQueueStats } from '../../../src/measure/parse.js';

export const NFQUEUE_PROC =
  '    0  25618     3 2 65531     5     7   495444  1\n    7      0     0 2 65531     0     0        0  1\n';

export const NFQUEUE_STATS: KernelQueueStats[] = [
  {
    queue: 0,
    portid: 25618,
    queueTotal: 3,
    copyMode: 2,
    copyRange: 65531,
    queueDropped: 5,
    userDropped: 7,
    idSequence: 495444,
  },
  {
    queue: 7,
    portid: 0,
    queueTotal: 0,
    copyMode: 2,
    copyRange: 65531,
    queueDropped: 0,
    userDropped: 0,
    idSequence: 0,
  },
];
