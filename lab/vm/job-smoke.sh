# The smoke job: does this kernel run the lab's building blocks? (see lab/vm/smoke.mjs)
export CTLAB_NFQUEUE_ADDON=/opt/ctlab/native/nfqueue.node
exec node /opt/ctlab/lab/vm/smoke.mjs /out/run
