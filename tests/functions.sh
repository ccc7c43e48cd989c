# Shared by the shell tests: TAP output, a private scratch folder removed
# at exit, and the built tools (run under valgrind when VD_VALGRIND=1).
# Usage: . "$top_srcdir/tests/functions.sh" at the top of a test.

set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
export top_builddir top_srcdir

VD_IMG_BIN="$top_builddir/tools/vd-img"
VALGRIND_CMD=""
if [ "${VD_VALGRIND:-0}" = 1 ] && command -v valgrind >/dev/null; then
  VALGRIND_CMD="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
fi

vd_img () { $VALGRIND_CMD "$VD_IMG_BIN" "$@"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vdtest.XXXXXX")
# Captured output lives outside $tmp so tests can count files there.
cap=$(mktemp -d "${TMPDIR:-/tmp}/vdcap.XXXXXX")
cleanup_hooks=""
on_exit () {
  for h in $cleanup_hooks; do "$h" || :; done
  rm -rf "$tmp" "$cap"
}
trap on_exit EXIT
# Add a function to run at exit (servers to stop, ...).
at_exit () { cleanup_hooks="$cleanup_hooks $1"; }

_tap_n=0
_tap_failed=0

ok () { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok () {
  _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1))
  echo "not ok $_tap_n - $*"
}
skip () { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - # SKIP $*"; }
diag () { echo "# $*"; }

# check DESCRIPTION COMMAND...: one check that COMMAND succeeds.
check () {
  _d=$1; shift
  if "$@"; then ok "$_d"; else not_ok "$_d"; fi
}

# check_fails DESCRIPTION COMMAND...: COMMAND must exit non-zero.
check_fails () {
  _d=$1; shift
  if "$@"; then not_ok "$_d (succeeded)"; else ok "$_d"; fi
}

# is DESCRIPTION GOT EXPECTED
is () {
  if [ "$2" = "$3" ]; then ok "$1"
  else
    not_ok "$1"
    diag "got:      '$2'"
    diag "expected: '$3'"
  fi
}

# like DESCRIPTION TEXT PATTERN (grep -E)
like () {
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"
  else
    not_ok "$1"
    diag "got:      '$2'"
    diag "expected to match: '$3'"
  fi
}

# Skip the whole script (TAP "1..0 # SKIP").
skip_all () { echo "1..0 # SKIP $*"; trap - EXIT; rm -rf "$tmp" "$cap"; exit 0; }

# Skip unless each named program exists.
requires () {
  for _p in "$@"; do
    command -v "$_p" >/dev/null 2>&1 || skip_all "$_p is not installed"
  done
}

done_testing () { echo "1..$_tap_n"; exit 0; }

# run_cmd OUTVAR ERRVAR RCVAR COMMAND...: capture stdout, stderr, status.
run_cmd () {
  _o=$1 _e=$2 _r=$3; shift 3
  "$@" >"$cap/out" 2>"$cap/err"
  eval "$_r=\$?"
  eval "$_o=\$(cat \"\$cap/out\")"
  eval "$_e=\$(cat \"\$cap/err\")"
}
