import { describe, expect, it } from 'vitest';
import { cleanLine, diagnose, feedConsole, newConsoleState, stampLine, TAIL_LINES } from '../../../src/vm/console.js';

const feedAll = (lines: [number, string][]) => {
  const st = newConsoleState();
  const kinds = lines.map(([ms, l]) => feedConsole(st, ms, l));
  return { st, kinds };
};

const GOOD: [number, string][] = [
  [100, '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)'],
  [10500, '\x1bc\x1b[?7l\x1b[2JCTLAB-VM INIT uptime=8.96 release=6.1.0-50-cloud-amd64\r'],
  [15900, 'CTLAB-VM MODULES uptime=14.44 missing=nf_log_syslog sch_netem entropy=256'],
  [16200, 'CTLAB-VM JOB_START uptime=14.76'],
  [18300, 'smoke: modules: ok'],
  [20000, '[   19.1] some kernel line during the job'],
  [54600, 'CTLAB-VM JOB_END uptime=53.20 rc=1'],
  [55200, 'CTLAB-VM TAR ok bytes=30025'],
  [55200, 'CTLAB-VM DONE uptime=53.84 rc=1'],
  [55300, '[   53.914606] sysrq: Power Off'],
];

describe('guest console', () => {
  it('strips carriage returns and terminal escapes', () => {
    expect(cleanLine('\x1bc\x1b[?7l\x1b[2JCTLAB-VM INIT x\r')).toBe('CTLAB-VM INIT x');
    expect(cleanLine('\x1b[0mSeaBIOS')).toBe('SeaBIOS');
  });
  it('stamps lines with host seconds', () => {
    expect(stampLine(10455, 'x')).toBe('[+   10.5s] x');
  });
  it('reads the init markers with their host times', () => {
    const { st, kinds } = feedAll(GOOD);
    expect(st).toMatchObject({
      initAt: 10500,
      release: '6.1.0-50-cloud-amd64',
      modulesAt: 15900,
      jobStartAt: 16200,
      jobEndAt: 54600,
      jobRc: 1,
      tarOk: true,
      doneAt: 55200,
    });
    expect(st.missingModules).toEqual(['nf_log_syslog', 'sch_netem']);
    expect(kinds).toEqual(['other', 'marker', 'marker', 'marker', 'job', 'job', 'marker', 'marker', 'marker', 'other']);
    expect(diagnose(st, { timedOut: false, timeoutMs: 1000, qemuExit: 0 })).toBeUndefined();
  });
  it('an empty missing list is empty', () => {
    const { st } = feedAll([[1, 'CTLAB-VM MODULES uptime=1 missing= entropy=256']]);
    expect(st.missingModules).toEqual([]);
  });
  it('diagnoses a kernel panic first, with the panic line', () => {
    const { st } = feedAll([
      [1, 'CTLAB-VM INIT uptime=1 release=5.10.0-46-cloud-amd64'],
      [2, '[    3.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100'],
      [3, 'CTLAB-VM FAIL x'],
    ]);
    expect(diagnose(st, { timedOut: false, timeoutMs: 1, qemuExit: 0 })).toMatch(
      /^the guest kernel 5\.10\.0-46-cloud-amd64 panicked: Kernel panic - not syncing: Attempted to kill init!/,
    );
  });
  it('diagnoses init failures, timeouts, early qemu exits and missing results', () => {
    expect(
      diagnose(
        feedAll([
          [1, 'CTLAB-VM INIT uptime=1 release=r'],
          [2, 'CTLAB-VM FAIL no scratch disk'],
        ]).st,
        { timedOut: false, timeoutMs: 1, qemuExit: 0 },
      ),
    ).toBe('the guest init failed: no scratch disk');
    expect(
      diagnose(
        feedAll([
          [1, 'CTLAB-VM INIT uptime=1 release=r'],
          [2, 'CTLAB-VM JOB_START uptime=2'],
        ]).st,
        { timedOut: true, timeoutMs: 600_000, qemuExit: null },
      ),
    ).toBe('the VM did not finish within 600 s (stopped while the job ran)');
    expect(
      diagnose(newConsoleState(), {
        timedOut: false,
        timeoutMs: 1,
        qemuExit: 1,
        qemuStderr: 'qemu-system-x86_64: -kernel /x: No such file\n',
      }),
    ).toBe('qemu exited (code 1) before reaching init: qemu-system-x86_64: -kernel /x: No such file');
    const noTar = feedAll(GOOD.filter(([, l]) => !l.includes('TAR'))).st;
    expect(diagnose(noTar, { timedOut: false, timeoutMs: 1, qemuExit: 0 })).toBe(
      'the guest finished but did not write its results to the scratch disk',
    );
  });
  it('keeps only the last lines', () => {
    const st = newConsoleState();
    for (let i = 0; i < TAIL_LINES + 10; i++) feedConsole(st, i, `line ${i}`);
    expect(st.tail.length).toBe(TAIL_LINES);
    expect(st.tail[TAIL_LINES - 1]).toBe(`line ${TAIL_LINES + 9}`);
  });
});
