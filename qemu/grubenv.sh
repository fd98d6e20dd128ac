#!/bin/bash
# Read or edit the A/B variables in a Berth image's ESP, offline (mtools, no mounts).
#   qemu/grubenv.sh IMAGE list                  print grub/grubenv
#   qemu/grubenv.sh IMAGE set VAR=VALUE...      set variables in grub/grubenv and grub/grubenv.bak
#   qemu/grubenv.sh IMAGE unset VAR...
# e.g. qemu/grubenv.sh img set 'ORDER=B A' B_TRIES=3
# The file is rewritten in place (same clusters) so the block GRUB's save_env and
# PID 1 write stays where it was.
set -euo pipefail
[ $# -ge 2 ] || { awk 'NR>=2 && /^#/ { sub(/^# ?/, ""); print; next } NR>=2 { exit }' "$0" >&2; exit 2; }
img=$1; cmd=$2; shift 2
[ -f "$img" ] || { echo "grubenv.sh: no such image: $img" >&2; exit 2; }
start=$(sfdisk -d "$img" | awk -F'[=,]' '/name="esp"/ { gsub(/ /, "", $2); print $2 }')
[ -n "$start" ] || { echo "grubenv.sh: no partition named esp in $img" >&2; exit 1; }
export MTOOLS_SKIP_CHECK=1
esp="$img@@$((start * 512))"
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
mcopy -n -i "$esp" ::/grub/grubenv "$tmp"
case "$cmd" in
  list) grub-editenv "$tmp" list; exit 0;;
  set) grub-editenv "$tmp" set "$@";;
  unset) grub-editenv "$tmp" unset "$@";;
  *) echo "grubenv.sh: unknown command $cmd" >&2; exit 2;;
esac
[ "$(stat -c %s "$tmp")" = 1024 ] || { echo "grubenv.sh: env block is not 1024 bytes" >&2; exit 1; }
# overwrite in place: find each file's first cluster and write the 1024 bytes there
read -r bps spc res nfats fatsz rootents < <(minfo -i "$esp" :: | awk '
  /^sector size:/ { bps = $3 } /^cluster size:/ { spc = $3 } /^reserved \(boot\) sectors:/ { res = $NF }
  /^fats:/ || /number of FATs/ { nf = $NF } /sectors per fat/ { fs = $NF }
  /max available root directory slots/ || /root directory entries/ { re = $NF }
  END { print bps, spc, res, nf, fs, re }')
data_start=$(( res + nfats * fatsz + (rootents * 32 + bps - 1) / bps ))
for f in grub/grubenv grub/grubenv.bak; do
  cl=$(mshowfat -i "$esp" "::/$f" | sed -n 's/.*<\([0-9]*\)[->].*/\1/p' | head -1)
  [ -n "$cl" ] || { echo "grubenv.sh: cannot locate $f" >&2; exit 1; }
  off=$(( start * 512 + (data_start + (cl - 2) * spc) * bps ))
  dd if="$tmp" of="$img" bs=1024 count=1 seek="$off" oflag=seek_bytes conv=notrunc,fsync status=none
done
grub-editenv "$tmp" list
