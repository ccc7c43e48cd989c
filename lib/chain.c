/* Entry points that change what an image is layered on or how it is
 * laid out (vd-img rebase, commit, amend): checked here, done by the
 * format driver.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vd-internal.h"

static int
writable (vd_image *img)
{
  if (img->readonly) {
    vd_set_error (EROFS, _ ("%s: the image is open read-only"), img->filename);
    return -1;
  }
  return 0;
}

int
vd_set_backing (vd_image *img, const char *name, const char *format)
{
  char *n = NULL, *f = NULL;

  if (writable (img) == -1)
    return -1;
  if (!img->fmt->set_backing) {
    vd_set_error (ENOTSUP, _ ("%s: format '%s' cannot record a backing file"),
                  img->filename, img->fmt->name);
    return -1;
  }
  if ((name && !(n = vd_strdup (name)))
      || (name && format && !(f = vd_strdup (format)))) {
    free (n);
    return -1;
  }
  if (img->fmt->set_backing (img, name, name ? format : NULL) == -1) {
    free (n);
    free (f);
    return -1;
  }
  free (img->backing_name);
  free (img->backing_format);
  img->backing_name = n;
  img->backing_format = f;
  return 0;
}

int
vd_amend (vd_image *img, struct vd_opts *opts)
{
  if (writable (img) == -1)
    return -1;
  if (!img->fmt->amend) {
    vd_set_error (ENOTSUP,
                  _ ("Format driver '%s' does not support option amendment"),
                  img->fmt->name);
    return -1;
  }
  return img->fmt->amend (img, opts);
}

int
vd_make_empty (vd_image *img)
{
  if (writable (img) == -1)
    return -1;
  if (!img->fmt->make_empty) {
    vd_set_error (ENOTSUP, _ ("%s: format '%s' cannot be emptied"),
                  img->filename, img->fmt->name);
    return -1;
  }
  return img->fmt->make_empty (img);
}
