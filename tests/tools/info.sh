#!/bin/sh
# vd-img info: human and JSON output in qemu-img's layout; errors.
. "$top_srcdir/tests/functions.sh"
requires jq

cd "$tmp"
vd_img create -q a.raw 10G

out=$(vd_img info a.raw)
is "human output" "$out" "image: a.raw
file format: raw
virtual size: 10 GiB (10737418240 bytes)
disk size: 4 KiB"

j=$(vd_img info --output=json a.raw)
is "json virtual-size" "$(echo "$j" | jq '."virtual-size"')" 10737418240
is "json format" "$(echo "$j" | jq -r .format)" raw
is "json filename" "$(echo "$j" | jq -r .filename)" a.raw
is "json dirty-flag" "$(echo "$j" | jq '."dirty-flag"')" false
is "json actual-size is the allocated size" \
  "$(echo "$j" | jq '."actual-size"')" "$(( $(stat -c %b a.raw) * 512 ))"
is "json key order as qemu-img" "$(echo "$j" | jq -c 'keys_unsorted')" \
  '["virtual-size","filename","format","actual-size","dirty-flag"]'
is "json indented by 4 as qemu-img" "$(echo "$j" | sed -n 2p)" \
  '    "virtual-size": 10737418240,'

# A raw file whose size is not a whole number of sectors.
head -c 1000 /dev/urandom > odd.img
is "odd size rounds up to a sector" \
  "$(vd_img info --output=json odd.img | jq '."virtual-size"')" 1024

# Read-only: info never changes the image.
before=$(stat -c '%s %Y %b' a.raw; md5sum < a.raw)
vd_img info a.raw >/dev/null
is "info leaves the image untouched" "$(stat -c '%s %Y %b' a.raw; md5sum < a.raw)" "$before"

# Errors.
run_cmd o e rc vd_img info missing.img
is "missing file: exit 1" "$rc" 1
like "missing file: message" "$e" "^vd-img: missing.img: No such file or directory$"
mkdir d
run_cmd o e rc vd_img info d
like "directory refused" "$rc:$e" "^1:vd-img: d: is a directory"
run_cmd o e rc vd_img info -f bogus a.raw
like "unknown format" "$rc:$e" "^1:vd-img: Unknown file format 'bogus'"
run_cmd o e rc vd_img info --output=xml a.raw
like "bad --output" "$rc:$e" "^1:vd-img: --output must be used with human or json"
run_cmd o e rc vd_img info
like "no file name" "$rc:$e" "^1:.*Expecting one image file name"
if [ "$(id -u)" != 0 ]; then
  cp a.raw unreadable.raw; chmod 000 unreadable.raw
  run_cmd o e rc vd_img info unreadable.raw
  like "unreadable file" "$rc:$e" "^1:vd-img: unreadable.raw: Permission denied"
else
  skip "unreadable file (root reads everything)"
fi
if [ -e /dev/null ]; then
  run_cmd o e rc vd_img info /dev/null
  like "character device refused" "$rc:$e" "^1:vd-img: /dev/null: not a regular file"
fi

done_testing
