#!/bin/sh
# vd-edit: what is refused before any appliance is launched (so this runs
# in every pass, under ASan and valgrind too): bad -e expressions, bad
# options, a running libvirt domain, an image another process holds
# qemu's write lock on.  Each is one clear line, exit 1, nothing on
# stdout, and the image's bytes unchanged.  A shut-off domain and a
# released lock are not refused: those runs reach the (failing) launch.
. "$top_srcdir/tests/functions.sh"
[ -x "$top_builddir/tools/vd-edit" ] ||
  skip_all "the guest tools were not built (configure --disable-guest-tools)"

vd_edit () { $VALGRIND_CMD "$top_builddir/tools/vd-edit" "$@"; }
# Nothing here may start an appliance: make any launch fail at once.
LIBGUESTFS_HV=/bin/false
export LIBGUESTFS_HV

cd "$tmp"
# A small image with some bytes in it, and its checksum.
head -c 1048576 /dev/zero > disk.img
printf 'vdtools edit test\n' | dd of=disk.img bs=1 seek=4096 conv=notrunc 2>/dev/null
sum=$(sha256sum < disk.img)

# expect_error DESCRIPTION EXPECTED-STDERR-REGEX COMMAND...
expect_error () {
  _d=$1 _re=$2; shift 2
  run_cmd o e rc "$@"
  like "$_d" "$rc:$(printf '%s' "$o" | wc -c):$e" "^1:0:$_re"
}
unchanged () { is "$1: the image is unchanged" "$(sha256sum < disk.img)" "$sum"; }

# ---- options ------------------------------------------------------------------
run_cmd o e rc vd_edit --help
like "--help" "$rc:$(printf '%s\n' "$o" | head -1)" '^0:vd-edit: edit a file in a virtual machine$'
run_cmd o e rc vd_edit -V
like "-V" "$rc:$o" '^0:vd-edit version [0-9]+\.[0-9]+'
expect_error "no disk" "vd-edit: no disk given: use -a IMAGE or -d GUEST" vd_edit /etc/hosts
expect_error "no file" "vd-edit: missing argument" vd_edit -a disk.img
expect_error "relative file name" \
  "vd-edit: etc/hosts: guest file names must be absolute$" \
  vd_edit -a disk.img -e 's/a/b/' etc/hosts
expect_error "--binary without -e" "vd-edit: --binary only applies to -e$" \
  vd_edit -a disk.img --binary /etc/hosts
expect_error "-b with a slash" \
  "vd-edit: -b 'x/y': the backup extension must be non-empty and hold no '/'$" \
  vd_edit -a disk.img -b x/y /etc/hosts
expect_error "-b empty" "vd-edit: -b '': the backup extension must be non-empty" \
  vd_edit -a disk.img -b '' /etc/hosts
expect_error "-m with the ro option" \
  "vd-edit: -m '/dev/sda1:/:noatime,ro:ext4': the options ask for a read-only mount, but vd-edit writes to the filesystem$" \
  vd_edit -a disk.img -m /dev/sda1:/:noatime,ro:ext4 -e 's/a/b/' /etc/hosts
expect_error "-m with rw options is not refused (it reaches the launch)" \
  "vd-edit: the libguestfs appliance failed to launch" \
  vd_edit --format=raw -a disk.img -m /dev/sda1:/:noatime,errors=remount-ro -e 's/a/b/' /etc/hosts
unchanged "bad options"

# ---- bad -e expressions: refused while parsing, before anything is opened ----
expect_error "-e Perl code" \
  "vd-edit: -e '\\\$_ = \"\" if /\\^apache:/': not a substitution: -e takes sed-style s/REGEX/REPLACEMENT/FLAGS \(not Perl\)$" \
  vd_edit -a disk.img -e '$_ = "" if /^apache:/' /etc/passwd
expect_error "-e unterminated" \
  "vd-edit: -e 's/a/b': unterminated expression \(expected s/REGEX/REPLACEMENT/FLAGS\)$" \
  vd_edit -a disk.img -e 's/a/b' /etc/hosts
expect_error "-e bad regex" "vd-edit: -e 's/\(/x/': bad regular expression: .+" \
  vd_edit -a disk.img -e 's/(/x/' /etc/hosts
expect_error "-e missing group" \
  "vd-edit: -e 's/a/\\\\2/': \\\\2 in the replacement refers to a group the regular expression does not have \(it has 0\)$" \
  vd_edit -a disk.img -e 's/a/\2/' /etc/hosts
expect_error "-e unknown flag" \
  "vd-edit: -e 's/a/b/q': unknown flag 'q' \(the flags are g, i and a number N\)$" \
  vd_edit -a disk.img -e 's/a/b/q' /etc/hosts
expect_error "-e: a good expression then a bad one" \
  "vd-edit: -e 's/b/c/gg': the flag 'g' is given twice$" \
  vd_edit -a disk.img -e 's/a/b/' -e 's/b/c/gg' /etc/hosts
expect_error "--expr is -e" "vd-edit: -e 'y/a/b/': not a substitution" \
  vd_edit -a disk.img --expr 'y/a/b/' /etc/hosts
unchanged "bad expressions"

# ---- running domains ------------------------------------------------------------
# vdtest-linux is running (the test driver's default); vdtest-off is shut
# off (test:runstate 5) and must get as far as the launch.
cat > node.xml <<EOF
<node>
  <domain type='test'>
    <name>vdtest-linux</name>
    <memory>1048576</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'>
        <driver name='qemu' type='raw'/>
        <source file='$tmp/disk.img'/>
        <target dev='vda' bus='virtio'/>
      </disk>
    </devices>
  </domain>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>vdtest-off</name>
    <memory>1048576</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'>
        <driver name='qemu' type='raw'/>
        <source file='$tmp/disk.img'/>
        <target dev='vda' bus='virtio'/>
      </disk>
    </devices>
    <test:runstate>5</test:runstate>
  </domain>
</node>
EOF
uri="test://$tmp/node.xml"
expect_error "a running domain is refused" \
  "vd-edit: domain vdtest-linux is running: writing to the disks of a live guest would corrupt them; shut it down first$" \
  vd_edit -c "$uri" -d vdtest-linux -e 's/a/b/' /etc/hosts
expect_error "a running domain is refused (editor mode)" \
  "vd-edit: domain vdtest-linux is running" \
  env EDITOR=/bin/false $VALGRIND_CMD "$top_builddir/tools/vd-edit" -c "$uri" -d vdtest-linux /etc/hosts
expect_error "a shut-off domain is not refused (it reaches the launch)" \
  "vd-edit: the libguestfs appliance failed to launch" \
  vd_edit -c "$uri" -d vdtest-off -e 's/a/b/' /etc/hosts
unchanged "domains"

# ---- image locks ------------------------------------------------------------------
if command -v qemu-io >/dev/null; then
  # qemu-io holds the image open for writing (qemu's OFD write lock)
  # until it is killed.
  qemu-io -f raw -c 'sleep 600000' disk.img </dev/null >/dev/null 2>&1 &
  qpid=$!
  stop_qemu_io () { kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; }
  at_exit stop_qemu_io
  # Wait until the lock is taken (qemu-img refuses to open it then).
  i=0
  while qemu-img info disk.img >/dev/null 2>&1 && [ $i -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
  done
  expect_error "an image in use by another process is refused" \
    "vd-edit: disk.img: the image is in use by another process \(it holds qemu's image lock\); refusing to write it$" \
    vd_edit --format=raw -a disk.img -e 's/a/b/' /etc/hosts
  expect_error "a domain whose disk is in use is refused" \
    "vd-edit: domain vdtest-off: disk vda: $tmp/disk.img: the image is in use by another process" \
    vd_edit -c "$uri" -d vdtest-off -e 's/a/b/' /etc/hosts
  stop_qemu_io
  expect_error "once the lock is released, the launch is reached" \
    "vd-edit: the libguestfs appliance failed to launch" \
    vd_edit --format=raw -a disk.img -e 's/a/b/' /etc/hosts
  # And vd-edit left no lock of its own behind.
  check "no lock is left behind" \
    sh -c "qemu-io -f raw -c 'write 0 512' disk.img >/dev/null"
  sum=$(sha256sum < disk.img)
else
  skip "qemu-io is not installed: image locks are not tested"
fi

# A read-only image file cannot be edited (root can write anything).
if [ "$(id -u)" != 0 ]; then
  cp disk.img ro.img && chmod 0444 ro.img
  expect_error "a read-only image file" "vd-edit: ro.img: Permission denied$" \
    vd_edit --format=raw -a ro.img -e 's/a/b/' /etc/hosts
else
  skip "a read-only image file (root writes anything)"
fi
unchanged "the end"

done_testing
