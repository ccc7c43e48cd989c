#!/bin/sh
# The code follows the root .clang-format (STYLE: one format, checked).
. "$top_srcdir/tests/functions.sh"
requires clang-format

cd "$top_srcdir"
for f in $(find lib tools inspect tests bench -name '*.[ch]' 2>/dev/null | sort); do
  if clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    ok "$f is formatted"
  else
    not_ok "$f is formatted (run: clang-format -i $f)"
  fi
done
done_testing
