#!/bin/sh
# vd-ls's other output modes, one run each (on the native path in the
# default auto mode, so no appliance launch): the plain listing (several
# folders and a file in one run), -R (names below each
# folder, as virt-ls prints them), and -l on a guest with no operating
# system, mounted with -m.
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/guest/guest-functions.sh"

fixture linux blank

# ---- plain: names, sorted; a file argument lists itself -------------------
run_cmd out err rc vd_ls --format=raw -a "$fixdir/linux.img" /home/user /etc \
  /etc/hostname
launch_or_skip "$rc" "$err"
is "plain: exit 0" "$rc:$err" "0:"
is "plain: the names of each folder, then the file" "$out" "hello.txt
link-to-hello
my notes – café.txt
debian_version
fstab
hostname
hosts
localtime
os-release
shadow
/etc/hostname"

# ---- -R: every name below each folder, "/"-relative (virt-ls' form) ------
run_cmd out err rc vd_ls --format=raw -a "$fixdir/linux.img" -R /home /srv/
is "-R: exit 0" "$rc:$err" "0:"
is "-R: names below each folder" "$out" "/user
/user/hello.txt
/user/link-to-hello
/user/my notes – café.txt
/data
/data/binary.bin
/data/comma, \"quoted\".txt
/data/empty.txt
/empty"

# ---- -l with -m on a disk that holds no operating system ------------------
run_cmd out err rc vd_ls --format=raw -a "$fixdir/blank.img" \
  -m /dev/sda1:/:noatime -l /data
is "-l -m on a guest with no OS: exit 0" "$rc:$err" "0:"
like "-l: ls -l lines" "$out" '^-rw-r--r-- +1 +(0|root) +(0|root) +25 .* readme\.txt$'
like "-l: total line first" "$(printf '%s\n' "$out" | head -1)" '^total [0-9]+$'

done_testing
