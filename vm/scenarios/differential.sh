# The differential test's guest side (tests/tests/vm_differential.rs): one
# `tpc run` with the tested policies (/data/tested.tpcb) and their
# observe-all twins (/data/observer.tpcb), every policy scoped to cgroup
# tpcdt; the workload (/data/workload.sh) runs in that cgroup; then the
# events, gzipped and base64-encoded between markers, for the host to
# replay through the simulator.
set +e
mkdir -p /tmp/d/etc /tmp/d/secret
echo k > /tmp/d/etc/secret.key
echo p > /tmp/d/etc/public.pem
echo s > /tmp/d/secret/f
for name in cat true sh; do cp /bin/busybox /tmp/d/busybox-tpcdt-$name; done
mkdir -p /sys/fs/cgroup/tpcdt
: > run.log
tpc run $(cat /data/cgroup-args) /data/tested.tpcb /data/observer.tpcb > events.json 2> run.log &
pid=$!
i=0
while ! grep -q "stop with Ctrl-C" run.log; do
	if ! kill -0 $pid 2>/dev/null || [ $i -gt 1500 ]; then
		echo "tpc run did not start:"
		cat run.log
		exit 1
	fi
	i=$((i + 1))
	sleep 0.1
done
sh -c 'echo $$ > /sys/fs/cgroup/tpcdt/cgroup.procs && cd /tmp/d && exec sh /data/workload.sh' > workload.out 2>&1
sleep 1
kill -INT $pid
wait $pid
status=$?
tail -3 run.log
echo "workload:"
cat workload.out
echo "=== events"
gzip -c events.json | base64
echo "=== end"
exit $status
