// Signal traps that destroy a lab on Ctrl-C, SIGTERM, SIGHUP or a crash, for any runtime. No
// Docker import here: the namespace runtime uses these where dockerode is not installed.
import { CtlabError } from '../errors.js';

export interface TrapOptions {
  /** Exit after cleaning (default process.exit). */
  exit?: (code: number) => void;
  /** Where to say what happened (default stderr). */
  log?: (line: string) => void;
  /**
   * Also clean up on an uncaught exception or unhandled rejection (default true). A library
   * caller (a test runner's worker) handles those itself: there only the signals are trapped.
   */
  crashes?: boolean;
}

/**
 * Destroy the lab on SIGINT (exit 130), SIGTERM (exit 143), SIGHUP (129), an uncaught
 * exception or an unhandled rejection (exit 1). A second signal while cleaning exits at once.
 * Returns a function that removes the traps (call it after a normal destroy()).
 */
export function installCleanupTraps(
  runtime: { runId: string; destroy(): Promise<void> },
  opts: TrapOptions = {},
): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  let cleaning = false;

  const cleanThenExit = (code: number, why: string) => {
    if (cleaning) {
      log(`ctlab: ${why} again: exiting without waiting for cleanup (run \`ctlab clean --run ${runtime.runId}\`)`);
      exit(code);
      return;
    }
    cleaning = true;
    log(`ctlab: ${why}: removing lab ${runtime.runId}...`);
    const watchdog = setTimeout(() => {
      log('ctlab: cleanup is taking too long; exiting (run `ctlab clean`)');
      exit(code);
    }, 30_000);
    watchdog.unref();
    runtime.destroy().then(
      () => {
        clearTimeout(watchdog);
        exit(code);
      },
      (err) => {
        clearTimeout(watchdog);
        log(`ctlab: cleanup failed: ${err instanceof CtlabError ? err.format() : String(err)}`);
        exit(code);
      },
    );
  };

  const onSigint = () => cleanThenExit(130, 'interrupted (SIGINT)');
  const onSigterm = () => cleanThenExit(143, 'terminated (SIGTERM)');
  const onSighup = () => cleanThenExit(129, 'hung up (SIGHUP)');
  const onError = (err: unknown) => {
    log(
      err instanceof CtlabError
        ? err.format()
        : `ctlab: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    cleanThenExit(1, 'crashed');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  process.on('SIGHUP', onSighup);
  const crashes = opts.crashes ?? true;
  if (crashes) {
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
  }
  return () => {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.off('SIGHUP', onSighup);
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
  };
}
