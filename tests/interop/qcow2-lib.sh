# Helpers shared by the qcow2 interop tests (sourced after functions.sh).
# vdio drives libvd; the oracle is qemu-img / qemu-io on the same files.

VDIO_BIN="$top_builddir/tests/interop/vdio"
vdio () { $VALGRIND_CMD "$VDIO_BIN" "$@"; }
[ -x "$VDIO_BIN" ] || skip_all "tests/interop/vdio is not built"

# The matrix: "CLUSTER_SIZE OPTIONS BACKING COMPRESSED" per line.  Every
# cluster size is run with v2 and v3, refcount widths 1, 16 and 64, with
# and without a backing file, and with zlib and zstd compressed clusters.
qcow2_matrix () {
  for cs in 512 65536 2097152; do
    echo "$cs compat=0.10 no -"
    echo "$cs compat=0.10 yes zlib"
    echo "$cs compat=1.1,refcount_bits=1 yes -"
    echo "$cs compat=1.1,refcount_bits=64 no zlib"
    echo "$cs compat=1.1,compression_type=zstd yes zstd"
    echo "$cs compat=1.1,lazy_refcounts=on no zlib"
    [ "$cs" -ge 16384 ] && echo "$cs compat=1.1,extended_l2=on yes zlib"
  done
}

# The virtual size used for cluster size CS (in bytes).
qcow2_size () {
  if [ "$1" -ge 2097152 ]; then echo $((16 << 20)); else echo $((8 << 20)); fi
}

# make_base SIZE: base.qcow2 (1 MiB smaller than SIZE, so reads past its
# end are zeros) with a pattern and a zeroed range, written by qemu-io.
make_base () {
  qemu-img create -q -f qcow2 base.qcow2 $(($1 - 1048576)) &&
  qemu-io -c "write -P 0x77 0 $(($1 - 1048576))" -c "write -z 1M 1M" \
    base.qcow2 >/dev/null
}

# The qemu-img check summary must say no errors and no leaks.
check_clean () {
  _out=$(qemu-img check "$1" 2>&1)
  _rc=$?
  if [ $_rc -eq 0 ] && printf '%s\n' "$_out" | grep -q "No errors were found"; then
    return 0
  fi
  printf '%s\n' "$_out" | sed 's/^/# /'
  return 1
}
