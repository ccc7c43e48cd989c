/* Helpers shared by the unit tests: a private scratch folder. */
#ifndef TEST_HELPERS_H
#define TEST_HELPERS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char test_dir[256];

static inline int
test_dir_setup (void **state)
{
  (void) state;
  snprintf (test_dir, sizeof test_dir, "%s/vdunit.XXXXXX",
            getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp");
  return mkdtemp (test_dir) ? 0 : -1;
}

static inline int
test_dir_teardown (void **state)
{
  DIR *d = opendir (test_dir);
  struct dirent *e;
  char p[512];

  (void) state;
  if (d) {
    while ((e = readdir (d))) {
      if (e->d_name[0] == '.' && (e->d_name[1] == 0 || e->d_name[1] == '.'))
        continue;
      snprintf (p, sizeof p, "%s/%s", test_dir, e->d_name);
      unlink (p);
    }
    closedir (d);
  }
  rmdir (test_dir);
  return 0;
}

static inline const char *
test_path (const char *name)
{
  static char p[4][512];
  static int i;
  i = (i + 1) % 4;
  snprintf (p[i], sizeof p[i], "%s/%s", test_dir, name);
  return p[i];
}

/* Number of entries in the scratch folder (to see no temp file is left). */
static inline int
test_dir_count (void)
{
  DIR *d = opendir (test_dir);
  struct dirent *e;
  int n = 0;

  if (!d)
    return -1;
  while ((e = readdir (d)))
    if (strcmp (e->d_name, ".") && strcmp (e->d_name, ".."))
      n++;
  closedir (d);
  return n;
}

#endif
