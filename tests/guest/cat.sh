#!/bin/sh
# vd-cat: guest files to stdout byte for byte (a 300000-byte binary file
# with NULs, a symlink, a name with spaces and non-ASCII, several files in
# one run); a missing file is an error that prints nothing on stdout.
# Two runs, on the native path in the default auto mode (no appliance).
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/guest/guest-functions.sh"

fixture linux
tree=$fixdir/linux.tree

vd_cat --format=raw -a "$fixdir/linux.img" /srv/data/binary.bin \
  /etc/hostname "/home/user/my notes – café.txt" /home/user/link-to-hello \
  /boot/grub/grub.cfg /srv/data/empty.txt > "$tmp/out" 2> "$tmp/err"
rc=$?
launch_or_skip "$rc" "$(cat "$tmp/err")"
is "exit 0" "$rc" 0
is "nothing on stderr" "$(cat "$tmp/err")" ""
cat "$tree/srv/data/binary.bin" "$tree/etc/hostname" \
  "$tree/home/user/my notes – café.txt" "$tree/home/user/hello.txt" \
  "$fixdir/linux.boot/grub/grub.cfg" > "$tmp/expected"
check "the bytes of each file, in order" cmp "$tmp/expected" "$tmp/out"
is "output size" "$(wc -c < "$tmp/out")" "$(wc -c < "$tmp/expected")"

vd_cat --format=raw -a "$fixdir/linux.img" /etc/hostname /no/such/file \
  > "$tmp/out" 2> "$tmp/err"
rc=$?
is "missing file: exit 1" "$rc" 1
is "missing file: the message" "$(cat "$tmp/err")" \
  "vd-cat: /no/such/file: no such file in the guest"
is "missing file: nothing on stdout" "$(wc -c < "$tmp/out")" 0

done_testing
