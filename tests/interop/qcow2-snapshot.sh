#!/bin/sh
# vd-img snapshot against qemu-img snapshot: listings agree byte for
# byte, snapshots made by either are applied and deleted by the other,
# qemu-img check (and ours) find the image clean after every step, and
# the guest data of each snapshot comes back.  Error lines and exit codes
# as qemu-img 7.2's.
. "$top_srcdir/tests/functions.sh"
requires qemu-img qemu-io
. "$top_srcdir/tests/interop/qcow2-lib.sh"

cd "$tmp"

# clean DESCRIPTION FILE: qemu-img check and vd-img check find no errors.
clean () {
  check "$1: qemu-img check clean" check_clean "$2"
  _o=$(vd_img check "$2" 2>&1)
  like "$1: vd-img check clean" "$?:$_o" "^0:No errors were found"
}
# has DESCRIPTION FILE OFFSET LEN PATTERN: guest bytes read back.
has () {
  _o=$(qemu-io -c "read -P $4 $2 $3" "$1" 2>&1 | head -1)
  like "$5" "$_o" "^read [0-9]+/[0-9]+ bytes"
}
same_list () {
  is "$1: listing as qemu-img's" "$(vd_img snapshot -l "$2" 2>&1)" \
    "$(qemu-img snapshot -l "$2" 2>&1 | sed 's/^qemu-img: /vd-img: /')"
}

for opts in "compat=1.1" "compat=0.10,cluster_size=512" \
            "compat=1.1,refcount_bits=64,cluster_size=4096" \
            "compat=1.1,extended_l2=on,cluster_size=65536" \
            "compat=1.1,lazy_refcounts=on"; do
  d="[$opts]"
  rm -f a.qcow2
  qemu-img create -q -f qcow2 -o "$opts" a.qcow2 4M
  qemu-io -c "write -P 0x11 0 128k" -c "write -c -P 0x12 1M 64k" a.qcow2 >/dev/null

  # vd-img creates, qemu-img lists and applies.
  vd_img snapshot -c one a.qcow2
  is "$d vd-img snapshot -c" "$?" 0
  clean "$d after create" a.qcow2
  same_list "$d one snapshot" a.qcow2
  qemu-io -c "write -P 0x21 64k 128k" -c "write -P 0x22 3M 64k" a.qcow2 >/dev/null
  clean "$d after writing over a snapshot" a.qcow2
  qemu-img snapshot -c two a.qcow2
  vd_img snapshot -c one a.qcow2
  is "$d a second tag 'one' is allowed, as qemu-img" "$?" 0
  same_list "$d three snapshots" a.qcow2
  is "$d IDs 1 2 3" "$(qemu-img snapshot -l a.qcow2 | awk 'NR>2 {printf "%s ", $1}')" "1 2 3 "
  qemu-img snapshot -a 1 a.qcow2
  clean "$d qemu-img applied ours" a.qcow2
  has a.qcow2 0 128k 0x11 "$d snapshot 1 data back (qemu-img apply)"
  has a.qcow2 3M 64k 0x00 "$d snapshot 1 data back: later write gone"

  # qemu-img's snapshot, applied and deleted by vd-img.
  vd_img snapshot -a two a.qcow2
  is "$d vd-img snapshot -a" "$?" 0
  clean "$d after vd-img apply" a.qcow2
  has a.qcow2 64k 128k 0x21 "$d snapshot 'two' data back"
  has a.qcow2 1M 64k 0x12 "$d snapshot 'two' compressed data back"
  run_cmd o e rc vd_img snapshot -d 2 a.qcow2
  is "$d -d takes a tag: -d 2 fails" "$rc:$e" "1:vd-img: Could not delete snapshot '2': snapshot not found"
  vd_img snapshot -d two a.qcow2
  is "$d vd-img snapshot -d two" "$?" 0
  clean "$d after vd-img delete" a.qcow2
  has a.qcow2 64k 128k 0x21 "$d active data kept after delete"
  vd_img snapshot -d one a.qcow2
  is "$d -d one deletes the first 'one' (ID 1)" \
    "$(qemu-img snapshot -l a.qcow2 | awk 'NR>2 {printf "%s:%s ", $1, $2}')" "3:one "
  clean "$d after the second delete" a.qcow2
  qemu-img snapshot -d one a.qcow2
  clean "$d qemu-img deleted the last" a.qcow2
  is "$d no snapshots left" "$(vd_img snapshot -l a.qcow2)" ""
done

# --id, JSON, errors.
rm -f b.qcow2
qemu-img create -q -f qcow2 b.qcow2 1M
qemu-img snapshot -c x b.qcow2
qemu-img snapshot -c y b.qcow2
vd_img snapshot -l --output=json b.qcow2 > "$cap/j"
is "json: two snapshots" "$(jq -r '[.[].name] | join(",")' "$cap/j")" "x,y"
is "json: IDs" "$(jq -r '[.[].id] | join(",")' "$cap/j")" "1,2"
is "json: date as qemu-img info's" "$(jq '.[1]["date-sec"]' "$cap/j")" \
  "$(qemu-img info --output=json b.qcow2 | jq '.snapshots[1]["date-sec"]')"
vd_img snapshot -d --id 1 b.qcow2 2>/dev/null || vd_img snapshot --id 1 b.qcow2
is "--id 1 deletes by ID" "$(qemu-img snapshot -l b.qcow2 | awk 'NR>2 {printf "%s ", $2}')" "y "
clean "after --id delete" b.qcow2
run_cmd o e rc vd_img snapshot -a nosuch b.qcow2
is "apply unknown" "$rc:$e" "1:vd-img: Could not apply snapshot 'nosuch': Failed to load snapshot: No such file or directory"
run_cmd o e rc vd_img snapshot -c a -l b.qcow2
is "cannot mix" "$rc:$e" "1:vd-img: Cannot mix '-l', '-a', '-c', '-d'"
vd_img create -q r.raw 1M
run_cmd o e rc vd_img snapshot -c s r.raw
like "raw has no snapshots" "$rc:$e" "^1:vd-img: Could not create snapshot 's': .*does not support internal snapshots"
qemu-img create -q -f qcow2 -o refcount_bits=1 one.qcow2 1M
sum=$(md5sum < one.qcow2)
run_cmd o e rc vd_img snapshot -c s one.qcow2
like "1-bit refcounts refused" "$rc:$e" "^1:.*refcounts wider than 1 bit"
is "1-bit refcounts: file unchanged" "$(md5sum < one.qcow2)" "$sum"
done_testing
