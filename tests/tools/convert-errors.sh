#!/bin/bash
# vd-img convert failures: the target cannot be written (a file size
# limit, a folder nobody may create files in), a source that cannot be
# read.  Each gives exit 1 and one clear line, leaves nothing at DST or
# under a temporary name, and an existing DST is untouched.
. "$top_srcdir/tests/functions.sh"
requires python3

cd "$tmp"
mkdir out
python3 - <<'EOF'
import random
r = random.Random(7)
with open("src.raw", "wb") as f:
    f.truncate(32 << 20)
    for i in range(16):
        f.seek(i << 21); f.write(r.randbytes(256 << 10))
EOF
head -c 4096 /dev/urandom >out/keep.raw
cp out/keep.raw keep.expect

# expect_failure DESC PATTERN COMMAND...: exit 1, one matching line, and
# the folder out/ holds only keep.raw, unchanged.
expect_failure () {
  _desc=$1 _pat=$2; shift 2
  run_cmd o e rc "$@"
  is "$_desc: exit 1" "$rc" 1
  like "$_desc: message" "$e" "$_pat"
  is "$_desc: one line" "$(printf '%s\n' "$e" | wc -l)" 1
  is "$_desc: no file left behind" "$(ls -A out)" "keep.raw"
  check "$_desc: the existing target is untouched" cmp out/keep.raw keep.expect
}

# A file size limit (RLIMIT_FSIZE): writes past it fail with EFBIG
# (SIGXFSZ ignored, as a shell with 'trap "" XFSZ' does), even as root.
limited () { ( trap '' XFSZ; ulimit -f 8192; vd_img "$@" ); }
expect_failure "new target past a file size limit" \
  "out/keep.raw: .*File too large" limited convert src.raw out/keep.raw

# In place (-n), the limit is hit mid-way, after 8 MiB were written.
vd_img create -q inplace.raw 32M
run_cmd o e rc limited convert -n src.raw inplace.raw
is "-n past a file size limit: exit 1" "$rc" 1
like "-n past a file size limit: says where" "$e" \
  "^vd-img: inplace.raw: write error at offset [0-9]+: File too large$"
check "-n past a file size limit: what came before the limit is written" \
  cmp -n $((8 << 20)) src.raw inplace.raw

# A folder in which no file may be created, even by root (immutable).
if chattr +i out 2>/dev/null; then
  run_cmd o e rc vd_img convert src.raw out/new.raw
  chattr -i out
  is "immutable folder: exit 1" "$rc" 1
  like "immutable folder: message" "$e" "out/new.raw: cannot create a file in that folder: Operation not permitted"
  is "immutable folder: nothing created" "$(ls -A out)" "keep.raw"
elif [ "$(id -u)" != 0 ]; then
  chmod 555 out
  run_cmd o e rc vd_img convert src.raw out/new.raw
  chmod 755 out
  is "read-only folder: exit 1" "$rc" 1
  like "read-only folder: message" "$e" "out/new.raw: cannot create a file in that folder"
  is "read-only folder: nothing created" "$(ls -A out)" "keep.raw"
else
  skip "read-only folder (chattr +i is not supported here)"
fi

# Sources that cannot be read.
expect_failure "missing source" "^vd-img: nosuch.raw: No such file" \
  vd_img convert src.raw nosuch.raw out/keep.raw
chmod 000 src.raw
if [ "$(id -u)" != 0 ]; then
  expect_failure "unreadable source" "src.raw: Permission denied" \
    vd_img convert src.raw out/keep.raw
else
  skip "unreadable source (root reads anything)"
fi
chmod 644 src.raw

# With qcow2: a source truncated after its header (clusters past the end
# of the file), and a qcow2 target that grows past a file size limit
# mid-way.
formats=$(vd_img --help | sed -n 's/^Supported formats://p')
case " $formats " in
  *" qcow2 "*)
    vd_img convert -O qcow2 src.raw cut.qcow2
    truncate -s 2M cut.qcow2
    expect_failure "truncated qcow2 source" \
      "^vd-img: cut.qcow2: .*past the end of the file" \
      vd_img convert cut.qcow2 out/keep.raw
    rm -f cut.qcow2
    limited2 () { ( trap '' XFSZ; ulimit -f 2048; vd_img "$@" ); }
    expect_failure "qcow2 target past a file size limit mid-way" \
      "out/keep.raw: .*File too large" limited2 convert -O qcow2 src.raw out/keep.raw
    ;;
  *) skip "qcow2 failures (no qcow2 driver in this build)" ;;
esac

# A source that shrinks while it is read: the read past its new end fails.
head -c 128M /dev/zero | tr '\0' 'x' >shrink.raw
$VALGRIND_CMD "$VD_IMG_BIN" convert shrink.raw out/keep.raw 2>"$cap/shrink.err" &
pid=$!
# Run it in slices, frozen in between, until it has written data to its
# temporary file (so it is walking the source's one data extent); shrink
# the source while it is frozen mid-copy.
kill -STOP $pid
for _ in $(seq 3000); do
  kill -CONT $pid
  sleep 0.002
  kill -STOP $pid
  t=$(ls -A out | grep vdtmp)
  [ -n "$t" ] && [ "$(stat -c %b "out/$t")" -gt 64 ] && break
done
truncate -s 1M shrink.raw
kill -CONT $pid
wait $pid
rc=$?
is "source shrinking mid-way: exit 1" "$rc" 1
like "source shrinking mid-way: message" "$(cat "$cap/shrink.err")" \
  "^vd-img: shrink.raw: unexpected end of file reading"
is "source shrinking mid-way: no file left behind" "$(ls -A out)" "keep.raw"
check "source shrinking mid-way: the target is untouched" cmp out/keep.raw keep.expect
rm -f shrink.raw

done_testing
