/* The image object: open (probe, driver open, backing chain), close, and
 * the checked entry points (pread, pwrite, zero, block_status, ...) that
 * dispatch to the format driver.  Range checks and read-only enforcement
 * live here so drivers can assume sane arguments.
 */
#include <config.h>

#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

#include "vd-internal.h"

struct chain_link {
  dev_t dev;
  ino_t ino;
  const struct chain_link *next;
};

static vd_image *open_chain (struct vd_io *io, const char *filename,
                             const char *format, const char *backing_format,
                             unsigned flags, int depth,
                             const struct chain_link *below);

static char *
dir_of (const char *filename)
{
  CLEANUP_FREE char *copy = vd_strdup (filename);
  if (!copy)
    return NULL;
  return vd_strdup (dirname (copy));
}

static void
image_free (vd_image *img)
{
  if (!img)
    return;
  if (img->backing)
    vd_close (img->backing);
  vd_io_close (img->io);
  free (img->filename);
  free (img->dir);
  free (img->backing_name);
  free (img->backing_format);
  free (img->backing_path);
  free (img->priv);
  free (img);
}

static int
open_backing (vd_image *img, const char *user_backing_format, unsigned flags,
              const struct chain_link *chain)
{
  const char *fmt = img->backing_format;
  struct vd_io *bio;
  unsigned bflags = (flags & ~VD_OPEN_RDWR) | VD_OPEN_NO_LOCK;

  if (img->depth + 1 >= VD_MAX_BACKING_DEPTH) {
    vd_set_error (ELOOP, _ ("%s: the backing chain is deeper than %d images"),
                  img->filename, VD_MAX_BACKING_DEPTH);
    return -1;
  }
  img->backing_path = vd_resolve_name (
      img->filename, img->dir, img->backing_name, _ ("backing file"), flags);
  if (!img->backing_path)
    return -1;
  if (!fmt || !*fmt)
    fmt = user_backing_format;
  bio = vd_io_file_open (img->backing_path, bflags);
  if (!bio) {
    vd_set_error (vd_errno (), _ ("%s: cannot open the backing file: %s"),
                  img->filename, vd_error ());
    return -1;
  }
  if (fmt && *fmt && !vd_find_format (fmt)) {
    vd_set_error (EINVAL, _ ("%s: unknown backing file format '%s'"),
                  img->filename, fmt);
    vd_io_close (bio);
    return -1;
  }
  if (!fmt || !*fmt) {
    const struct vd_format_ops *f = vd_probe_io (bio);
    if (!f) {
      vd_io_close (bio);
      return -1;
    }
    /* A guest can write any header into a raw disk: never decide "this
     * raw backing file is really qcow2" (or vice versa) on content alone
     * when the image did not record it and the user did not say it. */
    if (f == &vd_format_raw && !(flags & VD_OPEN_PROBE_RAW_BACKING)) {
      vd_set_error (EPERM,
                    _ ("%s: the image does not record the format of its "
                       "backing file '%s', and it probes as raw; refusing "
                       "to guess (give the format with -F FMT)"),
                    img->filename, img->backing_name);
      vd_io_close (bio);
      return -1;
    }
    fmt = f->name;
  }
  img->backing = open_chain (bio, img->backing_path, fmt, NULL, bflags,
                             img->depth + 1, chain);
  if (!img->backing)
    return -1;
  return 0;
}

static vd_image *
open_chain (struct vd_io *io, const char *filename, const char *format,
            const char *backing_format, unsigned flags, int depth,
            const struct chain_link *below)
{
  vd_image *img;
  const struct vd_format_ops *fmt;
  struct chain_link link = { 0 };
  struct stat st;
  const struct chain_link *l;

  /* Loop detection: the same file twice in one chain. */
  if (io->ops->name && strcmp (io->ops->name, "file") == 0
      && stat (filename, &st) == 0) {
    for (l = below; l; l = l->next) {
      if (l->dev == st.st_dev && l->ino == st.st_ino) {
        vd_set_error (ELOOP,
                      _ ("%s: the backing chain loops (this file is its own "
                         "backing file, directly or through others)"),
                      filename);
        vd_io_close (io);
        return NULL;
      }
    }
    link.dev = st.st_dev;
    link.ino = st.st_ino;
    link.next = below;
    below = &link;
  }

  if (format) {
    fmt = vd_find_format (format);
    if (!fmt) {
      vd_set_error (EINVAL, _ ("%s: unknown file format '%s'"), filename,
                    format);
      vd_io_close (io);
      return NULL;
    }
  }
  else {
    fmt = vd_probe_io (io);
    if (!fmt) {
      vd_io_close (io);
      return NULL;
    }
  }

  img = vd_calloc (1, sizeof *img);
  if (!img) {
    vd_io_close (io);
    return NULL;
  }
  img->io = io;
  img->fmt = fmt;
  img->flags = flags;
  img->depth = depth;
  img->readonly = !(flags & VD_OPEN_RDWR);
  if (!(img->filename = vd_strdup (filename))
      || !(img->dir = dir_of (filename)))
    goto fail;
  if (fmt->priv_size && !(img->priv = vd_calloc (1, fmt->priv_size)))
    goto fail;
  if (fmt->open (img, flags) == -1) {
    free (img->priv);
    img->priv = NULL;
    img->fmt = NULL;
    goto fail;
  }
  if (img->size > VD_MAX_IMAGE_SIZE) {
    vd_set_error (EFBIG, _ ("%s: virtual size %" PRIu64 " is too large"),
                  filename, img->size);
    goto fail_close;
  }
  if (img->backing_name && !(flags & VD_OPEN_NO_BACKING)
      && open_backing (img, backing_format, flags, below) == -1)
    goto fail_close;
  return img;

fail_close:
  fmt->close (img);
  img->fmt = NULL;
fail:
  image_free (img);
  return NULL;
}

vd_image *
vd_open_io (struct vd_io *io, const char *filename, const char *format,
            unsigned flags)
{
  return open_chain (io, filename, format, NULL, flags, 0, NULL);
}

vd_image *
vd_open_ex (const char *filename, const char *format,
            const char *backing_format, unsigned flags)
{
  struct vd_io *io = vd_io_file_open (filename, flags);

  if (!io)
    return NULL;
  return open_chain (io, filename, format, backing_format, flags, 0, NULL);
}

vd_image *
vd_open (const char *filename, const char *format, unsigned flags)
{
  return vd_open_ex (filename, format, NULL, flags);
}

int
vd_close (vd_image *img)
{
  int r = 0;

  if (!img)
    return 0;
  if (img->fmt) {
    if (!img->readonly && vd_flush (img) == -1)
      r = -1;
    img->fmt->close (img);
  }
  image_free (img);
  return r;
}

uint64_t
vd_get_size (vd_image *img)
{
  return img->size;
}

const char *
vd_get_format (vd_image *img)
{
  return img->fmt->name;
}

const char *
vd_get_filename (vd_image *img)
{
  return img->filename;
}

bool
vd_is_readonly (vd_image *img)
{
  return img->readonly;
}

vd_image *
vd_get_backing (vd_image *img)
{
  return img->backing;
}

uint32_t
vd_get_cluster_size (vd_image *img)
{
  return img->cluster_size;
}

static int
check_range (vd_image *img, uint64_t count, uint64_t offset)
{
  if (offset > img->size || count > img->size - offset) {
    vd_set_error (EINVAL,
                  _ ("%s: request of %" PRIu64 " bytes at offset %" PRIu64
                     " is past the end of the image (%" PRIu64 " bytes)"),
                  img->filename, count, offset, img->size);
    return -1;
  }
  return 0;
}

static int
check_writable (vd_image *img)
{
  if (img->readonly) {
    vd_set_error (EROFS, _ ("%s: the image is open read-only"), img->filename);
    return -1;
  }
  return 0;
}

int
vd_pread (vd_image *img, void *buf, size_t count, uint64_t offset)
{
  if (check_range (img, count, offset) == -1)
    return -1;
  if (count == 0)
    return 0;
  return img->fmt->pread (img, buf, count, offset);
}

int
vd_pwrite (vd_image *img, const void *buf, size_t count, uint64_t offset)
{
  if (check_writable (img) == -1 || check_range (img, count, offset) == -1)
    return -1;
  if (count == 0)
    return 0;
  if (!img->fmt->pwrite) {
    vd_set_error (ENOTSUP, _ ("%s: writing is not supported by format '%s'"),
                  img->filename, img->fmt->name);
    return -1;
  }
  return img->fmt->pwrite (img, buf, count, offset);
}

int
vd_pwrite_compressed (vd_image *img, const void *buf, size_t count,
                      uint64_t offset)
{
  if (check_writable (img) == -1 || check_range (img, count, offset) == -1)
    return -1;
  if (!img->fmt->pwrite_compressed) {
    vd_set_error (ENOTSUP,
                  _ ("%s: format '%s' does not support compressed writes"),
                  img->filename, img->fmt->name);
    return -1;
  }
  if (count == 0)
    return 0;
  return img->fmt->pwrite_compressed (img, buf, count, offset);
}

bool
vd_can_compress (vd_image *img)
{
  return img->fmt->pwrite_compressed != NULL;
}

bool
vd_is_sequential_only (vd_image *img)
{
  return img->sequential_only;
}

int
vd_zero (vd_image *img, uint64_t offset, uint64_t count, unsigned flags)
{
  static const uint8_t zeroes[65536];

  if (check_writable (img) == -1 || check_range (img, count, offset) == -1)
    return -1;
  if (count == 0)
    return 0;
  if (img->fmt->zero)
    return img->fmt->zero (img, offset, count, flags);
  while (count > 0) {
    size_t n = MIN (count, sizeof zeroes);
    if (vd_pwrite (img, zeroes, n, offset) == -1)
      return -1;
    offset += n;
    count -= n;
  }
  return 0;
}

int
vd_discard (vd_image *img, uint64_t offset, uint64_t count)
{
  if (check_writable (img) == -1 || check_range (img, count, offset) == -1)
    return -1;
  if (count == 0 || !img->fmt->discard)
    return 0; /* discard is advisory */
  return img->fmt->discard (img, offset, count);
}

int
vd_flush (vd_image *img)
{
  if (img->readonly || !img->fmt->flush)
    return 0;
  return img->fmt->flush (img);
}

int
vd_truncate (vd_image *img, uint64_t size, unsigned flags)
{
  if (check_writable (img) == -1)
    return -1;
  if (size > VD_MAX_IMAGE_SIZE) {
    vd_set_error (EFBIG, _ ("%s: size %" PRIu64 " is too large"), img->filename,
                  size);
    return -1;
  }
  if (size < img->size && !(flags & VD_TRUNCATE_SHRINK)) {
    vd_set_error (EINVAL,
                  _ ("%s: shrinking the image needs the shrink option "
                     "(--shrink): data past the new end would be lost"),
                  img->filename);
    return -1;
  }
  if (!img->fmt->truncate) {
    vd_set_error (ENOTSUP, _ ("%s: format '%s' cannot be resized"),
                  img->filename, img->fmt->name);
    return -1;
  }
  return img->fmt->truncate (img, size, flags);
}

int
vd_block_status_top (vd_image *img, uint64_t offset, uint64_t length,
                     struct vd_extent *ext)
{
  memset (ext, 0, sizeof *ext);
  ext->offset = offset;
  if (offset >= img->size || length == 0) {
    vd_set_error (EINVAL,
                  _ ("%s: block status at offset %" PRIu64
                     " is past the end of the image"),
                  img->filename, offset);
    return -1;
  }
  length = MIN (length, img->size - offset);
  if (!img->fmt->block_status) {
    ext->length = length;
    ext->flags = VD_EXT_DATA | VD_EXT_ALLOCATED;
    return 0;
  }
  if (img->fmt->block_status (img, offset, length, ext) == -1)
    return -1;
  if (ext->length == 0 || ext->length > length) {
    vd_set_error (EIO, _ ("%s: the %s driver returned a bad extent"),
                  img->filename, img->fmt->name);
    return -1;
  }
  ext->offset = offset;
  return 0;
}

int
vd_block_status (vd_image *img, uint64_t offset, uint64_t length,
                 struct vd_extent *ext)
{
  vd_image *b;

  if (vd_block_status_top (img, offset, length, ext) == -1)
    return -1;
  ext->depth = 0;
  if (ext->flags & VD_EXT_ALLOCATED)
    return 0;
  b = img->backing;
  if (b && offset < b->size) {
    uint64_t len = MIN (ext->length, b->size - offset);
    if (vd_block_status (b, offset, len, ext) == -1)
      return -1;
    ext->depth++;
    return 0;
  }
  /* Nothing below: reads as zeros. */
  ext->flags = VD_EXT_ZERO;
  if (b) {
    ext->depth = 1;
  }
  return 0;
}

int
vd_read_backing (vd_image *img, void *buf, size_t count, uint64_t offset)
{
  vd_image *b = img->backing;
  size_t n = 0;

  if (b && offset < b->size) {
    n = MIN (count, b->size - offset);
    if (vd_pread (b, buf, n, offset) == -1)
      return -1;
  }
  if (n < count)
    memset ((char *) buf + n, 0, count - n);
  return 0;
}
