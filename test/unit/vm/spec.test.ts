import { describe, expect, it } from 'vitest';
import { CtlabError } from '../../../src/errors.js';
import { compareNumeric, parseKernelSpec, pickKernelPackage } from '../../../src/vm/spec.js';

describe('parseKernelSpec', () => {
  it('maps Debian series to their suites', () => {
    expect(parseKernelSpec('5.10')).toMatchObject({
      kind: 'debian',
      debian: { suite: 'bullseye-security', archive: 'debian-security' },
    });
    expect(parseKernelSpec('6.1')).toMatchObject({ kind: 'debian', debian: { suite: 'bookworm', archive: 'debian' } });
    expect(parseKernelSpec(' 6.12 ')).toMatchObject({
      kind: 'debian',
      spec: '6.12',
      debian: { suite: 'bookworm-backports' },
    });
  });
  it('parses path specs with and without a modules dir', () => {
    expect(parseKernelSpec('path:/k/bzImage,/k/lib/modules/6.6.1')).toEqual({
      kind: 'path',
      spec: 'path:/k/bzImage,/k/lib/modules/6.6.1',
      image: '/k/bzImage',
      modulesDir: '/k/lib/modules/6.6.1',
    });
    expect(parseKernelSpec('path:/boot/vmlinuz-x')).toEqual({
      kind: 'path',
      spec: 'path:/boot/vmlinuz-x',
      image: '/boot/vmlinuz-x',
    });
  });
  it('rejects unknown series, relative paths and junk with a hint', () => {
    for (const bad of ['4.19', 'path:bzImage', 'path:/a,rel', 'path:/a,/b,/c', 'path:', 'latest', 'host']) {
      let err: unknown;
      try {
        parseKernelSpec(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(CtlabError);
      expect((err as CtlabError).code).toBe('SCENARIO');
      expect((err as CtlabError).hint).toMatch(/path:/);
    }
  });
});

describe('pickKernelPackage', () => {
  const names = [
    'linux-image-cloud-amd64',
    'linux-image-cloud-amd64-dbg',
    'linux-image-amd64',
    'linux-image-6.1.0-9-cloud-amd64',
    'linux-image-6.1.0-37-cloud-amd64',
    'linux-image-6.1.0-37-cloud-amd64-unsigned',
    'linux-image-6.1.0-37-cloud-amd64-dbg',
    'linux-image-6.1.0-40-amd64',
    'linux-image-6.10.0-1-cloud-amd64',
    'linux-image-6.12.90+deb12.1-cloud-amd64',
    'linux-image-6.12.95+deb12-cloud-amd64',
    'linux-image-6.12.9+deb12-cloud-amd64',
    'linux-image-5.10.0-35-cloud-amd64',
    'linux-image-5.10.0-100-cloud-amd64',
  ];
  it('takes the newest cloud image of the series, never meta, -dbg, -unsigned or another series', () => {
    expect(pickKernelPackage(names, '6.1')).toEqual({
      pkg: 'linux-image-6.1.0-37-cloud-amd64',
      release: '6.1.0-37-cloud-amd64',
    });
    expect(pickKernelPackage(names, '6.12')).toEqual({
      pkg: 'linux-image-6.12.95+deb12-cloud-amd64',
      release: '6.12.95+deb12-cloud-amd64',
    });
    expect(pickKernelPackage(names, '5.10')?.release).toBe('5.10.0-100-cloud-amd64');
    expect(pickKernelPackage(names, '4.19')).toBeUndefined();
  });
  it('orders release numbers numerically', () => {
    expect(compareNumeric('6.1.0-9', '6.1.0-37')).toBeLessThan(0);
    expect(compareNumeric('6.12.95', '6.12.90.1')).toBeGreaterThan(0);
    expect(compareNumeric('5.10.0-35', '5.10.0-35')).toBe(0);
  });
});
