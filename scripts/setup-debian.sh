#!/usr/bin/env bash
# Installs what building and testing tpc needs on a fresh Debian machine:
# clang and libbpf headers for the BPF programs, bpftool for kernel tests,
# Debian's python3 (its SystemTap probes are the USDT kernel test's target),
# xz for the BTF test data; for the VM tests (vm/README.md) QEMU, a static
# busybox, and apt sources that offer the Debian 6.1 and 6.12 kernel
# packages (bookworm-backports is added when apt knows no 6.12 kernel).
# Mounts bpffs and tracefs when they are missing.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
need=()
for pkg in clang llvm libbpf-dev bpftool xz-utils jq libcap2-bin util-linux python3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
updated=""
apt_update() {
  if [ -z "$updated" ]; then
    $SUDO apt-get update -qq
    updated=yes
  fi
}
if [ "${#need[@]}" -gt 0 ]; then
  apt_update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The VM tests: QEMU (software emulation), busybox-static for the guests'
# initramfs, cpio to check the archives the harness writes; without
# recommends (qemu-system-x86 would bring a GUI).
vm_need=()
for pkg in qemu-system-x86 busybox-static cpio; do
  dpkg -s "$pkg" >/dev/null 2>&1 || vm_need+=("$pkg")
done
if [ "${#vm_need[@]}" -gt 0 ]; then
  apt_update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${vm_need[@]}" >/dev/null
fi
# The guests' kernels are downloaded by the tests (`apt-get download`), so
# apt's lists must offer them: 6.1 is bookworm's own, 6.12 comes from
# bookworm-security (or bookworm-backports, added here when missing).
kernel_known() {
  [ -n "$(apt-cache search --names-only "^linux-image-$1-cloud-amd64")" ]
}
if ! kernel_known '6\.1\.0-[0-9]+' || ! kernel_known '6\.12\.[0-9]+\+(deb12|bpo)'; then
  apt_update
fi
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if ! kernel_known '6\.12\.[0-9]+\+(deb12|bpo)' && [ "$codename" = bookworm ] &&
  ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" |
    $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
  updated=""
  apt_update
fi
if [ "$(id -u)" = 0 ]; then
  mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || true
  mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing || true
fi
