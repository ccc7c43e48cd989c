#!/bin/sh
# vd-df without an appliance (so this runs in every pass, under ASan and
# valgrind too): usage errors; bad disks and domains found before any
# launch; all the guests of a libvirt node failing one by one (the
# appliance is /bin/false: each launch fails at once) with the others
# still reported; and every output form, the thresholds and -o on
# results fed through VD_DF_TEST_LOAD (the numbers are recomputed here
# with awk, independently of vd-df).
. "$top_srcdir/tests/functions.sh"
[ -x "$top_builddir/tools/vd-df" ] ||
  skip_all "the guest tools were not built (configure --disable-guest-tools)"
requires jq awk

vd_df () { $VALGRIND_CMD "$top_builddir/tools/vd-df" "$@"; }
# vd_df_load RESULTS ARGS...: vd-df showing saved results.
vd_df_load () {
  _f=$1; shift
  VD_DF_TEST_LOAD=$_f $VALGRIND_CMD "$top_builddir/tools/vd-df" "$@"
}
# Nothing here may start an appliance: make any launch fail at once.
LIBGUESTFS_HV=/bin/false
LIBGUESTFS_BACKEND=direct
export LIBGUESTFS_HV LIBGUESTFS_BACKEND

cd "$tmp"
# expect_error DESCRIPTION EXPECTED-STDERR-REGEX COMMAND...
expect_error () {
  _d=$1 _re=$2; shift 2
  run_cmd o e rc "$@"
  like "$_d" "$rc:$(printf '%s' "$o" | wc -c):$e" "^1:0:$_re"
}

# ---- options ------------------------------------------------------------------
run_cmd o e rc vd_df --help
like "--help" "$rc:$(printf '%s\n' "$o" | head -1)" '^0:vd-df: display free space on virtual filesystems$'
run_cmd o e rc vd_df -V
like "-V" "$rc:$o" '^0:vd-df version [0-9]+\.[0-9]+'
expect_error "-h and --csv" "vd-df: you cannot use -h and --csv options together\.$" \
  vd_df -a x.img -h --csv
expect_error "--csv and --json" "vd-df: --csv and --json cannot be used together" \
  vd_df -a x.img --csv --json
expect_error "prometheus and --json" "vd-df: --format=prometheus cannot be used with --csv or --json" \
  vd_df -a x.img --json --format=prometheus
expect_error "-P not a number" "vd-df: -P option is not numeric$" vd_df -P two
expect_error "-P too many" "vd-df: -P 2000: more appliances" vd_df -P 2000
expect_error "--warn over 100" "vd-df: --warn 101: expected a percentage from 0 to 100$" \
  vd_df --warn 101
expect_error "--crit not a number" "vd-df: --crit 9x: expected a percentage" vd_df --crit 9x
expect_error "--warn above --crit" "vd-df: --warn 90 is above --crit 80" \
  vd_df --warn 90 --crit 80
expect_error "-a and -d" "vd-df: use either -a or -d, not both" vd_df -a x.img -d dom
expect_error "-a and an argument" "vd-df: extra: extra argument" vd_df -a x.img extra
expect_error "old style: two domains" "vd-df: dom2: old-style arguments name one guest" \
  vd_df dom1 dom2
expect_error "--format after the last -a" \
  "vd-df: --format parameter must appear before -a parameter" \
  vd_df -a x.img --format=raw
run_cmd o e rc vd_df --frobnicate
is "unknown option: exit 1" "$rc" 1

# ---- disks, before any launch ---------------------------------------------------
expect_error "missing image" "vd-df: missing.img: No such file or directory$" \
  vd_df -a missing.img
expect_error "old style: missing image" "vd-df: \./missing.img: No such file or directory$" \
  vd_df ./missing.img
: > empty.img
expect_error "empty image" "vd-df: empty.img: is empty, not a disk image$" \
  vd_df --format=raw -a empty.img
if [ "$(id -u)" != 0 ]; then
  head -c 1024 /dev/zero > unreadable.img && chmod 000 unreadable.img
  expect_error "unreadable image" "vd-df: unreadable.img: Permission denied$" \
    vd_df -a unreadable.img
else
  skip "an unreadable image (root reads everything)"
fi

# ---- libvirt: every guest fails, each by name ------------------------------------
head -c 1048576 /dev/zero > disk.img
sed -e "s|@LINUX_IMG@|$tmp/disk.img|" -e "s|@BLANK_IMG@|$tmp/disk.img|" \
  -e "s|@LVM_IMG@|$tmp/disk.img|" \
  "$top_srcdir/tests/guest/df-node.xml" > node.xml
uri="test://$tmp/node.xml"
expect_error "-d: unknown domain" \
  "vd-df: nosuch: no libvirt domain has that name or UUID \(connection test://$tmp/node.xml\)$" \
  vd_df -c "$uri" -d nosuch
expect_error "-d: a missing disk" \
  "vd-df: domain vdtest-missing-disk: disk vda: /nonexistent/vdtest/disk\.qcow2: No such file or directory$" \
  vd_df -c "$uri" -d vdtest-missing-disk
expect_error "-d: a network disk" \
  "vd-df: domain vdtest-network-disk: disk vda is a network disk \(protocol nbd\)" \
  vd_df -c "$uri" -d vdtest-network-disk
expect_error "a libvirt URI that cannot be opened" \
  "vd-df: cannot connect to libvirt at test://$tmp/nonexistent.xml: " \
  vd_df -c "test://$tmp/nonexistent.xml"

# All guests: the four with a disk share one appliance, whose launch
# fails (qemu is /bin/false); the guests are then halved until each has
# failed alone.  The broken ones fail before any launch.
run_cmd o e rc vd_df -c "$uri" -v
is "all guests failing: exit 1" "$rc" 1
is "all guests failing: the title still printed" "$o" \
  "Filesystem                           1K-blocks       Used  Available  Use%"
printf '%s\n' "$e" | grep -v ': note: ' | grep -v '^  ' > errors.txt
is "one error line per failed guest, in name order" \
  "$(sed -E 's/^vd-df: ([^:]+(: disk vda)?).*/\1/' errors.txt)" \
  "vdtest-blank
vdtest-linux
vdtest-lvm
vdtest-missing-disk: disk vda
domain vdtest-network-disk: disk vda
web \"01\", prod"
like "a failed launch: the guest named, the reason given" "$e" \
  '^vd-df: vdtest-linux: the libguestfs appliance failed to launch: .*/bin/false'
like "a missing disk: the guest and the file named" "$e" \
  '^vd-df: vdtest-missing-disk: disk vda: /nonexistent/vdtest/disk\.qcow2: No such file or directory$'
like "the diskless guest is a note, not an error" "$e" \
  '^vd-df: note: domain vdtest-diskless has no disks$'
is "launches: 1 for the 4 guests, 2 halves, 4 alone" \
  "$(printf '%s\n' "$e" | grep -c ': note: launching an appliance for ')" 7

# With thresholds (the disks missing this time: no launch): UNKNOWN,
# the failed guests listed.
sed -e "s|@[A-Z]*_IMG@|$tmp/nonexistent.img|" \
  "$top_srcdir/tests/guest/df-node.xml" > missing.xml
run_cmd o e rc vd_df -c "test://$tmp/missing.xml" --warn 80 --crit 90
is "thresholds, all failed: exit 3" "$rc" 3
is "thresholds, all failed: the verdict" "$o" \
  'DF UNKNOWN - 6 guests failed: vdtest-blank, vdtest-linux, vdtest-lvm, vdtest-missing-disk, vdtest-network-disk, web "01", prod'

# ---- every output form, on saved results ------------------------------------------
# web01: /boot 13.0% and / 85.3% (inodes 20%); an odd name (quotes, a
# comma, spaces) with an xfs 95.4%; a name that is not UTF-8; a guest
# that failed.
tab=$(printf '\t')
{
  echo "# saved by hand"
  printf 'guest\tweb01\t11111111-2222-3333-4444-555555555555\n'
  printf 'fs\t/dev/sda1\text4\t/boot\t4096\t4096\t124633\t108415\t108415\t32768\t32400\t32400\n'
  printf 'fs\t/dev/vg_web01/lv_root\text4\t/\t4096\t4096\t1926500\t282847\t250000\t500000\t400000\t400000\n'
  printf 'guest\tdb "02", prod\t\n'
  printf 'fs\t/dev/sdb1\txfs\t\t4096\t4096\t2621440\t120000\t120000\t5242880\t5242000\t5242000\n'
  printf 'guest\tcaf\303\251\377\t\n'
  printf 'fs\t/dev/sda1\tvfat\t\t512\t512\t2000\t1000\t1000\t0\t0\t0\n'
  printf 'guest\tbroken\t\n'
  printf 'error\tbroken: disk vda: /srv/broken.img: No such file or directory\n'
} > results.txt
grep -av '^guest.broken\|^error' results.txt > good.txt

# The expected numbers, computed here.
awk -F"$tab" '
  $1 == "guest" { name = $2 }
  $1 == "fs" {
    b = $5; kb = int ($7 * b / 1024); used = int (($7 - $8) * b / 1024)
    av = int ($9 * b / 1024); p = $7 ? 100 - 100 * $8 / $7 : 0
    printf "%s,%s,%d,%d,%d,%.1f\n", name, $2, kb, used, av, p
  }' results.txt > numbers.txt

run_cmd o e rc vd_df_load results.txt --csv
is "CSV: exit 1 (a guest failed)" "$rc" 1
is "CSV: the failed guest on stderr" "$e" \
  "vd-df: broken: disk vda: /srv/broken.img: No such file or directory"
printf '%s\n' "$o" > out.csv
is "CSV: virt-df's header" "$(head -1 out.csv)" \
  "VirtualMachine,Filesystem,1K-blocks,Used,Available,Use%"
if command -v python3 >/dev/null; then
  PYTHONIOENCODING=utf-8:surrogateescape python3 -c '
import csv, sys
rows = list (csv.reader (open (sys.argv[1], encoding="utf-8", errors="surrogateescape")))
for r in rows[1:]:
    print (",".join (f.replace (",", ";") for f in r))
' out.csv > parsed.txt
  is "CSV: parsed by a CSV reader, the numbers are right" "$(cat parsed.txt)" \
    "$(sed 's/^db "02", prod,/db "02"; prod,/' numbers.txt)"
else
  skip "python3 is not installed (no CSV reader)"
fi
like "CSV: the odd name is quoted" "$o" '^"db ""02"", prod",/dev/sdb1,10485760,'
run_cmd o e rc vd_df_load good.txt --csv -i
is "CSV -i: exit 0" "$rc" 0
is "CSV -i" "$(printf '%s\n' "$o" | sed -n '1p;3p')" \
  "VirtualMachine,Filesystem,Inodes,IUsed,IFree,IUse%
web01,/dev/vg_web01/lv_root,500000,100000,400000,20.0"

run_cmd o e rc vd_df_load good.txt
row () { printf '%-36s%10s %10s %10s %5s\n' "$@"; }
is "text" "$o" "$(row Filesystem 1K-blocks Used Available Use%
  row web01:/dev/sda1 498532 64872 433660 14%
  row web01:/dev/vg_web01/lv_root 7706000 6574612 1000000 86%
  row 'db "02", prod:/dev/sdb1' 10485760 10005760 480000 96%
  row "$(printf 'caf\303\251\377'):/dev/sda1" 1000 500 500 50%)"
run_cmd o e rc vd_df_load good.txt -h --uuid
is "text -h --uuid" "$(printf '%s\n' "$o" | sed -n '1,4p')" \
  "Filesystem                                Size       Used  Available  Use%
11111111-2222-3333-4444-555555555555:/dev/sda1
                                          487M        63M       423M   14%
11111111-2222-3333-4444-555555555555:/dev/vg_web01/lv_root"

run_cmd o e rc vd_df_load results.txt --json
printf '%s\n' "$o" > out.json
check "JSON parses" sh -c "jq -e 'type == \"array\" and length == 4' out.json >/dev/null"
is "JSON: the members, in order" "$(jq -c '.[0] | keys_unsorted' out.json)" \
  '["guest","filesystem","type","mountpoint","blocks_1k","used_1k","available_1k","use_percent","inodes","inodes_used","inodes_free","inodes_use_percent","block_size","uuid"]'
is "JSON: the numbers equal the CSV's" \
  "$(jq -r '.[] | [.guest, .filesystem, .blocks_1k, .used_1k, .available_1k, (.use_percent * 10 | round / 10 | tostring | if test("\\.") then . else . + ".0" end)] | join(",")' out.json)" \
  "$(sed 's/\xff/\xef\xbf\xbd/' numbers.txt)"
is "JSON: mountpoints and UUIDs" "$(jq -c '[.[] | [.mountpoint, .uuid]]' out.json)" \
  '[["/boot","11111111-2222-3333-4444-555555555555"],["/","11111111-2222-3333-4444-555555555555"],[null,null],[null,null]]'
is "JSON: a name that is not UTF-8" "$(jq -r '.[3].guest' out.json)" "$(printf 'caf\303\251\357\277\275')"
is "JSON: inodes" "$(jq -c '.[1] | [.inodes, .inodes_used, .inodes_free, .inodes_use_percent]' out.json)" \
  '[500000,100000,400000,20]'

# Prometheus: every line a comment or NAME{LABELS} VALUE, each family
# together after its TYPE.
run_cmd o e rc vd_df_load results.txt --format=prometheus
printf '%s\n' "$o" > out.prom
label='[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\["\\n])*"'
bad=$(grep -Ev "^# (HELP|TYPE) [a-z_]+ |^[a-z_]+\{($label,)*$label\} [0-9]+$" out.prom)
is "Prometheus: every line parses" "$bad" ""
is "Prometheus: families in one block each, TYPE first" \
  "$(awk '/^# TYPE/ { t = $3; if (seen[t]++) print "again " t; next }
          /^#/ { next }
          { split ($0, a, "{"); if (a[1] != t) print "stray " a[1] }' out.prom)" ""
is "Prometheus: the families" "$(grep '^# TYPE' out.prom | cut -d' ' -f3,4 | tr '\n' ' ')" \
  "vd_df_size_bytes gauge vd_df_avail_bytes gauge vd_df_used_bytes gauge vd_df_files gauge vd_df_files_free gauge vd_df_guest_ok gauge "
like "Prometheus: a sample" "$o" \
  '^vd_df_size_bytes\{guest="web01",filesystem="/dev/sda1",fstype="ext4",mountpoint="/boot"\} 510496768$'
like "Prometheus: quotes escaped" "$o" \
  '^vd_df_used_bytes\{guest="db \\"02\\", prod",filesystem="/dev/sdb1",fstype="xfs",mountpoint=""\} 10245898240$'
like "Prometheus: a failed guest" "$o" '^vd_df_guest_ok\{guest="broken"\} 0$'
is "Prometheus: used = size - free" \
  "$(awk '/^vd_df_used_bytes\{guest="web01",filesystem="\/dev\/sda1"/ { print $2 }' out.prom)" \
  $(((124633 - 108415) * 4096))

# ---- thresholds ------------------------------------------------------------------
verdict () { # FILE ARGS... -> "rc:stdout"
  _f=$1; shift
  run_cmd o e rc vd_df_load "$_f" "$@"
  printf '%s:%s' "$rc" "$o"
}
like "below both lines: OK, 0" "$(verdict good.txt --warn 96 --crit 99)" \
  "^0:DF OK - 4 filesystems in 3 guests, highest db \"02\", prod:/dev/sdb1 95\.4% \| 'web01:/dev/sda1'=13\.0%;96;99;0;100 "
like "over --warn: WARNING, 1" "$(verdict good.txt --warn 80 --crit 99)" \
  '^1:DF WARNING - 2 filesystems over 80%: web01:/dev/vg_web01/lv_root 85\.3%, db "02", prod:/dev/sdb1 95\.4% \|'
like "over --crit: CRITICAL, 2" "$(verdict good.txt --warn 80 --crit 90)" \
  '^2:DF CRITICAL - 1 filesystem over 90%: db "02", prod:/dev/sdb1 95\.4%; 1 filesystem over 80%: web01:/dev/vg_web01/lv_root 85\.3% \|'
like "--crit alone" "$(verdict good.txt --crit 95.4)" '^0:DF OK'
like "--crit alone, over" "$(verdict good.txt --crit 95.3)" '^2:DF CRITICAL'
like "a failed guest: UNKNOWN, 3" "$(verdict results.txt --warn 99)" \
  '^3:DF UNKNOWN - 1 guest failed: broken \|'
like "a failed guest and a critical one: CRITICAL" "$(verdict results.txt --crit 90)" \
  '^2:DF CRITICAL - 1 filesystem over 90%: .*; 1 guest failed: broken \|'
like "-i: on inode use" "$(verdict good.txt -i --warn 19)" \
  '^1:DF WARNING - 1 filesystem over 19% inode use: web01:/dev/vg_web01/lv_root 20\.0% \|'
run_cmd o e rc vd_df_load good.txt --csv --warn 80
is "--csv with thresholds: the table on stdout" "$(printf '%s\n' "$o" | head -1)" \
  "VirtualMachine,Filesystem,1K-blocks,Used,Available,Use%"
like "--csv with thresholds: the verdict on stderr" "$rc:$e" '^1:DF WARNING - 2 filesystems over 80%'

# ---- -o: written atomically ------------------------------------------------------------
mkdir out
printf 'guest\tx\t\nfs\t/dev/sda1\n' > bad.txt
umask 022
run_cmd o e rc vd_df_load good.txt --format=prometheus -o out/vd-df.prom --warn 90
like "-o with thresholds: the verdict on stdout" "$rc:$o" '^1:DF WARNING - 1 filesystem over 90%'
run_cmd o e rc vd_df_load good.txt --format=prometheus
is "-o: the file holds the output" "$(cat out/vd-df.prom)" "$o"
is "-o: nothing else left in the folder" "$(ls -A out)" "vd-df.prom"
is "-o: mode 0666 less the umask" "$(stat -c %a out/vd-df.prom)" 644
run_cmd o e rc vd_df_load bad.txt -o out/vd-df.prom
is "-o: a failed run leaves the file as it was" "$rc:$(cat out/vd-df.prom | head -1)" \
  "1:# HELP vd_df_size_bytes Size of the guest's filesystem in bytes (statvfs blocks * bsize)."
expect_error "-o into a missing folder" \
  "vd-df: nofolder/x.prom: cannot create a temporary file next to it: No such file or directory$" \
  vd_df_load good.txt -o nofolder/x.prom
expect_error "a results file that is not one" "vd-df: bad.txt: line 2 is not a vd-df result line$" \
  vd_df_load bad.txt

done_testing
