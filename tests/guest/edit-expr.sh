#!/bin/sh
# vd-edit -e on a copy of the linux fixture guest, one appliance launch:
# several -e on nine files in one run, with -b and --binary: exactly the
# expected bytes change (CRLF kept, no final newline kept, NUL bytes), a
# symbolic link's target is edited and the link stays, owner, group,
# mode (set-user-ID too) and extended attributes (an SELinux label,
# user.*) are kept, -b keeps the old files (replacing an old backup), an
# unmatched file is not rewritten, a hard-linked file warns, no temporary
# file is left, and the /boot filesystem (nothing to edit there) is not
# written at all: not a byte of it changes.
# Results are read back with debugfs on the image (no further launch).
# (A -e run refused for a binary file is checked without a launch:
# tests/unit/test-edit-expr.c has edit_is_binary, and a refused run
# writes nothing for the same reason the /boot check here passes.)
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/guest/guest-functions.sh"
requires debugfs sha256sum cmp

fixture linux
tree=$fixdir/linux.tree
vd_edit () { "$top_builddir/tools/vd-edit" "$@"; }

img=$tmp/linux.img
cp --sparse=always "$fixdir/linux.img" "$img"
# Where the filesystems start (make-guests.sh: /boot is partition 1, / is 2).
part_start () { sfdisk -d "$img" | sed -n "s|^$img$1 : start= *\([0-9]*\),.*|\1|p"; }
part_size () { sfdisk -d "$img" | sed -n "s|^$img$1 : .*size= *\([0-9]*\),.*|\1|p"; }
root="$img?offset=$(($(part_start 2) * 512))"
boot_sum () { dd if="$img" bs=512 skip="$(part_start 1)" count="$(part_size 1)" status=none | sha256sum; }
[ -n "$(part_start 2)" ] || skip_all "cannot read the fixture's partition table"

# dfs COMMAND: one debugfs command on the root filesystem.
dfs () { debugfs -R "$1" "$root" 2>/dev/null; }
# dump GUESTPATH: the file's bytes into $tmp/got (no file if it is missing)
dump () { rm -f "$tmp/got"; dfs "dump $1 $tmp/got" >/dev/null; }
# inode GUESTPATH, owner GUESTPATH ("mode uid gid"), type GUESTPATH
inode () { dfs "stat \"$1\"" | sed -n 's/^Inode: \([0-9]*\).*/\1/p'; }
owner () {
  dfs "stat \"$1\"" | sed -n -e 's/^Inode:.*Mode: *\([0-7]*\).*/\1/p' \
    -e 's/^User: *\([0-9]*\) *Group: *\([0-9]*\).*/\1 \2/p' | tr '\n' ' ' | sed 's/ $//'
}
ftype () { dfs "stat \"$1\"" | sed -n 's/^Inode:.*Type: *\([a-z]*\).*/\1/p'; }

# ---- extra files for the test, written with debugfs ------------------------
printf 'line one\r\nline two\r\n' > "$tmp/crlf.txt"
printf 'no final newline' > "$tmp/noeol.txt"
printf 'abc\000def\nxyz\000abc' > "$tmp/nul.bin"
printf 'a stale backup\n' > "$tmp/stale"
debugfs -w -f - "$root" >/dev/null 2>&1 <<EOF
write $tmp/crlf.txt /etc/crlf.txt
sif /etc/crlf.txt uid 1000
sif /etc/crlf.txt gid 1001
sif /etc/crlf.txt mode 0100604
write $tmp/stale /etc/crlf.txt.orig
write $tmp/noeol.txt /etc/noeol.txt
write $tmp/nul.bin /srv/data/nul.bin
ea_set /etc/hosts security.selinux system_u:object_r:net_conf_t:s0
ea_set /etc/hosts user.note hello
EOF
is "setup: the test files are in the image" \
  "$(owner /etc/crlf.txt) $(dfs 'ea_list /etc/hosts' | grep -c '^  ')" "0604 1000 1001 2"

# What the files are before.
ino_hostname=$(inode /etc/hostname)
ino_os_release=$(inode /etc/os-release)
shadow_owner=$(owner /etc/shadow)
setuid_owner=$(owner /usr/bin/setuid-tool)
hello_txt_owner=$(owner /home/user/hello.txt)
boot_before=$(boot_sum)

# ---- one run, many files --------------------------------------------------------
run_cmd out err rc vd_edit --format=raw -a "$img" -b .orig --binary \
  -e 's/localhost/LOCAL/' \
  -e 's/^(127\.0\.1\.1)\t.*/\1\tedited/' \
  -e 's/one|final|Hello/<&>/g' \
  -e 's/abc/ABC/g' \
  -e 's/^root:\*:/root::/' \
  -e 's/^exit 0$/exit 1/' \
  -e 's|echo hello|echo bye|' \
  /etc/hosts /etc/crlf.txt /etc/noeol.txt /home/user/link-to-hello \
  /etc/shadow /usr/bin/setuid-tool /usr/bin/hello /srv/data/nul.bin \
  /etc/hostname
launch_or_skip "$rc" "$err"
is "edit: exit 0" "$rc" 0
is "edit: nothing on stdout" "$out" ""
is "edit: the only message is the hard-link warning" "$err" \
  "vd-edit: warning: /usr/bin/hello: its other 1 hard link(s) keep the old content"

# expect GUESTPATH PRINTF-FORMAT: the file holds exactly these bytes.
expect () {
  printf "$2" > "$tmp/expected"
  dump "$1"
  check "$3" cmp "$tmp/expected" "$tmp/got"
}
expect /etc/hosts '127.0.0.1\tLOCAL\n127.0.1.1\tedited\n' \
  "/etc/hosts: both lines substituted"
expect /etc/crlf.txt 'line <one>\r\nline two\r\n' \
  "/etc/crlf.txt: one line changed, CRLF kept"
expect /etc/noeol.txt 'no <final> newline' \
  "/etc/noeol.txt: changed, still no final newline"
expect /home/user/hello.txt '<Hello>, world!\n' \
  "the symbolic link's target is edited"
expect /etc/shadow 'root::19000:0:99999:7:::\n' "/etc/shadow: changed"
expect /usr/bin/setuid-tool '#!/bin/sh\nexit 1\n' "setuid-tool: changed"
expect /usr/bin/hello '#!/bin/sh\necho bye\n' "/usr/bin/hello: changed"
expect /usr/bin/hi '#!/bin/sh\necho hello\n' \
  "its hard link /usr/bin/hi keeps the old content"
expect /srv/data/nul.bin 'ABC\000def\nxyz\000ABC' \
  "--binary: a file with NUL bytes is edited"
expect /etc/hostname 'vdtest\n' "/etc/hostname: no match, same content"

# -b: the old files, byte for byte.
for f in /etc/hosts /etc/shadow /usr/bin/setuid-tool /usr/bin/hello \
  /home/user/hello.txt; do
  dump "$f.orig"
  check "-b: $f.orig holds the old content" cmp "$tree$f" "$tmp/got"
done
dump /etc/noeol.txt.orig
check "-b: /etc/noeol.txt.orig holds the old content" cmp "$tmp/noeol.txt" "$tmp/got"
dump /etc/crlf.txt.orig
check "-b: an old backup is replaced" cmp "$tmp/crlf.txt" "$tmp/got"
dump /srv/data/nul.bin.orig
check "-b: the backup of a binary file" cmp "$tmp/nul.bin" "$tmp/got"
is "-b: no backup of an unchanged file" "$(inode /etc/hostname.orig)" ""
is "-b: no backup beside the symbolic link" "$(inode /home/user/link-to-hello.orig)" ""
is "-b: the backup keeps the owner and mode" "$(owner /etc/shadow.orig)" "$shadow_owner"

# Owners, modes, attributes.
is "owner, group and mode kept (0604 1000:1001)" "$(owner /etc/crlf.txt)" "0604 1000 1001"
is "owner, group and mode kept (/etc/shadow)" "$(owner /etc/shadow)" "$shadow_owner"
is "set-user-ID mode kept" "$(owner /usr/bin/setuid-tool)" "$setuid_owner"
is "set-user-ID mode is 4755" "$(owner /usr/bin/setuid-tool)" "04755 0 0"
is "owner kept through the symbolic link" "$(owner /home/user/hello.txt)" "$hello_txt_owner"
is "the symbolic link is still a symbolic link" "$(ftype /home/user/link-to-hello)" "symlink"
attrs=$(dfs 'ea_list /etc/hosts' | grep '^  ' | sed 's/^ *//')
is "extended attributes kept (SELinux label, user.note)" "$attrs" \
  "security.selinux (31) = \"system_u:object_r:net_conf_t:s0\"
user.note (5) = \"hello\""
is "an unchanged file is not rewritten (same inode)" "$(inode /etc/hostname)" "$ino_hostname"
is "a file not named is untouched" "$(inode /etc/os-release)" "$ino_os_release"
leftovers=$(for d in /etc /home/user /usr/bin /srv/data; do dfs "ls $d"; done |
  grep -c 'vd-edit')
is "no temporary file left in the guest" "$leftovers" 0
is "the /boot filesystem was not written" "$(boot_sum)" "$boot_before"

done_testing
