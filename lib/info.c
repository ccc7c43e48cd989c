/* vd_get_info: the facts `vd-img info` prints, gathered into a plain
 * struct (common fields here, format-specific ones from the driver).  The
 * tools turn it into text or JSON.
 */
#include <config.h>

#include <string.h>

#include "vd-internal.h"

int
vd_get_info (vd_image *img, struct vd_info *info)
{
  memset (info, 0, sizeof *info);
  info->filename = vd_strdup (img->filename);
  info->format = vd_strdup (img->fmt->name);
  if (!info->filename || !info->format)
    goto fail;
  info->virtual_size = img->size;
  info->actual_size = vd_io_allocated_size (img->io);
  info->cluster_size = img->cluster_size;
  if (img->backing_name) {
    if (!(info->backing_filename = vd_strdup (img->backing_name)))
      goto fail;
    /* The path the chain would use, shown even when (as for info) the
     * backing file was not opened. */
    if (img->backing_path)
      info->full_backing_filename = vd_strdup (img->backing_path);
    else
      info->full_backing_filename =
          vd_resolve_name (img->filename, img->dir, img->backing_name,
                           "backing file", VD_OPEN_UNSAFE_PATHS);
    if (!info->full_backing_filename)
      goto fail;
  }
  if (img->backing_format
      && !(info->backing_format = vd_strdup (img->backing_format)))
    goto fail;
  if (img->fmt->info && img->fmt->info (img, info) == -1)
    goto fail;
  return 0;

fail:
  vd_info_free (info);
  return -1;
}

void
vd_info_free (struct vd_info *info)
{
  size_t i;

  free (info->filename);
  free (info->format);
  free (info->backing_filename);
  free (info->full_backing_filename);
  free (info->backing_format);
  vd_value_free (info->format_specific);
  for (i = 0; i < info->nr_snapshots; i++) {
    free (info->snapshots[i].id);
    free (info->snapshots[i].name);
  }
  free (info->snapshots);
  memset (info, 0, sizeof *info);
}
