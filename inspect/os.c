/* Operating system facts for vd-inspect (inspect.h): libguestfs'
 * inspection of a launched guest turned into plain structs (struct
 * inspect_report), in the order virt-inspector prints them, so the
 * renderers in tools/ only format and never call libguestfs.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "inspect-internal.h"

static size_t
count_strings (char **v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

static void
os_free (struct inspect_os *os)
{
  size_t i;

  free (os->root);
  free (os->type);
  free (os->arch);
  free (os->distro);
  free (os->product_name);
  free (os->product_variant);
  free (os->package_format);
  free (os->package_management);
  free (os->windows_systemroot);
  free (os->windows_current_control_set);
  free (os->hostname);
  free (os->osinfo);
  for (i = 0; i < os->nr_mountpoints; i++) {
    free (os->mountpoints[i].mountpoint);
    free (os->mountpoints[i].device);
  }
  free (os->mountpoints);
  for (i = 0; i < os->nr_filesystems; i++) {
    free (os->filesystems[i].device);
    free (os->filesystems[i].type);
    free (os->filesystems[i].label);
    free (os->filesystems[i].uuid);
  }
  free (os->filesystems);
  for (i = 0; i < os->nr_drive_mappings; i++) {
    free (os->drive_mappings[i].name);
    free (os->drive_mappings[i].device);
  }
  free (os->drive_mappings);
  for (i = 0; i < os->nr_applications; i++) {
    struct inspect_application *a = &os->applications[i];
    free (a->name);
    free (a->display_name);
    free (a->version);
    free (a->release);
    free (a->arch);
    free (a->install_path);
    free (a->publisher);
    free (a->url);
    free (a->source_package);
    free (a->summary);
    free (a->description);
  }
  free (os->applications);
  memset (os, 0, sizeof *os);
}

void
inspect_report_free (struct inspect_report *r)
{
  size_t i;

  if (!r)
    return;
  for (i = 0; i < r->nr_os; i++)
    os_free (&r->os[i]);
  free (r->os);
  r->os = NULL;
  r->nr_os = 0;
}

static int
oom (void)
{
  vd_set_error (ENOMEM, _ ("out of memory"));
  return -1;
}

/* A copy of S, or NULL for what means "nothing": NULL, "" (and, when
 * UNKNOWN is set, libguestfs' "unknown").  Sets *failed when out of
 * memory. */
static char *
known (const char *s, bool unknown, bool *failed)
{
  char *c;

  if (!s || !s[0] || (unknown && strcmp (s, "unknown") == 0))
    return NULL;
  c = strdup (s);
  if (!c)
    *failed = true;
  return c;
}

/* One inspect_get_* string: an error is an error, "unknown" is NULL. */
static int
get_string (guestfs_h *g, const char *root,
            char *(*fn) (guestfs_h *, const char *), char **out)
{
  char *s = fn (g, root);
  bool failed = false;

  if (!s)
    return inspect_gerror (g, root);
  *out = known (s, true, &failed);
  free (s);
  return failed ? oom () : 0;
}

/* The same, for facts only some guests have (Windows'): a failure means
 * "none". */
static int
get_optional (guestfs_h *g, const char *root,
              char *(*fn) (guestfs_h *, const char *), char **out)
{
  char *s;
  bool failed = false;

  guestfs_push_error_handler (g, NULL, NULL);
  s = fn (g, root);
  guestfs_pop_error_handler (g);
  *out = known (s, false, &failed);
  free (s);
  return failed ? oom () : 0;
}

/* The canonical name of DEVICE (/dev/vda1 -> /dev/sda1), as
 * virt-inspector prints devices. */
static char *
canonical (guestfs_h *g, const char *device)
{
  char *c = guestfs_canonical_device_name (g, device);

  if (!c)
    inspect_gerror (g, device);
  return c;
}

/* libguestfs returns hashes as flat lists: key, value, key, value. */
static int
hash_pairs (char **v, const char *what, const char *root, size_t *n)
{
  size_t len = count_strings (v);

  if (len % 2) {
    vd_set_error (EIO, _ ("%s: libguestfs returned an odd-length %s list"),
                  root, what);
    return -1;
  }
  *n = len / 2;
  return 0;
}

/* Mount points: shorter first, then by name (as virt-inspector). */
static int
pair_cmp_len (const void *a, const void *b)
{
  const char *const *x = a, *const *y = b;
  size_t lx = strlen (x[0]), ly = strlen (y[0]);

  if (lx != ly)
    return lx < ly ? -1 : 1;
  return strcmp (x[0], y[0]);
}

/* Drive letters, whatever their case. */
static int
pair_cmp_nocase (const void *a, const void *b)
{
  const char *const *x = a, *const *y = b;
  return strcasecmp (x[0], y[0]);
}

static int
string_cmp (const void *a, const void *b)
{
  const char *const *x = a, *const *y = b;
  return strcmp (*x, *y);
}

static int
get_mountpoints (guestfs_h *g, const char *root, struct inspect_os *os)
{
  CLEANUP_STRINGS char **mps = guestfs_inspect_get_mountpoints (g, root);
  size_t n, i;

  if (!mps)
    return inspect_gerror (g, root);
  if (hash_pairs (mps, "mount point", root, &n) == -1)
    return -1;
  qsort (mps, n, 2 * sizeof (char *), pair_cmp_len);
  os->mountpoints = calloc (n ? n : 1, sizeof *os->mountpoints);
  if (!os->mountpoints)
    return oom ();
  for (i = 0; i < n; i++) {
    struct inspect_mountpoint *m = &os->mountpoints[os->nr_mountpoints];

    m->device = canonical (g, mps[2 * i + 1]);
    if (!m->device)
      return -1;
    m->mountpoint = strdup (mps[2 * i]);
    os->nr_mountpoints++;
    if (!m->mountpoint)
      return oom ();
  }
  return 0;
}

static int
get_filesystems (guestfs_h *g, const char *root, struct inspect_os *os)
{
  CLEANUP_STRINGS char **fs = guestfs_inspect_get_filesystems (g, root);
  size_t n, i;

  if (!fs)
    return inspect_gerror (g, root);
  n = count_strings (fs);
  qsort (fs, n, sizeof (char *), string_cmp);
  os->filesystems = calloc (n ? n : 1, sizeof *os->filesystems);
  if (!os->filesystems)
    return oom ();
  for (i = 0; i < n; i++) {
    struct inspect_filesystem *f = &os->filesystems[os->nr_filesystems];
    char *type, *label, *uuid;
    bool failed = false;

    f->device = canonical (g, fs[i]);
    if (!f->device)
      return -1;
    os->nr_filesystems++;
    /* What cannot be read (a btrfs subvolume has no block device size,
     * a swap partition no label) is left out, as virt-inspector does. */
    guestfs_push_error_handler (g, NULL, NULL);
    type = guestfs_vfs_type (g, fs[i]);
    label = guestfs_vfs_label (g, fs[i]);
    uuid = guestfs_vfs_uuid (g, fs[i]);
    f->size = guestfs_blockdev_getsize64 (g, fs[i]);
    guestfs_pop_error_handler (g);
    f->type = known (type, false, &failed);
    f->label = known (label, false, &failed);
    f->uuid = known (uuid, false, &failed);
    free (type);
    free (label);
    free (uuid);
    if (f->size < 0)
      f->size = -1;
    if (failed)
      return oom ();
  }
  return 0;
}

static int
get_drive_mappings (guestfs_h *g, const char *root, struct inspect_os *os)
{
  CLEANUP_STRINGS char **dm = NULL;
  size_t n, i;

  /* Only Windows guests have them; for the rest the call fails. */
  guestfs_push_error_handler (g, NULL, NULL);
  dm = guestfs_inspect_get_drive_mappings (g, root);
  guestfs_pop_error_handler (g);
  if (!dm)
    return 0;
  if (hash_pairs (dm, "drive mapping", root, &n) == -1)
    return -1;
  qsort (dm, n, 2 * sizeof (char *), pair_cmp_nocase);
  os->drive_mappings = calloc (n ? n : 1, sizeof *os->drive_mappings);
  if (!os->drive_mappings)
    return oom ();
  for (i = 0; i < n; i++) {
    struct inspect_drive_mapping *d =
        &os->drive_mappings[os->nr_drive_mappings];

    d->device = canonical (g, dm[2 * i + 1]);
    if (!d->device)
      return -1;
    d->name = strdup (dm[2 * i]);
    os->nr_drive_mappings++;
    if (!d->name)
      return oom ();
  }
  return 0;
}

static int
copy_application (const struct guestfs_application2 *in,
                  struct inspect_application *out)
{
  bool failed = false;

  out->name = known (in->app2_name, false, &failed);
  out->display_name = known (in->app2_display_name, false, &failed);
  out->epoch = in->app2_epoch;
  out->version = known (in->app2_version, false, &failed);
  out->release = known (in->app2_release, false, &failed);
  out->arch = known (in->app2_arch, false, &failed);
  out->install_path = known (in->app2_install_path, false, &failed);
  out->publisher = known (in->app2_publisher, false, &failed);
  out->url = known (in->app2_url, false, &failed);
  out->source_package = known (in->app2_source_package, false, &failed);
  out->summary = known (in->app2_summary, false, &failed);
  out->description = known (in->app2_description, false, &failed);
  return failed ? oom () : 0;
}

/* The installed packages: libguestfs reads the package database (dpkg
 * status, rpm database, Windows registry, ...) from the mounted guest. */
static int
get_applications (guestfs_h *g, const char *root, struct inspect_os *os)
{
  struct guestfs_application2_list *apps;
  size_t i;
  int r = 0;

  if (inspect_mount_root (g, root, true) == -1)
    return -1;
  apps = guestfs_inspect_list_applications2 (g, root);
  if (!apps) {
    r = inspect_gerror (g, root);
    goto out;
  }
  os->has_applications = true;
  os->applications =
      calloc (apps->len ? apps->len : 1, sizeof *os->applications);
  if (!os->applications) {
    r = oom ();
    goto out;
  }
  for (i = 0; i < apps->len; i++) {
    /* A package with no name is no package (virt-inspector asserts). */
    if (!apps->val[i].app2_name || !apps->val[i].app2_name[0])
      continue;
    r = copy_application (&apps->val[i],
                          &os->applications[os->nr_applications++]);
    if (r == -1)
      goto out;
  }
out:
  if (apps)
    guestfs_free_application2_list (apps);
  /* The next root's filesystems go where these were. */
  if (guestfs_umount_all (g) == -1 && r == 0)
    r = inspect_gerror (g, root);
  return r;
}

static int
inspect_one (guestfs_h *g, const char *root, unsigned flags,
             struct inspect_os *os)
{
  os->root = canonical (g, root);
  if (!os->root)
    return -1;
  if (get_string (g, root, guestfs_inspect_get_type, &os->type) == -1
      || get_string (g, root, guestfs_inspect_get_arch, &os->arch) == -1
      || get_string (g, root, guestfs_inspect_get_distro, &os->distro) == -1
      || get_string (g, root, guestfs_inspect_get_product_name,
                     &os->product_name)
             == -1
      || get_string (g, root, guestfs_inspect_get_product_variant,
                     &os->product_variant)
             == -1)
    return -1;
  os->major_version = guestfs_inspect_get_major_version (g, root);
  if (os->major_version == -1)
    return inspect_gerror (g, root);
  os->minor_version = guestfs_inspect_get_minor_version (g, root);
  if (os->minor_version == -1)
    return inspect_gerror (g, root);
  if (get_string (g, root, guestfs_inspect_get_package_format,
                  &os->package_format)
          == -1
      || get_string (g, root, guestfs_inspect_get_package_management,
                     &os->package_management)
             == -1
      || get_optional (g, root, guestfs_inspect_get_windows_systemroot,
                       &os->windows_systemroot)
             == -1
      || get_optional (g, root, guestfs_inspect_get_windows_current_control_set,
                       &os->windows_current_control_set)
             == -1
      || get_string (g, root, guestfs_inspect_get_hostname, &os->hostname) == -1
      || get_string (g, root, guestfs_inspect_get_osinfo, &os->osinfo) == -1)
    return -1;
  if (get_mountpoints (g, root, os) == -1 || get_filesystems (g, root, os) == -1
      || get_drive_mappings (g, root, os) == -1)
    return -1;
  if ((flags & INSPECT_APPLICATIONS) && get_applications (g, root, os) == -1)
    return -1;
  return 0;
}

int
inspect_guest (guestfs_h *g, unsigned flags, struct inspect_report *out)
{
  CLEANUP_STRINGS char **roots = NULL;
  size_t n, i;

  memset (out, 0, sizeof *out);
  roots = guestfs_inspect_os (g);
  if (!roots)
    return inspect_gerror (g, NULL);
  n = count_strings (roots);
  if (n == 0)
    return 0;
  out->os = calloc (n, sizeof *out->os);
  if (!out->os)
    return oom ();
  for (i = 0; i < n; i++) {
    out->nr_os++;
    if (inspect_one (g, roots[i], flags, &out->os[i]) == -1) {
      inspect_report_free (out);
      return -1;
    }
  }
  return 0;
}
