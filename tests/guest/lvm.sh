#!/bin/sh
# A guest whose root is an LVM volume inside LUKS (the "lvm" fixture: GPT,
# /boot on a plain partition named by UUID in fstab, key "vdtest-key"):
# the key comes from --keys-from-stdin, inspection finds the root in the
# volume group, and the CSV listing equals virt-ls' CSV of the same tree
# (tests/guest/linux-csv.expected, made by virt-ls on the "linux" guest,
# which holds the same files).  One appliance launch (plus one to build
# the fixture the first time).
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/guest/guest-functions.sh"
requires guestfish

fixture lvm

printf 'vdtest-key\n' > "$tmp/key"
run_cmd out err rc sh -c '"$0" --keys-from-stdin --format=raw -a "$1" --csv -lR \
  --uids --time-t --checksum=sha256 /home /srv /bin /boot < "$2"' \
  "$VD_LS_BIN" "$fixdir/lvm.img" "$tmp/key"
launch_or_skip "$rc" "$err"
is "LUKS + LVM guest: exit 0" "$rc" 0
is "LUKS + LVM guest: nothing on stderr" "$err" ""
printf '%s\n' "$out" > "$tmp/out.csv"
n=$(wc -l < "$top_srcdir/tests/guest/linux-csv.expected")
if head -n "$n" "$tmp/out.csv" | diff -u "$top_srcdir/tests/guest/linux-csv.expected" - > "$tmp/diff"; then
  ok "--csv -lR equals virt-ls' CSV of the same tree"
else
  not_ok "--csv -lR equals virt-ls' CSV of the same tree"
  sed 's/^/# /' "$tmp/diff"
fi
like "/boot (by UUID in fstab) is mounted" "$(tail -n +$((n + 1)) "$tmp/out.csv")" \
  '^-,0644,18,   0,   0,[0-9]+,[0-9]+,[0-9]+,[0-9a-f]{64},/boot/vmlinuz-6\.1\.0-vdtest$'
like "CSV quotes a name with a comma and quotes" "$out" \
  ',"/srv/data/comma, ""quoted"".txt"$'

done_testing
