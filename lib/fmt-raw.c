/* The raw format: the image is the file.  Sparse-aware: holes found with
 * SEEK_DATA/SEEK_HOLE are reported as zero extents, zeroing punches or
 * zero-ranges with fallocate, and create can preallocate.  As in qemu, the
 * virtual size is the file size rounded up to whole 512-byte sectors; the
 * missing tail of a last partial sector reads as zeros.
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "vd-internal.h"

static int
raw_probe (const uint8_t *buf, size_t len, struct vd_io *io)
{
  (void) buf;
  (void) len;
  (void) io;
  return 1;
}

struct raw_priv {
  uint64_t file_size; /* the bytes really in the file */
};

static int
raw_open (vd_image *img, unsigned flags)
{
  struct raw_priv *p = img->priv;
  int64_t size = vd_io_size (img->io);

  (void) flags;
  if (size < 0)
    return -1;
  p->file_size = size;
  img->size = ROUND_UP ((uint64_t) size, 512);
  return 0;
}

static void
raw_close (vd_image *img)
{
  (void) img;
}

static int
raw_pread (vd_image *img, void *buf, size_t count, uint64_t offset)
{
  struct raw_priv *p = img->priv;

  if (offset + count > p->file_size) {
    /* Only the tail of the last sector can be missing (image.c checks the
     * range against the virtual size). */
    size_t n = offset < p->file_size ? p->file_size - offset : 0;
    memset ((char *) buf + n, 0, count - n);
    count = n;
  }
  return vd_io_pread (img->io, buf, count, offset);
}

static int
raw_pwrite (vd_image *img, const void *buf, size_t count, uint64_t offset)
{
  struct raw_priv *p = img->priv;

  if (vd_io_pwrite (img->io, buf, count, offset) == -1)
    return -1;
  if (offset + count > p->file_size)
    p->file_size = offset + count;
  return 0;
}

static int
raw_zero (vd_image *img, uint64_t offset, uint64_t count, unsigned flags)
{
  if ((flags & VD_ZERO_MAY_UNMAP) && img->io->ops->punch
      && img->io->ops->punch (img->io, offset, count) == 0)
    return 0;
  return vd_io_write_zeroes (img->io, offset, count);
}

static int
raw_discard (vd_image *img, uint64_t offset, uint64_t count)
{
  /* Advisory: a filesystem that cannot punch simply keeps the data. */
  if (img->io->ops->punch)
    img->io->ops->punch (img->io, offset, count);
  return 0;
}

static int
raw_flush (vd_image *img)
{
  return vd_io_flush (img->io);
}

static int
raw_truncate (vd_image *img, uint64_t size, unsigned flags)
{
  struct raw_priv *p = img->priv;

  (void) flags;
  size = ROUND_UP (size, 512);
  if (vd_io_truncate (img->io, size) == -1)
    return -1;
  img->size = p->file_size = size;
  return 0;
}

static int
raw_block_status (vd_image *img, uint64_t offset, uint64_t length,
                  struct vd_extent *ext)
{
  bool is_data;
  uint64_t len;

  struct raw_priv *p = img->priv;

  if (offset >= p->file_size) { /* the zero tail of a partial sector */
    ext->length = length;
    ext->flags = VD_EXT_ALLOCATED | VD_EXT_ZERO;
    return 0;
  }
  length = MIN (length, p->file_size - offset);
  if (vd_io_extent (img->io, offset, length, &is_data, &len) == -1)
    return -1;
  ext->length = len;
  ext->flags = VD_EXT_ALLOCATED | VD_EXT_OFFSET_VALID
               | (is_data ? VD_EXT_DATA : VD_EXT_ZERO);
  ext->host_offset = offset;
  ext->host_file = img->filename;
  return 0;
}

static int
raw_create (struct vd_io *io, const char *filename, uint64_t size,
            struct vd_opts *opts)
{
  const char *prealloc = vd_opts_get (opts, "preallocation");

  size = ROUND_UP (size, 512); /* qemu sizes raw images in sectors */
  if (prealloc == NULL || strcmp (prealloc, "off") == 0) {
    static const uint8_t zeroes[4096];
    if (vd_io_truncate (io, size) == -1)
      return -1;
    /* Allocate the first block as qemu does (it probes the alignment of
     * O_DIRECT there), so both tools report the same disk size. */
    return vd_io_pwrite (io, zeroes, MIN (size, sizeof zeroes), 0);
  }
  if (strcmp (prealloc, "falloc") == 0) {
    if (vd_io_truncate (io, size) == -1)
      return -1;
    if (size == 0)
      return 0;
    if (!io->ops->allocate) {
      vd_set_error (ENOTSUP,
                    _ ("%s: preallocation=falloc is not supported "
                       "here"),
                    filename);
      return -1;
    }
    return io->ops->allocate (io, 0, size);
  }
  if (strcmp (prealloc, "full") == 0) {
    static const uint8_t zeroes[1 << 20];
    uint64_t off = 0;

    /* Write real zeros, as qemu does: the blocks are then allocated and
     * initialised even on filesystems without fallocate. */
    while (off < size) {
      size_t n = MIN (size - off, sizeof zeroes);
      if (vd_io_pwrite (io, zeroes, n, off) == -1)
        return -1;
      off += n;
    }
    return vd_io_truncate (io, size);
  }
  vd_set_error (EINVAL,
                _ ("invalid value '%s' for option 'preallocation' (use off, "
                   "falloc or full)"),
                prealloc);
  return -1;
}

static const struct vd_create_opt_desc raw_create_opts[] = {
  { "size", "size", N_ ("Virtual disk size") },
  { "preallocation", "string",
    N_ ("Preallocation mode (allowed values: off, falloc, full)") },
  { NULL, NULL, NULL },
};

const struct vd_format_ops vd_format_raw = {
  .name = "raw",
  .priv_size = sizeof (struct raw_priv),
  .probe = raw_probe,
  .open = raw_open,
  .close = raw_close,
  .create = raw_create,
  .create_opts = raw_create_opts,
  .pread = raw_pread,
  .pwrite = raw_pwrite,
  .zero = raw_zero,
  .discard = raw_discard,
  .flush = raw_flush,
  .truncate = raw_truncate,
  .block_status = raw_block_status,
};
