#!/bin/sh
# vd-img --help, SUBCOMMAND --help, --version and usage errors.
. "$top_srcdir/tests/functions.sh"

run_cmd o e rc vd_img --help
is "--help exits 0" "$rc" 0
like "--help lists create" "$o" "^  create +create a new disk image"
like "--help lists info" "$o" "^  info +show facts"
like "--help lists formats" "$o" "Supported formats: .*raw"
run_cmd o e rc vd_img -h
is "-h is --help" "$rc:$(echo "$o" | head -1)" "0:vd-img: create, inspect and convert virtual disk images"
run_cmd o e rc vd_img --version
like "--version" "$rc:$o" "^0:vd-img version [0-9]+\.[0-9]+"
run_cmd o e rc vd_img -V
like "-V" "$rc:$o" "^0:vd-img version"
for c in create info; do
  run_cmd o e rc vd_img $c --help
  like "$c --help" "$rc:$o" "^0:usage: vd-img $c "
done
run_cmd o e rc vd_img
like "no arguments" "$rc:$e" "^1:vd-img: Not enough arguments"
run_cmd o e rc vd_img info --frobnicate a
is "unknown option: exit 1" "$rc" 1

done_testing
