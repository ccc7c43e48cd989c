#!/bin/sh
# vd-df on the fixture guests, with ONE appliance launch for every guest
# of a libvirt node (tests/guest/df-node.xml plus a guest whose LUKS disk
# is its second one and has no key): the numbers equal virt-df's for the
# same images (one virt-df launch, all three images as the disks of one
# guest, where virt-df is installed); the LVM root inside LUKS, which
# virt-df cannot open, equals the plain root of the "linux" guest (the
# same ext4 image); the inode counts equal the files the fixtures were
# made from; the broken guests fail by name and the others still print.
# The other output forms are rendered from the saved results of that run
# (VD_DF_TEST_LOAD, no launch) and compared with virt-df's text
# (df-*.expected: virt-df 1.48.2's layout for the same fixtures; the numbers follow
# the fixture: regenerate them when tests/fixtures/make-guests.sh changes the trees).
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/guest/guest-functions.sh"
requires jq

fixture linux blank lvm

VD_DF_BIN="$top_builddir/tools/vd-df"
cd "$tmp"
tab=$(printf '\t')

# The node: df-node.xml and one more guest, blank.img then lvm.img, whose
# LUKS partition is its /dev/sdb2 (the key below is for /dev/sda2).
sed -e "s|@LINUX_IMG@|$fixdir/linux.img|" -e "s|@BLANK_IMG@|$fixdir/blank.img|" \
  -e "s|@LVM_IMG@|$fixdir/lvm.img|" -e '/^<\/node>/d' \
  "$top_srcdir/tests/guest/df-node.xml" > node.xml
cat >> node.xml <<EOF
  <domain type='test'>
    <name>vdtest-lvm-second</name>
    <memory>1048576</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'>
        <driver name='qemu' type='raw'/>
        <source file='$fixdir/blank.img'/>
        <target dev='vda' bus='virtio'/>
      </disk>
      <disk type='file' device='disk'>
        <driver name='qemu' type='raw'/>
        <source file='$fixdir/lvm.img'/>
        <target dev='vdb' bus='virtio'/>
      </disk>
    </devices>
  </domain>
</node>
EOF

# ---- the one launch ------------------------------------------------------------
run_cmd out err rc env VD_DF_TEST_SAVE="$tmp/results.txt" "$VD_DF_BIN" \
  -c "test://$tmp/node.xml" --key /dev/sda2:key:vdtest-key --json -v
launch_or_skip "$rc" "$err"
is "all guests: exit 1 (some failed)" "$rc" 1
is "one appliance launch for all the guests" \
  "$(printf '%s\n' "$err" | grep -c ': note: launching an appliance for ')" 1
like "the launch note counts the guests" "$err" \
  '^vd-df: note: 1 appliance launch for 8 guests$'
is "the errors, one per failed guest" \
  "$(printf '%s\n' "$err" | grep -v ': note: ')" \
  "vd-df: vdtest-lvm-second: /dev/sdb2 is encrypted and no key was given for it (--key /dev/sdb2:key:KEY): its filesystems are not shown
vd-df: vdtest-missing-disk: disk vda: /nonexistent/vdtest/disk.qcow2: No such file or directory
vd-df: domain vdtest-network-disk: disk vda is a network disk (protocol nbd); only local files and block devices can be added"
printf '%s\n' "$out" > out.json
check "JSON parses" sh -c "jq -e 'type == \"array\"' out.json >/dev/null"
is "JSON: filesystems, types and mountpoints (from each guest's fstab)" \
  "$(jq -r '.[] | [.guest, .filesystem, .type, (.mountpoint // "-")] | join(" ")' out.json)" \
  "vdtest-blank /dev/sda1 ext4 -
vdtest-linux /dev/sda1 ext4 /boot
vdtest-linux /dev/sda2 ext4 /
vdtest-lvm /dev/sda1 ext4 /boot
vdtest-lvm /dev/vdvg/root ext4 /
vdtest-lvm-second /dev/sda1 ext4 -
vdtest-lvm-second /dev/sdb1 ext4 -
web \"01\", prod /dev/sda1 ext4 /boot
web \"01\", prod /dev/sda2 ext4 /"
# (The test driver makes up a UUID for a domain that gives none.)
is "JSON: the domains' UUIDs" \
  "$(jq -r '[.[] | select(.guest | test("^(vdtest-linux|web)")) | .guest + " " + .uuid] | unique | join(",")' out.json)" \
  "vdtest-linux 8d7a6f52-3b1c-4e2d-9f80-a1b2c3d4e5f6,web \"01\", prod 5f0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b"
is "JSON: used + available <= size, everywhere" \
  "$(jq -r '.[] | select(.used_1k + .available_1k > .blocks_1k) | .filesystem' out.json)" ""

# Inodes in use: the 11 ext4 reserves (1-10 and lost+found) and one per
# file of the tree the filesystem was made from (hard links once).
tree_inodes () { echo $(($(find "$1" -mindepth 1 -printf '%i\n' | sort -u | wc -l) + 11)); }
is "inodes used on /: the files of the tree" \
  "$(jq -r '.[] | select(.guest == "vdtest-linux" and .mountpoint == "/") | .inodes_used' out.json)" \
  "$(tree_inodes "$fixdir/linux.tree")"
is "inodes used on the LVM root: the files of its tree" \
  "$(jq -r '.[] | select(.filesystem == "/dev/vdvg/root") | .inodes_used' out.json)" \
  "$(tree_inodes "$fixdir/lvm.tree")"
is "inodes used on /boot" \
  "$(jq -r '.[] | select(.guest == "vdtest-lvm" and .mountpoint == "/boot") | .inodes_used' out.json)" \
  "$(tree_inodes "$fixdir/lvm.boot")"

# ---- the same numbers as virt-df -------------------------------------------------
vd_df_load () { VD_DF_TEST_LOAD=$tmp/results.txt "$VD_DF_BIN" "$@"; }
run_cmd csv e rc vd_df_load --csv
printf '%s\n' "$csv" > out.csv
if command -v virt-df >/dev/null; then
  # One guest with the three images as its disks: sda (linux), sdb
  # (blank), sdc (lvm; its LUKS partition cannot be opened by virt-df).
  run_cmd vout verr rc virt-df --format=raw -a "$fixdir/linux.img" \
    -a "$fixdir/blank.img" -a "$fixdir/lvm.img" --csv
  is "virt-df: exit 0" "$rc" 0
  printf '%s\n' "$vout" > virt.csv
  v () { awk -F, -v d="$1" '$2 == d { print $3 "," $4 "," $5 "," $6; n++ }
                             END { if (n != 1) print "(" n " rows for " d ")" }' virt.csv; }
  is "CSV: every number equals virt-df's for the same filesystem" "$csv" \
    "VirtualMachine,Filesystem,1K-blocks,Used,Available,Use%
vdtest-blank,/dev/sda1,$(v /dev/sdb1)
vdtest-linux,/dev/sda1,$(v /dev/sda1)
vdtest-linux,/dev/sda2,$(v /dev/sda2)
vdtest-lvm,/dev/sda1,$(v /dev/sdc1)
vdtest-lvm,/dev/vdvg/root,$(v /dev/sda2)
vdtest-lvm-second,/dev/sda1,$(v /dev/sdb1)
vdtest-lvm-second,/dev/sdb1,$(v /dev/sdc1)
\"web \"\"01\"\", prod\",/dev/sda1,$(v /dev/sda1)
\"web \"\"01\"\", prod\",/dev/sda2,$(v /dev/sda2)"
else
  skip "virt-df is not installed: no comparison with it"
fi
is "CSV and JSON agree" \
  "$(tail -n +2 out.csv | sed -E 's/^("([^"]|"")*"|[^",]*),[^,]*,//')" \
  "$(jq -r '.[] | [.blocks_1k, .used_1k, .available_1k, (.use_percent * 10 | round / 10 | tostring | if test("\\.") then . else . + ".0" end)] | join(",")' out.json)"

# ---- text forms, as virt-df prints them for -a IMAGE ------------------------------
# The results of one guest, named as virt-df names a guest given by -a.
one_guest () { # GUEST NEW-NAME [DEVICE]
  awk -F"$tab" -v g="$1" -v n="$2" -v d="${3:-}" -v OFS="$tab" '
    $1 == "guest" { keep = $2 == g; if (keep) { $2 = n; $3 = "" } }
    keep && ($1 != "fs" || d == "" || $2 == d)' results.txt
}
one_guest vdtest-linux linux.img > linux.txt
one_guest vdtest-lvm lvm.img /dev/sda1 > lvm.txt
run_cmd o e rc env VD_DF_TEST_LOAD=linux.txt "$VD_DF_BIN"
is "text: virt-df's table" "$o" "$(cat "$top_srcdir/tests/guest/df-linux.expected")"
run_cmd o e rc env VD_DF_TEST_LOAD=linux.txt "$VD_DF_BIN" -h
is "text -h: virt-df's table" "$o" "$(cat "$top_srcdir/tests/guest/df-linux-h.expected")"
run_cmd o e rc env VD_DF_TEST_LOAD=lvm.txt "$VD_DF_BIN" -i
is "text -i: virt-df's table" "$o" "$(cat "$top_srcdir/tests/guest/df-lvm-i.expected")"

# ---- thresholds and Prometheus on the real numbers ----------------------------------
run_cmd o e rc vd_df_load --warn 1 --crit 50
like "--warn 1: the roots (1.3%) are over it, the failed guests listed" "$rc:$o" \
  '^3:DF UNKNOWN - 3 filesystems over 1%: vdtest-linux:/dev/sda2 1\.3%, vdtest-lvm:/dev/vdvg/root 1\.3%, web "01", prod:/dev/sda2 1\.3%; 3 guests failed: vdtest-lvm-second, vdtest-missing-disk, vdtest-network-disk \| '
run_cmd o e rc vd_df_load --format=prometheus -o metrics.prom
is "Prometheus -o: exit 1 (guests failed)" "$rc" 1
is "Prometheus: size = 1K-blocks * 1024 for linux's /" \
  "$(sed -n 's/^vd_df_size_bytes{guest="vdtest-linux",filesystem="\/dev\/sda2",.*} //p' metrics.prom)" \
  $(($(awk -F, '$1 == "vdtest-linux" && $2 == "/dev/sda2" { print $3 }' out.csv) * 1024))
like "Prometheus: the guest without a key is not ok" "$(cat metrics.prom)" \
  '^vd_df_guest_ok\{guest="vdtest-lvm-second"\} 0$'

done_testing
