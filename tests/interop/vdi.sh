#!/bin/sh
# Oracle: VirtualBox VDI images (dynamic and static) made by vd-img read
# identically in qemu-img and pass qemu-img check; images made by
# qemu-img (create + qemu-io, convert) read identically through libvd;
# info and create print what qemu-img prints; corrupt headers are
# refused with a clear message.
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/interop/vhd-functions.sh"
requires qemu-img qemu-io
[ -x "$VHDIO" ] || skip_all "vhdio is not built"

cd "$tmp"
size=20971520
expected_raw expect.raw $size

for opts in "" "static=off" "static=on"; do
  d="vdi${opts:+ $opts}"
  same_create "$d" vdi "$opts" 20M
  same_info "$d, ours, new" vd/vdi.img vdi
  same_info "$d, qemu's, new" qemu/vdi.img vdi

  # Ours, written through libvd, read by qemu-img.
  check "$d: write through libvd" write_vd vd/vdi.img $size
  check "$d: qemu-img reads our image as expected" \
    qemu-img compare -q -f vdi -F raw vd/vdi.img expect.raw
  check "$d: qemu-img check passes on ours" qemu-img check -q -f vdi vd/vdi.img
  same_info "$d, ours, written" vd/vdi.img vdi

  # qemu's, written by qemu-io, read through libvd.
  check "$d: write with qemu-io" write_qemu qemu/vdi.img vdi $size
  rm -f out.raw
  check "$d: export qemu's image through libvd" vhdio qemu/vdi.img export out.raw
  check "$d: libvd reads qemu's image as expected" cmp out.raw expect.raw
  same_info "$d, qemu's, written" qemu/vdi.img vdi
done

# qemu-img convert from raw, read through libvd.
for opts in "" "static=on"; do
  rm -f conv.vdi out.raw
  qemu-img convert -f raw -O vdi ${opts:+-o $opts} expect.raw conv.vdi
  check "convert -O vdi ${opts}: libvd reads it" vhdio conv.vdi export out.raw
  check "convert -O vdi ${opts}: as expected" cmp out.raw expect.raw
done

# Block status: written blocks are data, others holes (dynamic).
map=$(vhdio vd/vdi.img map 2>&1)
rm -f vd/vdi.img && (cd vd && vd_img create -q -f vdi vdi.img 20M)
vhdio vd/vdi.img write 5M 4096 0x42
like "map: the written block is data" "$(vhdio vd/vdi.img map)" "^5242880 4096 data"
like "map: a block never written is a hole" "$(vhdio vd/vdi.img map)" "^0 5242880 hole"
like "map of a static image: allocated zeros" "$map" "zero"

# Sizes round to whole sectors as in qemu-img.
for s in 0 1000 1M 1025k; do
  rm -f s.vdi
  vd_img create -q -f vdi s.vdi $s
  rm -f q.vdi
  qemu-img create -q -f vdi q.vdi $s
  is "size $s: same virtual size" \
    "$(vd_img info --output=json s.vdi | jq '."virtual-size"')" \
    "$(qemu-img info --output=json q.vdi | jq '."virtual-size"')"
done

# check: output and exit codes as qemu-img's, clean and with a wrong
# allocation count; no repair (exit 63, as qemu-img).
for who in vd qemu; do
  f=$who/vdi.img
  is "check, $who's image: as qemu-img" "$(vd_img check $f 2>&1; echo "rc=$?")" \
    "$(qemu-img check $f 2>&1; echo "rc=$?")"
done
rm -f cnt.vdi
vd_img create -q -f vdi cnt.vdi 4M
vhdio cnt.vdi write 0 512 1
poke cnt.vdi $((0x184)) 03
for o in "" "--output=json" "-r all" "-r leaks"; do
  is "check $o, wrong allocation count: as qemu-img" \
    "$(vd_img check $o cnt.vdi 2>&1; echo "rc=$?")" \
    "$(qemu-img check $o cnt.vdi >q.out 2>&1; r=$?
       sed 's/^qemu-img:/vd-img:/' q.out; echo "rc=$r")"
done

# Corrupt headers.
mk () { rm -f bad.vdi; vd_img create -q -f vdi bad.vdi 4M; }
mk; poke bad.vdi 64 00000000
refused "bad signature" bad.vdi vdi "not a VDI image"
mk; poke bad.vdi 68 00000100
refused "version 1.0" bad.vdi vdi "unsupported VDI version"
mk; poke bad.vdi 76 04000000
refused "differencing" bad.vdi vdi "differencing VDI images are not supported"
mk; poke bad.vdi 376 00003000
refused "block size" bad.vdi vdi "bad VDI block size"
mk; poke bad.vdi 384 ffffff7f
refused "block count" bad.vdi vdi "too many entries"
mk; vhdio bad.vdi write 0 512 1; poke bad.vdi 516 00000000
refused "block used twice" bad.vdi vdi "used twice"
mk; vhdio bad.vdi write 0 512 1; truncate -s -1M bad.vdi
refused "block past the end" bad.vdi vdi "past the end of the file"

done_testing
