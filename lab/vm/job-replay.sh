# The replay job: `ctlab replay` of /job/capture.pcap on this guest's kernel (settings, --flow,
# --pace as `set --` in /job/env); its folder (replay.json, reports, NFLOG captures) goes to /out/run.
. /job/env
# Start-up deadlines x10 in the guest (src/util/startup.ts), as in job-run.sh.
export CTLAB_STARTUP_SCALE=10
exec node /opt/ctlab/bin/ctlab.js replay /job/capture.pcap --kernel host --out /out/run "$@"
