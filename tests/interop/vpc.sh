#!/bin/sh
# Oracle: VHD (vpc) images, dynamic and fixed, with qemu's CHS size
# rounding or force_size, made by vd-img read identically in qemu-img;
# images made by qemu-img read identically through libvd; info and
# create print what qemu-img prints; a fixed VHD is probed as vpc (qemu
# probes it as raw); an Azure-ready image has the exact whole-MiB size;
# corrupt footers and headers are refused with a clear message.
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/interop/vhd-functions.sh"
requires qemu-img qemu-io
[ -x "$VHDIO" ] || skip_all "vhdio is not built"

cd "$tmp"

for opts in "" "subformat=dynamic" "subformat=fixed" "force_size=on" \
  "subformat=fixed,force_size=on"; do
  d="vpc${opts:+ $opts}"
  same_create "$d" vpc "$opts" 20M
  same_info "$d, ours, new" vd/vpc.img vpc
  same_info "$d, qemu's, new" qemu/vpc.img vpc
  size=$(vhdio vd/vpc.img size)
  is "$d: the same size as qemu-img's" "$size" "$(vhdio qemu/vpc.img size)"
  expected_raw expect.raw "$size"

  check "$d: write through libvd" write_vd vd/vpc.img "$size"
  check "$d: qemu-img reads our image as expected" \
    qemu-img compare -q -f vpc -F raw vd/vpc.img expect.raw
  same_info "$d, ours, written" vd/vpc.img vpc

  check "$d: write with qemu-io" write_qemu qemu/vpc.img vpc "$size"
  rm -f out.raw
  check "$d: export qemu's image through libvd" vhdio qemu/vpc.img export out.raw
  check "$d: libvd reads qemu's image as expected" cmp out.raw expect.raw
  same_info "$d, qemu's, written" qemu/vpc.img vpc
done

# qemu-img convert from raw (exact size: force_size), read through libvd.
expected_raw expect.raw 20971520
for opts in "force_size=on" "subformat=fixed,force_size=on"; do
  rm -f conv.vpc out.raw
  qemu-img convert -f raw -O vpc -o "$opts" expect.raw conv.vpc
  check "convert -O vpc $opts: libvd reads it" vhdio conv.vpc export out.raw
  check "convert -O vpc $opts: as expected" cmp out.raw expect.raw
done

# A fixed VHD is raw data and a footer: we probe it as vpc.
rm -f fixed.vhd
qemu-img create -q -f vpc -o subformat=fixed fixed.vhd 10M
like "a fixed VHD is probed as vpc" "$(vd_img info fixed.vhd)" \
  "^file format: vpc$"
is "probed, it reads as qemu-img -f vpc reads it" \
  "$(vd_img info --output=json fixed.vhd)" \
  "$(qemu-img info -f vpc --output=json fixed.vhd)"

# The CHS rounding and force_size agree with qemu-img at many sizes.
for s in 0 1000 33k 3M 127M 4095M 127G 200G 2040G; do
  for o in "" "force_size=on" "subformat=fixed"; do
    # (qemu-img cannot open the 0-byte fixed VHD it makes: the footer is
    # then at offset 0 and it takes it for a dynamic one.)
    case "$o,$s" in subformat=fixed,*G | subformat=fixed,0) continue ;; esac
    rm -f s.vpc q.vpc
    vd_img create -q -f vpc ${o:+-o $o} s.vpc $s
    qemu-img create -q -f vpc ${o:+-o $o} q.vpc $s
    is "size $s $o: same virtual size" \
      "$(vd_img info -f vpc --output=json s.vpc | jq '."virtual-size"')" \
      "$(qemu-img info -f vpc --output=json q.vpc | jq '."virtual-size"')"
  done
done
run_cmd out err rc vd_img create -q -f vpc big.vpc 2041G
is "over 2040 GiB: refused" "$rc" 1
like "over 2040 GiB: says why" "$err" "2040 GiB"
[ -e big.vpc ] && not_ok "over 2040 GiB: nothing left behind" ||
  ok "over 2040 GiB: nothing left behind"

# Azure: a fixed VHD of an exact whole number of MiB.
rm -f azure.vhd
vd_img create -q -f vpc -o subformat=fixed,force_size=on azure.vhd 1000M
is "Azure: exact virtual size" \
  "$(qemu-img info -f vpc --output=json azure.vhd | jq '."virtual-size"')" \
  1048576000
is "Azure: the file is the disk and a 512-byte footer" \
  "$(stat -c %s azure.vhd)" 1048576512
like "Azure: probed as vpc" "$(vd_img info azure.vhd)" "^file format: vpc$"

# check (qemu-img has none for vpc): a note on fixed VHDs Azure would
# refuse; the footer copies of a dynamic VHD compared and repaired.
rm -f odd.vhd
vd_img create -q -f vpc -o subformat=fixed odd.vhd 10M
run_cmd out err rc vd_img check odd.vhd
is "check: an odd-sized fixed VHD has no errors" "$rc:$out" \
  "0:No errors were found on the image."
like "check: ... and a note on Azure's rule" "$err" \
  "^Note: the disk size [(]10514432 bytes[)] is not a whole number of MiB"
run_cmd out err rc vd_img check azure.vhd
is "check: the Azure-ready image passes without a note" "$rc:$out:$err" \
  "0:No errors were found on the image.:"
rm -f dyn.vhd
vd_img create -q -f vpc dyn.vhd 10M
vhdio dyn.vhd write 0 512 1
poke dyn.vhd $(($(stat -c %s dyn.vhd) - 512)) 78
truncate -s +1000 dyn.vhd
run_cmd out err rc vd_img check dyn.vhd
is "check: a damaged end footer is a corruption (exit 2)" "$rc" 2
like "check: ... named" "$err" "footer at the end of the file is missing or damaged"
run_cmd out err rc vd_img check -r all dyn.vhd
is "check -r all: repaired" "$rc" 0
like "check -r all: says so" "$out" "1 corruptions"
head -c 512 dyn.vhd >head.bin
tail -c 512 dyn.vhd >end.bin
check "check -r all: the footer is back at the end" cmp -s head.bin end.bin
run_cmd out err rc vd_img check dyn.vhd
is "check after repair: clean" "$rc:$out" "0:No errors were found on the image."
check "check after repair: the data is there" vhdio dyn.vhd read 0 512 1

# Corrupt footers and headers (dynamic: footer copy at 0, dynamic header
# at 512, BAT at 1536).
mk () {
  rm -f bad.vpc
  vd_img create -q -f vpc -o force_size=on bad.vpc 8M
  vhdio bad.vpc write 0 512 1
}
mk; poke bad.vpc 64 00000000; poke bad.vpc $(($(stat -c %s bad.vpc) - 512 + 64)) 00000000
refused "footer checksum" bad.vpc vpc "footer checksum is wrong"
mk; poke bad.vpc 0 78; poke bad.vpc $(($(stat -c %s bad.vpc) - 512)) 78
refused "no footer" bad.vpc vpc "not a VHD image"
mk; poke bad.vpc $((512 + 36)) 00000000
refused "dynamic header checksum" bad.vpc vpc "dynamic disk header checksum is wrong"
mk; poke bad.vpc 1536 7fffffff
refused "block past the end" bad.vpc vpc "past the end of the file"
mk; poke bad.vpc 1540 00000001
refused "block on the header" bad.vpc vpc "overlaps the image's metadata"

done_testing
