#!/bin/sh
# vd-img map prints what qemu-img map prints, human and JSON, on raw and
# qcow2 images and backing chains (zero clusters, preallocated zero
# clusters, compressed clusters, a raw backing file, a backing file
# shorter than its overlay, --start-offset / --max-length).
. "$top_srcdir/tests/functions.sh"
requires qemu-img qemu-io

cd "$tmp"
qemu-img create -q -f qcow2 base.qcow2 10M
qemu-io -c 'write -P 1 0 1M' -c 'write -z 2M 1M' -c 'write -P 2 4M 64k' \
  base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2 12M
qemu-io -c 'write -P 3 512k 1M' -c 'write -z 4M 32k' -c 'write -P 3 7M 4k' \
  top.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b top.qcow2 -F qcow2 -o cluster_size=4k \
  top2.qcow2
qemu-io -c 'write -P 4 3M 8k' top2.qcow2 >/dev/null
truncate -s 3M r.raw
qemu-io -f raw -c 'write -P 1 64k 64k' r.raw >/dev/null
qemu-img create -q -f qcow2 -o preallocation=metadata pm.qcow2 4M
qemu-io -c 'write -P 5 1M 64k' pm.qcow2 >/dev/null
qemu-img create -q -f qcow2 cmp.qcow2 4M
qemu-io -c 'write -c -P 5 0 64k' -c 'write -P 5 64k 64k' cmp.qcow2 >/dev/null
qemu-img create -q -f qcow2 zal.qcow2 4M
qemu-io -c 'write -P 5 0 128k' -c 'write -z 0 64k' zal.qcow2 >/dev/null
truncate -s 2M rb.raw
qemu-io -f raw -c 'write -P 1 0 4k' rb.raw >/dev/null
qemu-img create -q -f qcow2 -b rb.raw -F raw orb.qcow2 4M
qemu-io -c 'write -P 7 1M 64k' orb.qcow2 >/dev/null
qemu-img create -q -f qcow2 empty.qcow2 0
vd_img create -q -f qcow2 vd.qcow2 8M
qemu-io -c 'write -P 9 7M 1M' vd.qcow2 >/dev/null

for f in base.qcow2 top.qcow2 top2.qcow2 r.raw pm.qcow2 cmp.qcow2 zal.qcow2 \
         orb.qcow2 empty.qcow2 vd.qcow2 "$tmp/top.qcow2"; do
  for o in human json; do
    # stdout, then stderr without the program name, then the status.
    a=$(vd_img map --output=$o "$f" 2>"$cap/e1"; echo "rc=$?"
        sed 's/^vd-img: //' "$cap/e1")
    b=$(qemu-img map --output=$o "$f" 2>"$cap/e2"; echo "rc=$?"
        sed 's/^qemu-img: //' "$cap/e2")
    is "map --output=$o as qemu-img on $(basename "$f")" "$a" "$b"
  done
done
# Not merged across layers, and human output without the --output flag.
is "map (default human) on top2.qcow2" "$(vd_img map top2.qcow2)" \
  "$(qemu-img map top2.qcow2)"
for r in "--start-offset=1M --max-length=2M" "--start-offset=3M" \
         "--start-offset=20M" "--max-length=0"; do
  a=$(vd_img map --output=json $r top.qcow2 2>&1)
  b=$(qemu-img map --output=json $r top.qcow2 2>&1)
  is "map $r as qemu-img" "$a" "$b"
done
is "map -f raw of a qcow2 file" "$(vd_img map -f raw top.qcow2)" \
  "$(qemu-img map -f raw top.qcow2)"

# Errors.
run_cmd out err rc vd_img map nonexistent.qcow2
is "map of a missing file exits 1" "$rc" 1
run_cmd out err rc vd_img map --output=yaml top.qcow2
is "map --output=yaml exits 1" "$rc" 1
run_cmd out err rc vd_img map --start-offset=abc top.qcow2
is "map with a bad start offset exits 1" "$rc" 1
like "  and says why" "$err" "Invalid start offset"
run_cmd out err rc vd_img map a b
is "map of two files exits 1" "$rc" 1

done_testing
