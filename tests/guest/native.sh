#!/bin/sh
# Both paths on the same fixture image, outputs compared byte for byte:
# vd-ls -lR with every column as CSV (times as numbers, checksums, device
# numbers) and vd-cat of several files, once through the appliance
# (--appliance) and once natively (--native).  The native --json and -R
# outputs are checked against the appliance's CSV too.  Two appliance
# launches.
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/guest/guest-functions.sh"
requires jq

fixture linux
img=$fixdir/linux.img
cols="--uids --time-t --extra-stats --checksum=sha1"

# csv_fields: each CSV line (RFC 4180 quoting) as tab-separated fields.
csv_fields () {
  perl -ne 'chomp; my @f; while (/\G("((?:[^"]|"")*)"|([^,]*))(,|$)/g) {
      push @f, defined $2 ? $2 =~ s/""/"/gr : $3; last if $4 eq "" }
    $f[1] = oct ($f[1]); s/^\s+|\s+$//g for @f; $f[15] //= "";
    print join ("\t", @f), "\n"' "$1"
}
# The device column is the appliance's numbering of the disks, which
# changes from launch to launch (the kernel's SCSI scan order may put the
# appliance's own disk first): compared apart, as a constant offset.
nodev () { csv_fields "$1" | cut --complement -f9; }

# ---- vd-ls -lR --csv, every column ----------------------------------------
run_cmd app err rc vd_ls --appliance --format=raw -a "$img" -lR $cols --csv /
launch_or_skip "$rc" "$err"
is "appliance -lR --csv: exit 0" "$rc:$err" "0:"
printf '%s\n' "$app" > "$tmp/app.csv"
run_cmd nat err rc vd_ls --native --format=raw -a "$img" -lR $cols --csv /
is "native -lR --csv: exit 0" "$rc:$err" "0:"
printf '%s\n' "$nat" > "$tmp/nat.csv"
devmask='s/^(([^,]*,){8})[0-9]+:[0-9]+,/\1DEV,/'
sed -E "$devmask" "$tmp/app.csv" > "$tmp/app.nodev"
sed -E "$devmask" "$tmp/nat.csv" > "$tmp/nat.nodev"
if cmp -s "$tmp/app.nodev" "$tmp/nat.nodev"; then
  ok "-lR $cols --csv: the native path prints what the appliance prints"
else
  not_ok "-lR $cols --csv: the native path prints what the appliance prints"
  diff -u "$tmp/app.nodev" "$tmp/nat.nodev" | head -40 | sed 's/^/# /'
fi
# Devices: the native path numbers the guest's first disk sda (8:1, 8:2);
# the appliance's numbers differ from those by one offset for every file.
csv_fields "$tmp/app.csv" | cut -f9 | sed 's/.*://' > "$tmp/app.minor"
csv_fields "$tmp/nat.csv" | cut -f9 | sed 's/.*://' > "$tmp/nat.minor"
is "native devices: / on 8:2, /boot on 8:1" \
  "$(csv_fields "$tmp/nat.csv" | awk -F'\t' '$15 == "/" || $15 == "/boot" { print $9 }' | tr '\n' ' ')" \
  "8:2 8:1 "
is "appliance devices: the same, offset by whole disks" \
  "$(paste "$tmp/app.minor" "$tmp/nat.minor" | awk '{ print ($1 - $2) % 16 }' | sort -u)" 0
check "the listing is the whole tree (40 entries or more)" \
  test "$(grep -c . "$tmp/app.csv")" -ge 40

# The native --json holds the same facts, field for field.
run_cmd json err rc vd_ls --native --format=raw -a "$img" -lR --extra-stats \
  --checksum=sha1 --json /
is "native --json: exit 0" "$rc:$err" "0:"
printf '%s\n' "$json" > "$tmp/nat.json"
letter='{"file":"-","directory":"d","symlink":"l","fifo":"p","socket":"s","char-device":"c","block-device":"b"}'
jq -r --argjson L "$letter" '.[] | [$L[.type], .mode, .size, .uid, .gid,
    .atime, .mtime, .ctime, .device, .inode, .nlink, .rdev, .blocks,
    (.checksum // ""), .path, (.link_target // "")] | @tsv' "$tmp/nat.json" |
  cut --complement -f9 | sort > "$tmp/json.tsv"
# The CSV's fields in the same order (quoted fields hold no tabs here).
nodev "$tmp/app.csv" | sort > "$tmp/csv.tsv"
if diff -u "$tmp/csv.tsv" "$tmp/json.tsv" > "$tmp/diff"; then
  ok "native --json holds the appliance's -lR facts"
else
  not_ok "native --json holds the appliance's -lR facts"
  head -20 "$tmp/diff" | sed 's/^/# /'
fi

# Plain -R: the paths of the same listing, "/"-relative.
run_cmd rnat err rc vd_ls --native --format=raw -a "$img" -R /
is "native -R: exit 0" "$rc:$err" "0:"
is "native -R lists the appliance's -lR paths" "$rnat" \
  "$(csv_fields "$tmp/app.csv" | cut -f15 | grep -vx /)"

# ---- vd-cat, several files in one run ---------------------------------------
files="/srv/data/binary.bin /home/user/link-to-hello /etc/shadow /bin/hello
/boot/grub/grub.cfg /srv/data/empty.txt"
vd_cat --appliance --format=raw -a "$img" $files > "$tmp/app.cat" 2> "$tmp/err"
is "appliance vd-cat: exit 0" "$?:$(cat "$tmp/err")" "0:"
vd_cat --native --format=raw -a "$img" $files > "$tmp/nat.cat" 2> "$tmp/err"
is "native vd-cat: exit 0" "$?:$(cat "$tmp/err")" "0:"
check "vd-cat: the native path prints the appliance's bytes" \
  cmp -s "$tmp/app.cat" "$tmp/nat.cat"
tr=$fixdir/linux.tree
cat "$tr/srv/data/binary.bin" "$tr/home/user/hello.txt" "$tr/etc/shadow" \
  "$tr/usr/bin/hello" "$fixdir/linux.boot/grub/grub.cfg" > "$tmp/want.cat"
check "vd-cat: the bytes of the files the guest was made from" \
  cmp -s "$tmp/want.cat" "$tmp/nat.cat"

done_testing
