#!/bin/sh
# vd-img measure prints qemu-img measure's numbers (human and JSON) for
# raw and qcow2 output, from --size or from raw / qcow2 images and
# chains, over cluster sizes, refcount widths, extended L2 entries,
# preallocation, bitmaps; and refuses what qemu-img refuses.
. "$top_srcdir/tests/functions.sh"
requires qemu-img qemu-io

cd "$tmp"
qemu-img create -q -f qcow2 base.qcow2 10M
qemu-io -c 'write -P 1 0 1M' -c 'write -z 2M 1M' -c 'write -P 2 4M 64k' \
  base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2 12M
qemu-io -c 'write -P 3 512k 1M' -c 'write -P 3 7M 4k' top.qcow2 >/dev/null
truncate -s 3M r.raw
qemu-io -f raw -c 'write -P 1 64k 64k' r.raw >/dev/null
qemu-img create -q -f qcow2 bm.qcow2 64M
qemu-img bitmap --add bm.qcow2 b0
qemu-img bitmap --add -g 128k bm.qcow2 a-longer-bitmap-name
qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 5M
qemu-img create -q -f qcow2 cmp.qcow2 4M
qemu-io -c 'write -c -P 5 0 64k' -c 'write -P 5 100k 1k' cmp.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o preallocation=metadata pm.qcow2 4M

m () {
  _t=$1; shift
  a=$(vd_img measure "$@" 2>&1; echo "rc=$?")
  b=$(qemu-img measure "$@" 2>&1; echo "rc=$?")
  is "measure $* ($_t)" "$(printf '%s\n' "$a" | sed 's/^vd-img: //')" \
    "$(printf '%s\n' "$b" | sed 's/^qemu-img: //')"
}
for o in human json; do
  m "$o" --output=$o --size 1G -O qcow2
  m "$o" --output=$o --size 1G
  m "$o" --output=$o -O qcow2 top.qcow2
  m "$o" --output=$o -O qcow2 bm.qcow2
done
for s in 0 1 1000 1M 100G 3T; do
  for opt in cluster_size=512,refcount_bits=1 cluster_size=4k \
             compat=0.10 refcount_bits=64 cluster_size=2M,extended_l2=on \
             extended_l2=on,refcount_bits=8 preallocation=full \
             preallocation=metadata; do
    m size -O qcow2 -o $opt --size $s
  done
  m size -O raw --size $s
done
for f in top.qcow2 base.qcow2 r.raw bm.qcow2 v2.qcow2 cmp.qcow2 pm.qcow2; do
  m image $f
  m image -O qcow2 $f
  m image -O qcow2 -o cluster_size=4k $f
  m image -O qcow2 -o cluster_size=2M,compat=0.10 $f
  m image -O qcow2 -o backing_file=x.qcow2 $f
done
m image -O qcow2 -f raw top.qcow2

# What qemu-img refuses.
m error
m error --size 1G top.qcow2
m error --size 1G -O vmdk
m error --size 1G -O qcow2 -o foo=bar
m error --size 1G -O qcow2 -o cluster_size=3k
m error --size 1x -O qcow2
m error --size 1G -O qcow2 -o cluster_size=4k,extended_l2=on
m error --size 1P -O qcow2 -o cluster_size=512
m error --size 1G -O qcow2 -o compat=0.10,refcount_bits=8
m error --size 1G -O qcow2 -o refcount_bits=3
m error --size 1G -O qcow2 -o compat=2.0

done_testing
