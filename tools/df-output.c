/* vd-df's output side (df.h): the numbers virt-df prints (1K blocks,
 * Use%, -h sizes), the table in text, CSV, JSON and Prometheus forms, the
 * --warn/--crit verdict, atomic -o files, and the test hooks that save and
 * load a run's results.  Nothing here talks to an appliance.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/common.h"
#include "common/render.h"
#include "df.h"

/* ---- guests ---------------------------------------------------------------
 */

static void
fs_free (struct df_fs *f)
{
  free (f->device);
  free (f->type);
  free (f->mountpoint);
}

void
df_guests_free (struct df_guest *g, size_t n)
{
  size_t i, j;

  if (!g)
    return;
  for (i = 0; i < n; i++) {
    free (g[i].name);
    free (g[i].uuid);
    for (j = 0; j < g[i].nr_disks; j++) {
      free (g[i].disks[j].filename);
      free (g[i].disks[j].format);
      free (g[i].disks[j].target);
    }
    free (g[i].disks);
    for (j = 0; j < g[i].nr_fs; j++)
      fs_free (&g[i].fs[j]);
    free (g[i].fs);
    for (j = 0; j < g[i].nr_errors; j++)
      free (g[i].errors[j]);
    free (g[i].errors);
  }
  free (g);
}

int
df_guest_add_error (struct df_guest *g, const char *fmt, ...)
{
  char **v, *msg;
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (r < 0)
    goto oom;
  v = realloc (g->errors, (g->nr_errors + 1) * sizeof *v);
  if (!v) {
    free (msg);
    goto oom;
  }
  g->errors = v;
  g->errors[g->nr_errors++] = msg;
  return 0;

oom:
  vd_set_error (ENOMEM, _ ("out of memory"));
  return -1;
}

int
df_guest_add_fs (struct df_guest *g, const char *device, const char *type,
                 const char *mountpoint, const struct df_stat *st)
{
  struct df_fs *v, f = { NULL, NULL, NULL, *st };

  f.device = strdup (device);
  f.type = strdup (type ? type : "");
  f.mountpoint = mountpoint ? strdup (mountpoint) : NULL;
  if (!f.device || !f.type || (mountpoint && !f.mountpoint))
    goto oom;
  v = realloc (g->fs, (g->nr_fs + 1) * sizeof *v);
  if (!v)
    goto oom;
  g->fs = v;
  g->fs[g->nr_fs++] = f;
  return 0;

oom:
  fs_free (&f);
  vd_set_error (ENOMEM, _ ("out of memory"));
  return -1;
}

/* ---- numbers --------------------------------------------------------------
 */

int
df_stat_check (const char *device, const struct df_stat *st)
{
  uint64_t bytes;

  if (st->bsize == 0 || st->bsize > (UINT64_C (1) << 30)) {
    vd_set_error (
        EINVAL,
        _ ("%s: the appliance reported a block size of %" PRIu64 " bytes"),
        device, st->bsize);
    return -1;
  }
  if (__builtin_mul_overflow (st->blocks, st->bsize, &bytes)) {
    vd_set_error (EOVERFLOW,
                  _ ("%s: the appliance reported %" PRIu64 " blocks of %" PRIu64
                     " bytes, more than 16 EiB"),
                  device, st->blocks, st->bsize);
    return -1;
  }
  if (st->bfree > st->blocks || st->bavail > st->blocks) {
    vd_set_error (EINVAL,
                  _ ("%s: the appliance reported more free blocks (%" PRIu64
                     ", %" PRIu64 " available) than blocks (%" PRIu64 ")"),
                  device, st->bfree, st->bavail, st->blocks);
    return -1;
  }
  if (st->ffree > st->files || st->favail > st->files) {
    vd_set_error (EINVAL,
                  _ ("%s: the appliance reported more free inodes (%" PRIu64
                     ") than inodes (%" PRIu64 ")"),
                  device, st->ffree, st->files);
    return -1;
  }
  return 0;
}

uint64_t
df_to_1k (uint64_t n, uint64_t bsize)
{
  return (uint64_t) (((unsigned __int128) n * bsize) / 1024);
}

float
df_percent (const struct df_stat *st, bool inodes)
{
  double total = (double) (inodes ? st->files : st->blocks);
  double free_ = (double) (inodes ? st->ffree : st->bfree);

  if (total == 0)
    return 0;
  /* The same operations in the same order as virt-df, kept in a float as
   * virt-df keeps it, so "%.1f" rounds the same way. */
  return (float) (100. - 100. * free_ / total);
}

void
df_percent_str (float p, char *buf, size_t len)
{
  char tmp[64];
  size_t n, i = 0, o = 0;

  snprintf (tmp, sizeof tmp, "%.1f", (double) p);
  n = strlen (tmp);
  /* "[-]DIGITS<the locale's decimal point>DIGIT": put '.' in the middle. */
  while (i < n && (tmp[i] == '-' || (tmp[i] >= '0' && tmp[i] <= '9')))
    tmp[o++] = tmp[i++];
  if (n > 0 && i < n) {
    tmp[o++] = '.';
    tmp[o++] = tmp[n - 1];
  }
  tmp[o] = '\0';
  snprintf (buf, len, "%s", tmp);
}

void
df_human (uint64_t n, uint64_t bsize, char *buf, size_t len)
{
  static const char letters[] = "KMGTPEZY";
  const unsigned base = 1024;
  const int max_power = (int) sizeof letters - 1;
  unsigned __int128 amt = (unsigned __int128) n * bsize;
  /* amt.tenths is the value so far; below the tenths, rest says what was
   * dropped: 0 nothing, 1 less than half a tenth, 2 half, 3 more. */
  unsigned tenths = 0, rest = 0;
  bool decimal = false;
  const char *point = localeconv ()->decimal_point;
  char digits[64], *p = digits + sizeof digits;
  int power = 0;

  if (!point || !point[0] || strlen (point) > 4)
    point = ".";
  while (amt >= base && power < max_power) {
    unsigned r10 = (unsigned) (amt % base) * 10 + tenths;
    unsigned r2 = (r10 % base) * 2 + (rest >> 1);

    amt /= base;
    tenths = r10 / base;
    rest = r2 < base ? (r2 + rest != 0) : 2 + (base < r2 + rest);
    power++;
  }
  if (power > 0 && amt < 10) {
    /* One decimal: round the tenths to nearest, ties to even. */
    if (rest + (tenths & 1) > 2) {
      tenths++;
      rest = 0;
      if (tenths == 10) {
        amt++;
        tenths = 0;
      }
    }
    if (amt < 10) {
      decimal = true;
      rest = 0;
    }
  }
  if (!decimal) {
    /* Round to a whole number, ties to even. */
    if (tenths + (rest + (unsigned) (amt & 1) > 0) > 5) {
      amt++;
      if (amt == base && power < max_power) {
        power++;
        amt = 1;
        decimal = true; /* "1.0M", as gnulib prints a carry */
        tenths = 0;
      }
    }
  }
  *--p = '\0';
  if (power > 0)
    *--p = letters[power - 1];
  if (decimal) {
    *--p = (char) ('0' + tenths);
    p -= strlen (point);
    memcpy (p, point, strlen (point));
  }
  do {
    *--p = (char) ('0' + (int) (amt % 10));
    amt /= 10;
  } while (amt != 0 && p > digits);
  snprintf (buf, len, "%s", p);
}

/* Length of the UTF-8 sequence at S (1-4), or 0 if it is not one. */
static size_t
utf8_len (const unsigned char *s)
{
  size_t n, k;
  uint32_t c;

  if (s[0] < 0x80)
    return 1;
  if ((s[0] & 0xe0) == 0xc0)
    n = 2, c = s[0] & 0x1f;
  else if ((s[0] & 0xf0) == 0xe0)
    n = 3, c = s[0] & 0x0f;
  else if ((s[0] & 0xf8) == 0xf0)
    n = 4, c = s[0] & 0x07;
  else
    return 0;
  for (k = 1; k < n; k++) {
    if ((s[k] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (s[k] & 0x3f);
  }
  /* No overlong forms, surrogates or values past U+10FFFF. */
  if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000)
      || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
    return 0;
  return n;
}

/* S made valid UTF-8, and with ESCAPE, Prometheus' escapes added. */
static char *
clean_string (const char *s, bool escape)
{
  const unsigned char *p = (const unsigned char *) s;
  size_t cap = strlen (s) * 3 + 1, o = 0;
  char *r = malloc (cap);

  if (!r)
    return NULL;
  while (*p) {
    size_t n = utf8_len (p);

    if (n == 0) {
      memcpy (r + o, "\xef\xbf\xbd", 3);
      o += 3;
      p++;
      continue;
    }
    if (escape && n == 1 && (*p == '\\' || *p == '"' || *p == '\n')) {
      r[o++] = '\\';
      r[o++] = *p == '\n' ? 'n' : (char) *p;
      p++;
      continue;
    }
    memcpy (r + o, p, n);
    o += n;
    p += n;
  }
  r[o] = '\0';
  return r;
}

char *
df_prom_escape (const char *s)
{
  return clean_string (s, true);
}

char *
df_utf8_clean (const char *s)
{
  return clean_string (s, false);
}

/* ---- the table ------------------------------------------------------------
 */

static const char *
shown_name (const struct df_render *r, const struct df_guest *g)
{
  return r->uuid && g->uuid ? g->uuid : g->name;
}

static void
text_title (FILE *fp, const struct df_render *r)
{
  const char *size = r->inodes  ? _ ("Inodes")
                     : r->human ? _ ("Size")
                                : _ ("1K-blocks");

  fprintf (fp, "%-36s%10s %10s %10s %5s\n", _ ("Filesystem"), size,
           r->inodes ? _ ("IUsed") : _ ("Used"),
           r->inodes ? _ ("IFree") : _ ("Available"),
           r->inodes ? _ ("IUse%") : _ ("Use%"));
}

/* The three numbers of a row as text: blocks (1K or -h) or inodes. */
static void
row_numbers (const struct df_render *r, const struct df_stat *st,
             char num[3][64])
{
  if (r->inodes) {
    snprintf (num[0], 64, "%" PRIu64, st->files);
    snprintf (num[1], 64, "%" PRIu64, st->files - st->ffree);
    snprintf (num[2], 64, "%" PRIu64, st->ffree);
  }
  else if (r->human && r->format == DF_TEXT) {
    df_human (st->blocks, st->bsize, num[0], 64);
    df_human (st->blocks - st->bfree, st->bsize, num[1], 64);
    df_human (st->bavail, st->bsize, num[2], 64);
  }
  else {
    snprintf (num[0], 64, "%" PRIu64, df_to_1k (st->blocks, st->bsize));
    snprintf (num[1], 64, "%" PRIu64,
              df_to_1k (st->blocks - st->bfree, st->bsize));
    snprintf (num[2], 64, "%" PRIu64, df_to_1k (st->bavail, st->bsize));
  }
}

static void
text_row (FILE *fp, const struct df_render *r, const char *name,
          const struct df_fs *f)
{
  char num[3][64], pct[16];
  size_t len = strlen (name) + 1 + strlen (f->device);

  row_numbers (r, &f->st, num);
  /* As df does: the percentage rounded up. */
  snprintf (pct, sizeof pct, "%3.0f%%", ceil (df_percent (&f->st, r->inodes)));
  fprintf (fp, "%s:%s", name, f->device);
  if (len <= 36)
    fprintf (fp, "%*s", (int) (36 - len), "");
  else
    fprintf (fp, "\n%36s", "");
  fprintf (fp, "%10s %10s %10s %5s\n", num[0], num[1], num[2], pct);
}

static int
csv_field (FILE *fp, const char *s, bool last)
{
  char *q = csv_quote (s);

  if (!q)
    return -1;
  fprintf (fp, "%s%c", q, last ? '\n' : ',');
  free (q);
  return 0;
}

static int
csv_table (FILE *fp, const struct df_render *r, const struct df_guest *guests,
           size_t n)
{
  size_t i, j;

  /* Monitoring scripts split on these: exactly virt-df's header. */
  if (r->inodes)
    fputs ("VirtualMachine,Filesystem,Inodes,IUsed,IFree,IUse%\n", fp);
  else
    fputs ("VirtualMachine,Filesystem,1K-blocks,Used,Available,Use%\n", fp);
  for (i = 0; i < n; i++) {
    for (j = 0; j < guests[i].nr_fs; j++) {
      const struct df_fs *f = &guests[i].fs[j];
      char num[3][64], pct[16];

      row_numbers (r, &f->st, num);
      df_percent_str (df_percent (&f->st, r->inodes), pct, sizeof pct);
      if (csv_field (fp, shown_name (r, &guests[i]), false) == -1
          || csv_field (fp, f->device, false) == -1
          || csv_field (fp, num[0], false) == -1
          || csv_field (fp, num[1], false) == -1
          || csv_field (fp, num[2], false) == -1
          || csv_field (fp, pct, true) == -1)
        return -1;
    }
  }
  return 0;
}

static json_t *
json_str (const char *s)
{
  char *c;
  json_t *j;

  if (!s)
    return json_null ();
  c = df_utf8_clean (s);
  if (!c)
    return NULL;
  j = json_string (c);
  free (c);
  return j;
}

/* The percentage as the CSV prints it, as a JSON number. */
static json_t *
json_percent (float p)
{
  char buf[32];

  df_percent_str (p, buf, sizeof buf);
  /* df_percent_str wrote "D+.D": no locale in this parse either. */
  {
    char *dot = strchr (buf, '.');
    long ip = strtol (buf, NULL, 10);
    int frac = dot ? dot[1] - '0' : 0;
    double v = (double) ip + (buf[0] == '-' ? -frac : frac) / 10.0;
    return json_real (v);
  }
}

static int
json_table (FILE *fp, const struct df_guest *guests, size_t n)
{
  json_t *a = json_array ();
  size_t i, j;
  int r = -1;

  if (!a)
    return -1;
  for (i = 0; i < n; i++) {
    const struct df_guest *g = &guests[i];

    for (j = 0; j < g->nr_fs; j++) {
      const struct df_fs *f = &g->fs[j];
      const struct df_stat *st = &f->st;
      json_t *o = json_object ();

      if (!o || json_array_append_new (a, o) == -1)
        goto out;
      /* Key order is part of the documented format. */
      if (json_object_set_new (o, "guest", json_str (g->name))
          || json_object_set_new (o, "filesystem", json_str (f->device))
          || json_object_set_new (o, "type", json_str (f->type))
          || json_object_set_new (o, "mountpoint", json_str (f->mountpoint))
          || json_object_set_new (
              o, "blocks_1k",
              json_integer ((json_int_t) df_to_1k (st->blocks, st->bsize)))
          || json_object_set_new (o, "used_1k",
                                  json_integer ((json_int_t) df_to_1k (
                                      st->blocks - st->bfree, st->bsize)))
          || json_object_set_new (
              o, "available_1k",
              json_integer ((json_int_t) df_to_1k (st->bavail, st->bsize)))
          || json_object_set_new (o, "use_percent",
                                  json_percent (df_percent (st, false)))
          || json_object_set_new (o, "inodes",
                                  json_integer ((json_int_t) st->files))
          || json_object_set_new (
              o, "inodes_used",
              json_integer ((json_int_t) (st->files - st->ffree)))
          || json_object_set_new (o, "inodes_free",
                                  json_integer ((json_int_t) st->ffree))
          || json_object_set_new (o, "inodes_use_percent",
                                  json_percent (df_percent (st, true)))
          || json_object_set_new (o, "block_size",
                                  json_integer ((json_int_t) st->bsize))
          || json_object_set_new (o, "uuid", json_str (g->uuid)))
        goto out;
    }
  }
  /* Real numbers to 10 digits: use_percent prints as 1.3, not
   * 1.3000000000000000444. */
  if (json_dumpf (a, fp,
                  JSON_INDENT (2) | JSON_PRESERVE_ORDER
                      | JSON_REAL_PRECISION (10))
      == -1)
    goto out;
  fputc ('\n', fp);
  r = 0;
out:
  json_decref (a);
  return r;
}

/* One Prometheus sample line per filesystem for a metric. */
enum prom_value { PROM_SIZE, PROM_AVAIL, PROM_USED, PROM_FILES, PROM_FFREE };

static const struct {
  const char *name, *help;
  enum prom_value v;
} prom_metrics[] = {
  { "vd_df_size_bytes",
    "Size of the guest's filesystem in bytes (statvfs blocks * bsize).",
    PROM_SIZE },
  { "vd_df_avail_bytes",
    "Bytes of the guest's filesystem available to unprivileged users.",
    PROM_AVAIL },
  { "vd_df_used_bytes",
    "Bytes of the guest's filesystem in use (blocks - free blocks).",
    PROM_USED },
  { "vd_df_files", "Inodes of the guest's filesystem.", PROM_FILES },
  { "vd_df_files_free", "Free inodes of the guest's filesystem.", PROM_FFREE },
};

static uint64_t
prom_number (const struct df_stat *st, enum prom_value v)
{
  /* df_stat_check made sure blocks * bsize fits; the others are less. */
  switch (v) {
  case PROM_SIZE: return st->blocks * st->bsize;
  case PROM_AVAIL: return st->bavail * st->bsize;
  case PROM_USED: return (st->blocks - st->bfree) * st->bsize;
  case PROM_FILES: return st->files;
  case PROM_FFREE: return st->ffree;
  }
  return 0;
}

static int
prom_table (FILE *fp, const struct df_render *r, const struct df_guest *guests,
            size_t n)
{
  size_t m, i, j;

  for (m = 0; m < sizeof prom_metrics / sizeof prom_metrics[0]; m++) {
    fprintf (fp, "# HELP %s %s\n# TYPE %s gauge\n", prom_metrics[m].name,
             prom_metrics[m].help, prom_metrics[m].name);
    for (i = 0; i < n; i++) {
      char *gname = df_prom_escape (shown_name (r, &guests[i]));

      if (!gname)
        return -1;
      for (j = 0; j < guests[i].nr_fs; j++) {
        const struct df_fs *f = &guests[i].fs[j];
        char *dev = df_prom_escape (f->device);
        char *type = df_prom_escape (f->type);
        char *mp = df_prom_escape (f->mountpoint ? f->mountpoint : "");

        if (dev && type && mp)
          fprintf (fp,
                   "%s{guest=\"%s\",filesystem=\"%s\",fstype=\"%s\","
                   "mountpoint=\"%s\"} %" PRIu64 "\n",
                   prom_metrics[m].name, gname, dev, type, mp,
                   prom_number (&f->st, prom_metrics[m].v));
        free (dev);
        free (type);
        free (mp);
        if (!dev || !type || !mp) {
          free (gname);
          return -1;
        }
      }
      free (gname);
    }
  }
  fputs ("# HELP vd_df_guest_ok 1 if every filesystem of the guest could be "
         "examined, 0 if something failed.\n"
         "# TYPE vd_df_guest_ok gauge\n",
         fp);
  for (i = 0; i < n; i++) {
    char *gname = df_prom_escape (shown_name (r, &guests[i]));

    if (!gname)
      return -1;
    fprintf (fp, "vd_df_guest_ok{guest=\"%s\"} %d\n", gname,
             guests[i].nr_errors == 0);
    free (gname);
  }
  return 0;
}

int
df_render_table (FILE *fp, const struct df_render *r,
                 const struct df_guest *guests, size_t n)
{
  size_t i, j;
  int ret = 0;

  switch (r->format) {
  case DF_TEXT:
    text_title (fp, r);
    for (i = 0; i < n; i++)
      for (j = 0; j < guests[i].nr_fs; j++)
        text_row (fp, r, shown_name (r, &guests[i]), &guests[i].fs[j]);
    break;
  case DF_CSV: ret = csv_table (fp, r, guests, n); break;
  case DF_JSON: ret = json_table (fp, guests, n); break;
  case DF_PROMETHEUS: ret = prom_table (fp, r, guests, n); break;
  }
  if (ret == -1) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  if (fflush (fp) == EOF || ferror (fp)) {
    vd_set_error (errno, _ ("error writing the output: %s"), strerror (errno));
    return -1;
  }
  return 0;
}

/* ---- thresholds -----------------------------------------------------------
 */

int
df_parse_percent (const char *s, double *out)
{
  double v = 0, scale = 1;
  bool digits = false, point = false;
  const char *p = s;

  /* By hand: "80.5" must mean the same in every locale. */
  for (; *p; p++) {
    if (*p >= '0' && *p <= '9') {
      digits = true;
      if (point) {
        scale /= 10;
        v += (*p - '0') * scale;
      }
      else
        v = v * 10 + (*p - '0');
      if (v > 1000)
        return -1;
    }
    else if (*p == '.' && !point)
      point = true;
    else
      break;
  }
  if (*p == '%')
    p++;
  if (!digits || *p || v > 100)
    return -1;
  *out = v;
  return 0;
}

/* A growing string. */
struct buf {
  char *s;
  size_t len;
  bool failed;
};

static void __attribute__ ((format (printf, 2, 3)))
bprintf (struct buf *b, const char *fmt, ...)
{
  va_list ap;
  char *more;
  int n;

  if (b->failed)
    return;
  va_start (ap, fmt);
  n = vasprintf (&more, fmt, ap);
  va_end (ap);
  if (n < 0) {
    b->failed = true;
    return;
  }
  {
    char *s = realloc (b->s, b->len + (size_t) n + 1);
    if (!s) {
      free (more);
      b->failed = true;
      return;
    }
    b->s = s;
  }
  memcpy (b->s + b->len, more, (size_t) n + 1);
  b->len += (size_t) n;
  free (more);
}

/* NAME:DEVICE for a summary, without the characters a plugin's output
 * line or perfdata label cannot hold ('|', '=', quotes, line ends). */
static char *
summary_label (const struct df_render *r, const struct df_guest *g,
               const struct df_fs *f)
{
  char *s, *p;

  if (asprintf (&s, "%s:%s", shown_name (r, g), f->device) == -1)
    return NULL;
  for (p = s; *p; p++)
    if (*p == '|' || *p == '=' || *p == '\'' || *p == '\n' || *p == '\r')
      *p = '_';
  return s;
}

/* "N filesystem(s) over PCT%: a 95.0%, b 93.1%" for those whose level
 * (2 critical, 1 warning) is LEVEL. */
static void
list_over (struct buf *b, const struct df_render *r,
           const struct df_guest *guests, size_t n, const unsigned char *level,
           unsigned char want, double limit, size_t count)
{
  size_t i, j, k = 0, shown = 0;
  char lim[32];

  snprintf (lim, sizeof lim, "%g", limit);
  /* %g follows the locale too: put the '.' back. */
  for (i = 0; lim[i]; i++)
    if (lim[i] == ',')
      lim[i] = '.';
  bprintf (b, "%zu %s over %s%%%s:", count,
           count == 1 ? "filesystem" : "filesystems", lim,
           r->inodes ? " inode use" : "");
  for (i = 0; i < n; i++) {
    for (j = 0; j < guests[i].nr_fs; j++, k++) {
      char pct[16], *label;

      if (level[k] != want)
        continue;
      df_percent_str (df_percent (&guests[i].fs[j].st, r->inodes), pct,
                      sizeof pct);
      label = summary_label (r, &guests[i], &guests[i].fs[j]);
      if (!label) {
        b->failed = true;
        return;
      }
      bprintf (b, "%s %s %s%%", shown++ ? "," : "", label, pct);
      free (label);
    }
  }
}

int
df_check_thresholds (const struct df_render *r, const struct df_thresholds *t,
                     const struct df_guest *guests, size_t n, char **line)
{
  struct buf b = { NULL, 0, false };
  size_t i, j, k, nfs = 0, ncrit = 0, nwarn = 0, nfailed = 0, nguests = 0;
  unsigned char *level;
  int status;
  float top = -1;
  const struct df_guest *top_g = NULL;
  const struct df_fs *top_f = NULL;

  for (i = 0; i < n; i++)
    nfs += guests[i].nr_fs;
  level = calloc (nfs + 1, 1);
  if (!level)
    goto oom;
  for (i = 0, k = 0; i < n; i++) {
    if (guests[i].nr_errors)
      nfailed++;
    if (guests[i].nr_fs)
      nguests++;
    for (j = 0; j < guests[i].nr_fs; j++, k++) {
      float p = df_percent (&guests[i].fs[j].st, r->inodes);
      /* Compare the value that is printed, so "80.0%" is never "over 80%". */
      char pct[16];
      double shown;

      df_percent_str (p, pct, sizeof pct);
      shown = strtol (pct, NULL, 10) + (pct[strlen (pct) - 1] - '0') / 10.0;
      if (t->have_crit && shown > t->crit)
        level[k] = 2, ncrit++;
      else if (t->have_warn && shown > t->warn)
        level[k] = 1, nwarn++;
      if (p > top) {
        top = p;
        top_g = &guests[i];
        top_f = &guests[i].fs[j];
      }
    }
  }

  status = ncrit     ? DF_CRITICAL
           : nfailed ? DF_UNKNOWN
           : nwarn   ? DF_WARNING
                     : DF_OK;
  bprintf (&b, "DF %s - ",
           status == DF_CRITICAL  ? "CRITICAL"
           : status == DF_UNKNOWN ? "UNKNOWN"
           : status == DF_WARNING ? "WARNING"
                                  : "OK");
  if (ncrit)
    list_over (&b, r, guests, n, level, 2, t->crit, ncrit);
  if (nwarn) {
    if (ncrit)
      bprintf (&b, "; ");
    list_over (&b, r, guests, n, level, 1, t->warn, nwarn);
  }
  if (nfailed) {
    size_t shown = 0;

    if (ncrit || nwarn)
      bprintf (&b, "; ");
    bprintf (&b, "%zu %s failed:", nfailed, nfailed == 1 ? "guest" : "guests");
    for (i = 0; i < n; i++)
      if (guests[i].nr_errors) {
        char *c = strdup (shown_name (r, &guests[i])), *p;
        if (!c)
          goto oom;
        for (p = c; *p; p++)
          if (*p == '|' || *p == '\n' || *p == '\r')
            *p = '_';
        bprintf (&b, "%s %s", shown++ ? "," : "", c);
        free (c);
      }
  }
  if (!ncrit && !nwarn && !nfailed) {
    bprintf (&b, "%zu %s in %zu %s", nfs,
             nfs == 1 ? "filesystem" : "filesystems", nguests,
             nguests == 1 ? "guest" : "guests");
    if (top_f) {
      char pct[16], *label = summary_label (r, top_g, top_f);
      if (!label)
        goto oom;
      df_percent_str (top, pct, sizeof pct);
      bprintf (&b, ", highest%s %s %s%%", r->inodes ? " inode use" : "", label,
               pct);
      free (label);
    }
  }

  /* Perfdata: 'label'=value%;warn;crit;0;100 for each filesystem. */
  if (nfs)
    bprintf (&b, " |");
  for (i = 0; i < n; i++) {
    for (j = 0; j < guests[i].nr_fs; j++) {
      char pct[16], w[32] = "", c[32] = "", *label;

      df_percent_str (df_percent (&guests[i].fs[j].st, r->inodes), pct,
                      sizeof pct);
      if (t->have_warn)
        snprintf (w, sizeof w, "%g", t->warn);
      if (t->have_crit)
        snprintf (c, sizeof c, "%g", t->crit);
      for (k = 0; w[k]; k++)
        if (w[k] == ',')
          w[k] = '.';
      for (k = 0; c[k]; k++)
        if (c[k] == ',')
          c[k] = '.';
      label = summary_label (r, &guests[i], &guests[i].fs[j]);
      if (!label)
        goto oom;
      bprintf (&b, " '%s'=%s%%;%s;%s;0;100", label, pct, w, c);
      free (label);
    }
  }
  free (level);
  if (b.failed) {
    level = NULL;
    goto oom;
  }
  *line = b.s;
  return status;

oom:
  free (level);
  free (b.s);
  vd_set_error (ENOMEM, _ ("out of memory"));
  return -1;
}

/* ---- files ----------------------------------------------------------------
 */

const char *volatile df_temp_file;

int
df_write_file_atomic (const char *path, const char *buf, size_t len)
{
  char *tmp;
  mode_t mask;
  size_t done = 0;
  int fd, e;

  if (asprintf (&tmp, "%s.XXXXXX", path) == -1) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  fd = mkostemp (tmp, O_CLOEXEC);
  if (fd == -1) {
    e = errno;
    vd_set_error (e, _ ("%s: cannot create a temporary file next to it: %s"),
                  path, strerror (e));
    free (tmp);
    return -1;
  }
  df_temp_file = tmp;
  /* mkstemp makes it 0600; a collector running as another user must read
   * it, as it could read a file we had simply created. */
  mask = umask (0);
  umask (mask);
  if (fchmod (fd, 0666 & ~mask) == -1)
    goto fail;
  while (done < len) {
    ssize_t w = write (fd, buf + done, len - done);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      goto fail;
    }
    done += (size_t) w;
  }
  if (fsync (fd) == -1)
    goto fail;
  if (close (fd) == -1) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  if (rename (tmp, path) == -1)
    goto fail;
  df_temp_file = NULL;
  free (tmp);
  return 0;

fail:
  e = errno;
  if (fd >= 0)
    close (fd);
  unlink (tmp);
  df_temp_file = NULL;
  vd_set_error (e, _ ("%s: cannot write it: %s"), path, strerror (e));
  free (tmp);
  return -1;
}

/* ---- save and load (test hooks) -------------------------------------------
 */

/* A field with \, tab and line ends escaped; NULL is an empty field. */
static void
put_field (FILE *fp, const char *s, bool last)
{
  for (; s && *s; s++) {
    if (*s == '\\')
      fputs ("\\\\", fp);
    else if (*s == '\t')
      fputs ("\\t", fp);
    else if (*s == '\n')
      fputs ("\\n", fp);
    else if (*s == '\r')
      fputs ("\\r", fp);
    else
      fputc (*s, fp);
  }
  fputc (last ? '\n' : '\t', fp);
}

int
df_save (const char *path, const struct df_guest *guests, size_t n)
{
  char *buf = NULL;
  size_t len = 0, i, j;
  FILE *fp = open_memstream (&buf, &len);
  int r;

  if (!fp) {
    vd_set_error (errno, _ ("out of memory"));
    return -1;
  }
  fputs ("# vd-df results (VD_DF_TEST_SAVE)\n", fp);
  for (i = 0; i < n; i++) {
    const struct df_guest *g = &guests[i];

    fputs ("guest\t", fp);
    put_field (fp, g->name, false);
    put_field (fp, g->uuid, true);
    for (j = 0; j < g->nr_fs; j++) {
      const struct df_fs *f = &g->fs[j];
      const struct df_stat *st = &f->st;

      fputs ("fs\t", fp);
      put_field (fp, f->device, false);
      put_field (fp, f->type, false);
      put_field (fp, f->mountpoint, false);
      fprintf (fp,
               "%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
               "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n",
               st->bsize, st->frsize, st->blocks, st->bfree, st->bavail,
               st->files, st->ffree, st->favail);
    }
    for (j = 0; j < g->nr_errors; j++) {
      fputs ("error\t", fp);
      put_field (fp, g->errors[j], true);
    }
  }
  if (fclose (fp) == EOF) {
    free (buf);
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  r = df_write_file_atomic (path, buf, len);
  free (buf);
  return r;
}

/* Split LINE at tabs into at most MAX fields, undoing put_field's
 * escapes in place.  Returns the number of fields. */
static size_t
split_fields (char *line, char **f, size_t max)
{
  size_t n = 0;
  char *r = line, *w = line;

  f[n++] = w;
  for (; *r; r++) {
    if (*r == '\t') {
      *w++ = '\0';
      if (n == max)
        return max + 1;
      f[n++] = w;
    }
    else if (*r == '\\' && r[1]) {
      r++;
      *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r;
    }
    else
      *w++ = *r;
  }
  *w = '\0';
  return n;
}

static int
parse_u64 (const char *s, uint64_t *v)
{
  char *end;

  if (!*s || *s < '0' || *s > '9')
    return -1;
  errno = 0;
  *v = strtoull (s, &end, 10);
  return errno || *end ? -1 : 0;
}

int
df_load (const char *path, struct df_guest **guests_ret, size_t *n_ret)
{
  FILE *fp = fopen (path, "re");
  struct df_guest *guests = NULL, *g;
  size_t n = 0, lineno = 0, cap = 0;
  char *line = NULL;
  size_t lcap = 0;
  ssize_t len;

  if (!fp) {
    vd_set_error (errno, "%s: %s", path, strerror (errno));
    return -1;
  }
  while ((len = getline (&line, &lcap, fp)) >= 0) {
    char *f[12];
    size_t nf;

    lineno++;
    if (len > 0 && line[len - 1] == '\n')
      line[len - 1] = '\0';
    if (line[0] == '#' || line[0] == '\0')
      continue;
    nf = split_fields (line, f, 12);
    if (strcmp (f[0], "guest") == 0 && nf == 3) {
      if (n == cap) {
        size_t c = cap ? cap * 2 : 16;
        struct df_guest *v = realloc (guests, c * sizeof *v);
        if (!v)
          goto oom;
        guests = v;
        cap = c;
      }
      g = &guests[n++];
      memset (g, 0, sizeof *g);
      g->name = strdup (f[1]);
      g->uuid = f[2][0] ? strdup (f[2]) : NULL;
      if (!g->name || (f[2][0] && !g->uuid))
        goto oom;
    }
    else if (strcmp (f[0], "fs") == 0 && nf == 12 && n > 0) {
      struct df_stat st;

      if (parse_u64 (f[4], &st.bsize) || parse_u64 (f[5], &st.frsize)
          || parse_u64 (f[6], &st.blocks) || parse_u64 (f[7], &st.bfree)
          || parse_u64 (f[8], &st.bavail) || parse_u64 (f[9], &st.files)
          || parse_u64 (f[10], &st.ffree) || parse_u64 (f[11], &st.favail))
        goto bad;
      if (df_stat_check (f[1], &st) == -1) {
        if (df_guest_add_error (&guests[n - 1], "%s: %s", guests[n - 1].name,
                                vd_error ())
            == -1)
          goto fail;
        continue;
      }
      if (df_guest_add_fs (&guests[n - 1], f[1], f[2], f[3][0] ? f[3] : NULL,
                           &st)
          == -1)
        goto fail;
    }
    else if (strcmp (f[0], "error") == 0 && nf == 2 && n > 0) {
      if (df_guest_add_error (&guests[n - 1], "%s", f[1]) == -1)
        goto fail;
    }
    else
      goto bad;
  }
  free (line);
  fclose (fp);
  *guests_ret = guests;
  *n_ret = n;
  return 0;

bad:
  vd_set_error (EINVAL, _ ("%s: line %zu is not a vd-df result line"), path,
                lineno);
  goto fail;
oom:
  vd_set_error (ENOMEM, _ ("out of memory"));
fail:
  free (line);
  fclose (fp);
  df_guests_free (guests, n);
  return -1;
}
