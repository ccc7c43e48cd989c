#!/bin/sh
# Hostile qcow2 images: each damaged field is refused with one line that
# names the file and what is wrong, exit 1, and the file is not changed.
# Images are made by vd-img and damaged here byte by byte.
. "$top_srcdir/tests/functions.sh"

VDIO_BIN="$top_builddir/tests/interop/vdio"
vdio () { $VALGRIND_CMD "$VDIO_BIN" "$@"; }
[ -x "$VDIO_BIN" ] || skip_all "tests/interop/vdio is not built"

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

# refused DESCRIPTION FILE PATTERN [COMMAND]: vd-img info (or COMMAND)
# fails with exit 1 and a message matching PATTERN, changing nothing.
refused () {
  _d=$1 _f=$2 _p=$3; shift 3
  _sum=$(md5sum < "$_f")
  if [ $# -eq 0 ]; then
    run_cmd _out _err _rc vd_img info "$_f"
  else
    run_cmd _out _err _rc "$@"
  fi
  like "$_d" "$_rc:$_err" "^1:(vd-img|vdio): $_f: $_p"
  is "$_d: one line" "$(printf '%s\n' "$_err" | wc -l)" 1
  is "$_d: file unchanged" "$(md5sum < "$_f")" "$_sum"
}

fresh () { rm -f "$1"; vd_img create -q -f qcow2 ${2:-} "$1" "${3:-1G}"; }

fresh t.qcow2
truncate -s 100000 t.qcow2
refused "truncated image (L1 past the end)" t.qcow2 "the L1 table at offset 0x30000 .*outside the file"

fresh t2.qcow2
truncate -s 60 t2.qcow2
refused "image cut inside the header" t2.qcow2 "the file is too short to hold a qcow2 header"

fresh l1.qcow2
poke l1.qcow2 40 00 00 00 00 00 03 00 08
refused "unaligned L1 table offset" l1.qcow2 "the L1 table at offset 0x30008 is misaligned"
fresh l1b.qcow2
poke l1b.qcow2 40 00 00 10 00 00 00 00 00
refused "L1 table offset past the end of the file" l1b.qcow2 "the L1 table at offset 0x100000000000 .*outside the file"
fresh l1c.qcow2
poke l1c.qcow2 36 00 00 00 01
refused "L1 table too small for the virtual size" l1c.qcow2 "the L1 table has 1 entries, too few for the virtual size 1073741824"
fresh l1d.qcow2
poke l1d.qcow2 36 7f ff ff ff
refused "L1 table too large" l1d.qcow2 "the L1 table has 2147483647 entries, more than the limit"

fresh rc.qcow2
poke rc.qcow2 99 07
refused "refcount width overflow (order 7)" rc.qcow2 "refcount width 2\\^7 bits is not supported"
fresh rt.qcow2
poke rt.qcow2 56 ff ff ff ff
refused "refcount table too large" rt.qcow2 "the refcount table has 4294967295 clusters, more than the limit"
fresh rt2.qcow2
poke rt2.qcow2 48 00 00 00 00 00 00 00 00
refused "refcount table over the header" rt2.qcow2 "the refcount table at offset 0x0 is misaligned or lies outside"

fresh cb.qcow2
poke cb.qcow2 23 1e
refused "cluster size 2^30" cb.qcow2 "cluster size 2\\^30 is not supported"
fresh hl.qcow2
poke hl.qcow2 103 32
refused "header length not a multiple of 8" hl.qcow2 "bad header length 50"
fresh ver.qcow2
poke ver.qcow2 7 04
refused "version 4" ver.qcow2 "qcow2 version 4 is not supported"
fresh enc.qcow2
poke enc.qcow2 35 02
refused "encrypted image" enc.qcow2 "encrypted qcow2 images \\(method 2\\) are not supported"

fresh f5.qcow2
poke f5.qcow2 79 20
refused "unknown incompatible feature bit" f5.qcow2 "incompatible feature bit 5 is set"
fresh f2.qcow2
poke f2.qcow2 79 04
refused "external data file bit, named from the feature table" f2.qcow2 \
  "incompatible feature bit 2 \\(external data file\\) is set: external data files are not supported"

fresh sn.qcow2
poke sn.qcow2 60 00 00 00 01 00 00 00 00 40 00 00 00
refused "snapshot table past the end" sn.qcow2 "the snapshot table at offset 0x40000000 .*outside the file"
fresh sn2.qcow2
poke sn2.qcow2 60 00 00 00 01 00 00 00 00 00 03 00 00
refused "snapshot table cut short" sn2.qcow2 "the snapshot table at 0x30000 is cut short"

fresh bk.qcow2
poke bk.qcow2 8 00 00 00 00 00 00 01 00 00 00 07 d0
refused "backing file name too long" bk.qcow2 "the backing file name is 2000 bytes long"

# Damaged L2 entries: refused when read.
fresh d.qcow2 "" 4M
vdio write d.qcow2 0 0x11 64k
poke d.qcow2 $((0x40000)) 80 00 00 00 00 05 02 00
refused "unaligned data cluster offset" d.qcow2 \
  "L2 entry for guest offset 0x0 points to unaligned host offset 0x50200" \
  vdio read d.qcow2 0 512
poke d.qcow2 $((0x40000)) 80 00 00 10 00 00 00 00
refused "data cluster past the end of the file" d.qcow2 \
  "data cluster for guest offset 0x0 at host offset 0x1000000000 lies past the end of the file" \
  vdio read d.qcow2 0 512
poke d.qcow2 $((0x30000)) 80 00 00 00 00 04 02 00
refused "unaligned L2 table offset" d.qcow2 \
  "L2 table offset 0x40200 \\(L1 index 0\\) is not aligned to a cluster" \
  vdio read d.qcow2 0 512

fresh z.qcow2 "" 4M
vdio writec z.qcow2 0 0x33 64k
poke z.qcow2 $((0x40000)) 40 00 00 10 00 00 00 00
refused "compressed cluster outside the file" z.qcow2 \
  "compressed cluster for guest offset 0x0 at host offset 0x1000000000 lies outside the file" \
  vdio read z.qcow2 0 512
fresh z2.qcow2 "" 4M
vdio writec z2.qcow2 0 0x33 64k
poke z2.qcow2 $((0x50000)) ff ff ff ff ff ff ff ff
refused "compressed data that does not decompress" z2.qcow2 \
  "compressed cluster at host offset 0x50000 cannot be decompressed" \
  vdio read z2.qcow2 0 512

# Backing chains.
vd_img create -q -f qcow2 -u -b loop.qcow2 -F qcow2 loop.qcow2 1M
refused "a backing chain that loops" loop.qcow2 "the backing chain loops" \
  vdio read loop.qcow2 0 512
vd_img create -q -f qcow2 -u -b loop2b.qcow2 -F qcow2 loop2a.qcow2 1M
vd_img create -q -f qcow2 -u -b loop2a.qcow2 -F qcow2 loop2b.qcow2 1M
refused "a backing chain that loops through two files" loop2a.qcow2 \
  "the backing chain loops" vdio read loop2a.qcow2 0 512
head -c 1048576 /dev/zero > base.raw
vd_img create -q -f qcow2 -b base.raw -F raw nofmt.qcow2 1M
# Turn the backing format extension into an unknown one.
poke nofmt.qcow2 112 12 34 56 78
refused "raw backing file with no recorded format" nofmt.qcow2 \
  "the image does not record the format of its backing file 'base.raw', and it probes as raw" \
  vdio read nofmt.qcow2 0 512
check "... but -F raw opens it" sh -c "$VALGRIND_CMD '$VDIO_BIN' -F raw read nofmt.qcow2 0 512 >/dev/null"

# Marked corrupt: read-only works, writing is refused.
fresh cr.qcow2 "" 4M
poke cr.qcow2 79 02
check "a corrupt-marked image opens read-only" sh -c "$VALGRIND_CMD '$VDIO_BIN' read cr.qcow2 0 512 >/dev/null"
refused "a corrupt-marked image is not written" cr.qcow2 \
  "the image is marked corrupt; it can only be opened read-only" \
  vdio write cr.qcow2 0 0x11 512

done_testing
