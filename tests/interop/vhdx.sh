#!/bin/sh
# Oracle: Hyper-V VHDX images (dynamic and fixed, block and log sizes)
# made by vd-img read identically in qemu-img and pass qemu-img check;
# images made by qemu-img read identically through libvd; info and
# create print what qemu-img prints; a log left by a crash is replayed by
# qemu-img and by libvd alike, and a read-only open of such an image is
# refused; corrupt headers are refused with a clear message.
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/interop/vhd-functions.sh"
requires qemu-img qemu-io
[ -x "$VHDIO" ] || skip_all "vhdio is not built"

cd "$tmp"
size=20971520
expected_raw expect.raw $size

for opts in "" "subformat=fixed" "block_size=1M,log_size=2M" \
  "subformat=fixed,block_size=2M" "block_state_zero=on"; do
  d="vhdx${opts:+ $opts}"
  same_create "$d" vhdx "$opts" 20M
  same_info "$d, ours, new" vd/vhdx.img vhdx
  same_info "$d, qemu's, new" qemu/vhdx.img vhdx

  check "$d: write through libvd" write_vd vd/vhdx.img $size
  check "$d: qemu-img reads our image as expected" \
    qemu-img compare -q -f vhdx -F raw vd/vhdx.img expect.raw
  check "$d: qemu-img check passes on ours" qemu-img check -q -f vhdx vd/vhdx.img
  same_info "$d, ours, written" vd/vhdx.img vhdx

  check "$d: write with qemu-io" write_qemu qemu/vhdx.img vhdx $size
  rm -f out.raw
  check "$d: export qemu's image through libvd" vhdio qemu/vhdx.img export out.raw
  check "$d: libvd reads qemu's image as expected" cmp out.raw expect.raw
  same_info "$d, qemu's, written" qemu/vhdx.img vhdx
done

for opts in "" "subformat=fixed" "block_size=1M,block_state_zero=off"; do
  rm -f conv.vhdx out.raw
  qemu-img convert -f raw -O vhdx ${opts:+-o $opts} expect.raw conv.vhdx
  check "convert -O vhdx ${opts}: libvd reads it" vhdio conv.vhdx export out.raw
  check "convert -O vhdx ${opts}: as expected" cmp out.raw expect.raw
done

# Sizes and block sizes agree with qemu-img.
for s in 0 1000 1M 1G 1025M 101G; do
  rm -f s.vhdx q.vhdx
  vd_img create -q -f vhdx s.vhdx $s
  qemu-img create -q -f vhdx q.vhdx $s
  is "size $s: same virtual and block size" \
    "$(vd_img info --output=json s.vhdx | jq -c '[."virtual-size", ."cluster-size"]')" \
    "$(qemu-img info --output=json q.vhdx | jq -c '[."virtual-size", ."cluster-size"]')"
done

# A crash after the log was written, before it was applied.
rm -f crash.vhdx
vd_img create -q -f vhdx -o block_size=1M crash.vhdx 20M
vhdio crash.vhdx write 0 4096 0xab write 7M 100 0xcd crash
rm -f crash.raw
qemu-img create -q -f raw crash.raw 20M
qemu-io -f raw -c 'write -P 0xab 0 4096' -c 'write -P 0xcd 7M 100' crash.raw >/dev/null
cp crash.vhdx crash2.vhdx
run_cmd out err rc vd_img info crash.vhdx
is "pending log: read-only info refused" "$rc" 1
like "pending log: the message says why" "$err" \
  "^vd-img: crash.vhdx: the VHDX log holds metadata changes that were never applied"
check_fails "pending log: qemu-img refuses it read-only too" \
  qemu-img info crash.vhdx
check "pending log: qemu-img check -r all replays our log" \
  qemu-img check -q -r all crash.vhdx
check "pending log: qemu replayed the right data" \
  qemu-img compare -q -f vhdx -F raw crash.vhdx crash.raw
check "pending log: libvd replays it on a read-write open" \
  vhdio crash2.vhdx write 0 0 0
check "pending log: libvd replayed the right data" \
  qemu-img compare -q -f vhdx -F raw crash2.vhdx crash.raw
check "pending log: qemu-img check passes after our replay" \
  qemu-img check -q crash2.vhdx
same_info "after replay" crash2.vhdx vhdx

# check: clean images, and a pending log repaired by -r all, as qemu-img.
for who in vd qemu; do
  for o in "" "--output=json"; do
    is "check $o, $who's image: as qemu-img" \
      "$(vd_img check $o $who/vhdx.img 2>&1; echo "rc=$?")" \
      "$(qemu-img check $o $who/vhdx.img 2>&1; echo "rc=$?")"
  done
done
for o in "" "--output=json"; do
  rm -f c1.vhdx
  vd_img create -q -f vhdx -o block_size=1M c1.vhdx 20M
  vhdio c1.vhdx write 0 4096 0xab crash
  cp c1.vhdx c2.vhdx
  is "check -r all $o replays the log: as qemu-img" \
    "$(vd_img check -r all $o c1.vhdx 2>&1; echo "rc=$?")" \
    "$(qemu-img check -r all $o c2.vhdx >q.out 2>&1; r=$?
       sed 's/c2.vhdx/c1.vhdx/' q.out; echo "rc=$r")"
  check "check -r all $o: the data is there" vhdio c1.vhdx read 0 4096 0xab
done
rm -f c1.vhdx
vd_img create -q -f vhdx -o block_size=1M c1.vhdx 20M
vhdio c1.vhdx write 0 4096 0xab crash
run_cmd out err rc vd_img check c1.vhdx
is "check without -r on a pending log: exit 1 as qemu-img" "$rc" 1
like "check without -r: says how to replay" "$err" "check -r all c1.vhdx"

# Corrupt headers (our layout: log at 1 MiB, metadata at 2 MiB, BAT at
# 3 MiB, for the default log size).
mk () {
  rm -f bad.vhdx
  vd_img create -q -f vhdx -o block_size=1M bad.vhdx 4M
  vhdio bad.vhdx write 0 512 1
}
mk; poke bad.vhdx 0 78
refused "file identifier" bad.vhdx vhdx "not a VHDX image"
mk; poke bad.vhdx 65536 78; poke bad.vhdx 131072 78
refused "both header checksums" bad.vhdx vhdx "neither VHDX header is valid"
mk; poke bad.vhdx 196608 78; poke bad.vhdx 262144 78
refused "both region tables" bad.vhdx vhdx "neither copy of the VHDX region table"
mk; poke bad.vhdx $((2 * 1048576 + 65536)) 00003000
refused "block size" bad.vhdx vhdx "bad VHDX block size"
mk; poke bad.vhdx $((2 * 1048576 + 65536 + 4)) 02
refused "differencing" bad.vhdx vhdx "differencing VHDX images"
mk; poke bad.vhdx $((3 * 1048576)) 07
refused "partially present block" bad.vhdx vhdx "partially present"
mk; poke bad.vhdx $((3 * 1048576)) 0600f0ff
refused "block past the end" bad.vhdx vhdx "lies outside the file"
mk; poke bad.vhdx $((3 * 1048576 + 8)) 06004000
refused "two blocks in one place" bad.vhdx vhdx "two blocks overlap"

done_testing
