/* Making a launched guest's files reachable: opening LUKS devices with the
 * keys the tool supplies, mounting by "-m DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]]",
 * or by inspection (-i): the root filesystem and what its fstab names.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inspect-internal.h"

static size_t
count_strings (char **v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

/* ---- LUKS -----------------------------------------------------------------
 */

static int
decrypt_one (guestfs_h *g, const char *dev, inspect_key_fn key_fn, void *opaque,
             bool readonly)
{
  CLEANUP_FREE char *uuid = NULL;
  char mapname[64], *key;
  const char *base = strrchr (dev, '/');
  int r;

  guestfs_push_error_handler (g, NULL, NULL);
  uuid = guestfs_vfs_uuid (g, dev);
  guestfs_pop_error_handler (g);
  key = key_fn (opaque, dev, uuid);
  if (!key)
    return -1;
  snprintf (mapname, sizeof mapname, "luks-%s", base ? base + 1 : dev);
  r = guestfs_cryptsetup_open (g, dev, key, mapname,
                               GUESTFS_CRYPTSETUP_OPEN_READONLY,
                               readonly ? 1 : 0, -1);
  memset (key, 0, strlen (key));
  free (key);
  if (r == -1) {
    vd_set_error (guestfs_last_errno (g),
                  _ ("%s: cannot open the encrypted device (wrong key?): %s"),
                  dev, guestfs_last_error (g));
    return -1;
  }
  return 0;
}

int
inspect_decrypt (guestfs_h *g, inspect_key_fn key_fn, void *opaque,
                 bool readonly)
{
  CLEANUP_STRINGS char **devices = NULL, **parts = NULL;
  char **lists[2];
  size_t i, l;
  int opened = 0;

  devices = guestfs_list_devices (g);
  if (!devices)
    return inspect_gerror (g, NULL);
  parts = guestfs_list_partitions (g);
  if (!parts)
    return inspect_gerror (g, NULL);
  lists[0] = devices;
  lists[1] = parts;
  for (l = 0; l < 2; l++) {
    for (i = 0; lists[l][i]; i++) {
      CLEANUP_FREE char *type = NULL;

      /* A device with no recognisable content is not an error here. */
      guestfs_push_error_handler (g, NULL, NULL);
      type = guestfs_vfs_type (g, lists[l][i]);
      guestfs_pop_error_handler (g);
      if (!type || strcmp (type, "crypto_LUKS") != 0)
        continue;
      if (decrypt_one (g, lists[l][i], key_fn, opaque, readonly) == -1)
        return -1;
      opened++;
    }
  }
  /* Volume groups inside the opened devices become visible now. */
  if (opened > 0 && guestfs_lvm_scan (g, 1) == -1)
    return inspect_gerror (g, NULL);
  return opened;
}

/* ---- -m -------------------------------------------------------------------
 */

int
inspect_mount_spec (guestfs_h *g, const char *spec, bool readonly)
{
  CLEANUP_FREE char *copy = strdup (spec);
  CLEANUP_FREE char *opts = NULL;
  char *dev, *mp = NULL, *o = NULL, *fstype = NULL, *p;
  int r;

  if (!copy) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  /* DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]]; the options are the only part
   * that may itself hold ':' (rarely), so FSTYPE is the last field. */
  dev = copy;
  if ((p = strchr (dev, ':'))) {
    *p = '\0';
    mp = p + 1;
    if ((p = strchr (mp, ':'))) {
      *p = '\0';
      o = p + 1;
      if ((p = strrchr (o, ':'))) {
        *p = '\0';
        fstype = p + 1;
      }
    }
  }
  if (!dev[0]) {
    vd_set_error (EINVAL, _ ("-m '%s': no device named"), spec);
    return -1;
  }
  if (!mp || !mp[0])
    mp = (char *) "/";
  if (mp[0] != '/') {
    vd_set_error (EINVAL, _ ("-m '%s': the mount point must be absolute"),
                  spec);
    return -1;
  }
  if (readonly) {
    if (o && o[0]) {
      if (asprintf (&opts, "ro,%s", o) == -1) {
        opts = NULL;
        vd_set_error (ENOMEM, _ ("out of memory"));
        return -1;
      }
    }
    else
      opts = strdup ("ro");
  }
  else
    opts = strdup (o ? o : "");
  if (!opts) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  if (fstype && fstype[0])
    r = guestfs_mount_vfs (g, opts, fstype, dev, mp);
  else
    r = guestfs_mount_options (g, opts, dev, mp);
  if (r == -1) {
    vd_set_error (guestfs_last_errno (g), _ ("cannot mount %s on %s: %s"), dev,
                  mp, guestfs_last_error (g));
    return -1;
  }
  return 0;
}

/* ---- -i -------------------------------------------------------------------
 */

/* "no OS" and "several OSes": say what the disks hold so the user can
 * pick with -m. */
static void
describe_filesystems (guestfs_h *g, char *buf, size_t len)
{
  CLEANUP_STRINGS char **fs = NULL;
  size_t i, used = 0;

  buf[0] = '\0';
  guestfs_push_error_handler (g, NULL, NULL);
  fs = guestfs_list_filesystems (g);
  guestfs_pop_error_handler (g);
  if (!fs || !fs[0]) {
    snprintf (buf, len, "%s", _ ("none"));
    return;
  }
  for (i = 0; fs[i] && fs[i + 1] && used < len; i += 2) {
    int n = snprintf (buf + used, len - used, "%s%s (%s)", i ? ", " : "", fs[i],
                      fs[i + 1]);
    if (n < 0)
      break;
    used += (size_t) n;
  }
}

static int
mountpoint_cmp (const void *a, const void *b)
{
  const char *const *x = a, *const *y = b;
  size_t lx = strlen (x[0]), ly = strlen (y[0]);

  /* Shorter first, so / is mounted before /boot, /usr before /usr/local. */
  if (lx != ly)
    return lx < ly ? -1 : 1;
  return strcmp (x[0], y[0]);
}

int
inspect_mount_root (guestfs_h *g, const char *root, bool readonly)
{
  CLEANUP_STRINGS char **mps = NULL;
  size_t nmps, i;

  /* A hash of mountpoint -> device pairs. */
  mps = guestfs_inspect_get_mountpoints (g, root);
  if (!mps)
    return inspect_gerror (g, root);
  nmps = count_strings (mps) / 2;
  qsort (mps, nmps, 2 * sizeof (char *), mountpoint_cmp);
  for (i = 0; i < nmps; i++) {
    const char *mp = mps[2 * i], *dev = mps[2 * i + 1];
    int r;

    if (readonly)
      r = guestfs_mount_ro (g, dev, mp);
    else
      r = guestfs_mount (g, dev, mp);
    if (r == 0)
      continue;
    if (strcmp (mp, "/") == 0) {
      vd_set_error (guestfs_last_errno (g),
                    _ ("cannot mount the guest's root filesystem %s: %s"), dev,
                    guestfs_last_error (g));
      return -1;
    }
    /* A stale fstab line must not stop us reading the rest. */
    inspect_warn (_ ("%s (%s in the guest's fstab) could not be mounted: %s"),
                  dev, mp, guestfs_last_error (g));
  }
  return 0;
}

int
inspect_mount_os (guestfs_h *g, bool readonly, char **root_ret)
{
  CLEANUP_STRINGS char **roots = NULL;
  const char *root;
  char found[1024];
  size_t nroots, i;

  roots = guestfs_inspect_os (g);
  if (!roots)
    return inspect_gerror (g, NULL);
  nroots = count_strings (roots);
  if (nroots == 0) {
    describe_filesystems (g, found, sizeof found);
    vd_set_error (ENOENT,
                  _ ("no operating system was found on the guest's disks "
                     "(filesystems found: %s); use -m DEV to mount a "
                     "filesystem yourself"),
                  found);
    return -1;
  }
  if (nroots > 1) {
    char list[512] = "";
    size_t used = 0;
    for (i = 0; i < nroots && used < sizeof list; i++) {
      int n = snprintf (list + used, sizeof list - used, "%s%s", i ? ", " : "",
                        roots[i]);
      if (n < 0)
        break;
      used += (size_t) n;
    }
    vd_set_error (ENOTSUP,
                  _ ("the guest's disks hold %zu operating systems (roots: "
                     "%s); use -m DEV to say which filesystems to mount"),
                  nroots, list);
    return -1;
  }
  root = roots[0];
  if (inspect_mount_root (g, root, readonly) == -1)
    return -1;
  if (root_ret) {
    *root_ret = strdup (root);
    if (!*root_ret) {
      vd_set_error (ENOMEM, _ ("out of memory"));
      return -1;
    }
  }
  return 0;
}
