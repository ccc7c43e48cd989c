/* vd-edit: edit files inside a guest's disks, as virt-edit does, safely.
 * Parse (the shared options, -b, -e, --binary, --create), work (every
 * FILE read and edited on the host first, then each changed one written
 * back: a temporary file beside the original, owner, mode and extended
 * attributes copied, renamed over it), nothing rendered.
 *
 * The disks are added writable but the filesystems are mounted read-only
 * until something has changed: a run that changes nothing writes nothing
 * to the image.  -e is sed-style (tools/edit-expr.c), not Perl.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/guest.h"
#include "edit-expr.h"

/* ---- parse ----------------------------------------------------------------
 */

struct edit_request {
  struct guest_opts g;
  const char *backup; /* -b EXT, or NULL */
  struct edit_script script;
  bool binary, create;
};

enum {
  OPT_BINARY = 256,
  OPT_CREATE,
};

static const struct tool_option edit_options[] = {
  { "backup", 'b', required_argument, "EXTENSION",
    N_ ("Keep the original as FILE.EXTENSION in the guest"), 'b' },
  { "binary", 0, no_argument, NULL,
    N_ ("Let -e edit files that hold NUL bytes"), OPT_BINARY },
  { "create", 0, no_argument, NULL,
    N_ ("Create FILE (mode 0644, owner root) if it does not exist"),
    OPT_CREATE },
  { "edit", 'e', required_argument, "s/REGEX/REPL/FLAGS",
    N_ ("Substitute in each line instead of running $EDITOR"), 'e' },
  { "expr", 0, required_argument, "s/REGEX/REPL/FLAGS", N_ ("Same as -e"),
    'e' },
  { NULL, 0, 0, NULL, NULL, 0 },
};

static const char *const edit_usage[] = {
  "[--options] -d domname file [file ...]",
  "[--options] -a disk.img [-a disk.img ...] file [file ...]",
  "[--options] -a disk.img -e 's/REGEX/REPLACEMENT/FLAGS' file [file ...]",
  NULL,
};

static int
edit_option (void *data, int id, const char *arg)
{
  struct edit_request *req = data;

  switch (id) {
  case 'b':
    if (!arg[0] || strchr (arg, '/')) {
      tool_error (_ ("-b '%s': the backup extension must be non-empty and "
                     "hold no '/'"),
                  arg);
      return -1;
    }
    req->backup = arg;
    return 0;
  case 'e':
    if (edit_script_add (&req->script, arg) == -1) {
      tool_error_vd ();
      return -1;
    }
    return 0;
  case OPT_BINARY: req->binary = true; return 0;
  case OPT_CREATE: req->create = true; return 0;
  }
  return -1;
}

static const struct tool_info edit_tool = {
  .summary = N_ ("edit a file in a virtual machine"),
  .usage = edit_usage,
  .common = GOPT_ADD | GOPT_MOUNT | GOPT_KEYS,
  .options = edit_options,
  .handle = edit_option,
  .min_args = 1,
};

/* Whether the OPTIONS field of -m SPEC (DEV:MNT:OPTIONS[:FSTYPE]) holds
 * "ro" as one of its comma-separated options. */
static bool
mount_opts_say_ro (const char *spec)
{
  const char *o = strchr (spec, ':'), *end;

  if (!o || !(o = strchr (o + 1, ':')))
    return false;
  o++;
  /* FSTYPE is after the last ':' (the options may hold ':' themselves). */
  end = strrchr (o, ':');
  if (!end)
    end = o + strlen (o);
  while (o < end) {
    const char *comma = memchr (o, ',', (size_t) (end - o));
    size_t len = (size_t) ((comma ? comma : end) - o);

    if (len == 2 && strncmp (o, "ro", 2) == 0)
      return true;
    o += len + 1;
  }
  return false;
}

/* What can be checked before any launch. */
static int
edit_check_request (const struct edit_request *req)
{
  size_t i;

  if (req->binary && req->script.n == 0) {
    vd_set_error (EINVAL, _ ("--binary only applies to -e"));
    return -1;
  }
  for (i = 0; i < req->g.nr_args; i++)
    if (req->g.args[i][0] != '/') {
      vd_set_error (EINVAL, _ ("%s: guest file names must be absolute"),
                    req->g.args[i]);
      return -1;
    }
  for (i = 0; i < req->g.nr_mounts; i++)
    if (mount_opts_say_ro (req->g.mounts[i])) {
      vd_set_error (EINVAL,
                    _ ("-m '%s': the options ask for a read-only mount, "
                       "but vd-edit writes to the filesystem"),
                    req->g.mounts[i]);
      return -1;
    }
  return 0;
}

/* ---- host temporary files -------------------------------------------------
 */

/* Our private folder on the host and what is in it, so a signal can
 * remove them (unlink and rmdir are async-signal-safe). */
static char *host_dir;
static char **host_paths; /* files and sub-folders, in creation order */
static volatile sig_atomic_t nr_host_paths;

static void
remove_host_files (void)
{
  sig_atomic_t i;

  for (i = nr_host_paths; i > 0; i--)
    if (unlink (host_paths[i - 1]) == -1)
      rmdir (host_paths[i - 1]);
  if (host_dir)
    rmdir (host_dir);
}

static void
on_signal (int sig)
{
  remove_host_files ();
  signal (sig, SIG_DFL);
  raise (sig);
}

static int
host_setup (size_t nr_files)
{
  const char *tmpdir = getenv ("TMPDIR");
  struct sigaction sa;

  if (!tmpdir || !tmpdir[0])
    tmpdir = "/tmp";
  /* Two paths per file (its folder and the file) and the pristine copy. */
  host_paths = calloc (3 * nr_files + 1, sizeof *host_paths);
  if (!host_paths || asprintf (&host_dir, "%s/vd-edit.XXXXXX", tmpdir) == -1) {
    host_dir = NULL;
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  /* mkdtemp makes it 0700: the guest's files stay private. */
  if (!mkdtemp (host_dir)) {
    vd_set_error (errno, _ ("cannot make a temporary folder in %s: %s"), tmpdir,
                  strerror (errno));
    free (host_dir);
    host_dir = NULL;
    return -1;
  }
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGHUP, &sa, NULL);
  return 0;
}

static void
host_cleanup (void)
{
  sig_atomic_t i, n = nr_host_paths;

  remove_host_files ();
  nr_host_paths = 0;
  for (i = 0; i < n; i++)
    free (host_paths[i]);
  free (host_paths);
  free (host_dir);
  host_paths = NULL;
  host_dir = NULL;
}

/* Record PATH (malloc'd, owned from now on) for removal. */
static const char *
host_track (char *path)
{
  host_paths[nr_host_paths] = path;
  nr_host_paths = nr_host_paths + 1;
  return path;
}

/* An empty private file (0600) for NAME, in its own folder. */
static const char *
host_new_file (size_t index, const char *name)
{
  char *sub, *path;
  int fd;

  if (asprintf (&sub, "%s/%zu", host_dir, index) == -1) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  if (mkdir (sub, 0700) == -1) {
    vd_set_error (errno, "%s: %s", sub, strerror (errno));
    free (sub);
    return NULL;
  }
  host_track (sub);
  if (asprintf (&path, "%s/%s", sub, name) == -1) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd == -1) {
    vd_set_error (errno, "%s: %s", path, strerror (errno));
    free (path);
    return NULL;
  }
  close (fd);
  return host_track (path);
}

/* The whole of a host file, malloc'd (never NULL on success). */
static char *
read_host_file (const char *path, size_t *len)
{
  struct stat st;
  char *buf;
  size_t got = 0;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd == -1 || fstat (fd, &st) == -1) {
    vd_set_error (errno, "%s: %s", path, strerror (errno));
    if (fd >= 0)
      close (fd);
    return NULL;
  }
  if ((uint64_t) st.st_size >= SIZE_MAX || !(buf = malloc (st.st_size + 1))) {
    vd_set_error (ENOMEM, _ ("%s: too large to edit in memory"), path);
    close (fd);
    return NULL;
  }
  while (got < (size_t) st.st_size) {
    ssize_t r = read (fd, buf + got, (size_t) st.st_size - got);
    if (r <= 0) {
      vd_set_error (r ? errno : EIO, _ ("%s: cannot read: %s"), path,
                    r ? strerror (errno) : _ ("the file shrank"));
      close (fd);
      free (buf);
      return NULL;
    }
    got += (size_t) r;
  }
  close (fd);
  *len = got;
  return buf;
}

static int
write_host_file (const char *path, const char *buf, size_t len)
{
  int fd = open (path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  size_t done = 0;

  if (fd == -1) {
    vd_set_error (errno, "%s: %s", path, strerror (errno));
    return -1;
  }
  while (done < len) {
    ssize_t r = write (fd, buf + done, len - done);
    if (r <= 0) {
      vd_set_error (errno, _ ("%s: cannot write: %s"), path, strerror (errno));
      close (fd);
      return -1;
    }
    done += (size_t) r;
  }
  if (close (fd) == -1) {
    vd_set_error (errno, _ ("%s: cannot write: %s"), path, strerror (errno));
    return -1;
  }
  return 0;
}

/* Copy host file SRC to DST (which exists, empty). */
static int
copy_host_file (const char *src, const char *dst)
{
  size_t len;
  char *buf = read_host_file (src, &len);
  int r;

  if (!buf)
    return -1;
  r = write_host_file (dst, buf, len);
  free (buf);
  return r;
}

/* Up to N bytes from FD (fewer only at the end of the file), or -1. */
static ssize_t
read_full (int fd, char *buf, size_t n)
{
  size_t got = 0;

  while (got < n) {
    ssize_t r = read (fd, buf + got, n - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    if (r == 0)
      break;
    got += (size_t) r;
  }
  return (ssize_t) got;
}

/* 1 if host files A and B hold the same bytes, 0 if not, -1 on error. */
static int
same_content (const char *a, const char *b)
{
  static char x[65536], y[65536];
  int fa = open (a, O_RDONLY | O_CLOEXEC), fb = open (b, O_RDONLY | O_CLOEXEC);
  int r = -1;

  if (fa == -1 || fb == -1) {
    vd_set_error (errno, "%s: %s", fa == -1 ? a : b, strerror (errno));
    goto out;
  }
  for (;;) {
    ssize_t na = read_full (fa, x, sizeof x), nb = read_full (fb, y, sizeof y);

    if (na < 0 || nb < 0) {
      vd_set_error (errno, _ ("%s: cannot read: %s"), na < 0 ? a : b,
                    strerror (errno));
      goto out;
    }
    if (na != nb || memcmp (x, y, (size_t) na) != 0) {
      r = 0;
      goto out;
    }
    if (na == 0) {
      r = 1;
      goto out;
    }
  }
out:
  if (fa >= 0)
    close (fa);
  if (fb >= 0)
    close (fb);
  return r;
}

/* Run $EDITOR (default vi; it may hold arguments, as in "emacs -nw") on
 * FILE and wait for it.  A failing editor is an error: nothing is
 * written. */
static int
run_editor (const char *file)
{
  const char *editor = getenv ("EDITOR");
  struct sigaction ign, old_int, old_quit;
  char *cmd;
  pid_t pid;
  int status;

  if (!editor || !editor[0])
    editor = "vi";
  if (asprintf (&cmd, "%s \"$1\"", editor) == -1) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  /* As system () does: ^C goes to the editor, not to us. */
  memset (&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset (&ign.sa_mask);
  sigaction (SIGINT, &ign, &old_int);
  sigaction (SIGQUIT, &ign, &old_quit);
  fflush (stdout);
  pid = fork ();
  if (pid == 0) {
    signal (SIGINT, SIG_DFL);
    signal (SIGQUIT, SIG_DFL);
    execl ("/bin/sh", "sh", "-c", cmd, "sh", file, (char *) NULL);
    _exit (127);
  }
  if (pid == -1) {
    vd_set_error (errno, _ ("cannot run the editor: %s"), strerror (errno));
    free (cmd);
    sigaction (SIGINT, &old_int, NULL);
    sigaction (SIGQUIT, &old_quit, NULL);
    return -1;
  }
  while (waitpid (pid, &status, 0) == -1 && errno == EINTR)
    ;
  free (cmd);
  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGQUIT, &old_quit, NULL);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFEXITED (status))
    vd_set_error (0,
                  _ ("the editor (%s) exited with status %d: nothing was "
                     "written"),
                  editor, WEXITSTATUS (status));
  else
    vd_set_error (0,
                  _ ("the editor (%s) was killed by signal %d: nothing "
                     "was written"),
                  editor, WTERMSIG (status));
  return -1;
}

/* ---- work: reading --------------------------------------------------------
 */

struct edit_file {
  const char *name; /* as given */
  char *path;       /* in the guest, symbolic links resolved */
  bool exists;      /* false: --create makes it */
  int64_t mode, uid, gid, nlink;
  const char *host; /* the copy being edited (host_paths owns it) */
  const char *orig; /* editor: the pristine copy, or NULL */
  bool changed;
};

static char *
join_path (const char *dir, const char *name)
{
  char *p;

  if (asprintf (&p, "%s%s%s", dir, strcmp (dir, "/") == 0 ? "" : "/", name)
      == -1) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  return p;
}

/* The real path of F->name, and whether and what it is. */
static int
resolve (guestfs_h *g, struct edit_file *f, bool create)
{
  CLEANUP_FREE char *dir = NULL;
  CLEANUP_FREE char *realdir = NULL;
  const char *base;
  int r;

  r = guestfs_exists (g, f->name);
  if (r == -1)
    return inspect_gerror (g, f->name);
  if (r == 1) {
    f->exists = true;
    f->path = guestfs_realpath (g, f->name);
    if (!f->path)
      return inspect_gerror (g, f->name);
    r = guestfs_is_file (g, f->path);
    if (r == -1)
      return inspect_gerror (g, f->name);
    if (r == 0) {
      if (guestfs_is_dir (g, f->path) == 1)
        vd_set_error (EISDIR, _ ("%s: is a directory in the guest"), f->name);
      else
        vd_set_error (EINVAL, _ ("%s: is not a regular file in the guest"),
                      f->name);
      return -1;
    }
    return 0;
  }

  /* Missing (or a symbolic link to nothing). */
  if (guestfs_is_symlink (g, f->name) == 1) {
    vd_set_error (ENOENT,
                  _ ("%s: is a symbolic link to a file that does not exist "
                     "in the guest"),
                  f->name);
    return -1;
  }
  if (!create) {
    vd_set_error (ENOENT,
                  _ ("%s: no such file in the guest (--create makes it)"),
                  f->name);
    return -1;
  }
  base = strrchr (f->name, '/') + 1;
  if (!base[0] || strcmp (base, ".") == 0 || strcmp (base, "..") == 0) {
    vd_set_error (EINVAL, _ ("%s: not a file name"), f->name);
    return -1;
  }
  dir = strndup (f->name, (size_t) (base - f->name));
  if (!dir) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  if (guestfs_is_dir_opts (g, dir, GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 1, -1)
      != 1) {
    vd_set_error (ENOENT, _ ("%s: the folder %s does not exist in the guest"),
                  f->name, dir);
    return -1;
  }
  realdir = guestfs_realpath (g, dir);
  if (!realdir)
    return inspect_gerror (g, dir);
  f->exists = false;
  f->path = join_path (realdir, base);
  return f->path ? 0 : -1;
}

/* Resolve, check and download every file, before anything is edited. */
static int
read_files (guestfs_h *g, const struct edit_request *req,
            struct edit_file *files)
{
  size_t i, j;

  for (i = 0; i < req->g.nr_args; i++) {
    struct edit_file *f = &files[i];
    const char *base;

    f->name = req->g.args[i];
    if (resolve (g, f, req->create) == -1)
      return -1;
    for (j = 0; j < i; j++)
      if (strcmp (files[j].path, f->path) == 0) {
        vd_set_error (EINVAL, _ ("%s and %s are the same file in the guest"),
                      files[j].name, f->name);
        return -1;
      }
    base = strrchr (f->path, '/') + 1;
    f->host = host_new_file (i, base);
    if (!f->host)
      return -1;
    if (f->exists) {
      struct guestfs_statns *st = guestfs_statns (g, f->path);

      if (!st)
        return inspect_gerror (g, f->name);
      f->mode = st->st_mode;
      f->uid = st->st_uid;
      f->gid = st->st_gid;
      f->nlink = st->st_nlink;
      guestfs_free_statns (st);
      if (guestfs_download (g, f->path, f->host) == -1)
        return inspect_gerror (g, f->name);
    }
  }
  return 0;
}

/* ---- work: editing on the host --------------------------------------------
 */

static int
edit_with_script (const struct edit_request *req, struct edit_file *f)
{
  char *in, *out;
  size_t len, outlen;
  bool changed;
  int r;

  in = read_host_file (f->host, &len);
  if (!in)
    return -1;
  if (!req->binary && edit_is_binary (in, len)) {
    vd_set_error (EINVAL,
                  _ ("%s: is a binary file (it holds NUL bytes); give "
                     "--binary to edit it with -e anyway"),
                  f->name);
    free (in);
    return -1;
  }
  r = edit_script_apply (&req->script, in, len, &out, &outlen, &changed);
  free (in);
  if (r == -1) {
    vd_set_error (vd_errno (), "%s: %s", f->name, vd_error ());
    return -1;
  }
  f->changed = changed;
  if (changed)
    r = write_host_file (f->host, out, outlen);
  free (out);
  return r;
}

static int
edit_with_editor (size_t index, struct edit_file *f)
{
  char *orig;
  int r;

  /* The pristine copy sits beside the folder of the one being edited. */
  if (asprintf (&orig, "%s/%zu.orig", host_dir, index) == -1) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  r = open (orig, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (r == -1) {
    vd_set_error (errno, "%s: %s", orig, strerror (errno));
    free (orig);
    return -1;
  }
  close (r);
  f->orig = host_track (orig);
  if (copy_host_file (f->host, f->orig) == -1 || run_editor (f->host) == -1)
    return -1;
  if (access (f->host, F_OK) == -1) {
    vd_set_error (ENOENT,
                  _ ("%s: the editor removed the temporary copy: nothing "
                     "was written"),
                  f->name);
    return -1;
  }
  r = same_content (f->host, f->orig);
  if (r == -1)
    return -1;
  f->changed = r == 0;
  return 0;
}

/* ---- work: writing back ---------------------------------------------------
 */

/* Remount read-write the filesystem DEV mounted on MP.  Some (ntfs-3g and
 * other FUSE filesystems) cannot be remounted: those are unmounted and
 * mounted again read-write, which works when nothing is mounted below. */
static int
remount_rw (guestfs_h *g, const char *dev, const char *mp)
{
  CLEANUP_FREE char *first = NULL;
  int r;

  if (guestfs_remount (g, mp, GUESTFS_REMOUNT_RW, 1, -1) == 0)
    return 0;
  first = strdup (guestfs_last_error (g) ? guestfs_last_error (g) : "?");
  if (guestfs_umount (g, mp) == -1) {
    vd_set_error (guestfs_last_errno (g),
                  _ ("cannot remount %s read-write: %s"), mp,
                  first ? first : "?");
    return -1;
  }
  r = guestfs_mount (g, dev, mp);
  if (r == -1) {
    vd_set_error (guestfs_last_errno (g),
                  _ ("cannot mount %s on %s read-write: %s"), dev, mp,
                  guestfs_last_error (g));
    guestfs_mount_ro (g, dev, mp);
  }
  return r;
}

/* Remount read-write the filesystem that holds PATH. */
static int
remount_for (guestfs_h *g, const char *path)
{
  char **mps = guestfs_mountpoints (g);
  size_t i, best = 0, best_len = 0;
  bool found = false;
  int r;

  if (!mps)
    return inspect_gerror (g, NULL);
  /* Pairs of device, mount point: the longest mount point above PATH. */
  for (i = 0; mps[i] && mps[i + 1]; i += 2) {
    const char *mp = mps[i + 1];
    size_t l = strlen (mp);

    if (strncmp (path, mp, l) == 0
        && (path[l] == '/' || path[l] == '\0' || strcmp (mp, "/") == 0)
        && (!found || l > best_len)) {
      found = true;
      best = i;
      best_len = l;
    }
  }
  if (found)
    r = remount_rw (g, mps[best], mps[best + 1]);
  else {
    vd_set_error (ENOENT, _ ("%s: no mounted filesystem holds it"), path);
    r = -1;
  }
  for (i = 0; mps[i]; i++)
    free (mps[i]);
  free (mps);
  return r;
}

/* Make the extended attributes of TMP (the SELinux label, ACLs, file
 * capabilities, user.*) those of PATH. */
static int
copy_xattrs (guestfs_h *g, const char *path, const char *tmp)
{
  struct guestfs_xattr_list *src, *dst;
  size_t i, j;
  int r = 0;

  src = guestfs_lgetxattrs (g, path);
  if (!src) {
    int e = guestfs_last_errno (g);
    /* A filesystem without extended attributes has none to keep. */
    if (e == ENOTSUP || e == EOPNOTSUPP)
      return 0;
    return inspect_gerror (g, path);
  }
  dst = guestfs_lgetxattrs (g, tmp);
  if (!dst) {
    guestfs_free_xattr_list (src);
    return inspect_gerror (g, tmp);
  }
  /* Drop what the new file got from its folder (a default ACL) that the
   * original does not have. */
  for (j = 0; j < dst->len && r == 0; j++) {
    bool keep = false;

    for (i = 0; i < src->len; i++)
      if (strcmp (src->val[i].attrname, dst->val[j].attrname) == 0)
        keep = true;
    if (!keep && guestfs_lremovexattr (g, dst->val[j].attrname, tmp) == -1)
      r = inspect_gerror (g, tmp);
  }
  for (i = 0; i < src->len && r == 0; i++)
    if (guestfs_lsetxattr (g, src->val[i].attrname, src->val[i].attrval,
                           (int) src->val[i].attrval_len, tmp)
        == -1)
      r = inspect_gerror (g, tmp);
  guestfs_free_xattr_list (src);
  guestfs_free_xattr_list (dst);
  return r;
}

/* PATH + EXT becomes the original file: a hard link (so there is no
 * moment without PATH), else a copy, put in place by rename. */
static int
make_backup (guestfs_h *g, const char *tmpl, const char *path, const char *ext)
{
  CLEANUP_FREE char *backup = NULL;
  CLEANUP_FREE char *tmp = NULL;
  int r;

  if (asprintf (&backup, "%s%s", path, ext) == -1) {
    backup = NULL;
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  tmp = guestfs_mktemp (g, tmpl, -1);
  if (!tmp || guestfs_rm (g, tmp) == -1)
    return inspect_gerror (g, path);
  guestfs_push_error_handler (g, NULL, NULL);
  r = guestfs_ln (g, path, tmp);
  guestfs_pop_error_handler (g);
  if (r == -1 && guestfs_cp_a (g, path, tmp) == -1)
    return inspect_gerror (g, backup);
  if (guestfs_rename (g, tmp, backup) == -1) {
    r = inspect_gerror (g, backup);
    guestfs_rm_f (g, tmp);
    return r;
  }
  /* rename does nothing when both names are links to one file. */
  guestfs_rm_f (g, tmp);
  return 0;
}

static int
write_file (guestfs_h *g, const struct edit_request *req,
            const struct edit_file *f)
{
  CLEANUP_FREE char *dir = NULL;
  CLEANUP_FREE char *tmpl = NULL;
  CLEANUP_FREE char *tmp = NULL;
  const char *slash = strrchr (f->path, '/');

  dir = slash == f->path ? strdup ("/")
                         : strndup (f->path, (size_t) (slash - f->path));
  if (!dir || !(tmpl = join_path (dir, ".vd-edit-XXXXXX"))) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  if (remount_for (g, f->path) == -1)
    return -1;
  /* The new content under a temporary name beside the original, with
   * its owner, mode and attributes, on disk before it takes the name. */
  tmp = guestfs_mktemp (g, tmpl, -1);
  if (!tmp)
    return inspect_gerror (g, f->name);
  if (guestfs_upload (g, f->host, tmp) == -1)
    goto fail;
  if (f->exists) {
    /* chown first: it clears set-user-ID bits and file capabilities. */
    if (guestfs_chown (g, (int) f->uid, (int) f->gid, tmp) == -1
        || guestfs_chmod (g, (int) (f->mode & 07777), tmp) == -1
        || copy_xattrs (g, f->path, tmp) == -1)
      goto fail;
  }
  else if (guestfs_chmod (g, 0644, tmp) == -1)
    goto fail;
  if (guestfs_sync (g) == -1)
    goto fail;
  if (req->backup && f->exists
      && make_backup (g, tmpl, f->path, req->backup) == -1)
    goto fail_set;
  if (guestfs_rename (g, tmp, f->path) == -1)
    goto fail;
  if (guestfs_sync (g) == -1)
    return inspect_gerror (g, f->name);
  return 0;

fail:
  inspect_gerror (g, f->name);
fail_set:
  /* Leave nothing behind; the original is untouched. */
  guestfs_push_error_handler (g, NULL, NULL);
  guestfs_rm_f (g, tmp);
  guestfs_pop_error_handler (g);
  return -1;
}

static int
edit_files (guestfs_h *g, const struct edit_request *req)
{
  struct edit_file *files = calloc (req->g.nr_args, sizeof *files);
  size_t i, n = req->g.nr_args, written = 0;
  int r = -1;

  if (!files) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  if (read_files (g, req, files) == -1)
    goto out;
  for (i = 0; i < n; i++)
    if ((req->script.n > 0 ? edit_with_script (req, &files[i])
                           : edit_with_editor (i, &files[i]))
        == -1)
      goto out;
  for (i = 0; i < n; i++) {
    if (!files[i].changed)
      continue;
    if (files[i].exists && files[i].nlink > 1) {
      char msg[512];
      snprintf (msg, sizeof msg,
                _ ("%s: its other %lld hard link(s) keep the old content"),
                files[i].name, (long long) files[i].nlink - 1);
      tool_warning (msg);
    }
    if (write_file (g, req, &files[i]) == -1) {
      if (written > 0)
        vd_set_error (vd_errno (),
                      _ ("%s (the %zu file(s) before it were written)"),
                      vd_error (), written);
      goto out;
    }
    written++;
  }
  r = 0;
out:
  for (i = 0; i < n; i++)
    free (files[i].path);
  free (files);
  return r;
}

int
main (int argc, char **argv)
{
  struct edit_request req;
  guestfs_h *g = NULL;
  int r;

  tool_init (argc, argv);
  memset (&req, 0, sizeof req);
  r = guest_opts_parse (&edit_tool, &req, argc, argv, &req.g);
  if (r != 0) {
    edit_script_free (&req.script);
    return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
  }

  r = edit_check_request (&req);
  if (r == 0)
    r = host_setup (req.g.nr_args);
  if (r == 0) {
    g = guest_open (&req.g, GUEST_WRITE | GUEST_INSPECT | GUEST_MOUNT_RO);
    if (!g)
      r = -1;
  }
  if (r == 0)
    r = edit_files (g, &req);
  if (g) {
    /* The final sync: a failure here may mean lost writes. */
    if (r == 0)
      r = guest_close (g);
    else {
      int e = vd_errno ();
      char *msg = strdup (vd_error ());

      guest_close (g);
      vd_set_error (e, "%s", msg ? msg : _ ("out of memory"));
      free (msg);
    }
  }
  if (r == -1)
    tool_error_vd ();
  host_cleanup ();
  edit_script_free (&req.script);
  guest_opts_free (&req.g);
  return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
