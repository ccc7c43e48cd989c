/* Unit tests for vd-df's appliance-free parts (tools/df-output.c and
 * tools/df-names.c): the numbers virt-df prints (1K blocks, Use%, -h
 * sizes), the four output forms, thresholds, atomic files, the saved
 * results, the guest's device names and fstab parsing.  Expected values
 * marked "virt-df" are what virt-df 1.48 printed for the fixture guests.
 */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "common/common.h"
#include "df.h"

/* The fixture "linux" guest's two filesystems as the appliance reports
 * them (statvfs of /boot and /). */
static const struct df_stat boot_st = { 4096, 4096, 2811, 2802,
                                        2721, 4096, 4082, 4082 };
static const struct df_stat root_st = { 4096, 4096,  8568,  8458,
                                        8254, 10240, 10193, 10193 };

static void
test_1k_blocks_and_percent_as_virt_df (void **state)
{
  char pct[16];

  (void) state;
  /* virt-df: linux.img:/dev/sda1 11244 36 10884 (0.3), /dev/sda2 34272
   * 440 33016 (1.3). */
  assert_int_equal (df_to_1k (boot_st.blocks, boot_st.bsize), 11244);
  assert_int_equal (df_to_1k (boot_st.blocks - boot_st.bfree, 4096), 36);
  assert_int_equal (df_to_1k (boot_st.bavail, 4096), 10884);
  assert_int_equal (df_to_1k (root_st.blocks, 4096), 34272);
  df_percent_str (df_percent (&boot_st, false), pct, sizeof pct);
  assert_string_equal (pct, "0.3");
  df_percent_str (df_percent (&root_st, false), pct, sizeof pct);
  assert_string_equal (pct, "1.3");
  /* Inodes: 14 of 4096 used. */
  df_percent_str (df_percent (&boot_st, true), pct, sizeof pct);
  assert_string_equal (pct, "0.3");
  /* Small block sizes round down; an empty filesystem is 0%. */
  assert_int_equal (df_to_1k (3, 512), 1);
  assert_int_equal (df_to_1k (UINT64_C (1) << 40, 4096), UINT64_C (1) << 42);
  {
    struct df_stat z = { 4096, 4096, 0, 0, 0, 0, 0, 0 };
    struct df_stat full = { 4096, 4096, 100, 0, 0, 10, 0, 0 };
    df_percent_str (df_percent (&z, false), pct, sizeof pct);
    assert_string_equal (pct, "0.0");
    df_percent_str (df_percent (&full, true), pct, sizeof pct);
    assert_string_equal (pct, "100.0");
  }
}

static void
test_human_sizes_as_virt_df (void **state)
{
  static const struct {
    uint64_t n, bsize;
    const char *want;
  } cases[] = {
    /* virt-df -h on the fixture guests. */
    { 2811, 4096, "11M" },
    { 9, 4096, "36K" },
    { 2721, 4096, "11M" },
    { 8568, 4096, "33M" },
    { 110, 4096, "440K" },
    { 8254, 4096, "32M" },
    { 892, 4096, "3.5M" },
    { 8, 4096, "32K" },
    { 844, 4096, "3.3M" },
    /* gnulib's own examples (powers of 1024). */
    { 8500, 1, "8.3K" },
    { 133456345, 1, "127M" },
    { 56990456345, 1, "53G" },
    /* Below 1 KiB: the number itself. */
    { 0, 4096, "0" },
    { 1023, 1, "1023" },
    { 1024, 1, "1.0K" },
    /* Ties go to the even digit. */
    { 1280, 1, "1.2K" },
    { 1792, 1, "1.8K" },
    { 1022 * 1048576 + 524288, 1, "1022M" },
    /* Rounding up to 10 drops the decimal; to 1024 goes up a unit. */
    { 10239, 1, "10K" },
    { 1023 * 1048576 + 524288, 1, "1.0G" },
    { 1048575, 1, "1.0M" },
    /* The largest units. */
    { UINT64_C (1) << 50, 1, "1.0P" },
    { UINT64_MAX / 4096, 4096, "16E" },
  };
  size_t i;
  char buf[64];

  (void) state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    df_human (cases[i].n, cases[i].bsize, buf, sizeof buf);
    if (strcmp (buf, cases[i].want) != 0)
      fail_msg ("df_human (%llu, %llu) = %s, expected %s",
                (unsigned long long) cases[i].n,
                (unsigned long long) cases[i].bsize, buf, cases[i].want);
  }
}

static void
test_impossible_statvfs_is_refused (void **state)
{
  static const struct df_stat bad[] = {
    { 0, 4096, 10, 1, 1, 10, 1, 1 },                   /* no block size */
    { 4096, 4096, 10, 11, 1, 10, 1, 1 },               /* free > total */
    { 4096, 4096, 10, 1, 11, 10, 1, 1 },               /* avail > total */
    { 4096, 4096, 10, 1, 1, 10, 11, 1 },               /* free inodes */
    { 4096, 4096, UINT64_MAX / 1024, 1, 1, 10, 1, 1 }, /* > 16 EiB */
  };
  size_t i;

  (void) state;
  assert_int_equal (df_stat_check ("/dev/sda1", &boot_st), 0);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal (df_stat_check ("/dev/sda1", &bad[i]), -1);
    assert_non_null (strstr (vd_error (), "/dev/sda1: "));
  }
}

static void
test_prometheus_escapes_and_utf8 (void **state)
{
  static const struct {
    const char *in, *out;
  } cases[] = {
    { "web01", "web01" },
    { "a\"b", "a\\\"b" },
    { "back\\slash", "back\\\\slash" },
    { "two\nlines", "two\\nlines" },
    { "caf\xc3\xa9", "caf\xc3\xa9" },
    { "bad\xff", "bad\xef\xbf\xbd" },
    { "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" }, /* overlong '/' */
    { "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *s = df_prom_escape (cases[i].in);
    assert_non_null (s);
    assert_string_equal (s, cases[i].out);
    free (s);
  }
}

static void
test_percent_arguments (void **state)
{
  static const char *const bad[] = { "",     "%",   "abc", "101",   "-5",
                                     "80%%", "1e2", "80 ", "1.2.3", "100.1" };
  double v;
  size_t i;

  (void) state;
  assert_int_equal (df_parse_percent ("80", &v), 0);
  assert_true (v == 80);
  assert_int_equal (df_parse_percent ("85.5%", &v), 0);
  assert_true (v == 85.5);
  assert_int_equal (df_parse_percent ("0", &v), 0);
  assert_true (v == 0);
  assert_int_equal (df_parse_percent ("100", &v), 0);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (df_parse_percent (bad[i], &v) != -1)
      fail_msg ("\"%s\" was taken as a percentage", bad[i]);
}

/* Three guests: "lin" (the fixture's numbers), a guest with an odd name
 * and one that failed. */
static struct df_guest *
sample (size_t *n)
{
  struct df_guest *g = calloc (3, sizeof *g);
  struct df_stat full = { 1024, 1024, 1000, 50, 40, 100, 90, 90 };

  assert_non_null (g);
  g[0].name = strdup ("lin");
  g[0].uuid = strdup ("8d7a6f52-3b1c-4e2d-9f80-a1b2c3d4e5f6");
  assert_int_equal (
      df_guest_add_fs (&g[0], "/dev/sda1", "ext4", "/boot", &boot_st), 0);
  assert_int_equal (df_guest_add_fs (&g[0], "/dev/sda2", "ext4", "/", &root_st),
                    0);
  g[1].name = strdup ("a \"very\", long guest name");
  assert_int_equal (
      df_guest_add_fs (&g[1], "/dev/vg_data/lv_home", "xfs", NULL, &full), 0);
  g[2].name = strdup ("broken");
  assert_int_equal (df_guest_add_error (&g[2], "%s: disk vda: %s", "broken",
                                        "No such file or directory"),
                    0);
  *n = 3;
  return g;
}

static char *
render (const struct df_render *r, const struct df_guest *g, size_t n)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);

  assert_non_null (fp);
  assert_int_equal (df_render_table (fp, r, g, n), 0);
  fclose (fp);
  return buf;
}

static void
test_text_table (void **state)
{
  struct df_render r = { DF_TEXT, false, false, false };
  size_t n;
  struct df_guest *g = sample (&n);
  char *s;

  (void) state;
  s = render (&r, g, n);
  /* virt-df's columns; a name:device longer than 36 goes on a line of
   * its own. */
  assert_string_equal (
      s, "Filesystem                           1K-blocks       Used  Available "
         " Use%\n"
         "lin:/dev/sda1                            11244         36      10884 "
         "   1%\n"
         "lin:/dev/sda2                            34272        440      33016 "
         "   2%\n"
         "a \"very\", long guest name:/dev/vg_data/lv_home\n"
         "                                          1000        950         40 "
         "  95%\n");
  free (s);
  r.human = true;
  r.uuid = true;
  s = render (&r, g, 1);
  assert_string_equal (
      s, "Filesystem                                Size       Used  Available "
         " Use%\n"
         "8d7a6f52-3b1c-4e2d-9f80-a1b2c3d4e5f6:/dev/sda1\n"
         "                                           11M        36K        11M "
         "   1%\n"
         "8d7a6f52-3b1c-4e2d-9f80-a1b2c3d4e5f6:/dev/sda2\n"
         "                                           33M       440K        32M "
         "   2%\n");
  free (s);
  df_guests_free (g, n);
}

static void
test_csv_table (void **state)
{
  struct df_render r = { DF_CSV, false, false, false };
  size_t n;
  struct df_guest *g = sample (&n);
  char *s;

  (void) state;
  s = render (&r, g, n);
  assert_string_equal (
      s, "VirtualMachine,Filesystem,1K-blocks,Used,Available,Use%\n"
         "lin,/dev/sda1,11244,36,10884,0.3\n"
         "lin,/dev/sda2,34272,440,33016,1.3\n"
         "\"a \"\"very\"\", long guest name\",/dev/vg_data/lv_home,1000,950,40,"
         "95.0\n");
  free (s);
  r.inodes = true;
  s = render (&r, g, 1);
  assert_string_equal (s, "VirtualMachine,Filesystem,Inodes,IUsed,IFree,IUse%\n"
                          "lin,/dev/sda1,4096,14,4082,0.3\n"
                          "lin,/dev/sda2,10240,47,10193,0.5\n");
  free (s);
  df_guests_free (g, n);
}

static void
test_json_table (void **state)
{
  struct df_render r = { DF_JSON, false, false, false };
  size_t n;
  struct df_guest *g = sample (&n);
  char *s;
  json_t *j, *o;
  json_error_t err;
  const char *key;
  json_t *v;
  static const char *const keys[] = {
    "guest",      "filesystem",  "type",         "mountpoint",
    "blocks_1k",  "used_1k",     "available_1k", "use_percent",
    "inodes",     "inodes_used", "inodes_free",  "inodes_use_percent",
    "block_size", "uuid",
  };
  size_t k = 0;

  (void) state;
  s = render (&r, g, n);
  assert_non_null (strstr (s, "\"use_percent\": 1.3,"));
  j = json_loads (s, 0, &err);
  assert_non_null (j);
  assert_int_equal (json_array_size (j), 3);
  o = json_array_get (j, 1);
  json_object_foreach (o, key, v)
  {
    assert_true (k < sizeof keys / sizeof keys[0]);
    assert_string_equal (key, keys[k++]);
  }
  assert_int_equal (k, sizeof keys / sizeof keys[0]);
  assert_string_equal (json_string_value (json_object_get (o, "mountpoint")),
                       "/");
  assert_int_equal (json_integer_value (json_object_get (o, "used_1k")), 440);
  assert_int_equal (json_integer_value (json_object_get (o, "inodes_used")),
                    47);
  assert_true (json_real_value (json_object_get (o, "inodes_use_percent"))
               == 0.5);
  assert_string_equal (json_string_value (json_object_get (o, "uuid")),
                       "8d7a6f52-3b1c-4e2d-9f80-a1b2c3d4e5f6");
  o = json_array_get (j, 2);
  assert_true (json_is_null (json_object_get (o, "mountpoint")));
  assert_true (json_is_null (json_object_get (o, "uuid")));
  assert_true (json_real_value (json_object_get (o, "use_percent")) == 95.0);
  json_decref (j);
  free (s);
  df_guests_free (g, n);
}

static void
test_prometheus_table (void **state)
{
  struct df_render r = { DF_PROMETHEUS, false, false, false };
  size_t n;
  struct df_guest *g = sample (&n);
  char *s;

  (void) state;
  s = render (&r, g, n);
  assert_non_null (
      strstr (s, "# TYPE vd_df_size_bytes gauge\n"
                 "vd_df_size_bytes{guest=\"lin\",filesystem=\"/dev/sda1\","
                 "fstype=\"ext4\",mountpoint=\"/boot\"} 11513856\n"));
  assert_non_null (
      strstr (s, "vd_df_used_bytes{guest=\"a \\\"very\\\", long guest name\","
                 "filesystem=\"/dev/vg_data/lv_home\",fstype=\"xfs\","
                 "mountpoint=\"\"} 972800\n"));
  assert_non_null (strstr (s, "vd_df_avail_bytes{guest=\"lin\",filesystem=\""
                              "/dev/sda2\",fstype=\"ext4\",mountpoint=\"/\"} "
                              "33808384\n"));
  assert_non_null (strstr (s, "vd_df_files_free{guest=\"lin\",filesystem=\""
                              "/dev/sda2\",fstype=\"ext4\",mountpoint=\"/\"} "
                              "10193\n"));
  assert_non_null (strstr (s, "vd_df_guest_ok{guest=\"lin\"} 1\n"
                              "vd_df_guest_ok{guest=\"a \\\"very\\\", long "
                              "guest name\"} 1\n"
                              "vd_df_guest_ok{guest=\"broken\"} 0\n"));
  free (s);
  df_guests_free (g, n);
}

static bool
starts_with (const char *s, const char *prefix)
{
  if (strncmp (s, prefix, strlen (prefix)) == 0)
    return true;
  print_error ("[%s] does not start with [%s]\n", s, prefix);
  return false;
}

static void
test_thresholds (void **state)
{
  struct df_render r = { DF_TEXT, false, false, false };
  struct df_thresholds t = { true, true, 90, 95 };
  size_t n;
  struct df_guest *g = sample (&n);
  char *line;

  (void) state;
  /* 95.0% is not over 95: warning, and the failed guest makes it
   * unknown, which outranks a warning. */
  assert_int_equal (df_check_thresholds (&r, &t, g, n, &line), DF_UNKNOWN);
  assert_string_equal (
      line, "DF UNKNOWN - 1 filesystem over 90%: a \"very\", long guest "
            "name:/dev/vg_data/lv_home 95.0%; 1 guest failed: broken | "
            "'lin:/dev/sda1'=0.3%;90;95;0;100 'lin:/dev/sda2'=1.3%;90;95;0;100 "
            "'a \"very\", long guest name:/dev/vg_data/lv_home'=95.0%;90;95;0;"
            "100");
  free (line);
  /* Without the failed guest: a warning. */
  assert_int_equal (df_check_thresholds (&r, &t, g, 2, &line), DF_WARNING);
  assert_true (starts_with (line, "DF WARNING - 1 filesystem over 90%: a "));
  free (line);
  /* Over the critical line: critical, whatever failed. */
  t.crit = 94.9;
  assert_int_equal (df_check_thresholds (&r, &t, g, n, &line), DF_CRITICAL);
  assert_true (starts_with (line, "DF CRITICAL - 1 filesystem over 94.9%: a "));
  free (line);
  /* All below: OK, with the highest named. */
  t.warn = 96;
  t.crit = 99.5;
  assert_int_equal (df_check_thresholds (&r, &t, g, 2, &line), DF_OK);
  assert_true (starts_with (line, "DF OK - 3 filesystems in 2 guests, highest "
                                  "a \"very\", long guest name:/dev/vg_data/"
                                  "lv_home 95.0% | 'lin:/dev/sda1'=0.3%;96;"
                                  "99.5;0;100 "));
  free (line);
  /* Inodes: 10% at most. */
  r.inodes = true;
  t.have_crit = false;
  t.warn = 5;
  assert_int_equal (df_check_thresholds (&r, &t, g, 2, &line), DF_WARNING);
  assert_true (
      starts_with (line, "DF WARNING - 1 filesystem over 5% inode use: a "));
  assert_non_null (strstr (line, "lv_home'=10.0%;5;;0;100"));
  free (line);
  df_guests_free (g, n);
}

static void
test_atomic_file (void **state)
{
  char dir[] = "/tmp/vd-df-test.XXXXXX", path[64], *buf;
  struct stat st;
  mode_t old;
  FILE *fp;
  size_t len;

  (void) state;
  assert_non_null (mkdtemp (dir));
  snprintf (path, sizeof path, "%s/df.prom", dir);
  old = umask (022);
  assert_int_equal (df_write_file_atomic (path, "one\n", 4), 0);
  assert_int_equal (df_write_file_atomic (path, "two lines\nhere\n", 15), 0);
  umask (old);
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0644);
  fp = fopen (path, "r");
  assert_non_null (fp);
  buf = calloc (1, 64);
  len = fread (buf, 1, 63, fp);
  fclose (fp);
  assert_int_equal (len, 15);
  assert_string_equal (buf, "two lines\nhere\n");
  free (buf);
  assert_null (df_temp_file);
  /* Only the file itself is left. */
  {
    char cmd[128];
    snprintf (cmd, sizeof cmd, "test $(ls -A %s | wc -l) = 1", dir);
    assert_int_equal (system (cmd), 0);
  }
  /* A folder that does not exist: an error naming the file. */
  snprintf (path, sizeof path, "%s/nonexistent/df.prom", dir);
  assert_int_equal (df_write_file_atomic (path, "x", 1), -1);
  assert_non_null (strstr (vd_error (), "nonexistent/df.prom: "));
  snprintf (path, sizeof path, "rm -rf %s", dir);
  assert_int_equal (system (path), 0);
}

static void
test_save_and_load (void **state)
{
  char path[] = "/tmp/vd-df-save.XXXXXX";
  size_t n, n2;
  struct df_guest *g = sample (&n), *g2;
  int fd = mkstemp (path);

  (void) state;
  assert_true (fd >= 0);
  close (fd);
  /* Names with tabs, line ends and backslashes survive. */
  free (g[1].name);
  g[1].name = strdup ("tab\there\nand \\ back");
  assert_int_equal (df_save (path, g, n), 0);
  assert_int_equal (df_load (path, &g2, &n2), 0);
  assert_int_equal (n2, 3);
  assert_string_equal (g2[1].name, "tab\there\nand \\ back");
  assert_string_equal (g2[0].uuid, g[0].uuid);
  assert_null (g2[1].uuid);
  assert_int_equal (g2[0].nr_fs, 2);
  assert_string_equal (g2[0].fs[0].mountpoint, "/boot");
  assert_null (g2[1].fs[0].mountpoint);
  assert_memory_equal (&g2[0].fs[1].st, &root_st, sizeof root_st);
  assert_int_equal (g2[2].nr_errors, 1);
  assert_string_equal (g2[2].errors[0],
                       "broken: disk vda: No such file or directory");
  df_guests_free (g2, n2);
  /* A line that is not ours is refused with its number. */
  {
    FILE *fp = fopen (path, "w");
    fputs ("guest\tx\t\nfs\t/dev/sda1\text4\t\t4096\n", fp);
    fclose (fp);
    assert_int_equal (df_load (path, &g2, &n2), -1);
    assert_non_null (strstr (vd_error (), "line 2 "));
  }
  unlink (path);
  df_guests_free (g, n);
}

static void
test_guest_device_names (void **state)
{
  static const struct {
    const char *dev;
    size_t first;
    const char *want;
  } cases[] = {
    { "/dev/sda1", 0, "/dev/sda1" },
    { "/dev/sdc1", 2, "/dev/sda1" },
    { "/dev/sdd", 2, "/dev/sdb" },
    { "/dev/sdab12", 26, "/dev/sdb12" },
    { "/dev/sdaa", 1, "/dev/sdz" },
    { "btrfsvol:/dev/sdc2/@home", 2, "btrfsvol:/dev/sda2/@home" },
    { "/dev/mapper/luks-sdc2", 2, "/dev/mapper/luks-sda2" },
    { "/dev/vg/root", 2, "/dev/vg/root" },
    { "/dev/md127", 2, "/dev/md127" },
    { "/dev/sda1", 2, "/dev/sda1" }, /* not this guest's: left alone */
  };
  size_t i, index;
  const char *rest;
  char letters[16];

  (void) state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *s = df_guest_device (cases[i].dev, cases[i].first);
    assert_non_null (s);
    if (strcmp (s, cases[i].want) != 0)
      fail_msg ("%s (first %zu) -> %s, expected %s", cases[i].dev,
                cases[i].first, s, cases[i].want);
    free (s);
  }
  assert_int_equal (df_disk_index ("sdz", &index, &rest), 0);
  assert_int_equal (index, 25);
  assert_int_equal (df_disk_index ("sdba3", &index, &rest), 0);
  assert_int_equal (index, 52);
  assert_string_equal (rest, "3");
  assert_int_equal (df_disk_index ("sd", &index, &rest), -1);
  assert_int_equal (df_disk_index ("vda1", &index, &rest), -1);
  assert_int_equal (df_disk_index ("sda1x", &index, &rest), -1);
  for (i = 0; i < 1000; i++) {
    char name[32];
    df_disk_letters (i, letters, sizeof letters);
    snprintf (name, sizeof name, "sd%s", letters);
    assert_int_equal (df_disk_index (name, &index, &rest), 0);
    assert_int_equal (index, i);
  }
}

static void
test_fstab (void **state)
{
  static const char fstab[] =
      "# /etc/fstab: static file system information.\n"
      "UUID=0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6 / ext4 errors=remount-ro 0 "
      "1\n"
      "LABEL=BOOT /boot ext4 defaults 0 2\n"
      "\n"
      "/dev/mapper/vg--data-lv_home\t/home\txfs defaults 0 0\n"
      "/dev/vdb1 /srv/my\\040data ext4 defaults 0 0\n"
      "/dev/disk/by-uuid/abcd /var ext4 defaults 0 0\n"
      "/dev/sda3 none swap sw 0 0\n"
      "PARTUUID=1234-01 /opt ext4 defaults 0 0\n"
      "tmpfs /tmp tmpfs defaults 0 0\n"
      "server:/export /mnt nfs defaults 0 0\n"
      "/dev/vg/lv /data ext4 defaults 0 0\n";
  struct df_fstab_entry *e;
  size_t n;

  (void) state;
  assert_int_equal (df_fstab_parse (fstab, &e, &n), 0);
  assert_int_equal (n, 6);
  assert_int_equal (e[0].kind, DF_SPEC_UUID);
  assert_string_equal (e[0].value, "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6");
  assert_string_equal (e[0].mountpoint, "/");
  assert_int_equal (e[1].kind, DF_SPEC_LABEL);
  assert_string_equal (e[1].value, "BOOT");
  assert_int_equal (e[2].kind, DF_SPEC_DEVICE);
  assert_string_equal (e[2].value, "/dev/vg-data/lv_home");
  assert_string_equal (e[2].mountpoint, "/home");
  assert_string_equal (e[3].value, "/dev/sdb1");
  assert_string_equal (e[3].mountpoint, "/srv/my data");
  assert_int_equal (e[4].kind, DF_SPEC_UUID);
  assert_string_equal (e[4].value, "abcd");
  assert_string_equal (e[5].value, "/dev/vg/lv");
  df_fstab_free (e, n);
  assert_int_equal (df_fstab_parse ("", &e, &n), 0);
  assert_int_equal (n, 0);
  df_fstab_free (e, n);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_1k_blocks_and_percent_as_virt_df),
    cmocka_unit_test (test_human_sizes_as_virt_df),
    cmocka_unit_test (test_impossible_statvfs_is_refused),
    cmocka_unit_test (test_prometheus_escapes_and_utf8),
    cmocka_unit_test (test_percent_arguments),
    cmocka_unit_test (test_text_table),
    cmocka_unit_test (test_csv_table),
    cmocka_unit_test (test_json_table),
    cmocka_unit_test (test_prometheus_table),
    cmocka_unit_test (test_thresholds),
    cmocka_unit_test (test_atomic_file),
    cmocka_unit_test (test_save_and_load),
    cmocka_unit_test (test_guest_device_names),
    cmocka_unit_test (test_fstab),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
