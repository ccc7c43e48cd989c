#!/bin/sh
# qcow2 images written through libvd (vd-img create, then vdio writes,
# zeroes, discards, compressed clusters, growth) pass `qemu-img check`
# with no errors and no leaks, and `qemu-img compare` equal to a raw
# image that qemu-io wrote the same way.  The whole matrix of
# tests/interop/qcow2-lib.sh: cluster sizes 512 B / 64 KiB / 2 MiB,
# compat 0.10 / 1.1, refcount widths 1 / 16 / 64, backing files, zlib
# and zstd.
. "$top_srcdir/tests/functions.sh"
requires qemu-img qemu-io
. "$top_srcdir/tests/interop/qcow2-lib.sh"

cd "$tmp"
pass=0 total=0

# run_config CS OPTS BACKING COMPRESSED: one image, one line of TAP.
run_config () {
  local cs=$1 opts=$2 back=$3 comp=$4 size what
  size=$(qcow2_size "$cs")
  what="cluster_size=$cs $opts backing=$back compressed=$comp"
  rm -f img.qcow2 exp.raw base.qcow2 mix.raw
  if [ "$back" = yes ]; then
    make_base "$size" || return 1
    qemu-img convert -O raw base.qcow2 exp.raw && truncate -s "$size" exp.raw
    vd_img create -q -f qcow2 -o "cluster_size=$cs,$opts" \
      -b base.qcow2 -F qcow2 img.qcow2 "$size" || return 1
  else
    truncate -s "$size" exp.raw
    vd_img create -q -f qcow2 -o "cluster_size=$cs,$opts" img.qcow2 "$size" ||
      return 1
  fi
  # op KIND OFFSET LENGTH [PATTERN|unmap]: the same change on both sides.
  op () {
    case $1 in
    w) vdio write img.qcow2 "$2" "$4" "$3" &&
         qemu-io -f raw -c "write -P $4 $2 $3" exp.raw ;;
    z) vdio zero img.qcow2 "$2" "$3" ${4:-} &&
         qemu-io -f raw -c "write -z $2 $3" exp.raw ;;
    d) # discarded data is unspecified: zero it afterwards
       vdio discard img.qcow2 "$2" "$3" && vdio zero img.qcow2 "$2" "$3" &&
         qemu-io -f raw -c "write -z $2 $3" exp.raw ;;
    c) vdio writec img.qcow2 "$2" "$4" "$3" &&
         qemu-io -f raw -c "write -P $4 $2 $3" exp.raw ;;
    esac >/dev/null || { diag "$what: op $* failed"; return 1; }
  }
  op w 0 $((cs * 3 + 100)) 0x11 &&             # unaligned end
  op w $((cs / 2)) 1000 0x22 &&                # inside an allocated cluster
  op w $((1048576 + 7)) 2097152 0x33 &&        # long and unaligned
  op z $((3 << 20)) $((cs * 2)) &&             # zero clusters
  op z $((3 * 1048576 + cs * 4)) $((cs * 2)) unmap &&
  op z $((cs + 100)) 300 &&                    # partial: zero bytes
  op d $((5 << 20)) $((cs * 3)) || return 1
  if [ "$comp" != - ]; then
    # Compressed clusters (repeated bytes compress; random ones do not
    # and are stored plain), then a plain write into one of them.
    op c $((6 << 20)) $((cs * 2)) 0x44 &&
    op w $((6 * 1048576 + 100)) 200 0x55 &&
    op c $((cs * 2)) "$cs" 0x66 || return 1
    head -c $((cs * 4)) /dev/urandom > mix.raw
    head -c "$cs" /dev/zero | tr '\0' 'A' | dd of=mix.raw bs="$cs" seek=1 conv=notrunc 2>/dev/null
    vdio load img.qcow2 mix.raw compressed || return 1
    dd if=mix.raw of=exp.raw conv=notrunc 2>/dev/null
  fi
  # Grow, then write past the old end.
  vdio truncate img.qcow2 $((size + 1048576)) &&
    truncate -s $((size + 1048576)) exp.raw || return 1
  op w $((size + 1000)) 5000 0x99 || return 1
  check_clean img.qcow2 || { diag "$what: qemu-img check"; return 1; }
  qemu-img compare -q -f qcow2 -F raw img.qcow2 exp.raw ||
    { diag "$what: qemu-img compare differs"; return 1; }
  vdio dump img.qcow2 | cmp -s - exp.raw ||
    { diag "$what: reading back through libvd differs"; return 1; }
  return 0
}

qcow2_matrix > matrix.txt
exec 3< matrix.txt
while read -r cs opts back comp <&3; do
  total=$((total + 1))
  if run_config "$cs" "$opts" "$back" "$comp"; then
    pass=$((pass + 1))
    ok "written by libvd, clean and equal: cluster_size=$cs $opts backing=$back compressed=$comp"
  else
    not_ok "written by libvd, clean and equal: cluster_size=$cs $opts backing=$back compressed=$comp"
  fi
done
exec 3<&-
diag "interop matrix (libvd writes): $pass of $total configurations pass"

# A snapshot made by qemu-img survives our writes: its clusters are
# copied, never written in place, and the refcounts stay exact.
rm -f s.qcow2
qemu-img create -q -f qcow2 s.qcow2 8M
qemu-io -c 'write -P 0x11 0 3M' -c 'write -c -P 0x22 4M 128k' s.qcow2 >/dev/null
qemu-img snapshot -c snap1 s.qcow2
qemu-img convert -O raw s.qcow2 snap1.raw
cp snap1.raw exp.raw
vdio write s.qcow2 100k 0x33 1M && qemu-io -f raw -c 'write -P 0x33 100k 1M' exp.raw >/dev/null
vdio write s.qcow2 4M 0x44 1000 && qemu-io -f raw -c 'write -P 0x44 4M 1000' exp.raw >/dev/null
vdio zero s.qcow2 2M 512k unmap && qemu-io -f raw -c 'write -z 2M 512k' exp.raw >/dev/null
check "image with a snapshot: clean after our writes" check_clean s.qcow2
check "image with a snapshot: the active layer has our data" \
  qemu-img compare -q -f qcow2 -F raw s.qcow2 exp.raw
qemu-img convert -O raw -l snapshot.name=snap1 s.qcow2 snap1-after.raw
check "image with a snapshot: the snapshot is unchanged" cmp -s snap1.raw snap1-after.raw
qemu-img snapshot -d snap1 s.qcow2
check "image with a snapshot: clean once qemu-img deletes the snapshot" \
  check_clean s.qcow2

# Lazy refcounts: the dirty bit is set while writing and cleared at close.
rm -f l.qcow2
vd_img create -q -f qcow2 -o lazy_refcounts=on l.qcow2 4M
vdio write l.qcow2 0 0x12 1M
is "lazy refcounts: the dirty bit is clear after a clean close" \
  "$(qemu-img info --output=json l.qcow2 | grep -c '"dirty-flag": false')" 1
check "lazy refcounts: clean" check_clean l.qcow2

# A dirty image (lazy refcounts, not closed cleanly) whose refcount table
# was lost is repaired on the first read-write open, snapshot included.
for cs in 512 65536; do
  rm -f dz.qcow2 dz.raw
  qemu-img create -q -f qcow2 -o lazy_refcounts=on,cluster_size=$cs,refcount_bits=64 dz.qcow2 16M
  qemu-io -c 'write -P 0x11 0 3M' -c 'write -c -P 0x22 4M 256k' dz.qcow2 >/dev/null
  qemu-img snapshot -c s dz.qcow2
  qemu-io -c 'write -P 0x12 0 1M' dz.qcow2 >/dev/null
  rto=$(od -An -tu8 --endian=big -j48 -N8 dz.qcow2 | tr -d ' ')
  dd if=/dev/zero of=dz.qcow2 bs=$cs seek=$((rto / cs)) count=1 conv=notrunc 2>/dev/null
  printf '\001' | dd of=dz.qcow2 bs=1 seek=79 conv=notrunc 2>/dev/null
  qemu-img convert -O raw dz.qcow2 dz.raw
  check "dirty image (cluster_size=$cs): written after repair" \
    vdio write dz.qcow2 8M 0x33 1M
  qemu-io -f raw -c 'write -P 0x33 8M 1M' dz.raw >/dev/null
  check "dirty image (cluster_size=$cs): clean after repair" check_clean dz.qcow2
  check "dirty image (cluster_size=$cs): data intact" \
    qemu-img compare -q -f qcow2 -F raw dz.qcow2 dz.raw
done

# Bitmaps (autoclear bit 0) are not kept up to date by libvd: writing
# clears the bit, so qemu no longer trusts them.
rm -f b.qcow2
qemu-img create -q -f qcow2 b.qcow2 4M
qemu-img bitmap --add b.qcow2 bm0
like "bitmaps listed before writing" "$(qemu-img info b.qcow2)" "name: bm0"
vdio write b.qcow2 0 0x12 64k
before=$(head -c 96 b.qcow2 | tail -c 8 | od -An -tx1 | tr -d ' ')
is "writing clears the autoclear bits" "$before" 0000000000000000
vdio read b.qcow2 0 64k > got.bin
head -c 65536 /dev/zero | tr '\0' '\022' > want.bin
check "the data is there after the bits are cleared" cmp -s got.bin want.bin

done_testing
