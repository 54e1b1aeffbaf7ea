// `ctlab clean`'s view of replay namespaces: which names belong to which run (only
// ctlab-<run id>-<setting>-rpr / -rpw; a run id that is a prefix of another's does not match it),
// and `--sysctl` arguments checked for shape before anything starts.
import { describe, expect, it } from 'vitest';
import { CtlabError } from '../../../src/errors.js';
import { replayNamespacesOf } from '../../../src/replay/clean.js';
import { replayNetns, replayNetnsRun } from '../../../src/replay/lab.js';
import { parseSysctlArgs } from '../../../src/replay/run.js';

describe('replay namespace names', () => {
  it('the lab names and their run id round-trip', () => {
    const n = replayNetns('20261201-155000-3fa2', 1);
    expect(n).toEqual({ router: 'ctlab-20261201-155000-3fa2-1-rpr', wire: 'ctlab-20261201-155000-3fa2-1-rpw' });
    expect(replayNetnsRun(n.router)).toBe('20261201-155000-3fa2');
    expect(replayNetnsRun(n.wire)).toBe('20261201-155000-3fa2');
    expect(replayNetnsRun(replayNetns('a-1', 12).router)).toBe('a-1');
  });

  it('other names are not replay namespaces', () => {
    for (const n of [
      'ctlab-20261201-155000-3fa2-rpr', // no setting index
      'ctlab-20261201-155000-3fa2-0-rpx',
      'ctlab-20261201-155000-3fa2-0-rpr-x',
      'xctlab-r1-0-rpr',
      'ctlab-R1-0-rpr', // run ids are lower case
      'ctlab-r1-server', // a netns lab's node
      'myns',
      '',
    ])
      expect(replayNetnsRun(n), n).toBeUndefined();
  });

  it('picks one run, all runs, never anything else', () => {
    const names = [
      'ctlab-abc-0-rpr',
      'ctlab-abc-0-rpw',
      'ctlab-abc-1-rpr',
      'ctlab-abc-1-0-rpr', // run "abc-1"
      'ctlab-abcd-0-rpw', // run "abcd"
      'ctlab-abc-rpr',
      'other',
    ];
    expect(replayNamespacesOf(names, 'abc')).toEqual(['ctlab-abc-0-rpr', 'ctlab-abc-0-rpw', 'ctlab-abc-1-rpr']);
    expect(replayNamespacesOf(names, 'abc-1')).toEqual(['ctlab-abc-1-0-rpr']);
    expect(replayNamespacesOf(names, 'zzz')).toEqual([]);
    expect(replayNamespacesOf(names)).toEqual([
      'ctlab-abc-0-rpr',
      'ctlab-abc-0-rpw',
      'ctlab-abc-1-0-rpr',
      'ctlab-abc-1-rpr',
      'ctlab-abcd-0-rpw',
    ]);
  });
});

describe('--sysctl arguments', () => {
  it('name=value pairs, values may hold spaces', () => {
    expect(
      parseSysctlArgs(['net.netfilter.nf_conntrack_tcp_loose=0', 'net.ipv4.tcp_rmem=4096 131072 6291456']),
    ).toEqual({ 'net.netfilter.nf_conntrack_tcp_loose': '0', 'net.ipv4.tcp_rmem': '4096 131072 6291456' });
    expect(parseSysctlArgs([])).toEqual({});
  });

  it('bad shape: exit 2 (SCENARIO), one line naming the argument', () => {
    for (const [arg, msg] of [
      ['net.netfilter.nf_conntrack_tcp_loose', /expected name=value/],
      ['=1', /expected name=value/],
      ['kernel.pid_max=100', /not a per-network-namespace sysctl/],
      ['net.netfilter.nf_conntrack_tcp_loose=', /one non-empty line/],
    ] as const) {
      let err: unknown;
      try {
        parseSysctlArgs([arg]);
      } catch (e) {
        err = e;
      }
      expect(err, arg).toBeInstanceOf(CtlabError);
      expect((err as CtlabError).code).toBe('SCENARIO');
      expect((err as CtlabError).message).toMatch(msg);
      expect((err as CtlabError).message).toContain(`--sysctl ${JSON.stringify(arg)}`);
      expect((err as CtlabError).message).not.toContain('\n');
    }
  });
});
