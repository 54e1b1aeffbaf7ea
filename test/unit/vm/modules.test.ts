import { describe, expect, it } from 'vitest';
import { hasModule, LOAD_MODULES, moduleName, parseModulesDep, trimModules } from '../../../src/vm/modules.js';

const DEP = `kernel/net/netfilter/xt_conntrack.ko: kernel/net/netfilter/nf_conntrack.ko kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko kernel/net/netfilter/x_tables.ko
kernel/net/netfilter/nf_conntrack.ko: kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko
kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko:
kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko:
kernel/lib/libcrc32c.ko: kernel/crypto/crc32c_generic.ko
kernel/crypto/crc32c_generic.ko:
kernel/net/netfilter/x_tables.ko:
kernel/drivers/char/hw_random/virtio-rng.ko.xz:
kernel/drivers/block/virtio_blk.ko:
kernel/drivers/gpu/drm/drm.ko:
kernel/fs/btrfs/btrfs.ko: kernel/lib/libcrc32c.ko
kernel/net/sched/sch_htb.ko:
kernel/drivers/net/veth.ko:
`;

describe('module trimming', () => {
  it('names modules as modprobe does', () => {
    expect(moduleName('kernel/drivers/char/hw_random/virtio-rng.ko.xz')).toBe('virtio_rng');
    expect(moduleName('kernel/net/netfilter/xt_NFQUEUE.ko')).toBe('xt_NFQUEUE');
    expect(moduleName('x/nf_tables.ko.zst')).toBe('nf_tables');
  });
  it('parses modules.dep', () => {
    const m = parseModulesDep(DEP);
    expect(m.get('kernel/crypto/crc32c_generic.ko')).toEqual([]);
    expect(m.get('kernel/lib/libcrc32c.ko')).toEqual(['kernel/crypto/crc32c_generic.ko']);
  });
  it("keeps the lab's modules and their dependencies, nothing else", () => {
    const kept = trimModules(DEP);
    expect(kept).toEqual([
      'kernel/crypto/crc32c_generic.ko', // a dependency outside net/ comes along
      'kernel/drivers/block/virtio_blk.ko',
      'kernel/drivers/char/hw_random/virtio-rng.ko.xz',
      'kernel/drivers/net/veth.ko',
      'kernel/lib/libcrc32c.ko',
      'kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko',
      'kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko',
      'kernel/net/netfilter/nf_conntrack.ko',
      'kernel/net/netfilter/x_tables.ko',
      'kernel/net/netfilter/xt_conntrack.ko',
      'kernel/net/sched/sch_htb.ko',
    ]);
    expect(kept).not.toContain('kernel/fs/btrfs/btrfs.ko');
    expect(kept).not.toContain('kernel/drivers/gpu/drm/drm.ko');
  });
  it('tells built-in from module from absent', () => {
    const builtin = 'kernel/net/packet/af_packet.ko\nkernel/drivers/virtio/virtio_pci.ko\n';
    expect(hasModule('af_packet', DEP, builtin)).toBe('builtin');
    expect(hasModule('virtio-rng', DEP, builtin)).toBe('module');
    expect(hasModule('nfnetlink_queue', DEP, builtin)).toBe(false);
  });
  it('every module the guest loads is one the trimming keeps', () => {
    const all = LOAD_MODULES.flatMap((m) => m.split('|'));
    const dep = `${all.map((n) => `kernel/x/${n}.ko:`).join('\n')}\n`;
    expect(trimModules(dep).map(moduleName).sort()).toEqual([...all].sort());
  });
});
