// Start-up deadlines (a node answering, a capture listening, the middlebox ready) scaled for slow
// machines: the VM guest sets CTLAB_STARTUP_SCALE (lab/vm/job-*.sh), because under emulation (TCG)
// on a busy host starting a process takes many times longer (measured: a netns lab took 68 s to
// come up inside a 6.1 guest while the host ran two VMs and three builds). The scenario's own
// timeouts (connect, read, harvest) are what is being measured and never scale.

/** `ms` times CTLAB_STARTUP_SCALE (a number >= 1; anything else counts as 1). */
export function startupMs(ms: number): number {
  const scale = Number(process.env.CTLAB_STARTUP_SCALE);
  return Number.isFinite(scale) && scale >= 1 ? Math.round(ms * scale) : ms;
}
