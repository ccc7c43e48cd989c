#!/bin/sh
# vd-img compare agrees with qemu-img compare: same message, same exit
# status, on qcow2 and raw images, backing chains against their
# flattened copy, size mismatches, strict mode, formats forced.
. "$top_srcdir/tests/functions.sh"
requires qemu-img qemu-io

cd "$tmp"
qemu-img create -q -f qcow2 c1.qcow2 4M
qemu-io -c 'write -P 1 1001 1' c1.qcow2 >/dev/null
qemu-img create -q -f qcow2 c2.qcow2 4M
qemu-io -c 'write -P 1 1001 1' -c 'write -P 2 70001 1' c2.qcow2 >/dev/null
qemu-img create -q -f qcow2 c3.qcow2 5M
qemu-io -c 'write -P 1 1001 1' c3.qcow2 >/dev/null
qemu-img create -q -f qcow2 c5.qcow2 5M
qemu-io -c 'write -P 1 1001 1' -c 'write -P 1 4500k 1' c5.qcow2 >/dev/null
cp c1.qcow2 c4.qcow2
qemu-io -c 'write -z 0 64k' -c 'write -P 1 1001 1' c4.qcow2 >/dev/null
qemu-img create -q -f qcow2 base.qcow2 10M
qemu-io -c 'write -P 1 0 1M' -c 'write -z 2M 1M' -c 'write -P 2 4M 64k' \
  base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2 12M
qemu-io -c 'write -P 3 512k 1M' -c 'write -z 4M 32k' top.qcow2 >/dev/null
qemu-img convert -O qcow2 top.qcow2 flat.qcow2
qemu-img convert -O raw top.qcow2 flat.raw
cp flat.raw flat2.raw
qemu-io -f raw -c 'write -P 9 11M 512' flat2.raw >/dev/null

for args in "c1.qcow2 c2.qcow2" "c2.qcow2 c1.qcow2" "c1.qcow2 c3.qcow2" \
            "c1.qcow2 c5.qcow2" "c5.qcow2 c1.qcow2" "-s c1.qcow2 c3.qcow2" \
            "c1.qcow2 c4.qcow2" "-s c1.qcow2 c1.qcow2" "-q c1.qcow2 c2.qcow2" \
            "-q c1.qcow2 c1.qcow2" "-f raw c1.qcow2 c1.qcow2" \
            "-f qcow2 -F raw top.qcow2 flat.raw" "top.qcow2 flat.qcow2" \
            "top.qcow2 base.qcow2" "base.qcow2 top.qcow2" \
            "flat.raw flat2.raw" "top.qcow2 flat2.raw" "-s top.qcow2 top.qcow2"
do
  a=$(vd_img compare $args 2>&1; echo "rc=$?")
  b=$(qemu-img compare $args 2>&1; echo "rc=$?")
  is "compare $args as qemu-img" "$a" "$b"
done

run_cmd out err rc vd_img compare c1.qcow2 missing.qcow2
is "compare with a missing image exits 2" "$rc" 2
run_cmd out err rc vd_img compare c1.qcow2
is "compare with one name exits 1" "$rc" 1
like "  and says two are needed" "$err" "two image file names"

done_testing
