# Shared by the guest-tool tests (tests/guest/*.sh), after functions.sh:
# when to run, the appliance settings, the fixture guests, and skipping
# cleanly where the appliance cannot launch.
#
# Appliance launches are the cost of these tests (15-30 s each under TCG):
# each test groups many checks on the output of one run.  They run in the
# main pass of ./run-tests only (VD_PASS=main, or VD_PASS unset when make
# check is run by hand); the ASan and valgrind passes skip them.

case ${VD_PASS:-main} in
main) ;;
*) skip_all "guest tests run only in the main pass of run-tests (this is the $VD_PASS pass)" ;;
esac
[ -x "$top_builddir/tools/vd-ls" ] ||
  skip_all "the guest tools were not built (configure --disable-guest-tools)"
PATH="$PATH:/usr/sbin:/sbin"
requires mke2fs debugfs sfdisk perl

# Where KVM is missing or broken, TCG works (slower).  A developer with a
# working KVM can set LIBGUESTFS_BACKEND_SETTINGS= (empty) to use it.
: "${LIBGUESTFS_BACKEND:=direct}"
: "${LIBGUESTFS_BACKEND_SETTINGS=force_tcg}"
export LIBGUESTFS_BACKEND LIBGUESTFS_BACKEND_SETTINGS
# virt-ls and vd-ls print times in local time.
TZ=UTC
export TZ

VD_LS_BIN="$top_builddir/tools/vd-ls"
VD_CAT_BIN="$top_builddir/tools/vd-cat"
vd_ls () { "$VD_LS_BIN" "$@"; }
vd_cat () { "$VD_CAT_BIN" "$@"; }

# fixture NAME...: build (or reuse) the test guests; sets $fixdir.
fixture () {
  fixdir=$(sh "$top_srcdir/tests/fixtures/make-guests.sh" \
    "$top_builddir/tests/fixtures/cache" "$@") ||
    skip_all "the fixture guests ($*) could not be built"
}

# launch_or_skip RC STDERR: after the first appliance run of a test, skip
# the whole test if the appliance cannot launch on this machine at all
# (that is the machine, not vdtools; the message says what to fix).
launch_or_skip () {
  if [ "$1" != 0 ] && printf '%s\n' "$2" | grep -q 'appliance failed to launch'; then
    [ "$_tap_n" = 0 ] ||
      { not_ok "the appliance launched earlier in this test, not now"; diag "$2"; done_testing; }
    skip_all "the libguestfs appliance cannot launch here: $(printf '%s' "$2" | head -1)"
  fi
}

# A libvirt test-driver node naming the fixtures (no daemon needed).
make_node_xml () {
  sed -e "s|@LINUX_IMG@|$fixdir/linux.img|" -e "s|@BLANK_IMG@|$fixdir/blank.img|" \
    "$top_srcdir/tests/guest/test-node.xml" > "$tmp/node.xml"
  node_uri="test://$tmp/node.xml"
}
