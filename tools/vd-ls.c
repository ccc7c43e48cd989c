/* vd-ls: list files in a guest's disks, with virt-ls's options and its
 * output line for line (plain, -l, -R, -lR), plus --json.  Parse (options
 * into struct ls_request), work (the guest's files into struct
 * ls_listing), render (text, CSV or JSON through tools/common/render.c).
 */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "common/guest.h"

/* ---- parse ----------------------------------------------------------------
 */

enum time_mode { TIME_NONE, TIME_STRING, TIME_T, TIME_RELATIVE, TIME_DAYS };

struct ls_request {
  struct guest_opts g;
  bool long_mode, recursive, human, uids, extra_stats;
  enum time_mode times;
  const char *checksum; /* NULL: none */
};

enum {
  OPT_CHECKSUM = 256,
  OPT_EXTRA_STATS,
  OPT_TIMES,
  OPT_TIME_DAYS,
  OPT_TIME_RELATIVE,
  OPT_TIME_T,
  OPT_UIDS,
};

static const struct tool_option ls_options[] = {
  { "checksum", 0, optional_argument, "[=crc|md5|sha1|sha256|..]",
    N_ ("Display file checksums (md5 by default)"), OPT_CHECKSUM },
  { "extra-stats", 0, no_argument, NULL, N_ ("Display extra stats"),
    OPT_EXTRA_STATS },
  { "human-readable", 'h', no_argument, NULL,
    N_ ("Human-readable sizes in output"), 'h' },
  { "long", 'l', no_argument, NULL, N_ ("Long listing"), 'l' },
  { "recursive", 'R', no_argument, NULL, N_ ("Recursive listing"), 'R' },
  { "times", 0, no_argument, NULL, N_ ("Display file times"), OPT_TIMES },
  { "time-days", 0, no_argument, NULL,
    N_ ("Display file times as days before now"), OPT_TIME_DAYS },
  { "time-relative", 0, no_argument, NULL,
    N_ ("Display file times as seconds before now"), OPT_TIME_RELATIVE },
  { "time-t", 0, no_argument, NULL,
    N_ ("Display file times as seconds since the epoch"), OPT_TIME_T },
  { "uids", 0, no_argument, NULL, N_ ("Display UID, GID"), OPT_UIDS },
  { NULL, 0, 0, NULL, NULL, 0 },
};

static const char *const ls_usage[] = {
  "[--options] -d domname dir [dir ...]",
  "[--options] -a disk.img [-a disk.img ...] dir [dir ...]",
  NULL,
};

static const char *const checksum_types[] = {
  "crc", "md5", "sha1", "sha224", "sha256", "sha384", "sha512", NULL,
};

static int
ls_option (void *data, int id, const char *arg)
{
  struct ls_request *req = data;
  size_t i;

  switch (id) {
  case 'l': req->long_mode = true; return 0;
  case 'R': req->recursive = true; return 0;
  case 'h': req->human = true; return 0;
  case OPT_UIDS: req->uids = true; return 0;
  case OPT_EXTRA_STATS: req->extra_stats = true; return 0;
  case OPT_TIMES: req->times = TIME_STRING; return 0;
  case OPT_TIME_DAYS: req->times = TIME_DAYS; return 0;
  case OPT_TIME_RELATIVE: req->times = TIME_RELATIVE; return 0;
  case OPT_TIME_T: req->times = TIME_T; return 0;
  case OPT_CHECKSUM:
    if (!arg) {
      req->checksum = "md5";
      return 0;
    }
    for (i = 0; checksum_types[i]; i++)
      if (strcmp (arg, checksum_types[i]) == 0) {
        req->checksum = checksum_types[i];
        return 0;
      }
    tool_error (_ ("--checksum=%s: unknown checksum type (use crc, md5, "
                   "sha1, sha224, sha256, sha384 or sha512)"),
                arg);
    return -1;
  }
  return -1;
}

static const struct tool_info ls_tool = {
  .summary = N_ ("list files in a virtual machine"),
  .usage = ls_usage,
  .common = GOPT_ADD | GOPT_MOUNT | GOPT_KEYS | GOPT_CSV | GOPT_JSON,
  .options = ls_options,
  .handle = ls_option,
  .min_args = 1,
};

/* ---- work -----------------------------------------------------------------
 */

/* One file as found in the guest. */
struct ls_entry {
  char *path; /* full path in the guest (-R text: relative, see below) */
  bool has_stat;
  struct guestfs_statns st;
  char *link;     /* symlink target, or NULL */
  char *checksum; /* or NULL */
};

struct ls_listing {
  struct ls_entry *v;
  size_t n, cap;
  char *ll_text; /* -l (not -R, not --json): guestfs_ll's text, joined */
};

static void
listing_free (struct ls_listing *l)
{
  size_t i;

  for (i = 0; i < l->n; i++) {
    free (l->v[i].path);
    free (l->v[i].link);
    free (l->v[i].checksum);
  }
  free (l->v);
  free (l->ll_text);
}

static struct ls_entry *
listing_add (struct ls_listing *l, char *path)
{
  struct ls_entry *e;

  if (!path)
    goto oom;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    struct ls_entry *v = realloc (l->v, cap * sizeof *v);
    if (!v)
      goto oom;
    l->v = v;
    l->cap = cap;
  }
  e = &l->v[l->n++];
  memset (e, 0, sizeof *e);
  e->path = path;
  return e;

oom:
  free (path);
  vd_set_error (ENOMEM, _ ("out of memory"));
  return NULL;
}

static char *
join_path (const char *dir, const char *name)
{
  char *p;
  size_t n = strlen (dir);

  if (asprintf (&p, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name)
      == -1)
    return NULL;
  return p;
}

static int
gerror (guestfs_h *g, const char *path)
{
  const char *msg = guestfs_last_error (g);
  int e = guestfs_last_errno (g);

  if (e == ENOENT)
    vd_set_error (e, _ ("%s: no such file or directory in the guest"), path);
  else
    vd_set_error (e, "%s: %s", path, msg ? msg : "?");
  return -1;
}

static int
add_checksum (guestfs_h *g, const struct ls_request *req, struct ls_entry *e)
{
  if (!req->checksum || !e->has_stat || !S_ISREG (e->st.st_mode))
    return 0;
  e->checksum = guestfs_checksum (g, req->checksum, e->path);
  if (!e->checksum)
    return gerror (g, e->path);
  return 0;
}

/* Stats, link targets and checksums of DIR's NAMES, appended to L. */
#define BATCH 1000
static int visit (guestfs_h *g, const struct ls_request *req, bool stats,
                  const char *dir, struct ls_listing *l);

static int
visit_batch (guestfs_h *g, const struct ls_request *req, bool stats,
             const char *dir, char **names, struct ls_listing *l)
{
  struct guestfs_statns_list *st = NULL;
  char **links = NULL;
  size_t i, n = 0;
  int r = -1;
  bool any_link = false;

  while (names[n])
    n++;
  if (stats || req->recursive) {
    st = guestfs_lstatnslist (g, dir, names);
    if (!st)
      return gerror (g, dir);
    if (st->len != n) {
      vd_set_error (EIO, _ ("%s: libguestfs returned %u stats for %zu names"),
                    dir, st->len, n);
      goto out;
    }
    for (i = 0; i < n; i++)
      if (S_ISLNK (st->val[i].st_mode))
        any_link = true;
  }
  if (stats && any_link) {
    links = guestfs_readlinklist (g, dir, names);
    if (!links) {
      gerror (g, dir);
      goto out;
    }
    for (i = 0; links[i]; i++)
      ;
    if (i != n) {
      vd_set_error (EIO,
                    _ ("%s: libguestfs returned %zu link targets for %zu "
                       "names"),
                    dir, i, n);
      goto out;
    }
  }
  for (i = 0; i < n; i++) {
    struct ls_entry *e = listing_add (l, join_path (dir, names[i]));
    char *sub;

    if (!e)
      goto out;
    if (st) {
      e->st = st->val[i];
      e->has_stat = stats;
    }
    if (links && S_ISLNK (e->st.st_mode) && links[i]) {
      e->link = strdup (links[i]);
      if (!e->link) {
        vd_set_error (ENOMEM, _ ("out of memory"));
        goto out;
      }
    }
    if (add_checksum (g, req, e) == -1)
      goto out;
    if (req->recursive && S_ISDIR (st->val[i].st_mode)) {
      sub = strdup (e->path); /* e moves when the listing grows */
      if (!sub || visit (g, req, stats, sub, l) == -1) {
        free (sub);
        goto out;
      }
      free (sub);
    }
  }
  r = 0;
out:
  if (st)
    guestfs_free_statns_list (st);
  if (links) {
    for (i = 0; links[i]; i++)
      free (links[i]);
    free (links);
  }
  return r;
}

/* List DIR (sorted, as guestfs_ls sorts), recursing with -R. */
static int
visit (guestfs_h *g, const struct ls_request *req, bool stats, const char *dir,
       struct ls_listing *l)
{
  char **names = guestfs_ls (g, dir);
  size_t n = 0, i;
  int r = 0;

  if (!names)
    return gerror (g, dir);
  while (names[n])
    n++;
  /* lstatnslist and readlinklist take a bounded number of names. */
  for (i = 0; i < n && r == 0; i += BATCH) {
    size_t k = n - i < BATCH ? n - i : BATCH;
    char *saved = names[i + k];
    names[i + k] = NULL;
    r = visit_batch (g, req, stats, dir, names + i, l);
    names[i + k] = saved;
  }
  for (i = 0; i < n; i++)
    free (names[i]);
  free (names);
  return r;
}

/* The entry for PATH itself (a -lR listing starts with the folder). */
static int
add_self (guestfs_h *g, const struct ls_request *req, const char *path,
          struct ls_listing *l)
{
  struct guestfs_statns *st = guestfs_lstatns (g, path);
  struct ls_entry *e;
  int r = -1;

  if (!st)
    return gerror (g, path);
  e = listing_add (l, strdup (path));
  if (!e)
    goto out;
  e->st = *st;
  e->has_stat = true;
  if (S_ISLNK (st->st_mode)) {
    e->link = guestfs_readlink (g, path);
    if (!e->link) {
      gerror (g, path);
      goto out;
    }
  }
  r = add_checksum (g, req, e);
out:
  guestfs_free_statns (st);
  return r;
}

static int
list_one (guestfs_h *g, const struct ls_request *req, const char *dir,
          struct ls_listing *l)
{
  bool json = req->g.output == OUTPUT_JSON;
  bool stats = json || (req->long_mode && req->recursive);
  int is_dir;

  /* A symlink to a folder is listed through, as ls and virt-ls do. */
  is_dir =
      guestfs_is_dir_opts (g, dir, GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 1, -1);
  if (is_dir == -1)
    return gerror (g, dir);
  if (!is_dir) {
    /* A file is listed as itself (virt-ls fails on it). */
    if (guestfs_exists (g, dir) != 1) {
      vd_set_error (ENOENT, _ ("%s: no such file or directory in the guest"),
                    dir);
      return -1;
    }
    return add_self (g, req, dir, l);
  }

  if (req->long_mode && !req->recursive && !json) {
    char *text = guestfs_ll (g, dir), *joined;
    if (!text)
      return gerror (g, dir);
    if (asprintf (&joined, "%s%s", l->ll_text ? l->ll_text : "", text) == -1) {
      free (text);
      vd_set_error (ENOMEM, _ ("out of memory"));
      return -1;
    }
    free (text);
    free (l->ll_text);
    l->ll_text = joined;
    return 0;
  }
  if (req->long_mode && req->recursive && add_self (g, req, dir, l) == -1)
    return -1;
  return visit (g, req, stats, dir, l);
}

static int
ls_work (guestfs_h *g, const struct ls_request *req, struct ls_listing *l)
{
  size_t i;

  for (i = 0; i < req->g.nr_args; i++) {
    const char *dir = req->g.args[i];
    size_t first = l->n, j;

    if (list_one (g, req, dir, l) == -1)
      return -1;
    /* Text without -l prints names relative to DIR: plain mode the bare
     * names, -R "/REL" (as virt-ls).  A file argument stays as given. */
    if (!req->long_mode && req->g.output != OUTPUT_JSON) {
      size_t dl = strlen (dir);
      while (dl > 0 && dir[dl - 1] == '/')
        dl--;
      if (!req->recursive)
        dl++; /* the '/' too */
      for (j = first; j < l->n; j++)
        if (strlen (l->v[j].path) > dl && !l->v[j].has_stat)
          memmove (l->v[j].path, l->v[j].path + dl,
                   strlen (l->v[j].path + dl) + 1);
    }
  }
  return 0;
}

/* ---- render ---------------------------------------------------------------
 */

static char
type_letter (int64_t mode)
{
  if (S_ISREG (mode))
    return '-';
  if (S_ISDIR (mode))
    return 'd';
  if (S_ISLNK (mode))
    return 'l';
  if (S_ISCHR (mode))
    return 'c';
  if (S_ISBLK (mode))
    return 'b';
  if (S_ISFIFO (mode))
    return 'p';
  if (S_ISSOCK (mode))
    return 's';
  return 'u';
}

static const char *
type_word (int64_t mode)
{
  switch (type_letter (mode)) {
  case '-': return "file";
  case 'd': return "directory";
  case 'l': return "symlink";
  case 'c': return "char-device";
  case 'b': return "block-device";
  case 'p': return "fifo";
  case 's': return "socket";
  }
  return "unknown";
}

/* ls -h style: "21", "4.0K", "293K", "1.5M" (powers of 1024, rounded to
 * nearest, one decimal below 10). */
static void
human_readable (int64_t size, char *buf, size_t len)
{
  static const char units[] = "KMGTPE";
  long double v = (long double) size;
  int u = -1;

  if (size < 1024) {
    snprintf (buf, len, "%" PRIi64, size);
    return;
  }
  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  if (roundl (v * 10) < 100)
    snprintf (buf, len, "%.1Lf%c", roundl (v * 10) / 10, units[u]);
  else if (roundl (v) < 1024 || u == 5)
    snprintf (buf, len, "%.0Lf%c", roundl (v), units[u]);
  else
    snprintf (buf, len, "1.0%c", units[u + 1]);
}

static int
render_time (struct output *o, enum time_mode mode, int64_t t, time_t now)
{
  struct tm tm;
  time_t tt = (time_t) t;
  char buf[64];

  switch (mode) {
  case TIME_NONE: return 0;
  case TIME_STRING:
    if (!localtime_r (&tt, &tm)
        || strftime (buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm) == 0)
      snprintf (buf, sizeof buf, "%" PRIi64, t);
    return output_col (o, 0, 0, buf);
  case TIME_T: return output_colf (o, 0, 10, "%" PRIi64, t);
  case TIME_RELATIVE:
    return output_colf (o, 0, 8, "%" PRIi64, (int64_t) now - t);
  case TIME_DAYS:
    return output_colf (o, 0, 3, "%" PRIi64, ((int64_t) now - t) / 86400);
  }
  return 0;
}

static void
render_long (struct output *o, const struct ls_request *req,
             const struct ls_entry *e, time_t now)
{
  const struct guestfs_statns *st = &e->st;
  char size[32];

  output_record (o);
  output_colf (o, 0, 0, "%c", type_letter (st->st_mode));
  output_colf (o, 0, 0, "%04" PRIo64, (uint64_t) st->st_mode & 07777);
  if (req->human)
    human_readable (st->st_size, size, sizeof size);
  else
    snprintf (size, sizeof size, "%" PRIi64, st->st_size);
  output_col (o, 0, 10, size);
  if (req->uids) {
    /* Padded in CSV too, as virt-ls prints them. */
    output_colf (o, OUTPUT_NO_QUOTE, 0, "%4" PRIi64, st->st_uid);
    output_colf (o, OUTPUT_NO_QUOTE, 0, "%4" PRIi64, st->st_gid);
  }
  render_time (o, req->times, st->st_atime_sec, now);
  render_time (o, req->times, st->st_mtime_sec, now);
  render_time (o, req->times, st->st_ctime_sec, now);
  if (req->extra_stats) {
    output_colf (o, 0, 0, "%u:%u", gnu_dev_major ((dev_t) st->st_dev),
                 gnu_dev_minor ((dev_t) st->st_dev));
    output_colf (o, 0, 0, "%" PRIi64, st->st_ino);
    output_colf (o, 0, 0, "%" PRIi64, st->st_nlink);
    output_colf (o, 0, 0, "%u:%u", gnu_dev_major ((dev_t) st->st_rdev),
                 gnu_dev_minor ((dev_t) st->st_rdev));
    output_colf (o, 0, 0, "%" PRIi64, st->st_blocks);
  }
  /* Only files have a checksum: CSV keeps an empty field for the rest. */
  if (e->checksum)
    output_col (o, 0, 0, e->checksum);
  else if (req->checksum)
    output_col (o, OUTPUT_CSV_ONLY, 0, "");
  output_col (o, 0, 0, e->path);
  if (e->link) {
    output_col (o, OUTPUT_TEXT_ONLY, 0, "->");
    output_col (o, 0, 0, e->link);
  }
}

/* A JSON string of S, which need not be UTF-8 (a guest's names are bytes):
 * bytes that are not UTF-8 become U+FFFD. */
static json_t *
json_bytes (const char *s)
{
  json_t *j = json_string (s);
  const unsigned char *p;
  char *fixed, *q;

  if (j)
    return j;
  fixed = malloc (strlen (s) * 3 + 1);
  if (!fixed)
    return NULL;
  for (p = (const unsigned char *) s, q = fixed; *p;) {
    size_t n = *p < 0x80             ? 1
               : (*p & 0xe0) == 0xc0 ? 2
               : (*p & 0xf0) == 0xe0 ? 3
               : (*p & 0xf8) == 0xf0 ? 4
                                     : 0;
    json_t *probe = NULL;
    size_t k;

    for (k = 1; k < n; k++)
      if ((p[k] & 0xc0) != 0x80)
        n = 0;
    if (n > 1)
      probe = json_stringn ((const char *) p, n);
    if (n == 1 || probe) {
      memcpy (q, p, n);
      q += n;
      p += n;
    }
    else {
      memcpy (q, "\xef\xbf\xbd", 3);
      q += 3;
      p++;
    }
    json_decref (probe);
  }
  *q = '\0';
  j = json_string (fixed);
  free (fixed);
  return j;
}

static void
render_json (struct output *o, const struct ls_request *req,
             const struct ls_entry *e)
{
  const struct guestfs_statns *st = &e->st;
  char dev[32];

  output_record (o);
  output_json (o, "path", json_bytes (e->path));
  output_json (o, "type", json_string (type_word (st->st_mode)));
  output_json (o, "mode", json_integer (st->st_mode & 07777));
  output_json (o, "size", json_integer (st->st_size));
  output_json (o, "uid", json_integer (st->st_uid));
  output_json (o, "gid", json_integer (st->st_gid));
  output_json (o, "mtime", json_integer (st->st_mtime_sec));
  output_json (o, "atime", json_integer (st->st_atime_sec));
  output_json (o, "ctime", json_integer (st->st_ctime_sec));
  output_json (o, "link_target", e->link ? json_bytes (e->link) : NULL);
  output_json (o, "checksum", e->checksum ? json_string (e->checksum) : NULL);
  if (req->extra_stats) {
    snprintf (dev, sizeof dev, "%u:%u", gnu_dev_major ((dev_t) st->st_dev),
              gnu_dev_minor ((dev_t) st->st_dev));
    output_json (o, "device", json_string (dev));
    output_json (o, "inode", json_integer (st->st_ino));
    output_json (o, "nlink", json_integer (st->st_nlink));
    snprintf (dev, sizeof dev, "%u:%u", gnu_dev_major ((dev_t) st->st_rdev),
              gnu_dev_minor ((dev_t) st->st_rdev));
    output_json (o, "rdev", json_string (dev));
    output_json (o, "blocks", json_integer (st->st_blocks));
  }
}

static int
ls_render (const struct ls_request *req, const struct ls_listing *l, FILE *fp)
{
  struct output *o = output_new (req->g.output);
  time_t now = time (NULL);
  size_t i;
  int r;

  if (!o) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  if (l->ll_text)
    output_text (o, l->ll_text);
  for (i = 0; i < l->n; i++) {
    const struct ls_entry *e = &l->v[i];

    if (req->g.output == OUTPUT_JSON)
      render_json (o, req, e);
    else if (e->has_stat && req->long_mode)
      render_long (o, req, e, now);
    else {
      output_record (o);
      output_col (o, 0, 0, e->path);
    }
  }
  r = output_write (o, fp);
  if (r == -1)
    vd_set_error (errno, _ ("error writing the output: %s"), strerror (errno));
  output_free (o);
  return r;
}

int
main (int argc, char **argv)
{
  struct ls_request req = { .times = TIME_NONE };
  struct ls_listing listing = { NULL, 0, 0, NULL };
  guestfs_h *g;
  int r;

  tool_init (argc, argv);
  r = guest_opts_parse (&ls_tool, &req, argc, argv, &req.g);
  if (r != 0)
    return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
  if (req.human && req.g.output == OUTPUT_CSV) {
    tool_error (_ ("you cannot use -h and --csv options together."));
    guest_opts_free (&req.g);
    return EXIT_FAILURE;
  }
  /* The columns these add exist in the -lR table only (JSON has them
   * all, whatever the mode). */
  if (!(req.long_mode && req.recursive) && req.g.output != OUTPUT_JSON
      && (req.g.output == OUTPUT_CSV || req.checksum || req.extra_stats
          || req.human || req.times != TIME_NONE || req.uids)) {
    tool_error (_ ("used a flag which can only be combined with -lR mode"));
    guest_opts_free (&req.g);
    return EXIT_FAILURE;
  }

  g = guest_open (&req.g, GUEST_INSPECT);
  if (!g) {
    tool_error_vd ();
    guest_opts_free (&req.g);
    return EXIT_FAILURE;
  }
  r = ls_work (g, &req, &listing);
  if (guest_close (g) == -1 && r == 0)
    r = -1;
  if (r == 0)
    r = ls_render (&req, &listing, stdout);
  if (r == -1)
    tool_error_vd ();
  listing_free (&listing);
  guest_opts_free (&req.g);
  return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
