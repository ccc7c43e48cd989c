#!/bin/sh
# Oracle: vd-img info and qemu-img info agree on raw images made by
# either tool (virtual-size, format, actual-size), and each tool reads
# the other's images.
. "$top_srcdir/tests/functions.sh"
requires qemu-img jq

cd "$tmp"
for size in 0 512 1000 1M 10G 1.5T; do
  vd_img create -q "vd-$size.raw" "$size"
  qemu-img create -q -f raw "qemu-$size.raw" "$size"
  for who in vd qemu; do
    f="$who-$size.raw"
    a=$(vd_img info --output=json "$f" | jq -c '{"virtual-size","format","actual-size","filename","dirty-flag"}')
    b=$(qemu-img info --output=json "$f" | jq -c '{"virtual-size","format","actual-size","filename","dirty-flag"}')
    is "info agrees on $f (made by $who)" "$a" "$b"
    a=$(vd_img info --output=json "$f")
    b=$(qemu-img info --output=json "$f")
    is "JSON byte for byte on $f" "$a" "$b"
    a=$(vd_img info "$f")
    b=$(qemu-img info "$f")
    is "human output byte for byte on $f" "$a" "$b"
  done
  is "same file size for $size" "$(stat -c %s "vd-$size.raw")" \
    "$(stat -c %s "qemu-$size.raw")"
done

for p in falloc full; do
  vd_img create -q -o preallocation=$p "vd-$p.raw" 4M
  qemu-img create -q -f raw -o preallocation=$p "qemu-$p.raw" 4M
  a=$(vd_img info --output=json "vd-$p.raw" | jq '."actual-size"')
  b=$(qemu-img info --output=json "qemu-$p.raw" | jq '."actual-size"')
  is "preallocation=$p allocates as qemu-img does" "$a" "$b"
done

# What one tool creates reads the same as what the other creates.
check "qemu-img compare: our 10G image equals qemu-img's" \
  qemu-img compare -q -f raw -F raw vd-10G.raw qemu-10G.raw
check "qemu-img compare: our preallocated image equals qemu-img's" \
  qemu-img compare -q -f raw -F raw vd-full.raw qemu-full.raw

done_testing
