#!/bin/sh
# vd-ls and vd-cat: usage errors and bad disks or domains found before any
# appliance is launched (so this runs in every pass, under ASan and
# valgrind too): one clear line, exit 1, nothing on stdout.  libvirt is
# reached through its test driver (test:///ABS/PATH/node.xml, no daemon).
. "$top_srcdir/tests/functions.sh"
[ -x "$top_builddir/tools/vd-ls" ] ||
  skip_all "the guest tools were not built (configure --disable-guest-tools)"

vd_ls () { $VALGRIND_CMD "$top_builddir/tools/vd-ls" "$@"; }
vd_cat () { $VALGRIND_CMD "$top_builddir/tools/vd-cat" "$@"; }
# Nothing here may launch an appliance: make any launch fail at once.
LIBGUESTFS_HV=/bin/false
export LIBGUESTFS_HV

cd "$tmp"
# expect_error DESCRIPTION EXPECTED-STDERR-REGEX COMMAND...
expect_error () {
  _d=$1 _re=$2; shift 2
  run_cmd o e rc "$@"
  like "$_d" "$rc:$(printf '%s' "$o" | wc -c):$e" "^1:0:$_re"
}

# ---- options ----------------------------------------------------------------
run_cmd o e rc vd_ls --help
like "vd-ls --help" "$rc:$(printf '%s\n' "$o" | head -1)" '^0:vd-ls: list files in a virtual machine$'
run_cmd o e rc vd_cat --help
like "vd-cat --help" "$rc:$(printf '%s\n' "$o" | head -1)" '^0:vd-cat: display files in a virtual machine$'
run_cmd o e rc vd_ls -V
like "vd-ls -V" "$rc:$o" '^0:vd-ls version [0-9]+\.[0-9]+'
run_cmd o e rc vd_cat --version
like "vd-cat --version" "$rc:$o" '^0:vd-cat version [0-9]+\.[0-9]+'

expect_error "no disk" "vd-ls: no disk given: use -a IMAGE or -d GUEST" vd_ls /
expect_error "no folder" "vd-ls: missing argument" vd_ls -a x.img
expect_error "no file" "vd-cat: missing argument" vd_cat -a x.img
expect_error "-a and -d" "vd-ls: use either -a or -d, not both" vd_ls -a x.img -d dom /
expect_error "two -d" "vd-ls: only one -d option can be given" vd_ls -d a -d b /
expect_error "--csv and --json" "vd-ls: --csv and --json cannot be used together" \
  vd_ls -a x.img --csv --json -lR /
expect_error "-h and --csv" "vd-ls: you cannot use -h and --csv options together" \
  vd_ls -a x.img -h --csv -lR /
for flag in --csv --uids --extra-stats --checksum --times --time-t -h; do
  expect_error "$flag needs -lR" "vd-ls: used a flag which can only be combined with -lR mode" \
    vd_ls -a x.img -l $flag /
done
expect_error "--format after the last -a" \
  "vd-ls: --format parameter must appear before -a parameter" \
  vd_ls -a x.img --format=raw /
expect_error "unknown checksum" "vd-ls: --checksum=md4: unknown checksum type" \
  vd_ls -a x.img -lR --checksum=md4 /
expect_error "bad --key" "vd-cat: --key 'sda2': expected ID:key:KEY or ID:file:FILENAME" \
  vd_cat -a x.img --key sda2 /etc/fstab
expect_error "bad --key kind" "vd-cat: --key '/dev/sda2:pw:x': expected ID:key:KEY" \
  vd_cat -a x.img --key /dev/sda2:pw:x /etc/fstab
expect_error "--key file missing" "vd-cat: --key: nokey.txt: No such file or directory" \
  vd_cat -a x.img --key /dev/sda2:file:nokey.txt /etc/fstab
run_cmd o e rc vd_ls -a x.img --frobnicate /
is "unknown option: exit 1" "$rc" 1
expect_error "relative guest path" "vd-cat: etc/fstab: guest file names must be absolute" \
  vd_cat -a x.img etc/fstab

# ---- disks --------------------------------------------------------------------
expect_error "missing image" "vd-ls: missing.img: No such file or directory$" \
  vd_ls -a missing.img /
mkdir adir
expect_error "a folder" "vd-ls: adir: is a directory, not a disk image$" \
  vd_ls -a adir /
: > empty.img
expect_error "an empty file" "vd-cat: empty.img: is empty, not a disk image$" \
  vd_cat -a empty.img /etc/fstab
expect_error "a character device" \
  "vd-ls: /dev/null: is not a disk image \(not a regular file or block device\)$" \
  vd_ls -a /dev/null /
if [ "$(id -u)" != 0 ]; then
  head -c 1024 /dev/zero > unreadable.img && chmod 000 unreadable.img
  expect_error "an unreadable image" "vd-ls: unreadable.img: Permission denied$" \
    vd_ls -a unreadable.img /
else
  skip "an unreadable image (root reads everything)"
fi

# ---- libvirt domains ------------------------------------------------------------
head -c 1048576 /dev/zero > disk.img
sed -e "s|@LINUX_IMG@|$tmp/disk.img|" -e "s|@BLANK_IMG@|$tmp/disk.img|" \
  "$top_srcdir/tests/guest/test-node.xml" > node.xml
uri="test://$tmp/node.xml"
expect_error "unknown domain" \
  "vd-ls: nosuch: no libvirt domain has that name or UUID \(connection test://$tmp/node.xml\)$" \
  vd_ls -c "$uri" -d nosuch /
expect_error "unknown UUID" \
  "vd-ls: 01234567-89ab-cdef-0123-456789abcdef: no libvirt domain has that name or UUID" \
  vd_ls -c "$uri" -d 01234567-89ab-cdef-0123-456789abcdef /
expect_error "a domain whose disk is missing" \
  "vd-ls: domain vdtest-missing-disk: disk vda: /nonexistent/vdtest/disk.qcow2: No such file or directory$" \
  vd_ls -c "$uri" -d vdtest-missing-disk /
expect_error "a network disk" \
  "vd-cat: domain vdtest-network-disk: disk vda is a network disk \(protocol nbd\); only local files and block devices can be added$" \
  vd_cat -c "$uri" -d vdtest-network-disk /etc/fstab
expect_error "a domain with no disk (a CD-ROM only)" \
  "vd-ls: domain vdtest-diskless has no disks$" \
  vd_ls -c "$uri" -d vdtest-diskless /
expect_error "a libvirt URI that cannot be opened" \
  "vd-ls: cannot connect to libvirt at test://$tmp/nonexistent.xml: " \
  vd_ls -c "test://$tmp/nonexistent.xml" -d x /

# By name and by UUID, the domain's disk is added and the (failing)
# launch is reached: the lookup worked.
expect_error "domain by name reaches the launch" \
  "vd-ls: the libguestfs appliance failed to launch" \
  vd_ls -c "$uri" -d vdtest-linux /
expect_error "domain by UUID reaches the launch" \
  "vd-ls: the libguestfs appliance failed to launch" \
  vd_ls -c "$uri" -d 8d7a6f52-3b1c-4e2d-9f80-a1b2c3d4e5f6 /

done_testing
