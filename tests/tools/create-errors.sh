#!/bin/sh
# vd-img create: every bad input gives one clear line, exit 1, and
# creates nothing.
. "$top_srcdir/tests/functions.sh"

cd "$tmp"
mkdir ro && chmod 555 ro

# expect_error DESC PATTERN ARGS...: exit 1, one line matching PATTERN,
# and no new file in the folder.
expect_error () {
  _desc=$1 _pat=$2; shift 2
  _before=$(ls -a | wc -l)
  run_cmd o e rc vd_img "$@"
  is "$_desc: exit 1" "$rc" 1
  like "$_desc: message" "$e" "$_pat"
  is "$_desc: one line" "$(printf '%s\n' "$e" | wc -l)" 1
  is "$_desc: nothing created" "$(ls -a | wc -l)" "$_before"
}

expect_error "bad size" "^vd-img: x.raw: invalid size 'abc'" create x.raw abc
expect_error "negative size" "^vd-img: x.raw: invalid size '-5G'.*negative" \
  create x.raw -- -5G
expect_error "fraction without unit" "x.raw: invalid size '1.5'" \
  create x.raw 1.5
expect_error "overflowing size" "x.raw: invalid size .*too large" \
  create x.raw 99999999999999999999
expect_error "size of 8 EiB or more" "x.raw: .*8 EiB" create x.raw 8E
expect_error "unknown format" "Unknown file format 'bogus'" \
  create -f bogus x.img 1M
expect_error "unknown -o option" "x.raw: invalid option 'foo' for format 'raw'" \
  create -o foo=bar x.raw 1M
expect_error "bad option value" "x.raw: .*'bogus'.*preallocation" \
  create -o preallocation=bogus x.raw 1M
expect_error "missing size" "x.raw: Image creation needs a size parameter" \
  create x.raw
expect_error "missing file name" "Expecting image file name" create
expect_error "unknown subcommand" "Command not found: frobnicate" frobnicate
expect_error "malformed -o list" "empty option name" create -o =3 x.raw 1M
if [ "$(id -u)" != 0 ]; then
  expect_error "read-only folder" "ro/x.raw: " create ro/x.raw 1M
else
  skip "read-only folder (root ignores permissions)"
fi
expect_error "folder that does not exist" "nodir/x.raw: " create nodir/x.raw 1M

done_testing
