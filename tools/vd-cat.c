/* vd-cat: print files from a guest's disks to stdout, byte for byte, as
 * virt-cat does.  Parse (the shared options), work (check every file,
 * then copy each out), render (the bytes themselves, nothing added).
 * Every FILE is checked before anything is printed, so a missing one
 * leaves stdout empty.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/guest.h"

/* ---- parse ----------------------------------------------------------------
 */

static const struct tool_option cat_options[] = {
  { NULL, 0, 0, NULL, NULL, 0 },
};

static const char *const cat_usage[] = {
  "[--options] -d domname file [file ...]",
  "[--options] -a disk.img [-a disk.img ...] file [file ...]",
  NULL,
};

static int
cat_option (void *data, int id, const char *arg)
{
  (void) data;
  (void) id;
  (void) arg;
  return -1;
}

static const struct tool_info cat_tool = {
  .summary = N_ ("display files in a virtual machine"),
  .usage = cat_usage,
  .common = GOPT_ADD | GOPT_MOUNT | GOPT_KEYS,
  .options = cat_options,
  .handle = cat_option,
  .min_args = 1,
};

/* ---- work -----------------------------------------------------------------
 */

/* Each FILE must be a regular file (after symlinks) in the guest. */
static int
cat_check (guestfs_h *g, const struct guest_opts *o)
{
  size_t i;

  for (i = 0; i < o->nr_args; i++) {
    const char *f = o->args[i];
    int r =
        guestfs_is_file_opts (g, f, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 1, -1);
    if (r == -1)
      return inspect_gerror (g, f);
    if (r == 1)
      continue;
    if (guestfs_is_dir (g, f) == 1)
      vd_set_error (EISDIR, _ ("%s: is a directory in the guest"), f);
    else if (guestfs_exists (g, f) == 1)
      vd_set_error (EINVAL, _ ("%s: is not a regular file in the guest"), f);
    else
      vd_set_error (ENOENT, _ ("%s: no such file in the guest"), f);
    return -1;
  }
  return 0;
}

/* Before any launch: what can be checked without the guest. */
static int
cat_check_names (const struct guest_opts *o)
{
  size_t i;

  for (i = 0; i < o->nr_args; i++)
    if (o->args[i][0] != '/') {
      vd_set_error (EINVAL, _ ("%s: guest file names must be absolute"),
                    o->args[i]);
      return -1;
    }
  return 0;
}

/* ---- render ---------------------------------------------------------------
 */

static int
cat_files (guestfs_h *g, const struct guest_opts *o)
{
  size_t i;

  if (fflush (stdout) == EOF) {
    vd_set_error (errno, _ ("error writing the output: %s"), strerror (errno));
    return -1;
  }
  for (i = 0; i < o->nr_args; i++) {
    /* libguestfs writes the bytes straight to our stdout. */
    if (guestfs_download (g, o->args[i], "/dev/stdout") == -1)
      return inspect_gerror (g, o->args[i]);
  }
  return 0;
}

int
main (int argc, char **argv)
{
  struct guest_opts o;
  guestfs_h *g;
  int r;

  tool_init (argc, argv);
  r = guest_opts_parse (&cat_tool, NULL, argc, argv, &o);
  if (r != 0)
    return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;

  g = cat_check_names (&o) == 0 ? guest_open (&o, GUEST_INSPECT) : NULL;
  if (!g) {
    tool_error_vd ();
    guest_opts_free (&o);
    return EXIT_FAILURE;
  }
  r = cat_check (g, &o);
  if (r == 0)
    r = cat_files (g, &o);
  if (guest_close (g) == -1 && r == 0)
    r = -1;
  if (r == -1)
    tool_error_vd ();
  guest_opts_free (&o);
  return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
