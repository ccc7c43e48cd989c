/* Internal snapshots: the format-independent part of vd-img snapshot.
 * Drivers do the work (their snapshot ops); this file enforces the
 * calling rules.  Listing is through vd_get_info.
 */
#include <config.h>

#include <errno.h>

#include "vd-internal.h"

static int
usable (vd_image *img, void *op)
{
  if (!op) {
    vd_set_error (ENOTSUP,
                  _ ("%s: the %s format does not support internal "
                     "snapshots"),
                  img->filename, img->fmt->name);
    return -1;
  }
  if (img->readonly) {
    vd_set_error (EROFS, _ ("%s: the image is open read-only"), img->filename);
    return -1;
  }
  return 0;
}

int
vd_snapshot_create (vd_image *img, const char *name)
{
  if (usable (img, (void *) img->fmt->snapshot_create) == -1)
    return -1;
  return img->fmt->snapshot_create (img, name);
}

int
vd_snapshot_apply (vd_image *img, const char *name)
{
  if (usable (img, (void *) img->fmt->snapshot_apply) == -1)
    return -1;
  return img->fmt->snapshot_apply (img, name);
}

int
vd_snapshot_delete (vd_image *img, const char *name, const char *id)
{
  if (usable (img, (void *) img->fmt->snapshot_delete) == -1)
    return -1;
  return img->fmt->snapshot_delete (img, name, id);
}
