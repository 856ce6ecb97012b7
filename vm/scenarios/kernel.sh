# The guest kernel: its release (first line), its BTF, and BPF among the
# active LSMs (the kernel command line says lsm=lockdown,yama,bpf).
uname -r
test -e /sys/kernel/btf/vmlinux
echo "btf: /sys/kernel/btf/vmlinux, $(wc -c </sys/kernel/btf/vmlinux) bytes"
lsms=$(cat /sys/kernel/security/lsm)
echo "lsm: $lsms"
case ",$lsms," in
*,bpf,*) ;;
*) echo "bpf is not an active LSM"; exit 1 ;;
esac
