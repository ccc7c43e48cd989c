#!/bin/sh
# Hostile and corrupt VMDK images: vd-img info (and reads through libvd)
# refuse each with one line naming the file and the problem, exit 1,
# and never follow an extent name out of the image's folder.
. "$top_srcdir/tests/functions.sh"
VMDKIO="$top_builddir/tests/interop/vmdkio"
[ -x "$VMDKIO" ] || skip_all "tests/interop/vmdkio is not built"

cd "$tmp"

# refused DESC PATTERN COMMAND...: exit 1, one line matching PATTERN.
refused () {
  _desc=$1 _pat=$2; shift 2
  run_cmd o e rc "$@"
  is "$_desc: exit 1" "$rc" 1
  like "$_desc: message" "$e" "$_pat"
  is "$_desc: one line" "$(printf '%s\n' "$e" | wc -l)" 1
}
desc () {
  printf '# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\n'
  printf 'createType="monolithicFlat"\n%s\n' "$1"
}
# patch FILE OFFSET BYTES(printf escapes)
patch () { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }

truncate -s 1M flat.raw
mkdir sub
truncate -s 1M sub/in.raw

desc 'RW 2048 FLAT "flat.raw" 0' > ok.vmdk
check "a good descriptor opens" vd_img info ok.vmdk

desc 'RW 2048 FLAT "/etc/passwd" 0' > abs.vmdk
refused "absolute extent path" \
  "^vd-img: abs.vmdk: the extent '/etc/passwd' is an absolute path; refusing" \
  vd_img info abs.vmdk
desc 'RW 2048 FLAT "../flat.raw" 0' > sub/up.vmdk
refused "extent escaping the folder" \
  "sub/up.vmdk: the extent '../flat.raw' leads out of the image's folder" \
  vd_img info sub/up.vmdk
desc 'RW 2048 FLAT "in.raw" 0' > sub/ok.vmdk
check "an extent beside the descriptor in a subfolder" vd_img info sub/ok.vmdk
desc 'RW 2048 FLAT flat.raw 0' > q.vmdk
refused "unquoted extent name" \
  "q.vmdk: descriptor line 6: the extent has no quoted file name" \
  vd_img info q.vmdk
desc 'RW 2048 FLOT "flat.raw" 0' > t.vmdk
refused "unknown extent type" "t.vmdk: descriptor line 6: unknown extent type" \
  vd_img info t.vmdk
desc 'RW 4096 FLAT "flat.raw" 0' > short.vmdk
refused "extent shorter than described" \
  "short.vmdk: extent 1 \('flat.raw'\) is 1048576 bytes, too short" \
  vd_img info short.vmdk
desc 'RW 2048 FLAT "nothere.raw" 0' > miss.vmdk
refused "missing extent" "miss.vmdk: cannot open extent 1: " \
  vd_img info miss.vmdk
printf 'version=1\nCID=1\nCID=2\n' > dup.vmdk
refused "duplicate CID" "dup.vmdk: descriptor line 3: the CID is given twice" \
  vd_img info dup.vmdk
{ printf 'version=1\n'; head -c 1100000 /dev/zero | tr '\0' '#'; } > big.vmdk
refused "oversized descriptor" "big.vmdk: a VMDK descriptor file of 1100010 bytes is larger than the limit" \
  vd_img info big.vmdk

# Sparse files with bad headers and tables.
vd_img create -q -f vmdk s.vmdk 64M
"$VMDKIO" s.vmdk write 0 64k 0x11
cp s.vmdk gd.vmdk
patch gd.vmdk 56 '\377\377\377\177'
refused "directory past the end" \
  "gd.vmdk: the grain directory at sector 2147483647 lies past the end" \
  vd_img info gd.vmdk
# (Other header fields: the table in tests/unit/test-fmt-vmdk.c.)
# A grain table entry pointing into the header: info opens, reads refuse.
gd=$(od -An -tu4 -j 56 -N 4 s.vmdk | tr -d ' ')
gt=$(od -An -tu4 -j $((gd * 512)) -N 4 s.vmdk | tr -d ' ')
cp s.vmdk gte.vmdk
patch gte.vmdk $((gt * 512)) '\002\000\000\000'
check "a bad grain table entry does not stop info" vd_img info gte.vmdk
run_cmd o e rc vd_img check gte.vmdk
is "check finds the bad entry: exit 2 (corruptions)" "$rc" 2
like "check names the problem" "$e" \
  "^ERROR: gte.vmdk: the grain table entry for grain 0 points into the metadata"
like "check counts it" "$o" "1 errors were found on the image"
run_cmd o e rc vd_img check s.vmdk
is "check passes on the intact image" "$rc:$o" "0:No errors were found on the image."
refused "grain table entry into the metadata" \
  "gte.vmdk: the grain table entry for grain 0 points into the metadata" \
  "$VMDKIO" gte.vmdk read 0 512

# A truncated stream.
vd_img create -q -f vmdk -o subformat=streamOptimized st.vmdk 64M
"$VMDKIO" st.vmdk write 0 64k 0x22
truncate -s -512 st.vmdk
refused "stream without its end" "st.vmdk: .*does not end with a footer" \
  vd_img info st.vmdk

done_testing
