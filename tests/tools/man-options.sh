#!/bin/sh
# Every option vd-img's --help shows is documented in man/vd-img.pod and
# every option the man page documents is in --help (as libguestfs'
# podcheck does).  The man page also renders without pod errors.
. "$top_srcdir/tests/functions.sh"
requires podchecker

pod="$top_srcdir/man/vd-img.pod"
help=$(vd_img --help)
help_opts=$(printf '%s\n' "$help" | grep -oE -- '(^|[[ |])--?[A-Za-z][-A-Za-z]*' |
  sed 's/^[[ |]*//' | sort -u)
man_opts=$(grep -oE '^=item B<--?[A-Za-z][-A-Za-z]*>' "$pod" |
  sed 's/^=item B<//; s/>$//' | sort -u)
man_all=$(grep -oE 'B<--?[A-Za-z][-A-Za-z]*>' "$pod" | sed 's/^B<//; s/>$//' | sort -u)

for o in $help_opts; do
  if printf '%s\n' "$man_all" | grep -qx -- "$o"; then ok "man page documents $o"
  else not_ok "man page documents $o"; fi
done
for o in $man_opts; do
  if printf '%s\n' "$help_opts" | grep -qx -- "$o"; then ok "--help shows $o"
  else not_ok "--help shows $o (documented in the man page)"; fi
done
check "podchecker finds no errors" sh -c "podchecker '$pod' 2>&1 | grep -q 'pod syntax OK'"

done_testing
