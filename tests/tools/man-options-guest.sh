#!/bin/sh
# For each guest tool: every option its --help lists is documented in its
# man page, and every option the man page documents (=item B<-x>) is in
# --help; the pages render without POD errors.
. "$top_srcdir/tests/functions.sh"
requires podchecker
[ -x "$top_builddir/tools/vd-ls" ] ||
  skip_all "the guest tools were not built (configure --disable-guest-tools)"

for tool in vd-ls vd-cat vd-edit vd-inspect vd-df; do
  pod="$top_srcdir/man/$tool.pod"
  # Options are the lines after "Options:" that start with a dash.
  help_opts=$("$top_builddir/tools/$tool" --help | sed -n '/^Options:/,$p' |
    grep -E '^  -' | grep -oE -- '(^  |\|)--?[A-Za-z][-A-Za-z]*' |
    sed 's/^ *//; s/^|//' | sort -u)
  man_opts=$(grep -oE '^=item B<--?[A-Za-z][-A-Za-z]*' "$pod" |
    sed 's/^=item B<//' | sort -u)
  [ -n "$help_opts" ] || not_ok "$tool --help lists options"
  for o in $help_opts; do
    if printf '%s\n' "$man_opts" | grep -qx -- "$o"; then ok "$tool man page documents $o"
    else not_ok "$tool man page documents $o"; fi
  done
  for o in $man_opts; do
    if printf '%s\n' "$help_opts" | grep -qx -- "$o"; then ok "$tool --help shows $o"
    else not_ok "$tool --help shows $o (documented in the man page)"; fi
  done
  check "$tool.pod: podchecker finds no errors" \
    sh -c "podchecker '$pod' 2>&1 | grep -q 'pod syntax OK'"
done

done_testing
