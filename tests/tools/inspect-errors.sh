#!/bin/sh
# vd-inspect: options, usage errors, and disks or domains that are refused
# before any appliance is launched (so this runs in every pass, under ASan
# and valgrind too): one clear line, exit 1, nothing on stdout.  The
# appliance runs are in tests/guest/inspect.sh.
. "$top_srcdir/tests/functions.sh"
[ -x "$top_builddir/tools/vd-inspect" ] ||
  skip_all "the guest tools were not built (configure --disable-guest-tools)"

vd_inspect () { $VALGRIND_CMD "$top_builddir/tools/vd-inspect" "$@"; }
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

# ---- options ------------------------------------------------------------------
run_cmd o e rc vd_inspect --help
like "--help: exit 0, the summary" "$rc:$(printf '%s\n' "$o" | head -1)" \
  '^0:vd-inspect: display information about a virtual machine$'
for opt in --xml --json --no-applications --no-icon --key --keys-from-stdin \
  --format -a -d -c; do
  like "--help lists $opt" "$o" "(^|[ |])$opt([ |=[]|$)"
done
run_cmd o e rc vd_inspect -V
like "-V" "$rc:$o" '^0:vd-inspect version [0-9]+\.[0-9]+'

expect_error "no disk" "vd-inspect: no disk given: use -a IMAGE or -d GUEST" \
  vd_inspect
expect_error "no disk, --xml" "vd-inspect: no disk given" vd_inspect --xml
expect_error "--json and --xml" \
  "vd-inspect: --json and --xml cannot be used together$" \
  vd_inspect -a x.img --json --xml
expect_error "--xml and --json" \
  "vd-inspect: --json and --xml cannot be used together$" \
  vd_inspect -a x.img --xml --json
expect_error "an extra argument" \
  "vd-inspect: extra argument 'disk.img' on the command line \(disks are given with -a" \
  vd_inspect -a x.img disk.img
expect_error "-a and -d" "vd-inspect: use either -a or -d, not both" \
  vd_inspect -a x.img -d dom
expect_error "--format after the last -a" \
  "vd-inspect: --format parameter must appear before -a parameter" \
  vd_inspect -a x.img --format=raw
run_cmd o e rc vd_inspect -a x.img -m /dev/sda1
is "-m is not an option of vd-inspect: exit 1" "$rc" 1
like "-m is not an option of vd-inspect: the message" "$e" \
  "^vd-inspect: try 'vd-inspect --help'$"
expect_error "bad --key" \
  "vd-inspect: --key 'sda2': expected ID:key:KEY or ID:file:FILENAME" \
  vd_inspect -a x.img --key sda2

# ---- disks that cannot be read --------------------------------------------------
expect_error "missing image" "vd-inspect: missing.img: No such file or directory$" \
  vd_inspect -a missing.img
mkdir adir
expect_error "a folder" "vd-inspect: adir: is a directory, not a disk image$" \
  vd_inspect --xml -a adir
: > empty.img
expect_error "an empty file" "vd-inspect: empty.img: is empty, not a disk image$" \
  vd_inspect -a empty.img
head -c 1024 /dev/zero > unreadable.img && chmod 000 unreadable.img
if [ "$(id -u)" != 0 ]; then
  expect_error "an unreadable image" \
    "vd-inspect: unreadable.img: Permission denied$" vd_inspect -a unreadable.img
elif command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
  # Root reads everything: run as nobody, who may enter the folder.
  chmod 0711 "$tmp"
  expect_error "an unreadable image (as nobody)" \
    "vd-inspect: unreadable.img: Permission denied$" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
    $VALGRIND_CMD "$top_builddir/tools/vd-inspect" -a unreadable.img
else
  skip "an unreadable image (root reads everything; no setpriv)"
fi
head -c 1048576 /dev/zero > disk.img
expect_error "the second of two disks missing" \
  "vd-inspect: nodisk.img: No such file or directory$" \
  vd_inspect -a disk.img -a nodisk.img

# ---- libvirt domains (test driver, no daemon) -------------------------------------
sed -e "s|@LINUX_IMG@|$tmp/disk.img|" -e "s|@BLANK_IMG@|$tmp/disk.img|" \
  "$top_srcdir/tests/guest/test-node.xml" > node.xml
uri="test://$tmp/node.xml"
expect_error "unknown domain" \
  "vd-inspect: nosuch: no libvirt domain has that name or UUID" \
  vd_inspect -c "$uri" -d nosuch
expect_error "a domain whose disk is missing" \
  "vd-inspect: domain vdtest-missing-disk: disk vda: /nonexistent/vdtest/disk.qcow2: No such file or directory$" \
  vd_inspect -c "$uri" -d vdtest-missing-disk

# Every option accepted, the disks added, and the (failing) launch
# reached: what is left is the appliance's.  The message says what to do.
run_cmd o e rc vd_inspect -c "$uri" -d vdtest-linux --xml --no-applications \
  --no-icon
is "launch failure: exit 1" "$rc" 1
is "launch failure: nothing on stdout" "$o" ""
like "launch failure: the message" "$(printf '%s\n' "$e" | head -1)" \
  '^vd-inspect: the libguestfs appliance failed to launch: '
like "launch failure: how to see more" "$e" 'run again with -v -x'
expect_error "-a with --json reaches the launch" \
  "vd-inspect: the libguestfs appliance failed to launch" \
  vd_inspect --json --format=raw -a disk.img

done_testing
