#!/bin/sh
# vd-img convert: round trips, sparseness, several sources, -n, -S, -o,
# -p, replacing an existing target, and the option errors.
. "$top_srcdir/tests/functions.sh"
requires python3

cd "$tmp"
alloc () { echo $(( $(stat -c %b "$1") * 512 )); }
# hole FILE OFFSET: is the byte at OFFSET in a hole of FILE?
hole () {
  python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); off = int(sys.argv[2])
try: d = os.lseek(fd, off, os.SEEK_DATA)
except OSError: d = None
sys.exit(0 if d is None or d > off else 1)' "$1" "$2"
}

# A deterministic sparse source: data extents, a zero-filled extent (data
# on disk, zeros in content), holes.
python3 - <<'EOF'
import random
r = random.Random(4)
with open("src.raw", "wb") as f:
    f.truncate(64 << 20)
    for off, ln in ((0, 64 << 10), (1 << 20, 300 << 10), (9 << 20, 2 << 20),
                    (30 << 20, 4096), ((64 << 20) - 8192, 8192)):
        f.seek(off); f.write(r.randbytes(ln))
    f.seek(20 << 20); f.write(bytes(1 << 20))       # zeros written as data
    f.seek(40 << 20); f.write(r.randbytes(4096) + bytes(16384) + r.randbytes(4096))
EOF
src_alloc=$(alloc src.raw)

run_cmd o e rc vd_img convert src.raw out.raw
is "raw -> raw exits 0" "$rc" 0
is "raw -> raw prints nothing" "$o$e" ""
check "raw -> raw is byte-identical" cmp src.raw out.raw
is "same virtual size" "$(stat -c %s out.raw)" "$(stat -c %s src.raw)"
# The zero-filled MiB and the 16 KiB zero gap are left sparse.
out_alloc=$(alloc out.raw)
check "zero blocks inside data are left sparse ($out_alloc < $src_alloc)" \
  test "$out_alloc" -le $((src_alloc - (1 << 20) - 16384))
check "explicit -f raw -O raw" vd_img convert -f raw -O raw src.raw out2.raw
check "... is byte-identical" cmp src.raw out2.raw
check "-m 1 -W: byte-identical" sh -c \
  "$VALGRIND_CMD '$VD_IMG_BIN' convert -m 1 -W src.raw m1.raw && cmp src.raw m1.raw"
rm -f out2.raw m1.raw

# Sparseness: a mostly empty 10 GiB image.
python3 -c '
with open("big.raw", "wb") as f:
    f.truncate(10 << 30)
    f.seek(5 << 30); f.write(b"x" * 65536)
'
check "10 GiB mostly empty image converts" vd_img convert big.raw big2.raw
is "10 GiB: virtual size kept" "$(stat -c %s big2.raw)" $((10 << 30))
check "10 GiB: the copy is small ($(alloc big2.raw) bytes allocated)" \
  test "$(alloc big2.raw)" -le $((1 << 20))
check "10 GiB: byte-identical" cmp big.raw big2.raw
rm -f big.raw big2.raw

# -S: the zero-block size.
vd_img convert -S 64k src.raw s64.raw
check "-S 64k: byte-identical" cmp src.raw s64.raw
check "-S 4k (default) leaves the 16 KiB zero gap sparse" \
  hole out.raw $(((40 << 20) + 8192))
check_fails "-S 64k keeps the 16 KiB zero gap allocated" \
  hole s64.raw $(((40 << 20) + 8192))
check "-S 4k leaves the zero-filled MiB sparse" hole out.raw $((20 << 20))
check "-S 64k leaves the zero-filled MiB sparse" hole s64.raw $((20 << 20))
check_fails "data is data" hole s64.raw $((40 << 20))
vd_img convert -S 0 src.raw s0.raw
check "-S 0: byte-identical" cmp src.raw s0.raw
check "-S 0: fully allocated" test "$(alloc s0.raw)" -ge $((64 << 20))
rm -f s64.raw s0.raw

# Several sources are concatenated.
head -c 1536 /dev/urandom >a.raw
python3 -c '
with open("b.raw", "wb") as f:
    f.truncate(3 << 20); f.seek(1 << 20); f.write(b"b" * 4096)
'
: >empty.raw
check "three sources and an empty one" vd_img convert a.raw empty.raw b.raw src.raw cat.raw
cat a.raw b.raw src.raw >cat.expect
check "the target is their concatenation" cmp cat.raw cat.expect
rm -f cat.raw cat.expect

# -o: options of the new target.
vd_img convert -o preallocation=full src.raw full.raw
check "-o preallocation=full: byte-identical" cmp src.raw full.raw
check "-o preallocation=full: allocated" test "$(alloc full.raw)" -ge $((64 << 20))
vd_img convert -o preallocation=falloc src.raw falloc.raw
check "-o preallocation=falloc: byte-identical" cmp src.raw falloc.raw
check "-o preallocation=falloc: allocated" test "$(alloc falloc.raw)" -ge $((64 << 20))
rm -f full.raw falloc.raw
run_cmd o e rc vd_img convert -o help
is "-o help exits 0" "$rc" 0
like "-o help lists the target's options" "$o" "preallocation="

# An existing target is replaced whole (atomically), keeping its mode.
head -c 100000 /dev/urandom >old.raw
chmod 640 old.raw
ino=$(stat -c %i old.raw)
check "an existing target is replaced" vd_img convert src.raw old.raw
check "... with the new content" cmp src.raw old.raw
is "... keeping its mode" "$(stat -c %a old.raw)" 640
check "... through a new file (rename)" test "$(stat -c %i old.raw)" != "$ino"
# A symbolic link: the file it points to is written, the link stays.
ln -s old.raw link.raw
check "a target that is a symbolic link" vd_img convert a.raw link.raw
check "... stays a link" test -L link.raw
check "... and the file it names is written" cmp a.raw old.raw
# Converting an image onto itself is safe (the source is read whole
# before the rename).
cp src.raw self.raw
check "convert onto itself" vd_img convert self.raw self.raw
check "... leaves the same content" cmp src.raw self.raw
rm -f old.raw link.raw self.raw

# -n: write the existing target in place, as qemu-img does.
python3 -c '
with open("n.raw", "wb") as f:
    f.write(b"\xaa" * (80 << 20))
'
ino=$(stat -c %i n.raw)
check "-n writes an existing target" vd_img convert -n src.raw n.raw
is "-n: in place (same file)" "$(stat -c %i n.raw)" "$ino"
is "-n: the size is kept" "$(stat -c %s n.raw)" $((80 << 20))
check "-n: the source's bytes, zeros included, are written" \
  cmp -n $((64 << 20)) src.raw n.raw
is "-n: past the source, the target is untouched" \
  "$(tail -c 4096 n.raw | od -v -An -tx1 | tr -d ' \na')" ""
vd_img create -q z.raw 64M
check "-n --target-is-zero" vd_img convert -n --target-is-zero src.raw z.raw
check "-n --target-is-zero: byte-identical" cmp src.raw z.raw
check "-n --target-is-zero: zeros left sparse" \
  test "$(alloc z.raw)" -le "$(alloc out.raw)"
rm -f n.raw z.raw

# -q, -p: nothing on stdout when it is not a terminal.
run_cmd o e rc vd_img convert -p src.raw p.raw
is "-p without a terminal: exit 0" "$rc" 0
is "-p without a terminal prints nothing" "$o$e" ""
check "-p: byte-identical" cmp src.raw p.raw
run_cmd o e rc vd_img convert -q -p src.raw p.raw
is "-q -p prints nothing" "$o$e" "" 
if command -v script >/dev/null 2>&1; then
  out=$(script -qec "$VD_IMG_BIN convert -p src.raw p2.raw" /dev/null | tr '\r' '\n')
  like "-p on a terminal draws qemu-img's progress" "$out" '^    \(100\.00/100%\)'
  like "-p on a terminal starts at 0%" "$out" '^    \(0\.00/100%\)'
  check "-p on a terminal: byte-identical" cmp src.raw p2.raw
  out=$(script -qec "$VD_IMG_BIN convert -p -q src.raw p2.raw" /dev/null)
  is "-p -q on a terminal prints nothing" "$out" ""
else
  skip "-p on a terminal (script(1) is not installed)"
fi
rm -f p.raw p2.raw

# Accepted options with qemu-img's meanings.
for opts in "-t unsafe" "-t writeback" "-t none" "-T none" "-U" "-m 16" \
  "-W" "-m 4 -W" "--target-is-zero -n"; do
  rm -f acc.raw
  case $opts in *-n*) vd_img create -q acc.raw 64M ;; esac
  check "accepts $opts" vd_img convert $opts src.raw acc.raw
  check "... byte-identical" cmp src.raw acc.raw
done
rm -f acc.raw

# Errors: one line, exit 1, nothing created.
expect_error () {
  _desc=$1 _pat=$2; shift 2
  _before=$(ls -A | wc -l)
  run_cmd o e rc vd_img "$@"
  is "$_desc: exit 1" "$rc" 1
  like "$_desc: message" "$e" "$_pat"
  is "$_desc: one line" "$(printf '%s\n' "$e" | wc -l)" 1
  is "$_desc: nothing created" "$(ls -A | wc -l)" "$_before"
}
expect_error "no target" "Must specify image file name" convert src.raw
expect_error "no arguments" "Must specify image file name" convert
expect_error "missing source" "^vd-img: nosuch.raw: No such file" \
  convert nosuch.raw x.raw
expect_error "unknown -O" "Unknown file format 'bogus'" convert -O bogus src.raw x.raw
expect_error "unknown -f" "Unknown file format 'bogus'" convert -f bogus src.raw x.raw
expect_error "-S not a multiple of 512" "Invalid buffer size for sparse output" \
  convert -S 1000 src.raw x.raw
expect_error "-S too large" "Invalid buffer size for sparse output" \
  convert -S 32M src.raw x.raw
expect_error "-m 0" "Invalid number of coroutines" convert -m 0 src.raw x.raw
expect_error "-m 17" "Invalid number of coroutines" convert -m 17 src.raw x.raw
expect_error "-m junk" "Invalid number of coroutines" convert -m 2x src.raw x.raw
expect_error "bad -t" "Invalid cache option: bogus" convert -t bogus src.raw x.raw
expect_error "bad -T" "Invalid source cache option: bogus" convert -T bogus src.raw x.raw
expect_error "-c into raw" "x.raw: format 'raw' does not support compressed writes" \
  convert -c src.raw x.raw
expect_error "-B into raw" "x.raw: format 'raw' cannot have a backing file" \
  convert -B src.raw src.raw x.raw
expect_error "--target-is-zero without -n" "--target-is-zero requires use of -n" \
  convert --target-is-zero src.raw x.raw
expect_error "-o with -n" "-o has no effect when skipping image creation" \
  convert -n -o preallocation=full src.raw out.raw
expect_error "unknown -o option" "invalid option 'foo' for format 'raw'" \
  convert -o foo=bar src.raw x.raw
expect_error "-c with preallocation" "Compression and preallocation" \
  convert -c -o preallocation=full src.raw x.raw
expect_error "-n into a missing target" "x.raw: No such file" convert -n src.raw x.raw
vd_img create -q small.raw 1M
expect_error "-n into a smaller target" "small.raw: output file is smaller than input file" \
  convert -n src.raw small.raw
mkdir adir
expect_error "a folder as target" "adir: is a directory" convert src.raw adir
expect_error "a folder as source" "adir: is a directory" convert adir x.raw
expect_error "target in a missing folder" "nodir/x.raw: cannot create" \
  convert src.raw nodir/x.raw
run_cmd o e rc vd_img convert --bogus src.raw x.raw
is "an unknown option: exit 1" "$rc" 1
like "an unknown option: says how to get help" "$e" "Try 'vd-img convert --help'"

run_cmd o e rc vd_img convert --help
is "--help exits 0" "$rc" 0
like "--help shows the synopsis" "$o" "convert \[-f FMT\] \[-O OUTFMT\]"

done_testing
