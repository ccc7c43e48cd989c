/* Unit tests for tools/edit-expr.c, vd-edit's sed-style -e language:
 * substitutions compared with what sed -E does (delimiters, escapes,
 * back-references, flags, empty matches), line ends kept (CRLF, no final
 * newline), NUL bytes in lines, and bad expressions refused with a
 * message that says what is wrong. */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vd.h"
#include "edit-expr.h"

/* Apply EXPRS (NULL-terminated) to IN (LEN bytes); the result in *OUT. */
static void
run (const char *const *exprs, const char *in, size_t len, char **out,
     size_t *outlen, bool *changed)
{
  struct edit_script s = { NULL, 0 };
  size_t i;

  for (i = 0; exprs[i]; i++)
    if (edit_script_add (&s, exprs[i]) == -1)
      fail_msg ("'%s' was refused: %s", exprs[i], vd_error ());
  if (edit_script_apply (&s, in, len, out, outlen, changed) == -1)
    fail_msg ("applying failed: %s", vd_error ());
  edit_script_free (&s);
}

static void
test_substitutions_match_sed (void **state)
{
  /* Each expected output is what GNU sed -E prints for the same input and
   * expression (checked when the table was written), except where marked
   * POSIX: there GNU sed gives \D its special meaning when the delimiter
   * D is special in a regex, and POSIX (and we) take it literally. */
  static const struct {
    const char *expr, *in, *out;
  } cases[] = {
    { "s/a/b/", "aaa\n", "baa\n" },
    { "s/a/b/g", "aaa\n", "bbb\n" },
    { "s/a/b/2", "aaa\n", "aba\n" },
    { "s/a/b/2g", "aaaa\n", "abbb\n" },
    { "s/a/b/g2", "aaaa\n", "abbb\n" },
    { "s/A/b/i", "aAa\n", "bAa\n" },
    { "s/A/b/Ig", "aAa\n", "bbb\n" },
    { "s/x/y/", "abc\n", "abc\n" },
    /* Every line, not just the first. */
    { "s/o/0/", "foo\nboo\nno\n", "f0o\nb0o\nn0\n" },
    /* Anchors are per line; ^ only at the start even with g. */
    { "s/^a/X/g", "aaa\naa\n", "Xaa\nXa\n" },
    { "s/a$/X/", "aaa\nab\n", "aaX\nab\n" },
    { "s/^/> /", "one\n\ntwo\n", "> one\n> \n> two\n" },
    { "s/$/;/", "a\nb", "a;\nb;" },
    /* Groups, & and \0. */
    { "s/([a-z]+)=([0-9]+)/\\2=\\1/", "key=42\n", "42=key\n" },
    { "s/[0-9]+/<&>/g", "a1b22c333\n", "a<1>b<22>c<333>\n" },
    { "s/b+/[\\0]/", "abbbc\n", "a[bbb]c\n" },
    { "s/b/\\&/", "abc\n", "a&c\n" },
    { "s/b/\\\\/", "abc\n", "a\\c\n" },
    { "s/(x)?b/[\\1]/", "abc\n", "a[]c\n" },
    /* Other delimiters, and the delimiter escaped inside. */
    { "s|/usr/bin|/opt/bin|", "PATH=/usr/bin\n", "PATH=/opt/bin\n" },
    { "s#a#b#g", "aa\n", "bb\n" },
    { "s,\\,,;,g", "a,b,c\n", "a;b;c\n" },
    { "s/\\//_/g", "a/b/c\n", "a_b_c\n" },
    { "s|b\\|c|X|", "a/b|c\n", "a/X\n" },     /* POSIX */
    { "s.a\\.b.X.", "acb a.b\n", "acb X\n" }, /* POSIX */
    { "sxaxbx", "cat\n", "cbt\n" },
    /* A delimiter inside a bracket expression does not end the regex. */
    { "s/[/]/X/", "a/b\n", "aXb\n" },
    { "s/[]/]/X/g", "a]b/c\n", "aXbXc\n" },
    { "s/[^/]+$/F/", "/dir/file\n", "/dir/F\n" },
    { "s/[[:digit:]/]+/N/", "x12/3y\n", "xNy\n" },
    /* \t and \n. */
    { "s/\\t/ /g", "a\tb\tc\n", "a b c\n" },
    { "s/,/\\t/", "a,b\n", "a\tb\n" },
    { "s/ /\\n/", "a b\n", "a\nb\n" },
    /* Backslash escapes passed on to the regex. */
    { "s/\\./!/g", "a.b.c\n", "a!b!c\n" },
    { "s/a\\+b/X/", "a+b aab\n", "X aab\n" },
    /* Empty matches: sed's rules. */
    { "s/x*/-/g", "abc\n", "-a-b-c-\n" },
    { "s/x*/-/g", "xab\n", "-a-b-\n" },
    { "s/a*/x/g", "baaac\n", "xbxcx\n" },
    { "s/x*/-/g", "\n", "-\n" },
    { "s/x*/-/2", "abc\n", "a-bc\n" },
    /* Real configuration edits. */
    { "s/^(root:)[^:]*:/\\1:/", "root:$6$xyz:19000:0\nbin:*:1\n",
      "root::19000:0\nbin:*:1\n" },
    { "s/^#?(PermitRootLogin) .*/\\1 no/", "#PermitRootLogin yes\nPort 22\n",
      "PermitRootLogin no\nPort 22\n" },
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *exprs[] = { cases[i].expr, NULL };
    char *out;
    size_t outlen;
    bool changed;

    run (exprs, cases[i].in, strlen (cases[i].in), &out, &outlen, &changed);
    if (outlen != strlen (cases[i].out) || memcmp (out, cases[i].out, outlen))
      fail_msg ("'%s' on [%s] gave [%.*s], expected [%s]", cases[i].expr,
                cases[i].in, (int) outlen, out, cases[i].out);
    if (changed != (strcmp (cases[i].in, cases[i].out) != 0))
      fail_msg ("'%s' on [%s]: changed is %d", cases[i].expr, cases[i].in,
                changed);
    free (out);
  }
}

static void
test_several_expressions_apply_in_order (void **state)
{
  static const char *const exprs[] = { "s/a/b/g", "s/b/c/", "s/^c/[&]/", NULL };
  char *out;
  size_t outlen;
  bool changed;

  (void) state;
  /* Line 1: aab -> bbb -> cbb -> [c]bb.  Line 2: xb -> xb -> xc. */
  run (exprs, "aab\nxb\n", 7, &out, &outlen, &changed);
  assert_int_equal (outlen, 9);
  assert_memory_equal (out, "[c]bb\nxc\n", 9);
  assert_true (changed);
  free (out);
}

static void
test_line_ends_are_kept (void **state)
{
  static const struct {
    const char *in, *out;
  } cases[] = {
    /* CRLF: $ matches before the \r, which stays. */
    { "one\r\ntwo\r\n", "one;\r\ntwo;\r\n" },
    /* No final newline: none is added. */
    { "one\ntwo", "one;\ntwo;" },
    { "one\r\ntwo", "one;\r\ntwo;" },
    /* Mixed ends stay mixed. */
    { "a\r\nb\nc\r\n", "a;\r\nb;\nc;\r\n" },
    /* A lone \r inside a line is data. */
    { "a\rb\n", "a\rb;\n" },
    { "", "" },
    { "\n", ";\n" },
    { "\r\n", ";\r\n" },
  };
  static const char *const exprs[] = { "s/$/;/", NULL };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *out;
    size_t outlen;
    bool changed;

    run (exprs, cases[i].in, strlen (cases[i].in), &out, &outlen, &changed);
    if (outlen != strlen (cases[i].out) || memcmp (out, cases[i].out, outlen))
      fail_msg ("case %zu: got [%.*s], expected [%s]", i, (int) outlen, out,
                cases[i].out);
    free (out);
  }
}

static void
test_unchanged_text_is_reported_unchanged (void **state)
{
  static const char *const same[] = { "s/b/b/g", "s/(a)/\\1/", NULL };
  static const char in[] = "abc\r\nabc";
  char *out;
  size_t outlen;
  bool changed = true;

  (void) state;
  run (same, in, sizeof in - 1, &out, &outlen, &changed);
  assert_false (changed);
  assert_int_equal (outlen, sizeof in - 1);
  assert_memory_equal (out, in, outlen);
  free (out);
}

static void
test_lines_with_nul_bytes (void **state)
{
  static const char *const exprs[] = { "s/b/X/g", NULL };
  static const char in[] = "a\0b\nb\0b";
  static const char expected[] = "a\0X\nX\0X";
  char *out;
  size_t outlen;
  bool changed;

  (void) state;
  assert_true (edit_is_binary (in, sizeof in - 1));
  assert_false (edit_is_binary ("text\r\n", 6));
  assert_false (edit_is_binary ("", 0));
  run (exprs, in, sizeof in - 1, &out, &outlen, &changed);
  assert_int_equal (outlen, sizeof expected - 1);
  assert_memory_equal (out, expected, outlen);
  free (out);
}

static void
test_large_growth (void **state)
{
  static const char *const exprs[] = { "s/x/0123456789/g", NULL };
  size_t n = 100000, i;
  char *in = malloc (n), *out;
  size_t outlen;
  bool changed;

  (void) state;
  assert_non_null (in);
  memset (in, 'x', n);
  run (exprs, in, n, &out, &outlen, &changed);
  assert_int_equal (outlen, n * 10);
  for (i = 0; i < outlen; i++)
    if (out[i] != (char) ('0' + i % 10))
      fail_msg ("byte %zu is %c", i, out[i]);
  free (in);
  free (out);
}

static void
test_bad_expressions_are_refused (void **state)
{
  static const struct {
    const char *expr, *msg;
  } cases[] = {
    { "", "-e '': not a substitution: -e takes sed-style "
          "s/REGEX/REPLACEMENT/FLAGS (not Perl)" },
    { "y/a/b/", "-e 'y/a/b/': not a substitution" },
    { "$_ = \"\" if /^apache:/", "not a substitution" },
    { "s", "-e 's': unterminated expression (expected "
           "s/REGEX/REPLACEMENT/FLAGS)" },
    { "s/a", "-e 's/a': unterminated expression" },
    { "s/a/b", "-e 's/a/b': unterminated expression" },
    { "s/a\\/b/", "-e 's/a\\/b/': unterminated expression" },
    { "s/a/b\\", "unterminated expression" },
    { "s/[/]/", "unterminated expression" },
    { "s\\a\\b\\", "-e 's\\a\\b\\': the delimiter after s cannot be a "
                   "backslash or a newline" },
    { "s//x/", "-e 's//x/': empty regular expression" },
    { "s/(/x/", "-e 's/(/x/': bad regular expression: " },
    { "s/a{2/x/", "bad regular expression" },
    { "s/[b-a]/x/", "bad regular expression" },
    { "s/a/\\1/", "-e 's/a/\\1/': \\1 in the replacement refers to a group "
                  "the regular expression does not have (it has 0)" },
    { "s/(a)(b)/\\3/", "\\3 in the replacement refers to a group the "
                       "regular expression does not have (it has 2)" },
    { "s/a/\\U&/", "-e 's/a/\\U&/': unknown escape \\U in the replacement "
                   "(write \\\\ for a backslash)" },
    { "s/a/\\q/", "unknown escape \\q" },
    { "s/a/b/x", "-e 's/a/b/x': unknown flag 'x' (the flags are g, i and a "
                 "number N)" },
    { "s/a/b/p", "unknown flag 'p'" },
    { "s/a/b/ g", "unknown flag ' '" },
    { "s/a/b/gg", "-e 's/a/b/gg': the flag 'g' is given twice" },
    { "s/a/b/iI", "the flag 'I' is given twice" },
    { "s/a/b/0", "-e 's/a/b/0': the number flag counts matches from 1" },
    { "s/a/b/2g3", "-e 's/a/b/2g3': more than one number flag" },
    { "s/a/b/99999999999", "the number flag is too large" },
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct edit_script s = { NULL, 0 };

    if (edit_script_add (&s, cases[i].expr) != -1)
      fail_msg ("'%s' was accepted", cases[i].expr);
    if (!strstr (vd_error (), cases[i].msg))
      fail_msg ("'%s': message [%s], expected it to hold [%s]", cases[i].expr,
                vd_error (), cases[i].msg);
    assert_int_equal (vd_errno (), EINVAL);
    assert_int_equal (s.n, 0);
    edit_script_free (&s);
  }
}

/* A refused expression leaves the ones before it in place. */
static void
test_refused_expression_keeps_the_script (void **state)
{
  struct edit_script s = { NULL, 0 };

  (void) state;
  assert_int_equal (edit_script_add (&s, "s/a/b/"), 0);
  assert_int_equal (edit_script_add (&s, "s/(/b/"), -1);
  assert_int_equal (s.n, 1);
  edit_script_free (&s);
  assert_int_equal (s.n, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_substitutions_match_sed),
    cmocka_unit_test (test_several_expressions_apply_in_order),
    cmocka_unit_test (test_line_ends_are_kept),
    cmocka_unit_test (test_unchanged_text_is_reported_unchanged),
    cmocka_unit_test (test_lines_with_nul_bytes),
    cmocka_unit_test (test_large_growth),
    cmocka_unit_test (test_bad_expressions_are_refused),
    cmocka_unit_test (test_refused_expression_keeps_the_script),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
