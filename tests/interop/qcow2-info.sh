#!/bin/sh
# vd-img info on qcow2 images prints what qemu-img info prints, byte for
# byte, human and JSON, with --backing-chain too: v2 and v3, backing
# files, snapshots, bitmaps, zstd, extended L2, lazy refcounts, dirty.
. "$top_srcdir/tests/functions.sh"
requires qemu-img qemu-io
. "$top_srcdir/tests/interop/qcow2-lib.sh"

cd "$tmp"
qemu-img create -q -f qcow2 a.qcow2 1G
qemu-img create -q -f qcow2 -o compat=0.10 b.qcow2 1G
qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 c.qcow2
qemu-img create -q -f qcow2 -o compression_type=zstd,extended_l2=on,lazy_refcounts=on,refcount_bits=64 d.qcow2 10M
qemu-img create -q -f qcow2 s.qcow2 64M
qemu-img snapshot -c first s.qcow2
qemu-io -c 'write 0 1M' s.qcow2 >/dev/null
qemu-img snapshot -c "a longer name" s.qcow2
qemu-img create -q -f qcow2 bm.qcow2 64M
qemu-img bitmap --add bm.qcow2 b0
qemu-img bitmap --add --disable -g 128k bm.qcow2 b1
qemu-img create -q -f raw r.raw 5M
qemu-img create -q -f qcow2 -o compat=0.10 -b r.raw -F raw v2b.qcow2
qemu-img create -q -f qcow2 -b c.qcow2 -F qcow2 chain.qcow2 2G
vd_img create -q -f qcow2 vd.qcow2 3G
vd_img create -q -f qcow2 -o compat=0.10,cluster_size=512 vd2.qcow2 100M
vd_img create -q -f qcow2 -b vd.qcow2 -F qcow2 -o cluster_size=2M vdc.qcow2
vdio write vdc.qcow2 1M 0x55 3M
# A dirty image (lazy refcounts, closed without clearing the bit):
# incompatible bits 0x18 become 0x19.
cp d.qcow2 dirty.qcow2
printf '\031' | dd of=dirty.qcow2 bs=1 seek=79 conv=notrunc 2>/dev/null

for f in a b c d s bm v2b chain vd vd2 vdc dirty; do
  for o in human json; do
    a=$(vd_img info --output=$o $f.qcow2 2>&1)
    b=$(qemu-img info --output=$o $f.qcow2 2>&1)
    is "info --output=$o as qemu-img on $f.qcow2" "$a" "$b"
  done
done
for f in c chain v2b vdc; do
  for o in human json; do
    a=$(vd_img info --backing-chain --output=$o $f.qcow2 2>&1)
    b=$(qemu-img info --backing-chain --output=$o $f.qcow2 2>&1)
    is "info --backing-chain --output=$o as qemu-img on $f.qcow2" "$a" "$b"
  done
done

# info never writes (not even a dirty image's bit).
before=$(md5sum < dirty.qcow2)
vd_img info dirty.qcow2 >/dev/null
is "info leaves a dirty image as it is" "$(md5sum < dirty.qcow2)" "$before"

done_testing
