# The real job: run the scenario with the namespace runtime; its run folder goes to /out/run.
# /job/env sets the scenario's extra arguments with `set --`.
. /job/env
export CTLAB_NFQUEUE_ADDON=/opt/ctlab/native/nfqueue.node
exec node /opt/ctlab/bin/ctlab.js run /job/scenario.yaml --runtime netns --out /out/run "$@"
