/* Unit tests for lib/util.c: size parsing and printing as qemu-img does
 * them, -o option lists, name resolution, zero detection. */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vd-internal.h"

static void
test_parse_size_accepts_qemu_spellings (void **state)
{
  static const struct {
    const char *s;
    uint64_t v;
  } cases[] = {
    { "0", 0 },
    { "512", 512 },
    { "1k", 1024 },
    { "1K", 1024 },
    { "512M", UINT64_C (512) << 20 },
    { "10G", UINT64_C (10) << 30 },
    { "10g", UINT64_C (10) << 30 },
    { "1.5T", UINT64_C (3) << 39 },
    { "1.5k", 1536 },
    { "2E", UINT64_C (2) << 60 },
    { "0x1000", 4096 },
    { "100b", 100 },
    { "1.k", 1024 },
    { "10GiB", UINT64_C (10) << 30 },
    { "0.5M", UINT64_C (512) << 10 },
    { "18446744073709551615", UINT64_MAX },
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint64_t v = 12345;
    if (vd_parse_size (cases[i].s, &v) != 0)
      fail_msg ("'%s' was refused: %s", cases[i].s, vd_error ());
    if (v != cases[i].v)
      fail_msg ("'%s' -> %" PRIu64 ", expected %" PRIu64, cases[i].s, v,
                cases[i].v);
  }
}

static void
test_parse_size_refuses_bad_input (void **state)
{
  static const char *const bad[] = {
    "",
    "-1",
    "-5G",
    "abc",
    "10X",
    "1.5",
    "10 G",
    "G",
    "1.5.5k",
    "16E",
    "18446744073709551616",
    "99999999999999999999999",
    "0x",
    "1e3",
    "0x10k",
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t v = 7;
    if (vd_parse_size (bad[i], &v) == 0)
      fail_msg ("'%s' was accepted as %" PRIu64, bad[i], v);
    assert_int_equal (v, 7);
    /* The message names the text. */
    assert_non_null (strstr (vd_error (), bad[i]));
  }
}

static void
test_size_to_str_matches_qemu (void **state)
{
  /* Values checked against qemu-img info's "virtual size:" output. */
  static const struct {
    uint64_t v;
    const char *s;
  } cases[] = {
    { 0, "0 B" },
    { 4, "4 B" },
    { 999, "999 B" },
    { 1000, "0.977 KiB" },
    { 1024, "1 KiB" },
    { 1536, "1.5 KiB" },
    { 4096, "4 KiB" },
    { 200704, "196 KiB" },
    { 1048576, "1 MiB" },
    { UINT64_C (10737418240), "10 GiB" },
    { UINT64_C (1649267441664), "1.5 TiB" },
  };
  size_t i;
  char buf[32];

  (void) state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    vd_size_to_str (cases[i].v, buf, sizeof buf);
    assert_string_equal (buf, cases[i].s);
  }
}

static void
test_opts_parse_and_get (void **state)
{
  struct vd_opts o = { 0 };
  uint64_t sz = 0;
  bool b = false;

  (void) state;
  assert_int_equal (vd_opts_parse (&o, "a=1,cluster_size=64k,lazy=on"), 0);
  assert_int_equal (vd_opts_parse (&o, "name=x,,y,flag"), 0);
  assert_int_equal (o.n, 5);
  assert_string_equal (vd_opts_get (&o, "a"), "1");
  assert_int_equal (vd_opts_get_size (&o, "cluster_size", &sz), 1);
  assert_int_equal (sz, 65536);
  assert_int_equal (vd_opts_get_bool (&o, "lazy", &b), 1);
  assert_true (b);
  assert_string_equal (vd_opts_get (&o, "name"), "x,y");
  /* A bare key means "on". */
  assert_string_equal (vd_opts_get (&o, "flag"), "on");
  assert_null (vd_opts_first_unused (&o));
  assert_int_equal (vd_opts_get_size (&o, "missing", &sz), 0);
  vd_opts_free (&o);
}

static void
test_opts_report_unused_and_bad_values (void **state)
{
  struct vd_opts o = { 0 };
  bool b;
  uint64_t v;

  (void) state;
  assert_int_equal (vd_opts_parse (&o, "x=maybe,y=12q,z=1"), 0);
  assert_int_equal (vd_opts_get_bool (&o, "x", &b), -1);
  assert_non_null (strstr (vd_error (), "'x'"));
  assert_int_equal (vd_opts_get_uint (&o, "y", &v), -1);
  assert_string_equal (vd_opts_first_unused (&o), "z");
  assert_int_equal (vd_opts_parse (&o, "=3"), -1);
  vd_opts_free (&o);
}

static void
test_resolve_name_refuses_escapes (void **state)
{
  char *p;

  (void) state;
  p = vd_resolve_name ("img", "/data/vm", "base.qcow2", "backing file", 0);
  assert_string_equal (p, "/data/vm/base.qcow2");
  free (p);
  p = vd_resolve_name ("img", "/data/vm", "sub/../base.qcow2", "backing file",
                       0);
  assert_non_null (p);
  free (p);
  assert_null (
      vd_resolve_name ("img", "/data/vm", "/etc/shadow", "backing file", 0));
  assert_int_equal (vd_errno (), EPERM);
  assert_non_null (strstr (vd_error (), "/etc/shadow"));
  assert_null (
      vd_resolve_name ("img", "/data/vm", "../other/x", "backing file", 0));
  assert_null (vd_resolve_name ("img", "/data/vm", "a/../../x", "extent", 0));
  assert_null (vd_resolve_name ("img", "/data/vm", "", "extent", 0));
  assert_null (vd_resolve_name ("img", "/data/vm", "http://x/y", "extent", 0));
  p = vd_resolve_name ("img", "/data/vm", "/etc/x", "backing file",
                       VD_OPEN_UNSAFE_PATHS);
  assert_string_equal (p, "/etc/x");
  free (p);
  p = vd_resolve_name ("img", ".", "b.img", "backing file", 0);
  assert_string_equal (p, "b.img");
  free (p);
}

static void
test_is_zero (void **state)
{
  uint8_t buf[4096];
  size_t i;

  (void) state;
  memset (buf, 0, sizeof buf);
  assert_true (vd_is_zero (buf, sizeof buf));
  assert_true (vd_is_zero (buf, 0));
  assert_true (vd_is_zero (buf, 3));
  for (i = 0; i < sizeof buf; i += 509) {
    buf[i] = 1;
    assert_false (vd_is_zero (buf, sizeof buf));
    buf[i] = 0;
  }
  buf[4095] = 0x80;
  assert_false (vd_is_zero (buf, sizeof buf));
  assert_true (vd_is_zero (buf, 4095));
}

static void
test_value_tree (void **state)
{
  struct vd_value *d = vd_value_new_dict (), *l, *e;

  (void) state;
  assert_non_null (vd_value_add_str (d, "compat", "1.1"));
  assert_non_null (vd_value_add_int (d, "refcount-bits", 16));
  l = vd_value_add_list (d, "extents");
  e = vd_value_add_dict (l, "ignored");
  assert_null (e->key); /* list members have no key */
  assert_non_null (vd_value_add_bool (e, "compressed", true));
  assert_int_equal (d->n, 3);
  assert_string_equal (d->items[1]->key, "refcount-bits");
  assert_int_equal (d->items[1]->i, 16);
  vd_value_free (d);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_size_accepts_qemu_spellings),
    cmocka_unit_test (test_parse_size_refuses_bad_input),
    cmocka_unit_test (test_size_to_str_matches_qemu),
    cmocka_unit_test (test_opts_parse_and_get),
    cmocka_unit_test (test_opts_report_unused_and_bad_values),
    cmocka_unit_test (test_resolve_name_refuses_escapes),
    cmocka_unit_test (test_is_zero),
    cmocka_unit_test (test_value_tree),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
