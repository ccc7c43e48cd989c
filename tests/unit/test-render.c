/* Unit tests for tools/common/render.c: CSV quoting and the three forms of
 * a record table (text columns, CSV, JSON), and a failed write reported. */
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

#include "common/common.h"
#include "common/render.h"

static void
test_csv_quote_quotes_only_what_needs_it (void **state)
{
  static const struct {
    const char *in, *out;
  } cases[] = {
    { "", "" },
    { "abc", "abc" },
    { "/usr/bin/hello", "/usr/bin/hello" },
    { "caf\xc3\xa9", "caf\xc3\xa9" },
    { "a,b", "\"a,b\"" },
    { "say \"hi\"", "\"say \"\"hi\"\"\"" },
    { "\"", "\"\"\"\"" },
    { "two words", "\"two words\"" },
    { "tab\there", "\"tab\there\"" },
    { "line\nbreak", "\"line\nbreak\"" },
    { "cr\r", "\"cr\r\"" },
    { "comma, \"quoted\".txt", "\"comma, \"\"quoted\"\".txt\"" },
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *q = csv_quote (cases[i].in);
    assert_non_null (q);
    if (strcmp (q, cases[i].out) != 0)
      fail_msg ("csv_quote (\"%s\") = [%s], expected [%s]", cases[i].in, q,
                cases[i].out);
    free (q);
  }
}

/* Render the same two records in FMT and return what was written. */
static char *
render_sample (enum output_format fmt)
{
  struct output *o = output_new (fmt);
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);

  assert_non_null (o);
  assert_non_null (fp);
  assert_int_equal (output_record (o), 0);
  assert_int_equal (output_col (o, 0, 0, "-"), 0);
  assert_int_equal (output_colf (o, 0, 10, "%d", 300000), 0);
  assert_int_equal (output_colf (o, OUTPUT_NO_QUOTE, 0, "%4d", 0), 0);
  assert_int_equal (output_col (o, 0, -6, "my file, \"x\""), 0);
  assert_int_equal (output_json (o, "path", json_string ("my file")), 0);
  assert_int_equal (output_json (o, "size", json_integer (300000)), 0);
  assert_int_equal (output_json (o, "link", NULL), 0);
  assert_int_equal (output_record (o), 0);
  assert_int_equal (output_col (o, 0, 0, "l"), 0);
  assert_int_equal (output_col (o, OUTPUT_TEXT_ONLY, 0, "->"), 0);
  assert_int_equal (output_col (o, OUTPUT_CSV_ONLY, 0, ""), 0);
  assert_int_equal (output_col (o, 0, 0, "t"), 0);
  assert_int_equal (output_json (o, "path", json_string ("l")), 0);
  assert_int_equal (output_write (o, fp), 0);
  output_free (o);
  fclose (fp);
  return buf;
}

static void
test_text_pads_and_joins_with_spaces (void **state)
{
  char *s = render_sample (OUTPUT_TEXT);

  (void) state;
  assert_string_equal (s, "-     300000    0 my file, \"x\"\nl -> t\n");
  free (s);
}

static void
test_csv_quotes_and_does_not_pad (void **state)
{
  char *s = render_sample (OUTPUT_CSV);

  (void) state;
  assert_string_equal (s, "-,300000,   0,\"my file, \"\"x\"\"\"\nl,,t\n");
  free (s);
}

static void
test_json_is_an_array_of_objects (void **state)
{
  char *s = render_sample (OUTPUT_JSON);
  json_error_t err;
  json_t *j = json_loads (s, 0, &err);

  (void) state;
  assert_non_null (j);
  assert_true (json_is_array (j));
  assert_int_equal (json_array_size (j), 2);
  assert_string_equal (
      json_string_value (json_object_get (json_array_get (j, 0), "path")),
      "my file");
  assert_int_equal (
      json_integer_value (json_object_get (json_array_get (j, 0), "size")),
      300000);
  assert_true (json_is_null (json_object_get (json_array_get (j, 0), "link")));
  assert_int_equal (json_object_size (json_array_get (j, 1)), 1);
  json_decref (j);
  free (s);
}

static void
test_free_text_only_in_text_form (void **state)
{
  static const enum output_format fmts[] = { OUTPUT_TEXT, OUTPUT_CSV,
                                             OUTPUT_JSON };
  static const char *const want[] = { "total 8\nx\n", "x\n", "[]\n" };
  size_t i;

  (void) state;
  for (i = 0; i < 3; i++) {
    struct output *o = output_new (fmts[i]);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream (&buf, &len);

    assert_int_equal (output_text (o, "total 8\n"), 0);
    if (fmts[i] != OUTPUT_JSON) {
      output_record (o);
      output_col (o, 0, 0, "x");
    }
    assert_int_equal (output_write (o, fp), 0);
    output_free (o);
    fclose (fp);
    assert_string_equal (buf, want[i]);
    free (buf);
  }
}

static void
test_write_error_is_reported (void **state)
{
  struct output *o = output_new (OUTPUT_TEXT);
  FILE *fp = fopen ("/dev/full", "w");
  char big[8192];

  (void) state;
  if (!fp)
    skip ();
  memset (big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  output_record (o);
  output_col (o, 0, 0, big);
  errno = 0;
  assert_int_equal (output_write (o, fp), -1);
  assert_int_equal (errno, ENOSPC);
  output_free (o);
  fclose (fp);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_csv_quote_quotes_only_what_needs_it),
    cmocka_unit_test (test_text_pads_and_joins_with_spaces),
    cmocka_unit_test (test_csv_quotes_and_does_not_pad),
    cmocka_unit_test (test_json_is_an_array_of_objects),
    cmocka_unit_test (test_free_text_only_in_text_form),
    cmocka_unit_test (test_write_error_is_reported),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
