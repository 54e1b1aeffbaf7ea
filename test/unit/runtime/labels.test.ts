import { describe, expect, it } from 'vitest';
import { imageRemovalOrder } from '../../../src/runtime/cleanup.js';
import { dockerError } from '../../../src/runtime/connect.js';
import {
  assertNodeName,
  assertRunId,
  containerName,
  helperLabels,
  imageFilter,
  newRunId,
  nodeLabels,
  runFilter,
} from '../../../src/runtime/labels.js';

describe('labels and names', () => {
  it('makes valid, distinct, time-ordered run ids', () => {
    const a = newRunId(new Date('2026-11-25T10:47:35Z'));
    expect(a).toMatch(/^20261125-104735-[0-9a-f]{4}$/);
    expect(assertRunId(a)).toBe(a);
    const many = new Set(Array.from({ length: 50 }, () => newRunId(new Date(0))));
    expect(many.size).toBeGreaterThan(40);
  });

  it('rejects run ids and node names Docker names or labels cannot carry safely', () => {
    for (const bad of ['', 'Has-Upper', '-lead', 'a b', 'x/y', 'a'.repeat(41)])
      expect(() => assertRunId(bad)).toThrow(/invalid run id/);
    expect(() => assertNodeName('server 1')).toThrow(/invalid node name/);
    expect(assertNodeName('mb-1')).toBe('mb-1');
  });

  it('puts the run id in container names and labels', () => {
    expect(containerName('r1', 'server')).toBe('ctlab-r1-server');
    expect(nodeLabels('r1', 'server', 'server')).toEqual({
      'ctlab.run': 'r1',
      'ctlab.node': 'server',
      'ctlab.role': 'server',
      'ctlab.kind': 'node',
    });
    expect(helperLabels('r1')).toEqual({ 'ctlab.run': 'r1', 'ctlab.kind': 'helper' });
  });

  it('filters by label only: one run, or any run', () => {
    expect(runFilter('r1')).toEqual({ label: ['ctlab.run=r1'] });
    expect(runFilter()).toEqual({ label: ['ctlab.run'] });
    expect(() => runFilter('bad id')).toThrow();
    expect(imageFilter()).toEqual({ label: ['ctlab.role'] });
  });

  it('removes child images before parents', () => {
    const roles = ['debian-root', 'base', 'server', 'harvester', 'base'];
    expect(roles.sort((a, b) => imageRemovalOrder(a) - imageRemovalOrder(b))).toEqual([
      'server',
      'harvester',
      'base',
      'base',
      'debian-root',
    ]);
  });

  it('explains an unreachable Docker with a hint', () => {
    const missing = dockerError(Object.assign(new Error('x'), { code: 'ENOENT' }));
    expect(missing.code).toBe('DOCKER');
    expect(missing.hint).toContain('scripts/setup.sh');
    expect(dockerError(Object.assign(new Error('x'), { code: 'EACCES' })).message).toContain('permission denied');
    expect(dockerError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).message).toContain('daemon down');
  });
});
