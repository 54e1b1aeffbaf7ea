// One error type for everything a user can hit (execa's shape): what went wrong, what to do,
// the command that ran (if any), its exit code, whether it timed out, and the cause.

export type ErrorCode =
  | 'SCENARIO' // bad scenario file or option: nothing was started
  | 'DOCKER' // Docker unreachable or refused a request
  | 'IMAGE' // image build failed
  | 'KERNEL' // the kernel lacks a feature the lab needs
  | 'LAB' // the lab could not be brought up or broke during a run
  | 'EXEC' // a command inside a lab node failed
  | 'HOST' // a host prerequisite is missing (not root, not Linux, a tool missing)
  | 'EXPECTATION'; // a scenario expectation failed

export interface CtlabErrorOptions {
  hint?: string;
  command?: string[];
  exitCode?: number | null;
  timedOut?: boolean;
  stdout?: string;
  stderr?: string;
  cause?: unknown;
}

export class CtlabError extends Error {
  override readonly name = 'CtlabError';
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly command?: string[];
  readonly exitCode?: number | null;
  readonly timedOut: boolean;
  readonly stdout?: string;
  readonly stderr?: string;

  constructor(code: ErrorCode, message: string, opts: CtlabErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.hint = opts.hint;
    this.command = opts.command;
    this.exitCode = opts.exitCode;
    this.timedOut = opts.timedOut ?? false;
    this.stdout = opts.stdout;
    this.stderr = opts.stderr;
  }

  /** One or two lines for a terminal: the message, then what to do. */
  format(): string {
    const lines = [`ctlab: ${this.message}`];
    if (this.command)
      lines.push(
        `  command: ${this.command.join(' ')}${this.exitCode != null ? ` (exit ${this.exitCode})` : ''}${this.timedOut ? ' (timed out)' : ''}`,
      );
    const err = this.stderr?.trim();
    if (err) lines.push(`  stderr: ${err.split('\n').slice(-5).join('\n          ')}`);
    if (this.hint) lines.push(`  fix: ${this.hint}`);
    return lines.join('\n');
  }
}
