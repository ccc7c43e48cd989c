#!/bin/sh
# vd-img check on qcow2 against qemu-img check as the oracle: the same
# stdout, the same problem lines on stderr, the same exit code and JSON,
# on clean images and on images damaged here byte by byte; then -r leaks
# and -r all repair copies the same way qemu-img does, the repaired image
# is clean for qemu-img, and no guest data changed.
. "$top_srcdir/tests/functions.sh"
requires qemu-img qemu-io

cd "$tmp"

# poke FILE OFFSET HEXBYTE...: overwrite bytes in place.
poke () {
  _f=$1 _o=$2; shift 2
  for _h in "$@"; do
    # shellcheck disable=SC2059
    printf "\\$(printf %o "0x$_h")" | dd of="$_f" bs=1 seek="$_o" conv=notrunc 2>/dev/null
    _o=$((_o + 1))
  done
}

# same_check DESCRIPTION FILE [OPTIONS]: vd-img check and qemu-img check
# agree on FILE (each on its own copy when repairing).
same_check () {
  _d=$1 _f=$2; shift 2
  cp "$_f" q.img && cp "$_f" v.img
  qemu-img check "$@" q.img >"$cap/q.out" 2>"$cap/q.err"
  _q=$?
  vd_img check "$@" v.img >"$cap/v.out" 2>"$cap/v.err"
  _v=$?
  sed -i 's/^qemu-img: //; s/q\.img/IMG/g' "$cap/q.err" "$cap/q.out"
  sed -i 's/^vd-img: //; s/v\.img/IMG/g' "$cap/v.err" "$cap/v.out"
  is "$_d: exit code" "$_v" "$_q"
  is "$_d: stdout" "$(cat "$cap/v.out")" "$(cat "$cap/q.out")"
  is "$_d: problem lines" "$(cat "$cap/v.err")" "$(cat "$cap/q.err")"
}

# repaired DESCRIPTION FILE: after -r all on v.img (left by same_check),
# qemu-img sees a clean image with the guest data of FILE.
repaired () {
  _out=$(qemu-img check v.img 2>&1)
  like "$1: clean for qemu-img after repair" "$?:$_out" "^0:No errors were found"
  qemu-img compare -q -f qcow2 -F qcow2 "$2" v.img
  is "$1: guest data unchanged" "$?" 0
}

# A 4 MiB image, 64 KiB clusters: header 0, refcount table 0x10000,
# refcount block 0x20000 (16-bit entries), L1 0x30000, L2 0x40000, data
# from 0x50000: two clusters at guest 0, one at 1M, one compressed.
qemu-img create -q -f qcow2 a.qcow2 4M
qemu-io -c "write -P 1 0 128k" -c "write -P 2 1M 64k" -c "write -c -P 3 2M 64k" \
  a.qcow2 >/dev/null
same_check "clean image" a.qcow2
same_check "clean image, json" a.qcow2 --output=json
same_check "clean image, -r all" a.qcow2 -r all

# Fragmented and compressed clusters, a snapshot and zero clusters.
cp a.qcow2 f.qcow2
qemu-img snapshot -c s1 f.qcow2
qemu-io -c "write -P 4 64k 64k" -c "write -z 1M 64k" -c "write -P 5 3M 64k" \
  f.qcow2 >/dev/null
same_check "fragmented image with a snapshot" f.qcow2
same_check "fragmented image with a snapshot, json" f.qcow2 --output=json

# A leaked cluster: one more cluster at the end with refcount 1.
cp a.qcow2 leak.qcow2
end=$(stat -c %s leak.qcow2)
truncate -s $((end + 65536)) leak.qcow2
c=$((end / 65536))
poke leak.qcow2 $((0x20000 + c * 2)) 00 01
same_check "leaked cluster" leak.qcow2
same_check "leaked cluster, json" leak.qcow2 --output=json
same_check "leaked cluster, -r leaks" leak.qcow2 -r leaks
repaired "leaked cluster, -r leaks" leak.qcow2
same_check "leaked cluster, -r leaks, json" leak.qcow2 -r leaks --output=json

# Refcount too low: a data cluster at 0 (the structure must be rebuilt).
cp a.qcow2 zero.qcow2
poke zero.qcow2 $((0x20000 + 5 * 2)) 00 00
same_check "refcount 0 on a used cluster" zero.qcow2
same_check "refcount 0 on a used cluster, -r leaks" zero.qcow2 -r leaks
same_check "refcount 0 on a used cluster, -r all" zero.qcow2 -r all
repaired "refcount 0 on a used cluster, -r all" zero.qcow2

# Refcount too low but not 0: two L2 entries point at one cluster (and
# the cluster the second pointed at leaks).
cp a.qcow2 twice.qcow2
poke twice.qcow2 $((0x40000 + 8)) 80 00 00 00 00 05 00 00
same_check "cluster referenced twice" twice.qcow2
same_check "cluster referenced twice, -r all" twice.qcow2 -r all
same_check "cluster referenced twice, json" twice.qcow2 --output=json

# L2 entry pointing past the end of the file.
cp a.qcow2 past.qcow2
poke past.qcow2 $((0x40000)) 80 00 00 00 10 00 00 00
same_check "data cluster past the end" past.qcow2
same_check "data cluster past the end, json" past.qcow2 --output=json

# Misaligned data cluster; misaligned L2 table; reserved bits.
cp a.qcow2 mis.qcow2
poke mis.qcow2 $((0x40000)) 80 00 00 00 00 05 02 00
same_check "misaligned data cluster" mis.qcow2
cp a.qcow2 misl2.qcow2
poke misl2.qcow2 $((0x30000)) 80 00 00 00 00 04 02 00
same_check "misaligned L2 table" misl2.qcow2
cp a.qcow2 res.qcow2
poke res.qcow2 $((0x40000)) 81 00 00 00 00 05 00 02
same_check "reserved bits in an L2 entry" res.qcow2

# OFLAG_COPIED wrong on a data cluster: reported, -r all fixes it.
cp a.qcow2 cp.qcow2
poke cp.qcow2 $((0x40000)) 00
same_check "OFLAG_COPIED missing" cp.qcow2
same_check "OFLAG_COPIED missing, -r leaks" cp.qcow2 -r leaks
same_check "OFLAG_COPIED missing, -r all" cp.qcow2 -r all
repaired "OFLAG_COPIED missing, -r all" cp.qcow2

# A refcount block with a wrong count for itself.
cp a.qcow2 rb.qcow2
poke rb.qcow2 $((0x20000 + 2 * 2)) 00 02
same_check "refcount block refcount 2" rb.qcow2
same_check "refcount block refcount 2, -r all" rb.qcow2 -r all
repaired "refcount block refcount 2, -r all" rb.qcow2

# 1-bit refcounts, 512-byte clusters, with a leak.
qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=1 s.qcow2 1M
qemu-io -c "write -P 7 0 8k" s.qcow2 >/dev/null
same_check "512-byte clusters, 1-bit refcounts" s.qcow2 --output=json
# Lazy refcounts: a process killed after writing leaves the dirty bit set
# and refcounts not written.  check reports as qemu-img does (and does
# not repair on open); the first write open rebuilds the refcounts.
VDIO_BIN="$top_builddir/tests/interop/vdio"
qemu-img create -q -f qcow2 -o lazy_refcounts=on lazy.qcow2 4M
qemu-io -c "write -P 8 0 64k" -c "write -P 9 1M 192k" -c "sigraise 9" lazy.qcow2 >/dev/null 2>&1
like "lazy: the image is dirty" "$(qemu-img info lazy.qcow2)" "cleanly shut down: no"
same_check "dirty image" lazy.qcow2
same_check "dirty image, -r all" lazy.qcow2 -r all
repaired "dirty image, -r all" lazy.qcow2
if [ -x "$VDIO_BIN" ]; then
  cp lazy.qcow2 lazy2.qcow2
  "$VDIO_BIN" write lazy2.qcow2 2M 0x0a 64k
  is "dirty image: write open succeeds" "$?" 0
  _out=$(qemu-img check lazy2.qcow2 2>&1)
  like "dirty image: clean after a write open" "$?:$_out" "^0:No errors were found"
  unlike_dirty=$(qemu-img info lazy2.qcow2 | grep -c "cleanly shut down: no")
  is "dirty image: the dirty bit is cleared" "$unlike_dirty" 0
  qemu-io -c "read -P 8 0 64k" -c "read -P 9 1M 192k" -c "read -P 10 2M 64k" \
    lazy2.qcow2 > "$cap/r" 2>&1
  is "dirty image: data before and after the repair reads back" \
    "$(grep -c '^read' "$cap/r"):$(grep -c failed "$cap/r")" "3:0"
fi
done_testing
