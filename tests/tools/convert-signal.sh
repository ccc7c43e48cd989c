#!/bin/bash
# vd-img convert interrupted by SIGINT or SIGTERM: it dies of the signal
# (non-zero status), says so on one line, and leaves neither DST nor a
# temporary file; an existing DST keeps its content.
. "$top_srcdir/tests/functions.sh"

cd "$tmp"
mkdir out
# Data-heavy (every byte non-zero, one 128 MiB extent) so that the copy
# takes a while.
head -c 128M /dev/zero | tr '\0' 'x' >src.raw
head -c 4096 /dev/urandom >keep.expect

for sig in INT TERM; do
  for existing in no yes; do
    rm -f out/*
    [ $existing = yes ] && cp keep.expect out/dst.raw
    what="SIG$sig$( [ $existing = yes ] && echo ' over an existing target')"
    # Not through the vd_img function: the signal must reach the process.
    $VALGRIND_CMD "$VD_IMG_BIN" convert src.raw out/dst.raw 2>"$cap/err" &
    pid=$!
    # Run it in slices of a few milliseconds, frozen in between, until its
    # temporary file shows: it cannot finish while we look.
    kill -STOP $pid
    seen=no
    for _ in $(seq 3000); do
      kill -CONT $pid
      sleep 0.002
      kill -STOP $pid
      if ls -A out | grep -q vdtmp; then seen=yes; break; fi
      # (the copy finished: the test below reports it)
      [ "$(stat -c %s out/dst.raw 2>/dev/null)" = $((128 << 20)) ] && break
    done
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
