#!/bin/sh
# vd-img create -f vmdk: the "Formatting ..." line is qemu-img's for each
# option set (defaults included), -o help matches, bad options give one
# clear line and leave nothing behind (extent files included), and the
# seed's empty 10G image is small and passes qemu-img check.
. "$top_srcdir/tests/functions.sh"
requires qemu-img jq

cd "$tmp"
mkdir q v
qemu-img create -q -f vmdk q/base.vmdk 20M
cp q/base.vmdk v/base.vmdk

# Same command in both folders; the Formatting lines must be identical.
same_line () {
  _desc=$1; shift
  a=$(cd v && $VALGRIND_CMD "$VD_IMG_BIN" create "$@" 2>&1)
  b=$(cd q && qemu-img create "$@" 2>&1)
  is "Formatting line: $_desc" "$a" "$b"
}
same_line "defaults" -f vmdk a.vmdk 10G
same_line "streamOptimized" -f vmdk -o subformat=streamOptimized b.vmdk 1G
same_line "flat, compat6, adapter" -f vmdk \
  -o subformat=monolithicFlat,compat6,adapter_type=lsilogic c.vmdk 1M
same_line "split sparse, hwversion" -f vmdk \
  -o subformat=twoGbMaxExtentSparse,hwversion=6 d.vmdk 5G
same_line "zeroed grain, toolsversion" -f vmdk \
  -o zeroed_grain=on,toolsversion=3,adapter_type=buslogic e.vmdk 1M
same_line "-b -F, size from the backing file" -f vmdk -b base.vmdk \
  -F vmdk f.vmdk
same_line "backing_file as an option" -f vmdk \
  -o backing_file=base.vmdk,backing_fmt=vmdk g.vmdk 20M
same_line "size option, odd size" -f vmdk -o size=1000 h.vmdk
for f in a b c d e f g h; do
  check "qemu-img check passes on our $f.vmdk" qemu-img check -q "v/$f.vmdk"
done
is "same files made (extents named as qemu names them)" \
  "$(cd v && ls | sort | tr '\n' ' ')" "$(cd q && ls | sort | tr '\n' ' ')"

# -o help: each of our lines is qemu-img's line.
vd_img create -f vmdk -o help > help.txt
qemu-img create -f vmdk -o help > qhelp.txt
is "-o help lists 9 options" "$(grep -c '^  [a-z]' help.txt)" 9
missing=$(grep '^  ' help.txt | while IFS= read -r l; do
  grep -qxF -- "$l" qhelp.txt || printf '%s|' "$l"; done)
is "-o help lines as qemu-img prints them" "$missing" ""

# The seed: an empty 10G image is small, and qemu-img agrees about it.
vd_img create -q -f vmdk seed.vmdk 10G
out=$(vd_img info seed.vmdk)
like "info: the format" "$out" "^file format: vmdk$"
like "info: the virtual size" "$out" "virtual size: 10 GiB \(10737418240 bytes\)"
ds=$(vd_img info --output=json seed.vmdk | jq '."actual-size"')
check "the empty 10G image uses under 512 KiB ($ds bytes)" test "$ds" -lt 524288
is "disk size as qemu-img reports it" "$ds" \
  "$(qemu-img info --output=json seed.vmdk | jq '."actual-size"')"
check "qemu-img check passes on the seed image" qemu-img check -q seed.vmdk

# Errors: one line, exit 1, nothing left (no temporary extent files).
expect_error () {
  _desc=$1 _pat=$2; shift 2
  _before=$(ls -a | wc -l)
  run_cmd o e rc vd_img create -f vmdk "$@"
  is "$_desc: exit 1" "$rc" 1
  like "$_desc: message" "$e" "$_pat"
  is "$_desc: one line" "$(printf '%s\n' "$e" | wc -l)" 1
  is "$_desc: nothing created" "$(ls -a | wc -l)" "$_before"
}
expect_error "bad adapter" "^vd-img: x.vmdk: invalid adapter_type 'scsi'" \
  -o adapter_type=scsi x.vmdk 1M
expect_error "bad subformat" "x.vmdk: invalid subformat 'foo'" \
  -o subformat=foo x.vmdk 1M
expect_error "compat6 with hwversion" "compat6 cannot be enabled with hwversion" \
  -o compat6=on,hwversion=7 x.vmdk 1M
expect_error "flat with zeroed grains" "flat image cannot have zeroed grains" \
  -o subformat=twoGbMaxExtentFlat,zeroed_grain=on x.vmdk 5G
expect_error "flat with a backing file" "flat image cannot have a backing file" \
  -o subformat=monolithicFlat -b seed.vmdk -F vmdk x.vmdk 1M
expect_error "missing backing file" "x.vmdk: cannot open the backing file" \
  -o backing_file=nothere.vmdk x.vmdk 1M
qemu-img create -q -f raw r.raw 1M
expect_error "raw backing file" "backing file 'r.raw' is a raw image" \
  -o backing_file=r.raw x.vmdk 1M
expect_error "backing format not vmdk" "backing_fmt must be 'vmdk'" \
  -b r.raw -F raw x.vmdk 1M
expect_error "not a vmdk option" "invalid option 'cluster_size' for format 'vmdk'" \
  -o cluster_size=4k x.vmdk 1M
# An extent that exists already: refused before any file is kept.
touch x-s002.vmdk
expect_error "an extent file exists" "x-s002.vmdk: the file already exists" \
  -o subformat=twoGbMaxExtentSparse x.vmdk 5G
is "the existing extent is untouched" "$(stat -c %s x-s002.vmdk)" 0
is "no temporary files left" "$(ls -a | grep -c vdtmp || true)" 0

done_testing
