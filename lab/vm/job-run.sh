# The real job: `ctlab run` (or `ctlab matrix`, CTLAB_VM_COMMAND) of the scenario with the
# namespace runtime; its run folder goes to /out/run.
# /job/env sets the scenario's extra arguments with `set --`.
. /job/env
export CTLAB_NFQUEUE_ADDON=/opt/ctlab/native/nfqueue.node
exec node /opt/ctlab/bin/ctlab.js "${CTLAB_VM_COMMAND:-run}" /job/scenario.yaml --runtime netns --out /out/run "$@"
