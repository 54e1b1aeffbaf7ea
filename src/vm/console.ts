// The guest's serial console, read line by line: host timestamps for the log file, the init's
// "CTLAB-VM ..." markers (src: lab/vm/init), and a diagnosis when the guest did not finish:
// kernel panic, init failure, no results, timeout, each with the console's last lines.

export interface ConsoleState {
  /** Host ms (since qemu started) when each marker was seen. */
  initAt?: number;
  modulesAt?: number;
  jobStartAt?: number;
  jobEndAt?: number;
  doneAt?: number;
  release?: string;
  missingModules: string[];
  jobRc?: number;
  tarOk: boolean;
  /** "FAIL ..." messages from the init. */
  failures: string[];
  /** The first kernel panic / oops line. */
  panic?: string;
  /** Lines written by the job (between JOB_START and JOB_END). */
  jobLines: number;
  /** The last lines of the console (for error messages). */
  tail: string[];
}

export const TAIL_LINES = 40;

export function newConsoleState(): ConsoleState {
  return { missingModules: [], tarOk: false, failures: [], jobLines: 0, tail: [] };
}

/** "[+  12.3s] text" */
export function stampLine(ms: number, line: string): string {
  return `[+${(ms / 1000).toFixed(1).padStart(7)}s] ${line}`;
}

/** Without carriage returns and terminal escapes (SeaBIOS and the kernel clear the screen). */
export function cleanLine(raw: string): string {
  return (
    raw
      .replace(/\r/g, '')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: \x1b (ESC) starts the CSI escape sequence this removes
      .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: \x1b (ESC) starts the two-character escape sequence this removes
      .replace(/\x1b[@-Z\\-_c]/g, '')
  );
}

const kv = (s: string, k: string): string | undefined => new RegExp(`(?:^|\\s)${k}=(\\S*)`).exec(s)?.[1];

const PANIC =
  /(Kernel panic - not syncing.*|BUG: kernel NULL pointer.*|Attempted to kill init.*|No working init found.*|Kernel Offset: .*|double fault.*)/;

/**
 * Feed one console line (without line end) seen `ms` after qemu started. Returns the kind of
 * line: a marker, a job output line, or other (kernel / init chatter).
 */
export function feedConsole(st: ConsoleState, ms: number, raw: string): 'marker' | 'job' | 'other' {
  const line = cleanLine(raw);
  st.tail.push(line);
  if (st.tail.length > TAIL_LINES) st.tail.shift();
  if (!st.panic) {
    const p = PANIC.exec(line);
    if (p) st.panic = p[1]!.trim();
  }
  // A marker can share its line with the firmware's terminal resets, so it is found anywhere.
  const m = /CTLAB-VM (\w+)\s*(.*)$/.exec(line);
  if (!m) {
    if (st.jobStartAt !== undefined && st.jobEndAt === undefined) {
      st.jobLines++;
      return 'job';
    }
    return 'other';
  }
  const [, tag, rest] = m as unknown as [string, string, string];
  switch (tag) {
    case 'INIT':
      st.initAt = ms;
      st.release = kv(rest, 'release');
      break;
    case 'MODULES':
      st.modulesAt = ms;
      st.missingModules = (/missing=(.*?)(?:\s+entropy=|$)/.exec(rest)?.[1] ?? '').split(/\s+/).filter(Boolean);
      break;
    case 'JOB_START':
      st.jobStartAt = ms;
      break;
    case 'JOB_END':
      st.jobEndAt = ms;
      st.jobRc = Number(kv(rest, 'rc'));
      break;
    case 'TAR':
      st.tarOk = rest.startsWith('ok');
      break;
    case 'DONE':
      st.doneAt = ms;
      if (st.jobRc === undefined) st.jobRc = Number(kv(rest, 'rc'));
      break;
    case 'FAIL':
      st.failures.push(rest);
      break;
    default:
      return 'other';
  }
  return 'marker';
}

/** Why the guest did not deliver, or undefined when it did (DONE seen and results written). */
export function diagnose(
  st: ConsoleState,
  o: { timedOut: boolean; timeoutMs: number; qemuExit: number | null; qemuStderr?: string },
): string | undefined {
  if (st.doneAt !== undefined && st.tarOk) return undefined;
  if (st.panic) return `the guest kernel ${st.release ?? ''} panicked: ${st.panic}`.replace(/\s+/g, ' ');
  if (st.failures.length) return `the guest init failed: ${st.failures.join('; ')}`;
  const stage =
    st.initAt === undefined
      ? 'before reaching init'
      : st.jobStartAt === undefined
        ? 'after init, before the job started'
        : st.jobEndAt === undefined
          ? 'while the job ran'
          : 'after the job, while returning the results';
  if (o.timedOut) return `the VM did not finish within ${Math.round(o.timeoutMs / 1000)} s (stopped ${stage})`;
  if (st.initAt === undefined) {
    const err = o.qemuStderr?.trim().split('\n').slice(-2).join(' | ');
    return `qemu exited (code ${o.qemuExit}) ${stage}${err ? `: ${err}` : ''}`;
  }
  if (st.doneAt === undefined) return `the guest stopped ${stage} (qemu exit code ${o.qemuExit})`;
  return 'the guest finished but did not write its results to the scratch disk';
}
