#!/bin/sh
# Oracle: VMDK images both ways with qemu-img, for every sub-format.
#  - images made through libvd (vd-img create, then data written by the
#    test driver vmdkio) pass qemu-img check and compare equal to the raw
#    source; vd-img info matches qemu-img info byte for byte;
#  - images made by qemu-img (convert -O vmdk -o subformat=X) read
#    identically through libvd, and libvd writes into them correctly;
#  - backing chains across the two tools; vmfs / vmfsThin descriptors.
. "$top_srcdir/tests/functions.sh"
requires qemu-img jq dd cmp
VMDKIO="$top_builddir/tests/interop/vmdkio"
[ -x "$VMDKIO" ] || skip_all "tests/interop/vmdkio is not built"
vmdkio () { $VALGRIND_CMD "$VMDKIO" "$@"; }

cd "$tmp"
size=2049M # past 2 GiB so the split sub-formats get two extents

# put FILE OFFSET COUNT BYTE (offset and count multiples of 8)
put () {
  head -c "$3" /dev/zero | tr '\0' "$4" |
    dd of="$1" bs=8 seek=$(($2 / 8)) conv=notrunc status=none
}
truncate -s $size src.raw
head -c 65536 /dev/urandom | dd of=src.raw conv=notrunc status=none
put src.raw 100000 5000 '\252'
put src.raw $((2 * 1024 * 1024 * 1024 - 3000)) 7000 '\125'
head -c 200000 /dev/urandom |
  dd of=src.raw bs=8 seek=$(((1024 * 1024 * 1024 + 12344) / 8)) \
    conv=notrunc status=none
put src.raw $((2049 * 1024 * 1024 - 512)) 512 '\167'

# Sum of the data bytes of a map (qemu-img map JSON or vmdkio map).
qemu_data () {
  qemu-img map --output=json "$1" |
    jq '[.[] | select(.data and (.zero | not)) | .length] | add'
}
vd_data () { vmdkio "$1" map | awk '$3 ~ /^data/ { s += $2 } END { print s + 0 }'; }

same_info () {
  a=$(vd_img info "$1"); b=$(qemu-img info "$1")
  is "$2: info as qemu-img prints it" "$a" "$b"
  a=$(vd_img info --output=json "$1"); b=$(qemu-img info --output=json "$1")
  is "$2: JSON info as qemu-img prints it" "$a" "$b"
  a=$(vd_img check --output=json "$1"); b=$(qemu-img check --output=json "$1")
  is "$2: check as qemu-img reports it" "$a" "$b"
}

for sf in monolithicSparse streamOptimized monolithicFlat \
          twoGbMaxExtentSparse twoGbMaxExtentFlat; do
  mkdir $sf
  # libvd -> qemu-img
  vd_img create -q -f vmdk -o subformat=$sf $sf/v.vmdk $size
  check "$sf: data written through libvd" vmdkio $sf/v.vmdk load src.raw
  check "$sf: qemu-img check passes on ours" qemu-img check -q $sf/v.vmdk
  check "$sf: qemu-img compare: ours equals the source" \
    qemu-img compare -q -f raw -F vmdk src.raw $sf/v.vmdk
  like "$sf: libvd reads back what it wrote" \
    "$(vmdkio $sf/v.vmdk compare src.raw)" "^identical$"
  same_info $sf/v.vmdk "$sf (ours)"

  # qemu-img -> libvd (convert into a new image: qemu-img would write
  # every zero of a flat target otherwise)
  qemu-img create -q -f vmdk -o subformat=$sf $sf/q.vmdk $size
  qemu-img convert -n --target-is-zero -O vmdk src.raw $sf/q.vmdk
  like "$sf: qemu-img's image reads identically" \
    "$(vmdkio $sf/q.vmdk compare src.raw)" "^identical$"
  same_info $sf/q.vmdk "$sf (qemu-img's)"
  if [ $sf != streamOptimized ]; then
    is "$sf: block status finds the data qemu-img finds" \
      "$(vd_data $sf/q.vmdk)" "$(qemu_data $sf/q.vmdk)"
    # libvd writes into qemu-img's image: partial grains, a run across
    # the 2 GiB extent boundary, zeros.
    cp --sparse=always src.raw exp.raw
    put exp.raw 8 4000 '\061'
    put exp.raw $((2 * 1024 * 1024 * 1024 - 65536)) 131072 '\062'
    put exp.raw 100000 5000 '\000'
    check "$sf: libvd writes into qemu-img's image" \
      vmdkio $sf/q.vmdk write 8 4000 0x31 write $((2 * 1024 * 1024 * 1024 - 65536)) 128k 0x32 \
      zero 100000 5000
    check "$sf: qemu-img check after our writes" qemu-img check -q $sf/q.vmdk
    check "$sf: qemu-img compare after our writes" \
      qemu-img compare -q -f raw -F vmdk exp.raw $sf/q.vmdk
    like "$sf: libvd reads its writes back" \
      "$(vmdkio $sf/q.vmdk compare exp.raw)" "^identical$"
    rm -f exp.raw
  fi
  rm -rf $sf
done

# An empty streamOptimized image made by qemu-img, filled by libvd.
qemu-img create -q -f vmdk -o subformat=streamOptimized qs.vmdk $size
check "qemu-img's empty stream filled through libvd" vmdkio qs.vmdk load src.raw
check "... passes qemu-img check" qemu-img check -q qs.vmdk
check "... compares equal" qemu-img compare -q -f raw -F vmdk src.raw qs.vmdk
rm -f qs.vmdk

# Backing chains both ways, with zeroed grains.
vd_img create -q -f vmdk base.vmdk 8M
vmdkio base.vmdk write 0 8M 0x41
qemu-img create -q -f vmdk -b base.vmdk -F vmdk -o zeroed_grain=on qtop.vmdk
vd_img create -q -f vmdk -b base.vmdk -F vmdk -o zeroed_grain=on vtop.vmdk
same_info vtop.vmdk "child of our base"
for t in qtop vtop; do
  check "$t: libvd writes, zeroes and copies on write" \
    vmdkio $t.vmdk write 1000 100 0x42 zero 1M 1M zero 3M 1000
done
check "qemu-img compare: both children read the same" \
  qemu-img compare -q qtop.vmdk vtop.vmdk
check "qemu-img check passes on our child" qemu-img check -q vtop.vmdk
qemu-img convert -O raw vtop.vmdk vtop.raw
vmdkio qtop.vmdk dump > qtop.raw
check "libvd reads qemu-img's child as qemu-img reads ours" cmp -s qtop.raw vtop.raw
is "a whole zeroed grain is a zero grain (GTE 1)" \
  "$(qemu-img map --output=json vtop.vmdk |
     jq -c '[.[] | select(.start == 1048576)][0] | [.zero, .data, .depth]')" \
  '[true,false,0]'
vmdkio base.vmdk write 7M 512 0x43 # a new CID for the base
run_cmd o e rc vmdkio vtop.vmdk read 5M 512
like "a changed base is noticed (CID), as qemu-img does" "$e" \
  "vtop.vmdk: the parent CID [0-9a-f]+ does not match the CID"
check_fails "qemu-img refuses the same read" \
  qemu-img convert -O raw vtop.vmdk x.raw

# vmfs (qemu-img reads it too) and vmfsThin (ESXi) flat descriptors.
truncate -s 3M disk-flat.vmdk
head -c 100000 /dev/urandom | dd of=disk-flat.vmdk conv=notrunc status=none
for t in vmfs vmfsThin; do
  cat > $t.vmdk <<EOF
# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=fffffffe
parentCID=ffffffff
isNativeSnapshot="no"
createType="$t"

# Extent description
RW 6144 VMFS "disk-flat.vmdk"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.thinProvisioned = "1"
ddb.uuid = "60 00 C2 9a 4f 2f 6c 3e-5e 6f 71 25 2c 2f 7a 4d"
ddb.virtualHWVersion = "14"
EOF
  vmdkio $t.vmdk dump > $t.raw
  check "$t: libvd reads the flat extent" cmp -s $t.raw disk-flat.vmdk
  like "$t: info names the extent" "$(vd_img info $t.vmdk)" \
    "filename: disk-flat.vmdk"
done
same_info vmfs.vmdk "vmfs descriptor"

done_testing
