#!/bin/sh
# A short, bounded libFuzzer run of each harness (TAP): seeds are images
# made by vd-img and qemu-img at run time.  Any crash, leak or timeout
# fails.  FUZZ_SECONDS sets the time per harness (default 20).
. "$top_srcdir/tests/functions.sh"

secs=${FUZZ_SECONDS:-20}
harnesses=$(ls "$top_builddir"/tests/fuzz/fuzz-* 2>/dev/null | grep -v '\.[a-z]*$' || true)
[ -n "$harnesses" ] || skip_all "no fuzz harnesses built (configure --enable-fuzzing with clang)"

seeds="$tmp/seeds"
mkdir -p "$seeds"
if [ -x "$top_builddir/tools/vd-img" ]; then
  vd_img create -q -f raw "$tmp/s.raw" 64k && cp "$tmp/s.raw" "$seeds/raw"
fi
if command -v qemu-img >/dev/null; then
  for f in qcow2 vmdk vdi vhdx vpc; do
    qemu-img create -q -f $f "$tmp/s.$f" 1M 2>/dev/null && cp "$tmp/s.$f" "$seeds/$f"
  done
fi
# VMDK seeds with grains in them (sparse, and a stream of compressed
# grains), so the fuzzer starts inside the grain tables.
if command -v qemu-img >/dev/null; then
  { yes vdtools | head -c 150000; } > "$tmp/d.raw" && truncate -s 1M "$tmp/d.raw"
  for sf in monolithicSparse streamOptimized; do
    qemu-img convert -O vmdk -o subformat=$sf "$tmp/d.raw" "$tmp/s-$sf.vmdk" \
      2>/dev/null && cp "$tmp/s-$sf.vmdk" "$seeds/vmdk-$sf"
  done
fi
# vdi, vhdx and vpc images with a block of data, made through libvd.
if [ -x "$top_builddir/tests/interop/vhdio" ]; then
  for f in vdi vhdx:block_size=1M vpc vpc:subformat=fixed; do
    n=$(echo "$f" | tr ':=,' '---')
    vd_img create -q -f "${f%%:*}" -o "$(echo "$f:" | cut -d: -f2)" "$tmp/$n" 2M &&
      "$top_builddir/tests/interop/vhdio" "$tmp/$n" write 4096 8k 0x5a &&
      cp "$tmp/$n" "$seeds/$n"
  done
  # A VHDX whose last change is still in its log (the log parser).
  vd_img create -q -f vhdx -o block_size=1M "$tmp/vhdx-log" 2M &&
    "$top_builddir/tests/interop/vhdio" "$tmp/vhdx-log" write 0 4k 1 crash &&
    cp "$tmp/vhdx-log" "$seeds/vhdx-log"
fi
# qcow2 with data: small clusters, compressed and zero clusters, a
# snapshot, extended L2 entries, a backing file name.
if command -v qemu-io >/dev/null; then
  qemu-img create -q -f qcow2 -o cluster_size=512 "$tmp/d.qcow2" 256k &&
  qemu-io -c 'write -P 1 0 8k' -c 'write -c -P 2 64k 4k' -c 'write -z 100k 4k' \
    "$tmp/d.qcow2" >/dev/null && qemu-img snapshot -c s "$tmp/d.qcow2" &&
  cp "$tmp/d.qcow2" "$seeds/qcow2-data"
  qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=16k,compression_type=zstd \
    -b d.qcow2 -F qcow2 "$tmp/e.qcow2" 256k &&
  qemu-io -c 'write -P 3 2k 3k' -c 'write -c -P 4 32k 16k' "$tmp/e.qcow2" >/dev/null &&
  cp "$tmp/e.qcow2" "$seeds/qcow2-extl2"
fi
[ -d "$top_srcdir/tests/fuzz/seeds" ] && cp "$top_srcdir"/tests/fuzz/seeds/* "$seeds"/ 2>/dev/null

for h in $harnesses; do
  name=$(basename "$h")
  corpus="$tmp/corpus-$name"
  mkdir -p "$corpus"
  cp "$seeds"/* "$corpus"/ 2>/dev/null
  maxlen=1048576
  # A VHDX's regions start at 1 MiB steps: the smallest with data is 5 MiB.
  [ "$name" = fuzz-vhdx ] && maxlen=5242880
  if "$h" -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 \
      -malloc_limit_mb=512 -max_len=$maxlen -print_final_stats=1 \
      -artifact_prefix="$tmp/" "$corpus" >"$tmp/$name.log" 2>&1; then
    ok "$name ran $secs s clean ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$tmp/$name.log" | grep -o '[0-9]*$') runs)"
  else
    not_ok "$name found a problem"
    tail -40 "$tmp/$name.log" | sed 's/^/# /'
    ls "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-* 2>/dev/null | sed 's/^/# artifact: /'
  fi
done

done_testing
