#!/bin/bash
# vd-img convert interrupted by SIGINT or SIGTERM: it dies of the signal
# (non-zero status), says so on one line, and leaves neither DST nor a
# temporary file; an existing DST keeps its content.
. "$top_srcdir/tests/functions.sh"
requires python3

cd "$tmp"
mkdir out
# Data-heavy (every block non-zero) so the copy takes a while.
python3 -c '
with open("src.raw", "wb") as f:
    f.truncate(256 << 20)
    block = bytes(range(1, 256)) * 4112
    for off in range(0, 256 << 20, 4 << 20):
        f.seek(off); f.write(block[:1 << 20])
'
head -c 4096 /dev/urandom >keep.expect

for sig in INT TERM; do
  for existing in no yes; do
    rm -f out/*
    [ $existing = yes ] && cp keep.expect out/dst.raw
    what="SIG$sig$( [ $existing = yes ] && echo ' over an existing target')"
    # -t writeback: the copy ends with a flush, keeping the window open.
    # Not through the vd_img function: the signal must reach the process.
    $VALGRIND_CMD "$VD_IMG_BIN" convert -t writeback src.raw out/dst.raw \
      2>"$cap/err" &
    pid=$!
    seen=no
    for _ in $(seq 1000); do
      if ls -A out | grep -q vdtmp; then seen=yes; break; fi
      sleep 0.01
    done
    kill -STOP $pid 2>/dev/null
    is "$what: the temporary file was seen while converting" "$seen" yes
    kill -$sig $pid
    kill -CONT $pid 2>/dev/null
    wait $pid
    rc=$?
    case $sig in INT) want=130 ;; TERM) want=143 ;; esac
    is "$what: dies of the signal" "$rc" $want
    like "$what: says so" "$(cat "$cap/err")" \
      "^vd-img: convert interrupted; out/dst.raw was not written$"
    if [ $existing = yes ]; then
      is "$what: only the old target is left" "$(ls -A out)" "dst.raw"
      check "$what: the old target is untouched" cmp out/dst.raw keep.expect
    else
      is "$what: nothing is left" "$(ls -A out)" ""
    fi
  done
done

done_testing
