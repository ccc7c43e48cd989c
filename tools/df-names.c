/* The guest's names for things (df.h): when several guests share an
 * appliance, the third disk of the appliance is the first of its guest,
 * so /dev/sdc1 is shown as /dev/sda1; and an fstab read from the guest
 * names its filesystems in ways (UUID=, /dev/vda1, /dev/mapper/vg-lv)
 * that must be brought to the same names.  Pure string work, unit-tested
 * without an appliance.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "df.h"

/* Enough letters for any index a size_t holds. */
#define MAX_LETTERS 16

int
df_disk_index (const char *name, size_t *index, const char **rest)
{
  size_t v = 0, n = 0;
  const char *p;

  if (strncmp (name, "sd", 2) != 0)
    return -1;
  /* Bijective base 26: a..z, aa..zz, aaa... */
  for (p = name + 2; *p >= 'a' && *p <= 'z'; p++, n++) {
    if (n >= 6) /* sdzzzzzz: far more disks than an appliance takes */
      return -1;
    v = v * 26 + (size_t) (*p - 'a' + 1);
  }
  if (n == 0)
    return -1;
  for (const char *d = p; *d; d++)
    if (*d < '0' || *d > '9')
      return -1;
  *index = v - 1;
  *rest = p;
  return 0;
}

void
df_disk_letters (size_t index, char *buf, size_t len)
{
  char tmp[MAX_LETTERS + 1];
  size_t n = 0, v = index + 1;

  while (v > 0 && n < MAX_LETTERS) {
    v--;
    tmp[n++] = (char) ('a' + v % 26);
    v /= 26;
  }
  if (len == 0)
    return;
  /* Reverse into BUF. */
  {
    size_t i;
    for (i = 0; i < n && i + 1 < len; i++)
      buf[i] = tmp[n - 1 - i];
    buf[i] = '\0';
  }
}

/* "sdcN" -> "sdaN" given FIRST, into OUT; false if NAME is no sd name or
 * lies before FIRST. */
static bool
rename_sd (const char *name, size_t len, size_t first, char *out, size_t outlen)
{
  char copy[64], letters[MAX_LETTERS + 1];
  size_t index;
  const char *rest;

  if (len >= sizeof copy)
    return false;
  memcpy (copy, name, len);
  copy[len] = '\0';
  if (df_disk_index (copy, &index, &rest) == -1 || index < first)
    return false;
  df_disk_letters (index - first, letters, sizeof letters);
  snprintf (out, outlen, "sd%s%s", letters, rest);
  return true;
}

char *
df_guest_device (const char *dev, size_t first)
{
  static const char *const prefixes[] = {
    "/dev/",
    "btrfsvol:/dev/",
    "/dev/mapper/luks-",
  };
  char *r;
  size_t i;

  /* The longest prefix that matches. */
  for (i = sizeof prefixes / sizeof prefixes[0]; i-- > 0;) {
    size_t pl = strlen (prefixes[i]), nl;
    const char *name = dev + pl, *after;
    char renamed[96];

    if (strncmp (dev, prefixes[i], pl) != 0)
      continue;
    /* btrfsvol:/dev/sdc1/@home: the device ends at the next '/'. */
    after = strchr (name, '/');
    nl = after ? (size_t) (after - name) : strlen (name);
    if (i == 0 && after)
      break; /* /dev/VG/LV, /dev/mapper/...: not a disk */
    if (!rename_sd (name, nl, first, renamed, sizeof renamed))
      break;
    if (asprintf (&r, "%.*s%s%s", (int) pl, dev, renamed, after ? after : "")
        == -1)
      return NULL;
    return r;
  }
  return strdup (dev);
}

/* ---- fstab ----------------------------------------------------------------
 */

void
df_fstab_free (struct df_fstab_entry *v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++) {
    free (v[i].value);
    free (v[i].mountpoint);
  }
  free (v);
}

/* Decode fstab's octal escapes (\040 is a space) in place. */
static void
unescape (char *s)
{
  char *r = s, *w = s;

  while (*r) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7'
        && r[3] >= '0' && r[3] <= '7') {
      *w++ = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 4;
    }
    else
      *w++ = *r++;
  }
  *w = '\0';
}

/* /dev/mapper/VG-LV -> /dev/VG/LV ("--" in a name is one '-').  NULL if
 * it is not of that form (a LUKS mapping, say). */
static char *
mapper_to_lv (const char *name)
{
  char vg[256], lv[256];
  size_t v = 0, l = 0;
  const char *p = name;
  char *r;

  while (*p && v + 1 < sizeof vg) {
    if (p[0] == '-' && p[1] == '-') {
      vg[v++] = '-';
      p += 2;
    }
    else if (p[0] == '-')
      break;
    else
      vg[v++] = *p++;
  }
  if (*p != '-' || v == 0)
    return NULL;
  p++;
  while (*p && l + 1 < sizeof lv) {
    if (p[0] == '-' && p[1] == '-') {
      lv[l++] = '-';
      p += 2;
    }
    else if (p[0] == '-')
      return NULL;
    else
      lv[l++] = *p++;
  }
  if (*p || l == 0)
    return NULL;
  vg[v] = lv[l] = '\0';
  if (asprintf (&r, "/dev/%s/%s", vg, lv) == -1)
    return NULL;
  return r;
}

/* The spec of an fstab line as (KIND, malloc'd value); false if it names
 * nothing we can match (PARTUUID=, a network share, tmpfs, ...). */
static bool
resolve_spec (const char *spec, enum df_spec *kind, char **value, bool *oom)
{
  static const char *const disk_prefixes[] = { "/dev/sd", "/dev/vd", "/dev/hd",
                                               "/dev/xvd" };
  size_t i;

  *value = NULL;
  if (strncmp (spec, "UUID=", 5) == 0) {
    *kind = DF_SPEC_UUID;
    *value = strdup (spec + 5);
  }
  else if (strncmp (spec, "LABEL=", 6) == 0) {
    *kind = DF_SPEC_LABEL;
    *value = strdup (spec + 6);
  }
  else if (strncmp (spec, "/dev/disk/by-uuid/", 18) == 0) {
    *kind = DF_SPEC_UUID;
    *value = strdup (spec + 18);
  }
  else if (strncmp (spec, "/dev/disk/by-label/", 19) == 0) {
    *kind = DF_SPEC_LABEL;
    *value = strdup (spec + 19);
  }
  else if (strncmp (spec, "/dev/mapper/", 12) == 0) {
    *kind = DF_SPEC_DEVICE;
    *value = mapper_to_lv (spec + 12);
    if (!*value)
      return false;
  }
  else {
    for (i = 0; i < sizeof disk_prefixes / sizeof disk_prefixes[0]; i++) {
      size_t pl = strlen (disk_prefixes[i]);
      if (strncmp (spec, disk_prefixes[i], pl) == 0) {
        *kind = DF_SPEC_DEVICE;
        if (asprintf (value, "/dev/sd%s", spec + pl) == -1)
          *value = NULL;
        break;
      }
    }
    if (i == sizeof disk_prefixes / sizeof disk_prefixes[0]) {
      /* /dev/VG/LV as it is; anything else is not ours to match. */
      const char *p = spec + 5;
      if (strncmp (spec, "/dev/", 5) != 0 || !strchr (p, '/')
          || strchr (strchr (p, '/') + 1, '/'))
        return false;
      *kind = DF_SPEC_DEVICE;
      *value = strdup (spec);
    }
  }
  if (!*value)
    *oom = true;
  return *value != NULL;
}

int
df_fstab_parse (const char *text, struct df_fstab_entry **v_ret, size_t *n_ret)
{
  struct df_fstab_entry *v = NULL;
  size_t n = 0;
  const char *line = text;

  while (line && *line) {
    const char *start = line, *end = strchr (line, '\n');
    size_t len = end ? (size_t) (end - line) : strlen (line);
    char buf[4096], *spec, *mp, *type, *save;
    enum df_spec kind;
    char *value;
    bool oom = false;

    line = end ? end + 1 : NULL;
    if (len >= sizeof buf)
      continue; /* no real fstab line is this long */
    memcpy (buf, start, len);
    buf[len] = '\0';
    spec = strtok_r (buf, " \t\r", &save);
    if (!spec || spec[0] == '#')
      continue;
    mp = strtok_r (NULL, " \t\r", &save);
    type = strtok_r (NULL, " \t\r", &save);
    if (!mp || !type)
      continue;
    unescape (spec);
    unescape (mp);
    if (mp[0] != '/' || strcmp (type, "swap") == 0)
      continue;
    if (!resolve_spec (spec, &kind, &value, &oom)) {
      if (oom)
        goto oom;
      continue;
    }
    {
      struct df_fstab_entry *nv = realloc (v, (n + 1) * sizeof *nv);
      if (!nv) {
        free (value);
        goto oom;
      }
      v = nv;
    }
    v[n].kind = kind;
    v[n].value = value;
    v[n].mountpoint = strdup (mp);
    if (!v[n].mountpoint) {
      free (value);
      goto oom;
    }
    n++;
  }
  *v_ret = v;
  *n_ret = n;
  return 0;

oom:
  df_fstab_free (v, n);
  vd_set_error (ENOMEM, _ ("out of memory"));
  return -1;
}
