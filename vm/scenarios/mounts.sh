# Every file system a BPF test needs is mounted where the tools look.
missing=0
for wanted in /proc:proc /sys:sysfs /dev:devtmpfs /tmp:tmpfs \
  /sys/fs/bpf:bpf /sys/kernel/tracing:tracefs /sys/kernel/debug:debugfs \
  /sys/kernel/security:securityfs /sys/fs/cgroup:cgroup2; do
  dir=${wanted%%:*}
  type=${wanted#*:}
  if grep -q "^[^ ]* $dir $type " /proc/mounts; then
    echo "$dir: $type"
  else
    echo "$dir is not a $type mount"
    missing=1
  fi
done
test "$missing" = 0
