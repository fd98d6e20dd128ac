#!/bin/bash
# Make a signed Berth upgrade bundle from a slot image.
#
#   image-build/mkbundle.sh --image SLOT.sqfs --version V --key KEY.pem --out FILE.bundle
#                           [--compatible berth-x86_64]
#
# A bundle is a ustar archive, in this order (berth os upgrade reads it front to back):
#   manifest.json  {"format":1,"compatible":..,"version":..,"image_size":N,"image_sha256":..}
#   manifest.sig   ECDSA P-256 / SHA-256 signature (DER) of manifest.json by KEY (openssl)
#   image.sqfs     the slot image, written raw into the inactive slot partition
# Reproducible: fixed owner, mode and mtime (SOURCE_DATE_EPOCH) and order; ECDSA signatures
# themselves are randomised, so two runs differ only in manifest.sig.
set -euo pipefail
export LC_ALL=C TZ=UTC
IMAGE="" VERSION="" KEY="" OUT="" COMPATIBLE=berth-x86_64
usage() { awk 'NR>=2 && /^#/ { sub(/^# ?/, ""); print; next } NR>=2 { exit }' "$0"; }
die() { echo "[mkbundle] ERROR: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --image) IMAGE=$2; shift 2;;
    --version) VERSION=$2; shift 2;;
    --key) KEY=$2; shift 2;;
    --out) OUT=$2; shift 2;;
    --compatible) COMPATIBLE=$2; shift 2;;
    -h|--help) usage; exit 0;;
    *) echo "mkbundle: unknown argument: $1" >&2; usage >&2; exit 2;;
  esac
done
[ -f "$IMAGE" ] || die "--image: no slot image '$IMAGE'"
[ -n "$VERSION" ] || die "--version is required"
[ -f "$KEY" ] || die "--key: no private key '$KEY'"
[ -n "$OUT" ] || die "--out is required"
command -v openssl >/dev/null || die "missing openssl"
case "$VERSION$COMPATIBLE" in *'"'*|*'\'*) die "version and compatible must not contain quotes or backslashes";; esac

SDE=${SOURCE_DATE_EPOCH:-0}
WORK=$(mktemp -d "$(dirname "$(realpath -m "$OUT")")/.mkbundle.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
size=$(stat -L -c %s "$IMAGE")
sha=$(sha256sum "$IMAGE" | cut -d' ' -f1)
printf '{"format":1,"compatible":"%s","version":"%s","image_size":%s,"image_sha256":"%s"}\n' \
  "$COMPATIBLE" "$VERSION" "$size" "$sha" > "$WORK/manifest.json"
openssl dgst -sha256 -sign "$KEY" -out "$WORK/manifest.sig" "$WORK/manifest.json" \
  || die "signing with $KEY failed (an EC P-256 private key in PEM is expected)"
ln -s "$(realpath "$IMAGE")" "$WORK/image.sqfs"
tar --format=ustar --dereference --owner=0 --group=0 --numeric-owner --mode=0644 --mtime="@$SDE" \
  -C "$WORK" -cf "$OUT.tmp" manifest.json manifest.sig image.sqfs
mv -f "$OUT.tmp" "$OUT"
echo "[mkbundle] $OUT: version $VERSION, $COMPATIBLE, image $size bytes, sha256 $sha" >&2
