#!/bin/sh
# vd-img check: format-independent behaviour (formats without a check,
# options, errors).  Format drivers test their own checks.
. "$top_srcdir/tests/functions.sh"

cd "$tmp"
vd_img create -q a.raw 1M

run_cmd o e rc vd_img check a.raw
is "raw: exit 63 as qemu-img" "$rc" 63
is "raw: qemu-img's message" "$e" "vd-img: This image format does not support checks"
is "raw: nothing on stdout" "$o" ""
run_cmd o e rc vd_img check --output=json a.raw
is "raw, json: exit 63" "$rc" 63
run_cmd o e rc vd_img check -r bogus a.raw
like "bad -r value" "$rc:$e" "^1:vd-img: Unknown option value for -r"
run_cmd o e rc vd_img check missing.img
like "missing file" "$rc:$e" "^1:vd-img: missing.img: No such file"
run_cmd o e rc vd_img check --output=yaml a.raw
is "bad --output" "$rc" 1
run_cmd o e rc vd_img check -f nosuch a.raw
like "unknown format" "$rc:$e" "^1:vd-img: Unknown file format 'nosuch'"
if command -v qemu-img >/dev/null; then
  qemu-img check a.raw >/dev/null 2>&1
  qrc=$?
  vd_img check a.raw >/dev/null 2>&1
  is "same exit code as qemu-img on raw" "$?" "$qrc"
fi
done_testing
