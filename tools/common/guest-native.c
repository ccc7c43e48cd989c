/* The native path of the guest tools (guest.h: guest_native_run): the
 * disks opened with libvd in the parent, then one sandboxed child that
 * finds the partitions, decides whether this path can serve the guest,
 * mounts its ext2/3/4 filesystems and runs the tool's work.  The parent
 * only takes frames.  In auto mode anything the native path cannot do,
 * any error before the work starts, and any crash or timeout of the
 * child send the tool to the appliance instead.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"
#include "inspect.h"
#include "native.h"

enum {
  FRAME_APPLIANCE = 'A', /* the appliance is needed: why */
  FRAME_NATIVE = 'N',    /* the native path goes on: what it mounted */
};

struct run {
  const struct guest_opts *o;
  struct native_guest *g;
  struct guest_native_job *job;
  bool native;      /* 'N' seen */
  char reason[512]; /* from 'A' */
};

static void
describe_mounts (struct native_guest *g, char *buf, size_t len)
{
  size_t i, used = 0;

  buf[0] = '\0';
  for (i = 0; i < g->nr_fs && used < len; i++) {
    int n;
    if (g->fs[i].kind != NK_EXT)
      continue;
    n = snprintf (buf + used, len - used, "%s%s (%s)", used ? ", " : "",
                  g->fs[i].device, g->fs[i].probe.fstype);
    if (n < 0)
      break;
    used += (size_t) n;
  }
}

static int
child (void *opaque, struct sb_writer *w)
{
  struct run *run = opaque;
  struct ext_vfs *v = NULL;
  char why[400], what[400];
  int r;

  if (native_scan (run->g) == -1)
    return -1;
  r = native_mount (run->g, run->o->mounts, run->o->nr_mounts, &v, why,
                    sizeof why);
  if (r == -1)
    return -1;
  if (r == 0)
    return sb_send (w, FRAME_APPLIANCE, why, strlen (why));
  describe_mounts (run->g, what, sizeof what);
  if (sb_send (w, FRAME_NATIVE, what, strlen (what)) == -1) {
    ext_vfs_free (v);
    return -1;
  }
  r = run->job->work (run->job->opaque, v, w);
  ext_vfs_free (v);
  return r;
}

static int
frame (void *opaque, char type, const unsigned char *data, size_t len)
{
  struct run *run = opaque;

  if (type == FRAME_APPLIANCE) {
    snprintf (run->reason, sizeof run->reason, "%.*s", (int) len,
              (const char *) data);
    return 0;
  }
  if (type == FRAME_NATIVE) {
    run->native = true;
    if (run->o->verbose) {
      char msg[600];
      snprintf (msg, sizeof msg,
                _ ("using the native path: every filesystem needed is "
                   "ext2/3/4 on a plain partition or disk (found %.*s)"),
                (int) (len > 400 ? 400 : len), (const char *) data);
      fprintf (stderr, "%s: %s\n", progname, msg);
    }
    return 0;
  }
  if (!run->native) {
    vd_set_error (EIO, _ ("the native reader sent results out of order"));
    return -1;
  }
  return run->job->frame (run->job->opaque, type, data, len);
}

static int
use_appliance (const struct guest_opts *o, const char *why)
{
  if (o->path == GUEST_PATH_NATIVE) {
    vd_set_error (ENOTSUP,
                  _ ("--native: the native path cannot read this guest: %s "
                     "(use --appliance)"),
                  why);
    return -1;
  }
  if (o->verbose)
    fprintf (stderr, _ ("%s: using the appliance: %s\n"), progname, why);
  return 0;
}

int
guest_native_run (const struct guest_opts *o, struct guest_native_job *job)
{
  struct inspect_disks disks = { NULL, 0 };
  struct native_guest g;
  struct sandbox_limits lim;
  struct run run;
  char **files = NULL, **formats = NULL, what[256];
  size_t i, n;
  int r;

  memset (&g, 0, sizeof g);
  if (o->path == GUEST_PATH_APPLIANCE)
    return use_appliance (o, _ ("--appliance was given"));
  if (o->nr_keys > 0 || o->keys_from_stdin)
    return use_appliance (o, _ ("LUKS keys were given"));

  if (o->domain) {
    if (inspect_domain_disks (o->uri, o->domain, false, &disks) == -1)
      return o->path == GUEST_PATH_NATIVE ? -1 : use_appliance (o, vd_error ());
    n = disks.n;
  }
  else
    n = o->nr_drives;
  files = calloc (n + 1, sizeof *files);
  formats = calloc (n + 1, sizeof *formats);
  if (!files || !formats) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    r = -1;
    goto out;
  }
  for (i = 0; i < n; i++) {
    files[i] = o->domain ? disks.v[i].filename : o->drives[i].filename;
    formats[i] = o->domain ? disks.v[i].format : o->drives[i].format;
  }
  if (native_guest_open (&g, files, formats, n) == -1) {
    /* In auto mode the appliance path says what is wrong its own way. */
    r = o->path == GUEST_PATH_NATIVE ? -1 : use_appliance (o, vd_error ());
    goto out;
  }

  memset (&run, 0, sizeof run);
  run.o = o;
  run.g = &g;
  run.job = job;
  snprintf (what, sizeof what, "%s",
            o->domain ? o->domain : (n ? files[0] : "guest"));
  sandbox_default_limits (&lim);
  r = sandbox_run (what, &lim, child, &run, frame, &run);
  if (r == 0 && run.native)
    r = 1;
  else if (r == 0)
    r = use_appliance (o, run.reason[0] ? run.reason : "?");
  else if (r == -2) {
    /* Crashed, killed or out of time: only the child paid. */
    if (o->path == GUEST_PATH_NATIVE || job->committed)
      r = -1;
    else {
      tool_warning (vd_error ());
      r = use_appliance (o, vd_error ());
    }
  }
  else if (r == -1 && !run.native && o->path != GUEST_PATH_NATIVE)
    /* An error before the work began (a table or superblock the native
     * reader refuses): the appliance gives its own verdict. */
    r = use_appliance (o, vd_error ());
out:
  native_guest_free (&g);
  inspect_disks_free (&disks);
  free (files);
  free (formats);
  return r;
}
