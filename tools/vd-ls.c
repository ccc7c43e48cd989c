/* vd-ls: list files in a guest's disks, with virt-ls's options and its
 * output line for line (plain, -l, -R, -lR), plus --json.  Parse (options
 * into struct ls_request), work (the guest's files into struct
 * ls_listing), render (text, CSV or JSON through tools/common/render.c).
 */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "common/guest.h"
#include "native.h"

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
  .common =
      GOPT_ADD | GOPT_MOUNT | GOPT_KEYS | GOPT_CSV | GOPT_JSON | GOPT_PATH,
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

/* ---- work, the native path ------------------------------------------------
 * The same listing as above, made in the sandboxed child from the guest's
 * ext2/3/4 filesystems (inspect/native/), then sent to the parent entry by
 * entry.  Messages are the ones the appliance path gives.
 */

static char type_letter (int64_t mode);
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static void
to_statns (const struct ext_stat *e, struct guestfs_statns *st)
{
  memset (st, 0, sizeof *st);
  st->st_dev = e->dev;
  st->st_ino = e->ino;
  st->st_mode = e->mode;
  st->st_nlink = e->nlink;
  st->st_uid = e->uid;
  st->st_gid = e->gid;
  st->st_rdev = e->rdev;
  st->st_size = e->size;
  st->st_blksize = e->blksize;
  st->st_blocks = e->blocks;
  st->st_atime_sec = e->atime_sec;
  st->st_atime_nsec = e->atime_nsec;
  st->st_mtime_sec = e->mtime_sec;
  st->st_mtime_nsec = e->mtime_nsec;
  st->st_ctime_sec = e->ctime_sec;
  st->st_ctime_nsec = e->ctime_nsec;
}

static int
nerror (const char *path)
{
  if (vd_errno () == ENOENT)
    vd_set_error (ENOENT, _ ("%s: no such file or directory in the guest"),
                  path);
  return -1;
}

static int
sum_chunk (void *opaque, const void *buf, size_t len)
{
  native_sum_update (opaque, buf, len);
  return 0;
}

static int
n_checksum (struct ext_vfs *v, const struct ls_request *req, struct ls_entry *e)
{
  struct native_sum *s;

  if (!req->checksum || !e->has_stat || !S_ISREG (e->st.st_mode))
    return 0;
  s = native_sum_new (req->checksum);
  if (!s)
    return -1;
  if (ext_vfs_read (v, e->path, sum_chunk, s) == -1) {
    free (native_sum_finish (s));
    return nerror (e->path);
  }
  e->checksum = native_sum_finish (s);
  return e->checksum ? 0 : -1;
}

static int n_visit (struct ext_vfs *v, const struct ls_request *req, bool stats,
                    const char *dir, struct ls_listing *l);

static int
n_add (struct ext_vfs *v, const struct ls_request *req, bool stats,
       bool recurse, char *path, struct ls_listing *l)
{
  struct ext_stat st;
  struct ls_entry *e;
  char *sub;

  if (ext_vfs_stat (v, path, false, &st) == -1) {
    nerror (path);
    free (path);
    return -1;
  }
  e = listing_add (l, path);
  if (!e)
    return -1;
  to_statns (&st, &e->st);
  e->has_stat = stats;
  if (stats && S_ISLNK (st.mode)) {
    e->link = ext_vfs_readlink (v, e->path);
    if (!e->link)
      return nerror (e->path);
  }
  if (n_checksum (v, req, e) == -1)
    return -1;
  if (recurse && S_ISDIR (st.mode)) {
    int r;
    sub = strdup (e->path); /* e moves when the listing grows */
    if (!sub) {
      vd_set_error (ENOMEM, _ ("out of memory"));
      return -1;
    }
    r = n_visit (v, req, stats, sub, l);
    free (sub);
    return r;
  }
  return 0;
}

static int
n_visit (struct ext_vfs *v, const struct ls_request *req, bool stats,
         const char *dir, struct ls_listing *l)
{
  char **names = ext_vfs_readdir (v, dir);
  size_t i;
  int r = 0;

  if (!names)
    return nerror (dir);
  for (i = 0; names[i] && r == 0; i++)
    r = n_add (v, req, stats, req->recursive, join_path (dir, names[i]), l);
  for (i = 0; names[i]; i++)
    free (names[i]);
  free (names);
  return r;
}

/* ---- ls -la, as the appliance's guestfs_ll prints it (GNU ls, C locale,
 * numeric owners: the appliance has no passwd) ----------------------------- */

struct ll_line {
  char *name;
  struct ext_stat st;
  char *link;
};

static int
ll_cmp (const void *a, const void *b)
{
  return strcmp (((const struct ll_line *) a)->name,
                 ((const struct ll_line *) b)->name);
}

static void
mode_string (int64_t mode, char *m)
{
  static const char rwx[] = "rwxrwxrwx";
  int i;

  m[0] = type_letter (mode);
  if (m[0] == 'u')
    m[0] = '?';
  if (m[0] == '-' && !S_ISREG (mode))
    m[0] = '?';
  for (i = 0; i < 9; i++)
    m[1 + i] = (mode & (0400 >> i)) ? rwx[i] : '-';
  if (mode & S_ISUID)
    m[3] = (mode & S_IXUSR) ? 's' : 'S';
  if (mode & S_ISGID)
    m[6] = (mode & S_IXGRP) ? 's' : 'S';
  if (mode & S_ISVTX)
    m[9] = (mode & S_IXOTH) ? 't' : 'T';
  m[10] = '\0';
}

static int
numlen (uint64_t v)
{
  char b[32];
  return snprintf (b, sizeof b, "%" PRIu64, v);
}

static int append (char **text, size_t *len, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static int
append (char **text, size_t *len, const char *fmt, ...)
{
  va_list ap;
  char *piece, *nt;
  int n;

  va_start (ap, fmt);
  n = vasprintf (&piece, fmt, ap);
  va_end (ap);
  if (n < 0)
    goto oom;
  nt = realloc (*text, *len + (size_t) n + 1);
  if (!nt) {
    free (piece);
    goto oom;
  }
  memcpy (nt + *len, piece, (size_t) n + 1);
  *text = nt;
  *len += (size_t) n;
  free (piece);
  return 0;
oom:
  vd_set_error (ENOMEM, _ ("out of memory"));
  return -1;
}

static int
n_ll (struct ext_vfs *v, const char *dir, struct ls_listing *l)
{
  struct ll_line *lines = NULL;
  char **names = NULL, *parent = NULL, *text = NULL;
  size_t n = 0, nn, i, tlen = 0;
  int wn = 0, wu = 0, wg = 0, ws = 0, wmaj = 0, wmin = 0, r = -1;
  uint64_t total = 0;
  time_t now = time (NULL);
  bool any_dev = false;

  names = ext_vfs_readdir (v, dir);
  if (!names)
    return nerror (dir);
  while (names[n])
    n++;
  nn = n;
  lines = calloc (n + 2, sizeof *lines);
  if (!lines || asprintf (&parent, "%s/..", dir) == -1) {
    parent = NULL;
    vd_set_error (ENOMEM, _ ("out of memory"));
    goto out;
  }
  /* "." and "..": the guest's root is its own parent here, where the
   * appliance shows its own root folder (man page, NATIVE PATH). */
  lines[0].name = strdup (".");
  lines[1].name = strdup ("..");
  if (!lines[0].name || !lines[1].name
      || ext_vfs_stat (v, dir, true, &lines[0].st) == -1
      || ext_vfs_stat (v, parent, true, &lines[1].st) == -1)
    goto fail;
  for (i = 0; i < n; i++) {
    char *p = join_path (dir, names[i]);
    struct ll_line *ln = &lines[i + 2];
    ln->name = names[i];
    names[i] = NULL;
    if (!p || ext_vfs_stat (v, p, false, &ln->st) == -1) {
      free (p);
      goto fail;
    }
    if (S_ISLNK (ln->st.mode) && !(ln->link = ext_vfs_readlink (v, p))) {
      free (p);
      goto fail;
    }
    free (p);
  }
  n += 2;
  qsort (lines, n, sizeof *lines, ll_cmp);
  for (i = 0; i < n; i++) {
    const struct ext_stat *st = &lines[i].st;
    total += (uint64_t) st->blocks;
    wn = MAX (wn, numlen ((uint64_t) st->nlink));
    wu = MAX (wu, numlen ((uint64_t) st->uid));
    wg = MAX (wg, numlen ((uint64_t) st->gid));
    if (S_ISCHR (st->mode) || S_ISBLK (st->mode)) {
      any_dev = true;
      wmaj = MAX (wmaj, numlen (gnu_dev_major ((dev_t) st->rdev)));
      wmin = MAX (wmin, numlen (gnu_dev_minor ((dev_t) st->rdev)));
    }
    else
      ws = MAX (ws, numlen ((uint64_t) st->size));
  }
  if (any_dev)
    ws = MAX (ws, wmaj + 2 + wmin);
  if (append (&text, &tlen, "total %" PRIu64 "\n", (total + 1) / 2) == -1)
    goto out;
  for (i = 0; i < n; i++) {
    const struct ext_stat *st = &lines[i].st;
    char mode[11], date[64], size[64];
    time_t t = (time_t) st->mtime_sec;
    struct tm tm;
    bool recent = st->mtime_sec > (int64_t) now - 15778476
                  && st->mtime_sec <= (int64_t) now;

    mode_string (st->mode, mode);
    if (!gmtime_r (&t, &tm)
        || !strftime (date, sizeof date, recent ? "%b %e %H:%M" : "%b %e  %Y",
                      &tm))
      snprintf (date, sizeof date, "%" PRIi64, st->mtime_sec);
    if (S_ISCHR (st->mode) || S_ISBLK (st->mode))
      snprintf (size, sizeof size, "%*u, %*u", ws - 2 - wmin,
                gnu_dev_major ((dev_t) st->rdev), wmin,
                gnu_dev_minor ((dev_t) st->rdev));
    else
      snprintf (size, sizeof size, "%*" PRIi64, ws, st->size);
    if (append (&text, &tlen,
                "%s %*" PRIi64 " %*" PRIi64 " %*" PRIi64 " %s %s %s%s%s\n",
                mode, wn, st->nlink, wu, st->uid, wg, st->gid, size, date,
                lines[i].name, lines[i].link ? " -> " : "",
                lines[i].link ? lines[i].link : "")
        == -1)
      goto out;
  }
  {
    char *joined;
    if (asprintf (&joined, "%s%s", l->ll_text ? l->ll_text : "", text) == -1) {
      vd_set_error (ENOMEM, _ ("out of memory"));
      goto out;
    }
    free (l->ll_text);
    l->ll_text = joined;
  }
  r = 0;
  goto out;
fail:
  nerror (dir);
out:
  for (i = 0; i < nn + 2 && lines; i++) {
    free (lines[i].name);
    free (lines[i].link);
  }
  free (lines);
  for (i = 0; i < nn; i++)
    free (names[i]);
  free (names);
  free (parent);
  free (text);
  return r;
}

static int
n_list_one (struct ext_vfs *v, const struct ls_request *req, const char *dir,
            struct ls_listing *l)
{
  bool json = req->g.output == OUTPUT_JSON;
  bool stats = json || (req->long_mode && req->recursive);
  struct ext_stat st;
  char *self;

  if (ext_vfs_stat (v, dir, true, &st) == -1 || !S_ISDIR (st.mode)) {
    /* A file is listed as itself; a missing one (or a dangling
     * symlink) is an error. */
    if (ext_vfs_stat (v, dir, true, &st) == -1) {
      vd_set_error (ENOENT, _ ("%s: no such file or directory in the guest"),
                    dir);
      return -1;
    }
    self = strdup (dir);
    if (!self) {
      vd_set_error (ENOMEM, _ ("out of memory"));
      return -1;
    }
    return n_add (v, req, true, false, self, l);
  }
  if (req->long_mode && !req->recursive && !json)
    return n_ll (v, dir, l);
  if (req->long_mode && req->recursive) {
    self = strdup (dir);
    if (!self || n_add (v, req, true, false, self, l) == -1)
      return -1;
  }
  return n_visit (v, req, stats, dir, l);
}

/* The wire format of one entry (child to parent): flags (1: has_stat, 2:
 * link, 4: checksum), the statns, then path, link, checksum each ended
 * by a NUL. */
enum { FRAME_ENTRY = 'L', FRAME_LL_TEXT = 'T' };

static int
send_entry (struct sb_writer *w, const struct ls_entry *e)
{
  unsigned char flags =
      (e->has_stat ? 1 : 0) | (e->link ? 2 : 0) | (e->checksum ? 4 : 0);
  const char *link = e->link ? e->link : "",
             *sum = e->checksum ? e->checksum : "";
  const void *ptrs[5] = { &flags, &e->st, e->path, link, sum };
  size_t lens[5] = { 1, sizeof e->st, strlen (e->path) + 1, strlen (link) + 1,
                     strlen (sum) + 1 };

  return sb_sendv (w, FRAME_ENTRY, ptrs, lens, 5);
}

/* What both sides of the native job share. */
struct ls_native_ctx {
  const struct ls_request *req;
  struct ls_listing *l;
};

static int
ls_native_work (void *opaque, struct ext_vfs *v, struct sb_writer *w)
{
  const struct ls_request *req = ((struct ls_native_ctx *) opaque)->req;
  struct ls_listing l = { NULL, 0, 0, NULL };
  size_t i;
  int r = -1;

  for (i = 0; i < req->g.nr_args; i++) {
    const char *dir = req->g.args[i];
    size_t first = l.n, j;

    if (n_list_one (v, req, dir, &l) == -1)
      goto out;
    /* As ls_work: names relative to DIR in plain and -R text. */
    if (!req->long_mode && req->g.output != OUTPUT_JSON) {
      size_t dl = strlen (dir);
      while (dl > 0 && dir[dl - 1] == '/')
        dl--;
      if (!req->recursive)
        dl++;
      for (j = first; j < l.n; j++)
        if (strlen (l.v[j].path) > dl && !l.v[j].has_stat)
          memmove (l.v[j].path, l.v[j].path + dl,
                   strlen (l.v[j].path + dl) + 1);
    }
  }
  for (i = 0; i < l.n; i++)
    if (send_entry (w, &l.v[i]) == -1)
      goto out;
  if (l.ll_text
      && sb_send (w, FRAME_LL_TEXT, l.ll_text, strlen (l.ll_text)) == -1)
    goto out;
  r = 0;
out:
  listing_free (&l);
  return r;
}

/* The parent's side: each frame checked (the child is not trusted). */
static int
ls_native_frame (void *opaque, char type, const unsigned char *data, size_t len)
{
  struct ls_native_ctx *c = opaque;
  struct ls_entry *e;
  const char *str[3];
  size_t off, i;
  unsigned char flags;

  if (type == FRAME_LL_TEXT) {
    char *joined;
    if (memchr (data, 0, len))
      goto bad;
    if (asprintf (&joined, "%s%.*s", c->l->ll_text ? c->l->ll_text : "",
                  (int) len, (const char *) data)
        == -1) {
      vd_set_error (ENOMEM, _ ("out of memory"));
      return -1;
    }
    free (c->l->ll_text);
    c->l->ll_text = joined;
    return 0;
  }
  if (type != FRAME_ENTRY || len < 1 + sizeof e->st)
    goto bad;
  flags = data[0];
  off = 1 + sizeof e->st;
  for (i = 0; i < 3; i++) {
    const unsigned char *z = memchr (data + off, 0, len - off);
    if (!z)
      goto bad;
    str[i] = (const char *) data + off;
    off = (size_t) (z - data) + 1;
  }
  if (off != len || !str[0][0])
    goto bad;
  e = listing_add (c->l, strdup (str[0]));
  if (!e)
    return -1;
  memcpy (&e->st, data + 1, sizeof e->st);
  e->has_stat = flags & 1;
  if (((flags & 2) && !(e->link = strdup (str[1])))
      || ((flags & 4) && !(e->checksum = strdup (str[2])))) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  return 0;
bad:
  vd_set_error (EIO, _ ("the native reader sent a malformed entry"));
  return -1;
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

  {
    struct ls_native_ctx ctx = { &req, &listing };
    struct guest_native_job job = { ls_native_work, ls_native_frame, &ctx,
                                    false };
    r = guest_native_run (&req.g, &job);
    if (r == 1) {
      r = ls_render (&req, &listing, stdout);
      goto done;
    }
    if (r == -1)
      goto done;
    /* The appliance does it: from scratch. */
    listing_free (&listing);
    memset (&listing, 0, sizeof listing);
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
done:
  if (r == -1)
    tool_error_vd ();
  listing_free (&listing);
  guest_opts_free (&req.g);
  return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
