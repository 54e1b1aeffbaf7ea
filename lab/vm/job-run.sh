# The real job: `ctlab run` (or `ctlab matrix`, CTLAB_VM_COMMAND) of the scenario with the
# namespace runtime; its run folder goes to /out/run.
# /job/env sets the scenario's extra arguments with `set --`.
. /job/env
export CTLAB_NFQUEUE_ADDON=/opt/ctlab/native/nfqueue.node
# Start-up deadlines x10 in the guest (src/util/startup.ts): under emulation on a busy host a node
# or a capture can take over 30 s to start (measured on a shared 2-core host at load ~15: a
# tcpdump not listening after x4's 40 s, twice in five late-ack runs); the scenario's own
# timeouts do not scale. They only bound a failure: a start that succeeds costs the same.
export CTLAB_STARTUP_SCALE=10
exec node /opt/ctlab/bin/ctlab.js "${CTLAB_VM_COMMAND:-run}" /job/scenario.yaml --runtime netns --out /out/run "$@"
