/* Opening the guest a tool's options name (guest.h): disks from -a or -d,
 * the launch, LUKS keys (from --key, stdin or the terminal), then the
 * mounts.  The work is in inspect/; this file turns options into calls.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "guest.h"
#include "inspect.h"

void
tool_warning (const char *msg)
{
  fflush (stdout);
  fprintf (stderr, _ ("%s: warning: %s\n"), progname, msg);
}

/* One line from FP without its line end; NULL at EOF. */
static char *
read_line (FILE *fp)
{
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline (&line, &cap, fp);

  if (n < 0) {
    free (line);
    return NULL;
  }
  line[strcspn (line, "\r\n")] = '\0';
  return line;
}

static char *
read_key_from_tty (const struct guest_opts *o, const char *device)
{
  struct termios saved, quiet;
  bool restore = false;
  FILE *tty;
  char *key;

  tty = fopen ("/dev/tty", "r+e");
  if (!tty) {
    vd_set_error (errno,
                  _ ("%s is encrypted and there is no terminal to ask for its "
                     "key: give it with --key or --keys-from-stdin"),
                  device);
    return NULL;
  }
  fprintf (tty, _ ("Enter key or passphrase (\"%s\"): "), device);
  fflush (tty);
  if (!o->echo_keys && tcgetattr (fileno (tty), &saved) == 0) {
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t) ECHO;
    restore = tcsetattr (fileno (tty), TCSAFLUSH, &quiet) == 0;
  }
  key = read_line (tty);
  if (restore) {
    tcsetattr (fileno (tty), TCSAFLUSH, &saved);
    fputc ('\n', tty);
  }
  fclose (tty);
  if (!key)
    vd_set_error (0, _ ("%s: no key was entered"), device);
  return key;
}

char *
guest_read_key (const struct guest_opts *o, const char *device,
                const char *uuid)
{
  size_t i;
  char *key;

  for (i = 0; i < o->nr_keys; i++) {
    if (strcmp (o->keys[i].id, device) == 0
        || (uuid && strcmp (o->keys[i].id, uuid) == 0)) {
      key = strdup (o->keys[i].key);
      if (!key)
        vd_set_error (ENOMEM, _ ("out of memory"));
      return key;
    }
  }
  if (o->keys_from_stdin) {
    key = read_line (stdin);
    if (!key)
      vd_set_error (0,
                    _ ("%s is encrypted and stdin holds no more keys "
                       "(--keys-from-stdin reads one per line)"),
                    device);
    return key;
  }
  return read_key_from_tty (o, device);
}

static char *
key_callback (void *opaque, const char *device, const char *uuid)
{
  return guest_read_key (opaque, device, uuid);
}

guestfs_h *
guest_open (const struct guest_opts *o, unsigned flags)
{
  bool readonly = !(flags & GUEST_WRITE);
  bool mount_ro = readonly || (flags & GUEST_MOUNT_RO);
  struct inspect_disks disks = { NULL, 0 };
  guestfs_h *g;
  size_t i;

  inspect_set_warning (tool_warning);
  g = inspect_handle_new (o->verbose, o->trace);
  if (!g)
    return NULL;
  if (o->domain) {
    if (inspect_domain_disks (o->uri, o->domain, !readonly, &disks) == -1)
      goto fail;
    for (i = 0; i < disks.n; i++)
      if (inspect_add_disk (g, disks.v[i].filename, disks.v[i].format,
                            readonly || disks.v[i].readonly)
          == -1) {
        vd_set_error (vd_errno (), _ ("domain %s: disk %s: %s"), o->domain,
                      disks.v[i].target ? disks.v[i].target : "?", vd_error ());
        goto fail;
      }
  }
  for (i = 0; i < o->nr_drives; i++)
    if (inspect_add_disk (g, o->drives[i].filename, o->drives[i].format,
                          readonly)
        == -1)
      goto fail;

  if (inspect_launch (g) == -1)
    goto fail;
  if (inspect_decrypt (g, key_callback, (void *) o, readonly) == -1)
    goto fail;
  if (o->nr_mounts > 0) {
    for (i = 0; i < o->nr_mounts; i++)
      if (inspect_mount_spec (g, o->mounts[i], mount_ro) == -1)
        goto fail;
  }
  else if (o->inspector || (flags & GUEST_INSPECT)) {
    if (inspect_mount_os (g, mount_ro, NULL) == -1)
      goto fail;
  }
  inspect_disks_free (&disks);
  return g;

fail:
  inspect_disks_free (&disks);
  guestfs_close (g);
  return NULL;
}

int
guest_close (guestfs_h *g)
{
  return inspect_handle_close (g);
}
