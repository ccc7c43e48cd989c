/* The libguestfs handle of a guest tool: created with its errors routed to
 * us, disks checked on the host before they are added, and a launch whose
 * failure says what is wrong and what to install or set (DESIGN.md §7.1:
 * the appliance failing with an unhelpful message is the first complaint
 * users of the virt tools have).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inspect-internal.h"

static void (*warning_fn) (const char *msg);

void
inspect_set_warning (void (*fn) (const char *msg))
{
  warning_fn = fn;
}

void
inspect_warn (const char *fmt, ...)
{
  char buf[1024];
  va_list ap;

  if (!warning_fn)
    return;
  va_start (ap, fmt);
  vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  warning_fn (buf);
}

void
inspect_free_strings (char **v)
{
  size_t i;

  if (!v)
    return;
  for (i = 0; v[i]; i++)
    free (v[i]);
  free (v);
}

int
inspect_gerror (guestfs_h *g, const char *context)
{
  const char *msg = guestfs_last_error (g);
  int errnum = guestfs_last_errno (g);

  if (!msg)
    msg = _ ("unknown libguestfs error");
  if (context)
    vd_set_error (errnum, "%s: %s", context, msg);
  else
    vd_set_error (errnum, "%s", msg);
  return -1;
}

guestfs_h *
inspect_handle_new (bool verbose, bool trace)
{
  guestfs_h *g = guestfs_create ();

  if (!g) {
    vd_set_error (errno, _ ("cannot create a libguestfs handle: %s"),
                  strerror (errno));
    return NULL;
  }
  /* Errors come back to us through guestfs_last_error. */
  guestfs_set_error_handler (g, NULL, NULL);
  if (verbose)
    guestfs_set_verbose (g, 1);
  if (trace)
    guestfs_set_trace (g, 1);
  return g;
}

int
inspect_handle_close (guestfs_h *g)
{
  int r = 0;

  if (!g)
    return 0;
  if (guestfs_shutdown (g) == -1)
    r = inspect_gerror (g, NULL);
  guestfs_close (g);
  return r;
}

int
inspect_check_disk (const char *filename, bool readonly)
{
  struct stat st;
  int fd;

  /* Check on the host first: a launch takes many seconds, a stat none. */
  fd = open (filename, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd == -1) {
    vd_set_error (errno, "%s: %s", filename, strerror (errno));
    return -1;
  }
  if (fstat (fd, &st) == -1) {
    vd_set_error (errno, "%s: %s", filename, strerror (errno));
    close (fd);
    return -1;
  }
  close (fd);
  if (S_ISDIR (st.st_mode)) {
    vd_set_error (EISDIR, _ ("%s: is a directory, not a disk image"), filename);
    return -1;
  }
  if (!S_ISREG (st.st_mode) && !S_ISBLK (st.st_mode)) {
    vd_set_error (EINVAL,
                  _ ("%s: is not a disk image (not a regular file or block "
                     "device)"),
                  filename);
    return -1;
  }
  if (S_ISREG (st.st_mode) && st.st_size == 0) {
    vd_set_error (EINVAL, _ ("%s: is empty, not a disk image"), filename);
    return -1;
  }
  /* Writing under a running VM (or any other writer) corrupts the disk. */
  if (!readonly && inspect_check_disk_unlocked (filename) == -1)
    return -1;
  return 0;
}

int
inspect_add_disk (guestfs_h *g, const char *filename, const char *format,
                  bool readonly)
{
  if (inspect_check_disk (filename, readonly) == -1)
    return -1;
  if (guestfs_add_drive_opts (
          g, filename, GUESTFS_ADD_DRIVE_OPTS_READONLY, readonly ? 1 : 0,
          format ? GUESTFS_ADD_DRIVE_OPTS_FORMAT : -1, format, -1)
      == -1)
    return inspect_gerror (g, filename);
  return 0;
}

/* ---- launch ------------------------------------------------------------- */

static bool
env_contains (const char *name, const char *word)
{
  const char *v = getenv (name);
  return v && strstr (v, word);
}

/* A growing text of hints, one per line. */
struct hints {
  char buf[2048];
  size_t used;
};

static void __attribute__ ((format (printf, 2, 3)))
hint (struct hints *h, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (h->used >= sizeof h->buf - 1)
    return;
  h->buf[h->used++] = '\n';
  h->buf[h->used] = '\0';
  va_start (ap, fmt);
  n = vsnprintf (h->buf + h->used, sizeof h->buf - h->used, fmt, ap);
  va_end (ap);
  if (n > 0)
    h->used += (size_t) n;
  if (h->used >= sizeof h->buf)
    h->used = sizeof h->buf - 1;
}

/* What we can find out about why the appliance did not start: each hint a
 * fact and what to do about it. */
static void
explain_launch_failure (guestfs_h *g, struct hints *h)
{
  CLEANUP_FREE char *backend = guestfs_get_backend (g);
  glob_t gl;

  /* supermin builds the appliance from the host's kernel and packages. */
  memset (&gl, 0, sizeof gl);
  if (glob ("/boot/vmlinuz-*", 0, NULL, &gl) != 0 || gl.gl_pathc == 0)
    hint (h, _ ("  no host kernel in /boot: the appliance is built from it; "
                "install one (Debian: apt-get install linux-image-amd64)"));
  else {
    size_t i, readable = 0;
    for (i = 0; i < gl.gl_pathc; i++)
      if (access (gl.gl_pathv[i], R_OK) == 0)
        readable++;
    if (readable == 0)
      hint (h,
            _ ("  the host kernel %s is not readable by this user: "
               "run 'chmod 0644 /boot/vmlinuz-*' as root, or run as root"),
            gl.gl_pathv[0]);
  }
  globfree (&gl);

  if (backend && strncmp (backend, "libvirt", 7) == 0)
    hint (h,
          _ ("  the '%s' backend needs a running libvirtd; set "
             "LIBGUESTFS_BACKEND=direct to run qemu directly"),
          backend);

  if (!env_contains ("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")) {
    if (access ("/dev/kvm", F_OK) == 0 && access ("/dev/kvm", R_OK | W_OK))
      hint (h, _ ("  /dev/kvm is not usable by this user: add the user to "
                  "the kvm group, or set LIBGUESTFS_BACKEND_SETTINGS="
                  "force_tcg to run without KVM (slower)"));
    else if (access ("/dev/kvm", F_OK) == 0)
      hint (h, _ ("  if KVM is broken on this machine (the appliance hangs "
                  "or crashes at boot), set LIBGUESTFS_BACKEND_SETTINGS="
                  "force_tcg to run without it (slower)"));
  }
  hint (h, _ ("  run again with -v -x (or LIBGUESTFS_DEBUG=1 "
              "LIBGUESTFS_TRACE=1), or run libguestfs-test-tool, to see the "
              "appliance's messages"));
}

int
inspect_launch (guestfs_h *g)
{
  struct hints h = { .used = 0 };
  char first[512];
  const char *msg;
  size_t n;

  if (guestfs_launch (g) == 0)
    return 0;
  /* libguestfs' message is many lines of generic advice: keep its first
   * line (what failed) and add what we found out. */
  msg = guestfs_last_error (g);
  if (!msg)
    msg = "?";
  n = strcspn (msg, "\n");
  if (n >= sizeof first)
    n = sizeof first - 1;
  memcpy (first, msg, n);
  first[n] = '\0';
  h.buf[0] = '\0';
  explain_launch_failure (g, &h);
  vd_set_error (guestfs_last_errno (g),
                _ ("the libguestfs appliance failed to launch: %s%s"), first,
                h.buf);
  return -1;
}
