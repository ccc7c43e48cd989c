#!/bin/sh
# The guest tools' native path (no appliance) on small guests made here
# with mke2fs -d: a whole-disk ext4, an MBR disk with a logical partition,
# a GPT disk, a qcow2 overlay; what it lists and reads against the trees
# the guests were made from; which path auto mode picks (an LVM signature
# sends it to the appliance); and corrupted ext4 images (dd pokes), which
# must give one clear error, never a crash or a hang.  No appliance is
# launched: runs in every pass.
. "$top_srcdir/tests/functions.sh"

[ -x "$top_builddir/tools/vd-ls" ] ||
  skip_all "the guest tools were not built (configure --disable-guest-tools)"
PATH="$PATH:/usr/sbin:/sbin"
requires mke2fs debugfs sfdisk
export TZ=UTC
vd_ls () { $VALGRIND_CMD "$top_builddir/tools/vd-ls" "$@"; }
vd_cat () { $VALGRIND_CMD "$top_builddir/tools/vd-cat" "$@"; }
# An appliance that cannot start at once: auto mode's choice shows in -v
# without paying for a launch.
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_PATH=/nonexistent/vdtest

# ---- guests --------------------------------------------------------------
t=$tmp/tree
mkdir -p "$t/etc" "$t/home/user" "$t/data/sub" "$t/boot"
printf 'ID=debian\nVERSION_ID="12"\n' > "$t/etc/os-release"
printf 'Hello, native!\n' > "$t/home/user/hello.txt"
ln -s ../../data/sub "$t/home/user/sub-link"
ln -s /home/user/hello.txt "$t/data/abs-link"
ln -s loop-b "$t/data/loop-a"
ln -s loop-a "$t/data/loop-b"
head -c 200000 /dev/urandom > "$t/data/sub/random.bin"
chmod 0640 "$t/data/sub/random.bin"
b=$tmp/boot
mkdir -p "$b/grub"
printf 'menu\n' > "$b/grub/grub.cfg"

export E2FSPROGS_FAKE_TIME=1672628645
mke2fs -q -F -t ext4 -O ^metadata_csum -d "$t" "$tmp/whole.img" 8M >/dev/null ||
  skip_all "mke2fs -d failed"
expected_R () {
  (cd "$1" && find . -mindepth 1 | sed 's|^\.||' | LC_ALL=C sort)
}
expected_R "$t" > "$tmp/want-whole"
# The partitioned guests' root names /boot in its fstab.
printf 'LABEL=NBOOT /boot ext2 defaults 0 2\nproc /proc proc defaults 0 0\n' \
  > "$t/etc/fstab"
{ expected_R "$t"; expected_R "$b" | sed 's|^|/boot|'; } | LC_ALL=C sort -u \
  > "$tmp/want-parts"
# MBR: /boot (ext2) in a logical partition, / (ext3) primary.
mke2fs -q -F -t ext2 -L NBOOT -d "$b" "$tmp/boot.fs" 2M >/dev/null
mke2fs -q -F -t ext3 -d "$t" "$tmp/root.fs" 8M >/dev/null
truncate -s 16M "$tmp/mbr.img"
printf 'label: dos\n2048,16384,L\n18432,,E\n20480,4096,L\n' |
  sfdisk -q "$tmp/mbr.img" >/dev/null
dd if="$tmp/root.fs" of="$tmp/mbr.img" bs=512 seek=2048 conv=notrunc status=none
dd if="$tmp/boot.fs" of="$tmp/mbr.img" bs=512 seek=20480 conv=notrunc status=none
# GPT: the same two filesystems.
truncate -s 16M "$tmp/gpt.img"
printf 'label: gpt\n2048,16384,L\n20480,4096,L\n' | sfdisk -q "$tmp/gpt.img" >/dev/null
dd if="$tmp/root.fs" of="$tmp/gpt.img" bs=512 seek=2048 conv=notrunc status=none
dd if="$tmp/boot.fs" of="$tmp/gpt.img" bs=512 seek=20480 conv=notrunc status=none

# ---- listing and reading, each layout ------------------------------------
for img in whole mbr gpt; do
  run_cmd out err rc vd_ls -v --format=raw -a "$tmp/$img.img" -R /
  is "$img: vd-ls -R: exit 0" "$rc" 0
  like "$img: -v says the native path ran" "$err" 'using the native path'
  if [ $img = whole ]; then cp "$tmp/want-whole" "$tmp/want"
  else cp "$tmp/want-parts" "$tmp/want"; fi
  printf '%s\n' "$out" | grep -v '^/lost+found$' | grep -v '^/boot/lost+found$' \
    | LC_ALL=C sort > "$tmp/got"
  if diff -u "$tmp/want" "$tmp/got" > "$tmp/diff"; then
    ok "$img: -R lists the tree it was made from"
  else
    not_ok "$img: -R lists the tree it was made from"
    sed 's/^/# /' "$tmp/diff"
  fi
  vd_cat --native --format=raw -a "$tmp/$img.img" /data/sub/random.bin > "$tmp/got.bin" 2>/dev/null
  check "$img: vd-cat reads a 200000-byte file byte for byte" \
    cmp -s "$tmp/got.bin" "$t/data/sub/random.bin"
done

run_cmd out err rc vd_ls --native --format=raw -a "$tmp/mbr.img" /boot/grub
is "fstab by LABEL mounts the logical partition on /boot" "$out:$rc" "grub.cfg:0"
run_cmd out err rc vd_cat --native --format=raw -a "$tmp/mbr.img" /home/user/sub-link/../../home/user/hello.txt
is "symlink then .. resolved inside the guest" "$out" "Hello, native!"
run_cmd out err rc vd_cat --native --format=raw -a "$tmp/whole.img" /data/abs-link
is "absolute symlink resolved from the guest's root" "$out" "Hello, native!"
run_cmd out err rc vd_cat --native --format=raw -a "$tmp/whole.img" /data/loop-a
is "a symlink loop is an error, not a hang" "$rc" 1
run_cmd out err rc vd_ls --native --format=raw -a "$tmp/gpt.img" -m /dev/sda2 /
is "-m /dev/sda2 (GPT) mounts the ext2 /boot filesystem on /" "$out" "grub
lost+found"
run_cmd out err rc vd_ls --native --format=raw -a "$tmp/gpt.img" -m /dev/vda1 -m /dev/vda2:/boot /boot/grub
is "-m with /dev/vdX names, two mounts" "$out:$rc" "grub.cfg:0"
run_cmd out err rc vd_cat --native --format=raw -a "$tmp/whole.img" /nonexistent
is "a missing file: the appliance path's message" "$err" \
  "vd-cat: /nonexistent: no such file in the guest"
run_cmd out err rc vd_ls --native --format=raw -a "$tmp/whole.img" -lR --checksum=sha256 --uids /home/user
like "-lR --checksum=sha256 on a file" "$out" \
  "^- 0644 +15 +0 +0 $(sha256sum < "$t/home/user/hello.txt" | cut -c1-64) /home/user/hello.txt$"
like "-lR: symlink target" "$out" '^l 0777 +14 .* /home/user/sub-link -> \.\./\.\./data/sub$'

# A qcow2 overlay on the MBR guest (libvd reads through the chain).
if command -v qemu-img >/dev/null; then
  qemu-img create -q -f qcow2 -b mbr.img -F raw "$tmp/overlay.qcow2"
  run_cmd out err rc vd_cat --native -a "$tmp/overlay.qcow2" /boot/grub/grub.cfg
  is "a qcow2 overlay: read through the backing chain" "$out:$rc" "menu:0"
else
  skip "qemu-img is not installed"
fi

# A folder of 3000 names: sorted, each stat'd (lookups through the
# folder cache), and big enough that glibc's qsort asks the kernel for
# the memory size (a system call the sandbox must allow).
mkdir -p "$tmp/bigtree/etc" "$tmp/bigtree/many"
echo ID=x > "$tmp/bigtree/etc/os-release"
(cd "$tmp/bigtree/many" && seq -w 1 3000 | xargs touch)
mke2fs -q -F -t ext4 -d "$tmp/bigtree" "$tmp/big.img" 16M >/dev/null
run_cmd out err rc vd_ls --native --format=raw -a "$tmp/big.img" -lR /many
is "3000 names: -lR exit 0" "$rc:$err" "0:"
is "3000 names: all listed, sorted" \
  "$(printf '%s\n' "$out" | sed 1d | awk '{print $NF}' | sed 's|.*/||' | tr '\n' ' ')" \
  "$(seq -w 1 3000 | tr '\n' ' ')"

# ---- which path: auto, --native, --appliance -----------------------------
# An LVM physical volume next to the root: auto mode must use the
# appliance (which cannot start here: that proves the choice, cheaply).
cp "$tmp/mbr.img" "$tmp/lvm.img"
dd if=/dev/zero of="$tmp/lvm.img" bs=512 seek=$((20480 + 2)) count=2 conv=notrunc status=none
printf 'LABELONE\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\040\000\000\000LVM2 001' |
  dd of="$tmp/lvm.img" bs=1 seek=$((20480 * 512 + 512)) conv=notrunc status=none
run_cmd out err rc vd_ls -v --format=raw -a "$tmp/lvm.img" /
like "auto + LVM: -v says the appliance is used and why" "$err" \
  'using the appliance: /dev/sda5 holds an LVM physical volume'
is "auto + LVM: the (broken) appliance was tried: exit 1" "$rc" 1
run_cmd out err rc vd_ls --native --format=raw -a "$tmp/lvm.img" /
is "--native + LVM: a clear error" "$err" \
  "vd-ls: --native: the native path cannot read this guest: /dev/sda5 holds an LVM physical volume (use --appliance)"
run_cmd out err rc vd_ls --native --format=raw -a "$tmp/lvm.img" -m /dev/sda1 /etc
is "--native -m of the ext3 partition beside the LVM one works" "$out:$rc" "fstab
os-release:0"
run_cmd out err rc vd_ls -v --appliance --format=raw -a "$tmp/whole.img" /
like "--appliance: -v says so" "$err" 'using the appliance: --appliance was given'
run_cmd out err rc vd_ls --native --appliance --format=raw -a "$tmp/whole.img" /
is "--native with --appliance is refused" "$rc:$err" \
  "1:vd-ls: --native and --appliance cannot be used together"

# ---- corrupted ext4 (dd pokes) -------------------------------------------
# poke NAME OFFSET PRINTF-BYTES: a copy of the whole-disk guest with
# bytes replaced.
poke () {
  cp "$tmp/whole.img" "$tmp/$1.img"
  printf "$3" | dd of="$tmp/$1.img" bs=1 seek="$2" conv=notrunc status=none
}
export VD_NATIVE_TIMEOUT=20
sb=1024
poke inodes-count $((sb + 0)) '\377\377\377\377'
poke log-block-size $((sb + 24)) '\036\000\000\000'
poke blocks-per-group $((sb + 32)) '\000\000\000\000'
poke inodes-per-group $((sb + 40)) '\377\377\377\177'
poke first-data-block $((sb + 20)) '\000\000\001\000'
poke inode-size $((sb + 88)) '\003\000'
poke desc-size $((sb + 254)) '\377\377'
# The first group descriptor (block 1 of a 1 KiB-block filesystem): the
# inode table and bitmaps far outside the filesystem.
bs=$(dumpe2fs -h "$tmp/whole.img" 2>/dev/null | sed -n 's/^Block size: *//p')
gdt=$(( bs == 1024 ? 2048 : bs ))
poke gdt-inode-table $((gdt + 8)) '\377\377\377\177'
poke gdt-bitmaps $((gdt + 0)) '\377\377\377\177\377\377\377\177'
# The root folder's first block and its inode, overwritten with 0xff.
rootblk=$(debugfs -R 'blocks /' "$tmp/whole.img" 2>/dev/null | awk '{print $1}')
cp "$tmp/whole.img" "$tmp/root-dir-block.img"
head -c 512 /dev/zero | tr '\000' '\377' |
  dd of="$tmp/root-dir-block.img" bs=1 seek=$((rootblk * bs)) conv=notrunc status=none
set -- $(debugfs -R 'imap <2>' "$tmp/whole.img" 2>/dev/null | sed -n 's/.*located at block \([0-9]*\), offset \(0x[0-9a-f]*\).*/\1 \2/p')
poke root-inode $(( $1 * bs + $2 + 40 )) '\377\377\377\377\377\377\377\377\377\377\377\377'
# Byte noise over the metadata at the start (fixed seeds).
for seed in 1 2 3; do
  cp "$tmp/whole.img" "$tmp/noise$seed.img"
  awk -v s=$seed 'BEGIN { srand (s); for (i = 0; i < 64; i++) printf "%d %d\n", 1024 + int (rand () * 65536), int (rand () * 256) }' |
    while read -r off byte; do
      printf "$(printf '\\%03o' "$byte")" |
        dd of="$tmp/noise$seed.img" bs=1 seek="$off" conv=notrunc status=none
    done
done

corrupt="inodes-count log-block-size blocks-per-group inodes-per-group
  first-data-block inode-size desc-size gdt-inode-table gdt-bitmaps
  root-dir-block root-inode noise1 noise2 noise3"
# Under valgrind (slow) a sample of them.
[ "${VD_VALGRIND:-0}" = 1 ] && corrupt="inodes-count gdt-inode-table root-dir-block root-inode noise1"
for c in $corrupt; do
  for tool in "vd_ls -lR --checksum /" "vd_cat /home/user/hello.txt"; do
    set -- $tool
    t0=$(date +%s)
    run_cmd out err rc timeout 120 $VALGRIND_CMD \
      "$top_builddir/tools/$(echo "$1" | tr _ -)" --native --format=raw \
      -a "$tmp/$c.img" "$2" ${3:-}
    t1=$(date +%s)
    lines=$(printf '%s\n' "$err" | grep -c .)
    case $rc:$lines in
    0:0 | 1:1) ok "corrupt $c: $1 exits $rc cleanly in $((t1 - t0)) s" ;;
    *) not_ok "corrupt $c: $1 exits $rc with $lines error lines"
       diag "$err" ;;
    esac
  done
done

done_testing
