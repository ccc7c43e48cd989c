#!/bin/sh
# vd-img create: sizes, formats, options, the Formatting line, atomic
# output and --force.
. "$top_srcdir/tests/functions.sh"

cd "$tmp"

out=$(vd_img create a.raw 10G)
is "Formatting line as qemu-img prints it" "$out" \
  "Formatting 'a.raw', fmt=raw size=10737418240"
is "size of a 10G image" "$(stat -c %s a.raw)" 10737418240
blocks=$(stat -c %b a.raw)
check "a 10G raw image is sparse" test "$blocks" -le 64

out=$(vd_img create -f raw b.raw 1.5k)
is "fractional size with a suffix" "$(stat -c %s b.raw)" 1536

vd_img create -q c.raw 1000 >out.txt
is "-q prints nothing" "$(cat out.txt)" ""
is "raw sizes round up to 512-byte sectors as qemu" "$(stat -c %s c.raw)" 1024

out=$(vd_img create -f raw -o preallocation=full d.raw 2M)
is "preallocation in the Formatting line" "$out" \
  "Formatting 'd.raw', fmt=raw size=2097152 preallocation=full"
check "preallocation=full allocates" test "$(stat -c %b d.raw)" -ge 4096

vd_img create -f raw -o preallocation=falloc e.raw 2M >/dev/null
check "preallocation=falloc allocates" test "$(stat -c %b e.raw)" -ge 4096

vd_img create -o size=3M f.raw >/dev/null
is "-o size= gives the size" "$(stat -c %s f.raw)" 3145728

vd_img create g.raw 1M -q
is "options after the file name (GNU order, as qemu-img)" \
  "$(stat -c %s g.raw)" 1048576

# An existing file is kept without --force.
printf 'precious' > keep.raw
run_cmd o e rc vd_img create keep.raw 1M
is "existing file refused: exit 1" "$rc" 1
like "existing file refused: message names the file" "$e" \
  "^vd-img: keep.raw: .*exists.*--force"
is "existing file kept intact" "$(cat keep.raw)" "precious"
run_cmd o e rc vd_img create --force keep.raw 1M
is "--force replaces" "$rc:$(stat -c %s keep.raw)" "0:1048576"

# Invoked as qemu-img, create replaces (as qemu-img does).
ln -s "$VD_IMG_BIN" qemu-img
printf 'old' > q.raw
run_cmd o e rc $VALGRIND_CMD ./qemu-img create q.raw 512
is "as qemu-img: replaces an existing file" "$rc:$(stat -c %s q.raw)" "0:512"
run_cmd o e rc $VALGRIND_CMD ./qemu-img create -f nosuch z.raw 1M
like "as qemu-img: errors are prefixed qemu-img:" "$e" "^qemu-img: "

# No temporary file is ever left behind.
left=$(ls -a | grep -c vdtmp || true)
is "no temporary files left" "$left" 0

# -o help.
out=$(vd_img create -f raw -o help)
like "-o help lists preallocation" "$out" "preallocation=<str> +- Preallocation"
like "-o help lists size" "$out" "size=<size> +- Virtual disk size"

done_testing
