/* vd_check: the format-independent part of vd-img check.  Drivers do the
 * work (their check op); this file enforces the calling rules.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "vd-internal.h"

int
vd_check (vd_image *img, struct vd_check_result *res, unsigned fix)
{
  if (!img->fmt->check) {
    vd_set_error (ENOTSUP, _ ("This image format does not support checks"));
    return -1;
  }
  if (fix && img->readonly) {
    vd_set_error (EROFS,
                  _ ("%s: the image must be open read-write to "
                     "repair it"),
                  img->filename);
    return -1;
  }
  return img->fmt->check (img, res, fix);
}

void
vd_check_report (struct vd_check_result *res, const char *fmt, ...)
{
  va_list ap;
  char buf[512];

  if (!res->report)
    return;
  va_start (ap, fmt);
  vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  res->report (res->opaque, buf);
}
