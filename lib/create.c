/* vd_create: make a new image.  Options are checked against the format's
 * list before anything is written; the image is written under a temporary
 * name in the target's folder and renamed into place only when complete,
 * so a failure or a signal leaves no partial file and never touches an
 * existing one.  Formats made of several files (VMDK extents) get the same
 * care for each extra file through vd_create_extra_file.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vd-internal.h"

/* ---- temporary files registry (async-signal-safe removal) ------------ */

/* Enough for a multi-file image (a VMDK split into up to 4096 extents)
 * plus its descriptor and a convert's output.  A slot holds a copy made
 * with malloc; the signal handler only reads published slots. */
#define MAX_TEMP 8192
static char *volatile temp_files[MAX_TEMP];
static volatile sig_atomic_t temp_used[MAX_TEMP];

void
vd_register_temp_file (const char *path)
{
  size_t i;
  char *copy;

  if (strlen (path) >= VD_MAX_PATH)
    return;
  for (i = 0; i < MAX_TEMP; i++) {
    if (!temp_used[i]) {
      copy = strdup (path);
      if (!copy)
        return;
      free (temp_files[i]);
      temp_files[i] = copy;
      temp_used[i] = 1;
      return;
    }
  }
}

void
vd_unregister_temp_file (const char *path)
{
  size_t i;

  for (i = 0; i < MAX_TEMP; i++)
    if (temp_used[i] && strcmp (temp_files[i], path) == 0)
      temp_used[i] = 0; /* the copy is freed when the slot is reused */
}

void
vd_remove_temp_files (void)
{
  size_t i;

  for (i = 0; i < MAX_TEMP; i++) {
    if (temp_used[i]) {
      unlink (temp_files[i]);
      temp_used[i] = 0;
    }
  }
}

/* ---- create ---------------------------------------------------------- */

static int
check_opts (const struct vd_format_ops *fmt, struct vd_opts *opts)
{
  size_t i;
  const struct vd_create_opt_desc *d;

  if (!opts)
    return 0;
  for (i = 0; i < opts->n; i++) {
    bool found = false;
    for (d = fmt->create_opts; d && d->name; d++)
      if (strcmp (d->name, opts->v[i].key) == 0)
        found = true;
    if (!found) {
      vd_set_error (EINVAL,
                    _ ("invalid option '%s' for format '%s' (see -o help)"),
                    opts->v[i].key, fmt->name);
      return -1;
    }
  }
  return 0;
}

int
vd_create_io (struct vd_io *io, const char *filename, const char *format,
              uint64_t size, struct vd_opts *opts)
{
  const struct vd_format_ops *fmt = vd_find_format (format);
  const char *unused;

  if (!fmt) {
    vd_set_error (EINVAL, _ ("unknown file format '%s'"), format);
    return -1;
  }
  if (!fmt->create) {
    vd_set_error (ENOTSUP, _ ("format '%s' does not support image creation"),
                  format);
    return -1;
  }
  if (check_opts (fmt, opts) == -1)
    return -1;
  if (size > VD_MAX_IMAGE_SIZE) {
    vd_set_error (EFBIG, _ ("%s: image size %" PRIu64 " is too large"),
                  filename, size);
    return -1;
  }
  if (opts)
    vd_opts_get (opts, "size"); /* handled by the caller */
  if (fmt->create (io, filename, size, opts) == -1)
    return -1;
  unused = vd_opts_first_unused (opts);
  if (unused) {
    vd_set_error (EINVAL, _ ("option '%s' is not used by format '%s'"), unused,
                  format);
    return -1;
  }
  return 0;
}

/* Create an empty, private temporary file beside FILENAME. */
static struct vd_io *
create_temp (const char *filename, char **tmpname)
{
  CLEANUP_FREE char *copy = vd_strdup (filename);
  CLEANUP_FREE char *copy2 = vd_strdup (filename);
  char *path;
  int fd;
  mode_t mask;
  struct vd_io *io;

  if (!copy || !copy2)
    return NULL;
  if (asprintf (&path, "%s/.%s.vdtmp-XXXXXX", dirname (copy), basename (copy2))
      == -1) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  fd = mkostemp (path, O_CLOEXEC);
  if (fd == -1) {
    vd_set_error (errno, _ ("%s: cannot create a file in that folder: %s"),
                  filename, strerror (errno));
    free (path);
    return NULL;
  }
  vd_register_temp_file (path);
  /* mkstemp makes 0600; a new image gets 0666 less the umask as any
   * newly created file would. */
  mask = umask (0);
  umask (mask);
  if (fchmod (fd, 0666 & ~mask) == -1) {
    /* not fatal */
  }
  close (fd);
  /* Reopen through the backend (no lock needed: nobody knows the name). */
  io = vd_io_file_open (path, VD_OPEN_RDWR | VD_OPEN_NO_LOCK);
  if (!io) {
    unlink (path);
    vd_unregister_temp_file (path);
    free (path);
    return NULL;
  }
  *tmpname = path;
  return io;
}

/* ---- extra files of a multi-file image (VMDK extents) ---------------- */

/* While vd_create runs a driver's create, the extra files the driver makes
 * are written under temporary names and listed here; vd_create renames
 * them into place once the whole image is complete, or removes them. */
struct extra_file {
  char *name; /* final name */
  char *tmp;  /* temporary name it is written under */
  bool committed;
};
struct create_txn {
  bool replace;
  struct extra_file *v;
  size_t n;
};
static __thread struct create_txn *current_txn;

struct vd_io *
vd_create_extra_file (const char *name)
{
  struct create_txn *t = current_txn;
  struct extra_file *v;
  struct stat st;
  struct vd_io *io;
  char *tmp = NULL;
  char *copy;
  size_t i;

  if (!t) /* vd_create_io: no temporary names */
    return vd_io_file_create (name);
  for (i = 0; i < t->n; i++) {
    if (strcmp (t->v[i].name, name) == 0) {
      vd_set_error (EEXIST, _ ("%s: the image names this file twice"), name);
      return NULL;
    }
  }
  if (lstat (name, &st) == 0) {
    if (!t->replace) {
      vd_set_error (EEXIST,
                    _ ("%s: the file already exists; use --force to replace "
                       "it"),
                    name);
      return NULL;
    }
    if (!S_ISREG (st.st_mode) && !S_ISLNK (st.st_mode)) {
      vd_set_error (EINVAL,
                    _ ("%s: not a regular file; refusing to replace it"), name);
      return NULL;
    }
  }
  v = vd_realloc (t->v, (t->n + 1) * sizeof *v);
  if (!v)
    return NULL;
  t->v = v;
  copy = vd_strdup (name);
  if (!copy)
    return NULL;
  io = create_temp (name, &tmp);
  if (!io) {
    free (copy);
    return NULL;
  }
  t->v[t->n].name = copy;
  t->v[t->n].tmp = tmp;
  t->v[t->n].committed = false;
  t->n++;
  return io;
}

/* Rename every extra file into place; on failure undo what was done
 * (files that did not exist before are removed again). */
static int
txn_commit (struct create_txn *t)
{
  size_t i;

  for (i = 0; i < t->n; i++) {
    if (vd_commit_temp (t->v[i].tmp, t->v[i].name, t->replace) == -1)
      return -1;
    t->v[i].committed = true;
    vd_unregister_temp_file (t->v[i].tmp);
  }
  return 0;
}

/* Remove what a failed create left: temporary files, and extra files
 * already renamed into place when they replaced nothing. */
static void
txn_abort (struct create_txn *t)
{
  size_t i;

  for (i = 0; i < t->n; i++) {
    if (!t->v[i].committed)
      unlink (t->v[i].tmp);
    else if (!t->replace)
      unlink (t->v[i].name);
    vd_unregister_temp_file (t->v[i].tmp);
  }
}

static void
txn_free (struct create_txn *t)
{
  size_t i;

  for (i = 0; i < t->n; i++) {
    free (t->v[i].name);
    free (t->v[i].tmp);
  }
  free (t->v);
}

int
vd_commit_temp (const char *tmpname, const char *filename, bool replace)
{
  if (replace) {
    if (rename (tmpname, filename) == -1) {
      vd_set_error (errno, _ ("%s: cannot rename into place: %s"), filename,
                    strerror (errno));
      return -1;
    }
    return 0;
  }
  /* Never replace a file that appeared meanwhile. */
  if (link (tmpname, filename) == -1) {
    if (errno == EEXIST)
      vd_set_error (EEXIST,
                    _ ("%s: the file already exists; use --force to replace "
                       "it"),
                    filename);
    else
      vd_set_error (errno, _ ("%s: cannot create: %s"), filename,
                    strerror (errno));
    return -1;
  }
  unlink (tmpname);
  return 0;
}

int
vd_create (const char *filename, const char *format, uint64_t size,
           struct vd_opts *opts, unsigned flags)
{
  const struct vd_format_ops *fmt = vd_find_format (format);
  struct stat st;
  struct vd_io *io;
  char *tmp = NULL;
  int r = -1;
  bool replace = flags & VD_CREATE_FORCE;
  struct create_txn txn = { 0 };

  if (!fmt) {
    vd_set_error (EINVAL, _ ("unknown file format '%s'"), format);
    return -1;
  }
  if (!fmt->create) {
    vd_set_error (ENOTSUP, _ ("format '%s' does not support image creation"),
                  format);
    return -1;
  }
  if (check_opts (fmt, opts) == -1)
    return -1;
  if (lstat (filename, &st) == 0) {
    if (!replace) {
      vd_set_error (EEXIST,
                    _ ("%s: the file already exists; use --force to replace "
                       "it"),
                    filename);
      return -1;
    }
    if (S_ISDIR (st.st_mode)) {
      vd_set_error (EISDIR, _ ("%s: is a directory"), filename);
      return -1;
    }
    if (!S_ISREG (st.st_mode) && !S_ISLNK (st.st_mode)) {
      vd_set_error (EINVAL,
                    _ ("%s: not a regular file; refusing to replace it"),
                    filename);
      return -1;
    }
  }

  io = create_temp (filename, &tmp);
  if (!io)
    return -1;
  txn.replace = replace;
  current_txn = &txn;
  if (vd_create_io (io, filename, format, size, opts) == -1) {
    current_txn = NULL;
    goto out;
  }
  current_txn = NULL;
  if (vd_io_flush (io) == -1)
    goto out;
  vd_io_close (io);
  io = NULL;
  /* Extra files first: the main file must never name a missing one. */
  if (txn_commit (&txn) == -1)
    goto out;
  if (vd_commit_temp (tmp, filename, replace) == -1)
    goto out;
  r = 0;

out:
  if (io)
    vd_io_close (io);
  if (r == -1) {
    unlink (tmp);
    txn_abort (&txn);
  }
  txn_free (&txn);
  vd_unregister_temp_file (tmp);
  free (tmp);
  return r;
}
