#!/bin/bash
# Boot a Berth disk image in QEMU. The script ends by exec'ing qemu-system-x86_64,
# so its PID is QEMU's PID: killing it kills QEMU (a power cut).
#
# Usage: qemu/boot.sh [options]
#   --image FILE            disk image (default build/berth.img), virtio-blk, cache=writeback
#   --accel auto|kvm|tcg    (default auto, or $BERTH_ACCEL) auto = KVM only if the CPU has
#                           vmx/svm, /dev/kvm opens, and a tiny KVM guest really runs
#   --firmware bios|uefi    SeaBIOS (default) or OVMF (read-only CODE + private copy of VARS)
#   --memory MB             guest RAM (default 512)
#   --smp N                 vCPUs (default 1)
#   --serial-file FILE      serial console to FILE (default: stdio, Ctrl-A X quits,
#                           Ctrl-A C toggles the HMP monitor)
#   --serial-socket PATH    with --serial-file: the serial line is also a unix socket (server,
#                           nowait) to type on; the file still logs everything the guest prints
#   --agent-socket PATH     virtio-serial port org.berth.agent on a unix socket (server, nowait)
#   --agent-tcp PORT        the same agent port on TCP 127.0.0.1:PORT (scripts: bash /dev/tcp)
#   --monitor-socket PATH   QMP (JSON) monitor on a unix socket (server, nowait)
#   --timeout SEC           SIGKILL QEMU after SEC seconds (exit status 137)
#   --append "ARGS"         extra kernel arguments (repeatable), passed as SMBIOS type 11
#                           OEM string #1; GRUB appends it to the kernel command line
#   --poweroff-when-ready   same as --append berth.on_ready=poweroff
#   --snapshot              discard all disk writes (QEMU -snapshot)
#   --no-reboot             exit QEMU instead of rebooting
#   --forward HOST:GUEST    TCP 127.0.0.1:HOST -> guest GUEST (repeatable)
#   --ssh-port PORT         same as --forward PORT:22 (the guest's sshd)
#   --guestfwd GUEST:HOST   guest TCP 10.0.2.100:GUEST -> host 127.0.0.1:HOST (repeatable; a
#                           loopback server on the host, e.g. upgrade bundles over http)
#   --disk FILE             extra virtio-blk disk (repeatable; qcow2 by extension, else raw)
#   --hotplug-slots N       N empty PCIe root ports (ids hotplug0..) for disks or NICs added later
#                           through the monitor: device_add virtio-blk-pci,bus=hotplug0,...
#   --cloud-config FILE     attach a NoCloud seed disk (vfat labelled cidata) with FILE as
#                           user-data and a meta-data holding the instance-id
#   --instance-id ID        the seed's instance-id (default: iid- and a hash of FILE)
#   --seed-image PATH       where to build the seed disk (default: a new file in ${TMPDIR:-/tmp})
#   --dry-run               print the QEMU command line and exit
# Developer options (used by bench/boot for the kernel-only floor):
#   --kernel FILE --initrd FILE [--cmdline "ARGS"]   direct kernel boot, no GRUB
#                           (--append is added to --cmdline; --image is still attached)
#   --no-image              attach no boot disk
#   --qemu-arg ARG          pass ARG to QEMU verbatim (repeatable)
# Network: user-mode (slirp) with restrict=on (the guest reaches nothing but the
# host forwards), virtio-net-pci without option ROM. Never bridged.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
QEMU=${QEMU:-qemu-system-x86_64}
OVMF_CODE=${OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
OVMF_VARS=${OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}

IMAGE="$REPO/build/berth.img"
NO_IMAGE=0
ACCEL=${BERTH_ACCEL:-auto}
FIRMWARE=bios
MEMORY=512
SMP=1
SERIAL_FILE=""
AGENT_SOCKET=""
AGENT_TCP=""
MONITOR_SOCKET=""
TIMEOUT=""
APPEND=""
SNAPSHOT=0
NO_REBOOT=0
FORWARDS=()
SERIAL_SOCKET=
GUESTFWDS=()
DISKS=()
HOTPLUG_SLOTS=0
DRY_RUN=0
CLOUD_CONFIG=""
INSTANCE_ID=""
SEED_IMAGE=""
EXTRA_QEMU=()
KERNEL=""
INITRD=""
CMDLINE="console=tty0 console=ttyS0,115200n8 quiet panic=10"

say() { echo "boot.sh: $*" >&2; }
die() { echo "boot.sh: error: $*" >&2; exit 2; }
usage() { awk 'NR>=4 && /^#/ { sub(/^# ?/, ""); print; next } NR>=4 { exit }' "$0"; }
need() { [ $# -ge 2 ] || die "$1 needs an argument"; }
add_append() { APPEND="${APPEND:+$APPEND }$1"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --image) need "$@"; IMAGE=$2; shift 2;;
    --no-image) NO_IMAGE=1; shift;;
    --accel) need "$@"; ACCEL=$2; shift 2;;
    --firmware) need "$@"; FIRMWARE=$2; shift 2;;
    --memory) need "$@"; MEMORY=$2; shift 2;;
    --smp) need "$@"; SMP=$2; shift 2;;
    --serial-file) need "$@"; SERIAL_FILE=$2; shift 2;;
    --serial-socket) need "$@"; SERIAL_SOCKET=$2; shift 2;;
    --ssh-port) need "$@"; FORWARDS+=("$2:22"); shift 2;;
    --agent-socket) need "$@"; AGENT_SOCKET=$2; shift 2;;
    --agent-tcp) need "$@"; AGENT_TCP=$2; shift 2;;
    --monitor-socket) need "$@"; MONITOR_SOCKET=$2; shift 2;;
    --timeout) need "$@"; TIMEOUT=$2; shift 2;;
    --append) need "$@"; add_append "$2"; shift 2;;
    --poweroff-when-ready) add_append berth.on_ready=poweroff; shift;;
    --snapshot) SNAPSHOT=1; shift;;
    --no-reboot) NO_REBOOT=1; shift;;
    --forward) need "$@"; FORWARDS+=("$2"); shift 2;;
    --guestfwd) need "$@"; GUESTFWDS+=("$2"); shift 2;;
    --disk) need "$@"; DISKS+=("$2"); shift 2;;
    --hotplug-slots) need "$@"; HOTPLUG_SLOTS=$2; shift 2;;
    --cloud-config) need "$@"; CLOUD_CONFIG=$2; shift 2;;
    --instance-id) need "$@"; INSTANCE_ID=$2; shift 2;;
    --seed-image) need "$@"; SEED_IMAGE=$2; shift 2;;
    --dry-run) DRY_RUN=1; shift;;
    --qemu-arg) need "$@"; EXTRA_QEMU+=("$2"); shift 2;;
    --kernel) need "$@"; KERNEL=$2; shift 2;;
    --initrd) need "$@"; INITRD=$2; shift 2;;
    --cmdline) need "$@"; CMDLINE=$2; shift 2;;
    -h|--help) usage; exit 0;;
    *) die "unknown option: $1 (see --help)";;
  esac
done

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_uint "$MEMORY" || die "--memory must be a number of MiB"
is_uint "$SMP" && [ "$SMP" -ge 1 ] || die "--smp must be >= 1"
is_uint "$HOTPLUG_SLOTS" && [ "$HOTPLUG_SLOTS" -le 16 ] || die "--hotplug-slots must be 0..16"
[ -z "$TIMEOUT" ] || is_uint "$TIMEOUT" || die "--timeout must be whole seconds"
case "$FIRMWARE" in bios|uefi) ;; *) die "--firmware must be bios or uefi";; esac
case "$ACCEL" in auto|kvm|tcg) ;; *) die "--accel must be auto, kvm or tcg";; esac
command -v "$QEMU" >/dev/null || die "$QEMU not found (make deps)"
if [ "$NO_IMAGE" = 0 ]; then [ -f "$IMAGE" ] || die "image not found: $IMAGE (make image)"; fi
if [ -n "$KERNEL" ]; then [ -f "$KERNEL" ] || die "kernel not found: $KERNEL"; fi

# ---------------------------------------------------------------- accelerator
# KVM can be listed and openable and still be unusable (nested setups without real
# VMX: here SeaBIOS under KVM needed 5 s for what TCG does in 0.1 s, and a full boot
# made no progress in 40 s). So besides the cheap checks, boot SeaBIOS from a
# one-sector disk whose boot code does `out 0xf4, 1` to isa-debug-exit (QEMU exits
# with status 3); KVM is used only if that finishes within 3 s (normally ~0.2 s).
# The result is cached per host boot.
kvm_probe() {
  local img rc
  img=$(mktemp "${TMPDIR:-/tmp}/berth-kvmprobe.XXXXXX")
  # mov al,1 ; out 0xf4,al ; hlt ; jmp $ ... 0x55 0xaa
  { printf '\xb0\x01\xe6\xf4\xf4\xeb\xfe'; head -c 503 /dev/zero; printf '\x55\xaa'; } > "$img"
  rc=0
  ( timeout -k 1 3 "$QEMU" -accel "$1" -machine pc -nodefaults -no-user-config -display none \
      -drive "file=$img,format=raw,if=ide" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
      </dev/null >/dev/null 2>&1 ) 2>/dev/null || rc=$?
  rm -f "$img"
  [ "$rc" = 3 ]
}
kvm_reason=""
kvm_usable() {
  if ! grep -qwE 'vmx|svm' /proc/cpuinfo; then kvm_reason="no vmx/svm in /proc/cpuinfo"; return 1; fi
  if ! { exec 9<>/dev/kvm; } 2>/dev/null; then kvm_reason="/dev/kvm cannot be opened"; return 1; fi
  exec 9>&-
  local boot_id cache
  boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
  cache="${XDG_RUNTIME_DIR:-/tmp}/berth-kvm-probe.$(id -u).$boot_id"
  if [ -f "$cache" ] && [ ! -L "$cache" ]; then
    [ "$(cat "$cache")" = ok ] && return 0
    kvm_reason="KVM probe guest did not finish in 3 s (cached: $cache)"; return 1
  fi
  if kvm_probe kvm; then echo ok > "$cache.$$"; mv -f "$cache.$$" "$cache"; return 0; fi
  echo fail > "$cache.$$"; mv -f "$cache.$$" "$cache"
  kvm_reason="KVM probe guest did not finish in 3 s"; return 1
}
case "$ACCEL" in
  auto)
    if kvm_usable; then ACCEL=kvm; say "accel=kvm (auto)"
    else ACCEL=tcg; say "accel=tcg (auto: $kvm_reason)"; fi;;
  *) say "accel=$ACCEL (forced)";;
esac
if [ "$ACCEL" = kvm ]; then CPU=host; else CPU=max; fi

# ---------------------------------------------------------------- command line
q=("$QEMU" -name berth -no-user-config -nodefaults -display none
   -machine q35 -accel "$ACCEL" -cpu "$CPU" -m "$MEMORY" -smp "$SMP")

if [ "$FIRMWARE" = uefi ]; then
  [ -f "$OVMF_CODE" ] && [ -f "$OVMF_VARS" ] || die "OVMF not found ($OVMF_CODE, $OVMF_VARS): install ovmf"
  if [ "$DRY_RUN" = 1 ]; then
    vars="<private copy of $OVMF_VARS>"
  else
    # private copy of the variable store, already unlinked: nothing to clean up
    # after exec, QEMU opens it through /dev/fd.
    tmpvars=$(mktemp "${TMPDIR:-/tmp}/berth-ovmf-vars.XXXXXX")
    cp "$OVMF_VARS" "$tmpvars"
    exec {vars_fd}<>"$tmpvars"
    rm -f "$tmpvars"
    vars=/dev/fd/$vars_fd
  fi
  q+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
      -drive "if=pflash,format=raw,unit=1,file=$vars")
fi

qesc() { printf '%s' "${1//,/,,}"; }   # QEMU option values: ',' is written ',,'
if [ -n "$SERIAL_SOCKET" ]; then
  [ -n "$SERIAL_FILE" ] || die "--serial-socket needs --serial-file"
  # logfile= records what the guest prints whether or not anyone is connected to type.
  q+=(-chardev "socket,id=ser0,path=$(qesc "$SERIAL_SOCKET"),server=on,wait=off,logfile=$(qesc "$SERIAL_FILE")" -serial chardev:ser0)
elif [ -n "$SERIAL_FILE" ]; then
  q+=(-chardev "file,id=ser0,path=$SERIAL_FILE" -serial chardev:ser0)
else
  q+=(-chardev stdio,id=ser0,mux=on,signal=off -serial chardev:ser0 -mon chardev=ser0,mode=readline)
fi

# NoCloud seed as cloud-localds makes it, but vfat built without loop devices or mounts.
if [ -n "$CLOUD_CONFIG" ]; then
  [ -f "$CLOUD_CONFIG" ] || die "cloud-config not found: $CLOUD_CONFIG"
  command -v mkfs.vfat >/dev/null && command -v mcopy >/dev/null || die "--cloud-config needs dosfstools and mtools"
  [ -n "$INSTANCE_ID" ] || INSTANCE_ID="iid-$(sha256sum "$CLOUD_CONFIG" | cut -c1-16)"
  [ -n "$SEED_IMAGE" ] || SEED_IMAGE=$(mktemp "${TMPDIR:-/tmp}/berth-seed.XXXXXX")
  seed_meta=$(mktemp "${TMPDIR:-/tmp}/berth-meta.XXXXXX")
  printf 'instance-id: %s\n' "$INSTANCE_ID" > "$seed_meta"
  rm -f "$SEED_IMAGE"
  # (mkfs.fat warns that lowercase labels "might not work"; cloud-localds uses lowercase too)
  mkfs.vfat -C -n cidata -i 0c1dda7a "$SEED_IMAGE" 2048 >/dev/null 2>&1
  MTOOLS_SKIP_CHECK=1 mcopy -i "$SEED_IMAGE" "$CLOUD_CONFIG" ::user-data
  MTOOLS_SKIP_CHECK=1 mcopy -i "$SEED_IMAGE" "$seed_meta" ::meta-data
  rm -f "$seed_meta"
  DISKS+=("$SEED_IMAGE")
fi

n=0
if [ "$NO_IMAGE" = 0 ]; then
  # (with -kernel, QEMU's linuxboot option ROM takes bootindex 0)
  bootidx=",bootindex=0"; [ -z "$KERNEL" ] || bootidx=""
  q+=(-drive "if=none,id=d0,file=$(qesc "$IMAGE"),format=raw,cache=writeback,discard=unmap"
      -device "virtio-blk-pci,drive=d0$bootidx")
  n=1
fi
for d in "${DISKS[@]+"${DISKS[@]}"}"; do
  [ -e "$d" ] || die "disk not found: $d"
  case "$d" in *.qcow2) fmt=qcow2;; *) fmt=raw;; esac
  q+=(-drive "if=none,id=d$n,file=$(qesc "$d"),format=$fmt,cache=writeback,discard=unmap"
      -device "virtio-blk-pci,drive=d$n")
  n=$((n + 1))
done

# q35's root complex cannot hot-plug; a root port per slot can (ACPI or native PCIe hotplug).
for ((i = 0; i < HOTPLUG_SLOTS; i++)); do
  q+=(-device "pcie-root-port,id=hotplug$i,bus=pcie.0,chassis=$((i + 1))")
done

net="user,id=n0,restrict=on"
for f in "${FORWARDS[@]+"${FORWARDS[@]}"}"; do
  [[ $f =~ ^([0-9]+):([0-9]+)$ ]] || die "--forward wants HOSTPORT:GUESTPORT, got '$f'"
  net+=",hostfwd=tcp:127.0.0.1:${BASH_REMATCH[1]}-:${BASH_REMATCH[2]}"
done
for f in "${GUESTFWDS[@]+"${GUESTFWDS[@]}"}"; do
  [[ $f =~ ^([0-9]+):([0-9]+)$ ]] || die "--guestfwd wants GUESTPORT:HOSTPORT, got '$f'"
  # cmd: one netcat per guest connection (a tcp: chardev would carry one connection for QEMU's whole life)
  net+=",guestfwd=tcp:10.0.2.100:${BASH_REMATCH[1]}-cmd:busybox nc 127.0.0.1 ${BASH_REMATCH[2]}"
done
q+=(-netdev "$net" -device virtio-net-pci,netdev=n0,romfile=)
q+=(-object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-pci,rng=rng0)

if [ -n "$AGENT_SOCKET" ]; then
  q+=(-device virtio-serial-pci
      -chardev "socket,id=agent,path=$(qesc "$AGENT_SOCKET"),server=on,wait=off"
      -device virtserialport,chardev=agent,name=org.berth.agent)
elif [ -n "$AGENT_TCP" ]; then
  is_uint "$AGENT_TCP" || die "--agent-tcp wants a port number"
  q+=(-device virtio-serial-pci
      -chardev "socket,id=agent,host=127.0.0.1,port=$AGENT_TCP,server=on,wait=off"
      -device virtserialport,chardev=agent,name=org.berth.agent)
fi
if [ -n "$MONITOR_SOCKET" ]; then
  q+=(-qmp "unix:$(qesc "$MONITOR_SOCKET"),server=on,wait=off")
fi

if [ -n "$KERNEL" ]; then
  q+=(-kernel "$KERNEL" -append "$CMDLINE${APPEND:+ $APPEND}")
  [ -z "$INITRD" ] || q+=(-initrd "$INITRD")
else
  # Read by GRUB: smbios --type 11 --get-string 4 --set berth_extra. Always present
  # (a single space when there is nothing to add: GRUB splits it into no words):
  # without any type-11 structure GRUB's smbios command fails and GRUB prints
  # "error: no structure matched the given options." on the console.
  q+=(-smbios "type=11,value=$(qesc "${APPEND:- }")")
fi
[ "$SNAPSHOT" = 0 ] || q+=(-snapshot)
[ "$NO_REBOOT" = 0 ] || q+=(-no-reboot)
q+=("${EXTRA_QEMU[@]+"${EXTRA_QEMU[@]}"}")

if [ "$DRY_RUN" = 1 ]; then
  printf '%q ' "${q[@]}"; echo
  exit 0
fi

if [ -n "$TIMEOUT" ]; then
  # Watchdog: after exec, $$ is QEMU. Polls so it goes away with QEMU, and keeps
  # none of our stdio open (callers reading a pipe must see EOF when QEMU exits).
  me=$$
  start_ticks=$(awk '{print $22}' /proc/$me/stat)
  (
    exec </dev/null >/dev/null 2>&1
    end=$((SECONDS + TIMEOUT))
    while [ "$SECONDS" -lt "$end" ]; do
      sleep 1
      [ -d /proc/$me ] || exit 0
    done
    # same process (start time unchanged) and still QEMU?
    [ "$(awk '{print $22}' /proc/$me/stat 2>/dev/null)" = "$start_ticks" ] || exit 0
    echo "boot.sh: timeout after ${TIMEOUT}s, killing QEMU (pid $me)" > /proc/$me/fd/2 || true
    kill -KILL "$me"
  ) &
  disown $! 2>/dev/null || true
fi

exec "${q[@]}"
