# Policies of every kernel hook kind, loaded by one `tpc run` in the guest:
# kprobes (a kernel function, a syscall, an fd argument), fentry, BPF LSM
# hooks whose Override makes open, exec and connect fail, and kprobes on
# security_* functions whose Override an fmod_ret program applies. Bundles are
# /data/*.tpcb (built on the host from fixtures/policies/build/). Prints
# `ok: ...` or `FAIL: ...` per check; tests/tests/vm_hooks.rs reads them.
# Checks run to the end whatever fails (not `sh -e`).
set +e
mkdir -p /tmp/tpc-guarded /tmp/tpc-sys /tmp/tpc-fmodret
echo x > /tmp/tpc-fmodret/f
echo x > /tmp/tpc-fmodret/ret-x
echo x > /tmp/tpc-unlink-other
echo secret > /tmp/tpc-guarded/f
echo open > /tmp/other
echo x > /tmp/tpc-kill-me
echo x > /tmp/tpc-fentry
echo x > /tmp/tpc-sys/f
cp /bin/busybox /tmp/tpc-no-exec

tpc verify /data/*.tpcb > verify.out 2>&1
say_verify=$?
: > run.log
tpc run /data/*.tpcb > events.json 2> run.log &
pid=$!
i=0
while ! grep -q "stop with Ctrl-C" run.log; do
	if ! kill -0 $pid 2>/dev/null || [ $i -gt 1500 ]; then
		echo "FAIL: tpc run did not start"
		cat run.log
		exit 1
	fi
	i=$((i + 1))
	sleep 0.1
done

say() { if [ "$1" = 0 ]; then echo "ok: $2"; else echo "FAIL: $2 ($3)"; fi; }

say $say_verify "tpc verify: every program of every bundle loads" "$(cat verify.out)"
[ "$(grep -c '^ok ' verify.out)" = 23 ]; say $? "tpc verify: 23 programs (3 of the base sensor, one per hook, a kretprobe or fexit per return probe, an fmod_ret program per Override on a security_* kprobe)" "$(cat verify.out)"

# BPF LSM file_open, Override -1
if cat /tmp/tpc-guarded/f > out 2> err; then r=1; else grep -q "Operation not permitted" err; r=$?; fi
say $r "lsm file_open: a guarded open fails with EPERM" "$(cat out err)"
[ "$(cat /tmp/other)" = open ]; say $? "lsm file_open: another open succeeds"

# BPF LSM bprm_check_security, Override -13
if /tmp/tpc-no-exec true 2> err; then r=1; else grep -q "Permission denied" err; r=$?; fi
say $r "lsm bprm_check_security: exec of tpc-no-exec fails with EACCES" "$(cat err)"
/bin/busybox true; say $? "lsm bprm_check_security: another exec succeeds"

# BPF LSM socket_connect, Override -13
nc 127.0.0.1 4242 < /dev/null > out 2> err
grep -q "Permission denied" err; say $? "lsm socket_connect: connect to 127.0.0.1:4242 fails with EACCES" "$(cat err)"
nc 127.0.0.1 4243 < /dev/null > out 2> err
grep -q "refused" err; say $? "lsm socket_connect: connect to port 4243 is refused by the kernel, not the policy" "$(cat err)"

# kprobe security_file_open with Override -13 (fmod_ret)
if cat /tmp/tpc-fmodret/f > out 2> err; then r=1; else grep -q "Permission denied" err; r=$?; fi
say $r "kprobe security_file_open with Override (fmod_ret): a guarded open fails with EACCES" "$(cat out err)"
[ "$(cat /tmp/other)" = open ]; say $? "kprobe security_file_open with Override (fmod_ret): another open succeeds"
# kprobe security_socket_connect with Override -1 (fmod_ret)
nc 127.0.0.1 4244 < /dev/null > out 2> err
grep -q "not permitted" err; say $? "kprobe security_socket_connect with Override (fmod_ret): connect to port 4244 fails with EPERM" "$(cat err)"
nc 127.0.0.1 4243 < /dev/null > out 2> err
grep -q "refused" err; say $? "kprobe security_socket_connect with Override (fmod_ret): connect to port 4243 goes through to the kernel" "$(cat err)"
# kprobe security_inode_unlink with a return probe and Override -1 (fmod_ret)
rm /tmp/tpc-fmodret/ret-x > out 2> err; r=$?
[ $r != 0 ] && [ -e /tmp/tpc-fmodret/ret-x ] && grep -q "not permitted" err
say $? "kprobe security_inode_unlink with a return probe and Override (fmod_ret): rm of ret-x fails with EPERM" "status $r $(cat err)"
rm /tmp/tpc-unlink-other 2> err && [ ! -e /tmp/tpc-unlink-other ]
say $? "kprobe security_inode_unlink with a return probe and Override (fmod_ret): another rm succeeds" "$(cat err)"

# kprobe security_file_open (a struct file argument), Sigkill
cat /tmp/tpc-kill-me > /dev/null; r=$?
[ $r = 137 ]; say $? "kprobe security_file_open: the opener of tpc-kill-me is killed" "status $r"

# kprobe on a syscall (sys_openat at its wrapper), Sigkill
cat /tmp/tpc-sys/f > /dev/null; r=$?
[ $r = 137 ]; say $? "kprobe sys_openat: the opener of /tmp/tpc-sys/f is killed" "status $r"
cat /tmp/other > /dev/null; say $? "kprobe sys_openat: another open succeeds"

# kprobe sys_write with an fd argument, Post
sh -c 'echo hello > /tmp/tpc-fd-target'
# fentry security_file_open, Post
cat /tmp/tpc-fentry > /dev/null
# tracepoint sys_enter_openat (args-string: Equal /etc/gshadow), Post
cat /etc/gshadow > /dev/null 2>&1

sleep 1
kill -INT $pid
wait $pid
say $? "tpc run stops cleanly" "$(tail -3 run.log)"

count() { grep "\"policy_name\":\"$1\"" events.json | grep "\"$2\"" | grep -c "$3"; }
n=$(count lsm-deny-open process_lsm '"action":"KPROBE_ACTION_OVERRIDE"')
[ "$n" = 1 ]; say $? "event: one process_lsm file_open event with action OVERRIDE" "$n"
grep "\"policy_name\":\"lsm-deny-open\"" events.json | grep -q '"function_name":"file_open".*"file_arg":{"path":"/tmp/tpc-guarded/f"}'
say $? "event: the file_open event names the hook and the file" "$(grep lsm-deny-open events.json | head -c 600)"
n=$(count lsm-deny-exec process_lsm '"linux_binprm_arg":{"path":"/tmp/tpc-no-exec"}')
[ "$n" = 1 ]; say $? "event: one bprm_check_security event with the binary's path" "$n"
n=$(count lsm-deny-connect process_lsm '"sockaddr_arg":{"family":"AF_INET","addr":"127.0.0.1","port":4242}')
[ "$n" = 1 ]; say $? "event: one socket_connect event with the address" "$n"
n=$(count kprobe-kill-on-open process_kprobe '"action":"KPROBE_ACTION_SIGKILL"')
[ "$n" = 1 ]; say $? "event: one process_kprobe security_file_open event with action SIGKILL" "$n"
n=$(count kprobe-syscall-openat process_kprobe '"function_name":"__x64_sys_openat"')
[ "$n" = 1 ]; say $? "event: one __x64_sys_openat event" "$n"
grep '"policy_name":"kprobe-syscall-openat"' events.json | grep -q '"string_arg":"/tmp/tpc-sys/f"'
say $? "event: the syscall event carries the path argument" "$(grep kprobe-syscall-openat events.json | head -c 600)"
n=$(count kprobe-write-fd process_kprobe '"file_arg":{"path":"/tmp/tpc-fd-target"}')
[ "$n" = 1 ]; say $? "event: one write event with the fd's path" "$n"
n=$(count fentry-open process_kprobe '"file_arg":{"path":"/tmp/tpc-fentry"}')
[ "$n" = 1 ]; say $? "event: one fentry event with the file's path" "$n"
n=$(grep '"policy_name":"kprobe-security-override"' events.json | grep '"function_name":"security_file_open"' | grep -c '"action":"KPROBE_ACTION_OVERRIDE"')
[ "$n" = 1 ]; say $? "event: one process_kprobe security_file_open event with action OVERRIDE" "$n $(grep kprobe-security-override events.json | head -c 600)"
n=$(grep '"policy_name":"kprobe-security-override"' events.json | grep '"function_name":"security_socket_connect"' | grep '"port":4244' | grep -c '"action":"KPROBE_ACTION_OVERRIDE"')
[ "$n" = 1 ]; say $? "event: one process_kprobe security_socket_connect event with action OVERRIDE" "$n"
n=$(grep '"policy_name":"kprobe-security-override"' events.json | grep '"function_name":"security_inode_unlink"' | grep -E '"path":"[^"]*/tpc-fmodret/ret-x"' | grep '"return":{"int_arg":-1}' | grep '"return_action":"KPROBE_ACTION_POST"' | grep -c '"action":"KPROBE_ACTION_OVERRIDE"')
[ "$n" = 1 ]; say $? "event: one security_inode_unlink event with action OVERRIDE and the overridden return value" "$n $(grep security_inode_unlink events.json | head -c 900)"
n=$(grep '"policy_name":"kprobe-security-override"' events.json | grep -c '"function_name":"security_inode_unlink"')
[ "$n" = 1 ]; say $? "event: no security_inode_unlink event for the other rm" "$n"
n=$(count fexit-open process_kprobe '"file_arg":{"path":"/tmp/tpc-guarded/f"')
m=$(grep -c '"policy_name":"fexit-open"' events.json)
[ "$n" = 1 ] && [ "$m" = 1 ] && grep '"policy_name":"fexit-open"' events.json | grep -q '"return":{"int_arg":-1}'
say $? "event: one fexit event, the guarded open with the -1 that the LSM hook returned" "$n $m $(grep fexit-open events.json | head -c 900)"
n=$(count args-string process_tracepoint '"string_arg":"/etc/gshadow"')
[ "$n" = 1 ]; say $? "event: one tracepoint sys_enter_openat event of the bundle this machine's kernel runs too" "$n"
true
