#!/bin/sh
# The thin-overlay workflow, with vdtools only (vd-img, and vdio for the
# guest's writes); qemu-img only checks the results.  A base image, an
# overlay on it (-b base -F qcow2), writes in the overlay; then either
# revert (throw the overlay away, make a new one) or commit the overlay
# down into the base.
. "$top_srcdir/tests/functions.sh"
requires qemu-img
. "$top_srcdir/tests/interop/qcow2-lib.sh"

cd "$tmp"
vd_img create -q -f qcow2 base.qcow2 64M
vdio write base.qcow2 0 0x11 4M
vdio write base.qcow2 32M 0x12 1M
base_sum=$(vdio read base.qcow2 0 64M | md5sum)

# A test VM's thin overlay.
vd_img create -q -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2
is "the overlay has the base's size" \
  "$(qemu-img info --output=json overlay.qcow2 | grep '"virtual-size"')" \
  '    "virtual-size": 67108864,'
is "the new overlay reads as the base" "$(vdio read overlay.qcow2 0 64M | md5sum)" \
  "$base_sum"
vdio write overlay.qcow2 1M 0x21 2M
vdio write overlay.qcow2 48M 0x22 64k
check "writes in the overlay: qemu-img check clean" qemu-img check -q overlay.qcow2
is "writes land in the overlay, not the base" \
  "$(vdio read base.qcow2 0 64M | md5sum)" "$base_sum"
run_cmd out err rc vd_img compare base.qcow2 overlay.qcow2
is "compare: the overlay differs where it was written" "$rc:$out" \
  "1:Content mismatch at offset 1048576!"
is "map: the overlay's own extents" \
  "$(vd_img map --output=json overlay.qcow2 | grep -c '"depth": 0, "present": true, "zero": false, "data": true')" 2
overlay_sum=$(vdio read overlay.qcow2 0 64M | md5sum)

# Revert: discard the overlay, start again from the base.
rm overlay.qcow2
vd_img create -q -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2
run_cmd out err rc vd_img compare base.qcow2 overlay.qcow2
is "revert: a fresh overlay reads as the base" "$rc:$out" "0:Images are identical."

# Or keep the changes: write again, then commit them down.
vdio write overlay.qcow2 1M 0x21 2M
vdio write overlay.qcow2 48M 0x22 64k
is "the rewritten overlay reads as before" "$(vdio read overlay.qcow2 0 64M | md5sum)" \
  "$overlay_sum"
run_cmd out err rc vd_img commit overlay.qcow2
is "commit: exit 0" "$rc:$out" "0:Image committed."
is "commit: the base now has the overlay's content" \
  "$(vdio read base.qcow2 0 64M | md5sum)" "$overlay_sum"
is "commit: the chain still reads the same" \
  "$(vdio read overlay.qcow2 0 64M | md5sum)" "$overlay_sum"
run_cmd out err rc vd_img compare base.qcow2 overlay.qcow2
is "commit: the emptied overlay and the base compare equal" "$rc" 0
check "commit: qemu-img check clean on both" \
  sh -c 'qemu-img check -q base.qcow2 && qemu-img check -q overlay.qcow2'
is "qemu-img agrees: identical" "$(qemu-img compare base.qcow2 overlay.qcow2)" \
  "Images are identical."

# Grow the disk for the next run and measure what a copy would need.
vd_img resize -q base.qcow2 +64M
is "resize: the base is 128M" \
  "$(qemu-img info --output=json base.qcow2 | grep '"virtual-size"')" \
  '    "virtual-size": 134217728,'
is "measure agrees with qemu-img on the grown base" \
  "$(vd_img measure -O qcow2 base.qcow2)" "$(qemu-img measure -O qcow2 base.qcow2)"

done_testing
