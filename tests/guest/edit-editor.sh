#!/bin/sh
# vd-edit with $EDITOR (a script standing in for the user), one appliance
# launch: a shut-off libvirt domain (test driver) whose disk is a qcow2
# overlay made by qemu-img over a copy of the linux fixture.  The editor
# (given with an argument in $EDITOR) rewrites one file by replacing it,
# leaves one unchanged, fills one --create file and leaves another
# empty.  Only the changed and the filled files are written: the overlay
# gets the writes, all of them inside the root filesystem (the /boot
# filesystem, with nothing to change, gets not one cluster), and the
# backing file's bytes do not change; the editor saw private copies named
# after the guest files, and they are gone afterwards.
# Results are read back with qemu-img map, qemu-img convert and debugfs
# (no further launch).
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/guest/guest-functions.sh"
requires debugfs sha256sum qemu-img

fixture linux
tree=$fixdir/linux.tree
vd_edit () { "$top_builddir/tools/vd-edit" "$@"; }

base=$tmp/base.img
cp --sparse=always "$fixdir/linux.img" "$base"
part_start () { sfdisk -d "$1" | sed -n "s|^$1$2 : start= *\([0-9]*\),.*|\1|p"; }
part_size () { sfdisk -d "$1" | sed -n "s|^$1$2 : .*size= *\([0-9]*\),.*|\1|p"; }
off=$(($(part_start "$base" 2) * 512))
end=$((off + $(part_size "$base" 2) * 512))
[ "$off" -gt 0 ] || skip_all "cannot read the fixture's partition table"
dfs () { debugfs -R "$2" "$1?offset=$off" 2>/dev/null; }
inode () { dfs "$1" "stat $2" | sed -n 's/^Inode: \([0-9]*\).*/\1/p'; }
owner () {
  dfs "$1" "stat $2" | sed -n -e 's/^Inode:.*Mode: *\([0-7]*\).*/\1/p' \
    -e 's/^User: *\([0-9]*\) *Group: *\([0-9]*\).*/\1 \2/p' | tr '\n' ' ' | sed 's/ $//'
}
ino_os_release=$(inode "$base" /etc/os-release)
base_sum=$(sha256sum < "$base")

qemu-img create -q -f qcow2 -b "$base" -F raw "$tmp/overlay.qcow2"
cat > "$tmp/node.xml" <<EOF
<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>vdtest-off</name>
    <memory>1048576</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'>
        <driver name='qemu' type='qcow2'/>
        <source file='$tmp/overlay.qcow2'/>
        <target dev='vda' bus='virtio'/>
      </disk>
    </devices>
    <test:runstate>5</test:runstate>
  </domain>
</node>
EOF

# The "editor": $1 is the argument given in $EDITOR, $2 the file.  It
# logs what it saw: the file's name and the mode of its folder's folder
# (vd-edit's private temporary folder).
cat > "$tmp/editor" <<EOF
#!/bin/sh
[ "\$1" = --from-test ] || exit 3
f=\$2
printf '%s %s\n' "\$(basename "\$f")" "\$(stat -c %a "\$(dirname "\$(dirname "\$f")")")" >> "$tmp/editor.log"
case \$f in
*/hostname) printf 'edited-by-script\n' > "\$f.new" && mv "\$f.new" "\$f" ;;
*/vd-new.conf) printf 'created\n' >> "\$f" ;;
esac
exit 0
EOF
chmod +x "$tmp/editor"
mkdir "$tmp/hosttmp"

# ---- a shut-off domain with a qcow2 overlay ----------------------------------------
# TMPDIR is also where libguestfs keeps its appliance: keep that where it was.
run_cmd out err rc env EDITOR="$tmp/editor --from-test" TMPDIR="$tmp/hosttmp" \
  LIBGUESTFS_CACHEDIR="${LIBGUESTFS_CACHEDIR:-${TMPDIR:-/var/tmp}}" \
  "$top_builddir/tools/vd-edit" -c "test://$tmp/node.xml" -d vdtest-off \
  --create /etc/hostname /etc/os-release /etc/vd-new.conf /etc/vd-empty.conf
launch_or_skip "$rc" "$err"
is "editor: exit 0" "$rc" 0
is "editor: nothing on stderr" "$err" ""
is "the editor saw private copies named after the guest files" \
  "$(cat "$tmp/editor.log")" "hostname 700
os-release 700
vd-new.conf 700
vd-empty.conf 700"
is "the host's temporary files are gone" "$(ls -A "$tmp/hosttmp" | grep -c vd-edit)" 0
is "the backing file is unchanged" "$(sha256sum < "$base")" "$base_sum"
# What the overlay holds itself (depth 0, data or zeroes): "start length".
qemu-img map --output=json "$tmp/overlay.qcow2" |
  sed -n 's/.*"start": *\([0-9]*\), *"length": *\([0-9]*\), *"depth": *0, *"present": *true.*/\1 \2/p' \
  > "$tmp/own"
check "the overlay has data of its own" test -s "$tmp/own"
outside=$(awk -v lo="$off" -v hi="$end" '$1 < lo || $1 + $2 > hi' "$tmp/own")
is "every write is inside the root filesystem (none to /boot or the partition table)" \
  "$outside" ""

flat=$tmp/flat.img
qemu-img convert -O raw "$tmp/overlay.qcow2" "$flat"
dfs "$flat" "dump /etc/hostname $tmp/got" >/dev/null
is "the overlay has the edited file" "$(cat "$tmp/got")" "edited-by-script"
is "the edited file keeps its mode and owner" "$(owner "$flat" /etc/hostname)" \
  "0644 0 0"
is "the file the editor left alone was not rewritten" \
  "$(inode "$flat" /etc/os-release)" "$ino_os_release"
dfs "$flat" "dump /etc/vd-new.conf $tmp/got" >/dev/null
is "--create: the new file has the editor's content" "$(cat "$tmp/got")" "created"
is "--create: mode 0644, owner root" "$(owner "$flat" /etc/vd-new.conf)" "0644 0 0"
is "--create: a file left empty is not created" "$(inode "$flat" /etc/vd-empty.conf)" ""
is "no temporary file left in the guest" \
  "$(dfs "$flat" 'ls /etc' | grep -c vd-edit)" 0

done_testing
