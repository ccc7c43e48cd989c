/* The format driver list and probing by content.  One plain array: a new
 * driver is one line here and one file fmt-NAME.c.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vd-internal.h"

/* Probe order; raw last (it matches anything with the lowest score).
 * One driver a line (clang-format would pack them). */
/* clang-format off */
const struct vd_format_ops *const vd_formats[] = {
  &vd_format_qcow2,
  &vd_format_vmdk,
  &vd_format_vdi,
  &vd_format_vhdx,
  &vd_format_vpc,
  &vd_format_raw,
  NULL,
};
/* clang-format on */

const struct vd_format_ops *
vd_find_format (const char *name)
{
  size_t i;

  for (i = 0; vd_formats[i]; i++)
    if (strcmp (vd_formats[i]->name, name) == 0)
      return vd_formats[i];
  return NULL;
}

bool
vd_format_known (const char *format)
{
  return vd_find_format (format) != NULL;
}

const char *const *
vd_format_names (void)
{
  static const char *names[sizeof vd_formats / sizeof vd_formats[0]];
  size_t i;

  for (i = 0; vd_formats[i]; i++)
    names[i] = vd_formats[i]->name;
  names[i] = NULL;
  return names;
}

const struct vd_create_opt_desc *
vd_format_create_opts (const char *format)
{
  const struct vd_format_ops *f = vd_find_format (format);

  if (!f) {
    vd_set_error (EINVAL, _ ("unknown file format '%s'"), format);
    return NULL;
  }
  if (!f->create) {
    vd_set_error (ENOTSUP, _ ("format '%s' does not support image creation"),
                  format);
    return NULL;
  }
  return f->create_opts;
}

const char *
vd_format_create_opt_default (const char *format, const char *name)
{
  const struct vd_format_ops *f = vd_find_format (format);
  const char *const *d;

  if (!f || !f->create_opt_defaults)
    return NULL;
  for (d = f->create_opt_defaults; d[0]; d += 2)
    if (strcmp (d[0], name) == 0)
      return d[1];
  return NULL;
}

const struct vd_format_ops *
vd_probe_buffer (const uint8_t *buf, size_t len, struct vd_io *io)
{
  const struct vd_format_ops *best = &vd_format_raw;
  int best_score = 0;
  size_t i;

  for (i = 0; vd_formats[i]; i++) {
    int s;
    if (!vd_formats[i]->probe)
      continue;
    s = vd_formats[i]->probe (buf, len, io);
    if (s > best_score) {
      best_score = s;
      best = vd_formats[i];
    }
  }
  return best;
}

const struct vd_format_ops *
vd_probe_io (struct vd_io *io)
{
  uint8_t buf[4096];
  int64_t size;
  size_t n;

  size = vd_io_size (io);
  if (size < 0)
    return NULL;
  n = MIN ((uint64_t) size, sizeof buf);
  if (vd_io_pread (io, buf, n, 0) == -1)
    return NULL;
  return vd_probe_buffer (buf, n, io);
}

const char *
vd_probe_file (const char *filename)
{
  struct vd_io *io = vd_io_file_open (filename, VD_OPEN_NO_LOCK);
  const struct vd_format_ops *f;

  if (!io)
    return NULL;
  f = vd_probe_io (io);
  vd_io_close (io);
  return f ? f->name : NULL;
}
