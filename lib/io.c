/* The I/O layer's front: checked calls into a backend's vd_io_ops.
 * Formats call these, never a backend directly, so missing optional
 * operations fall back in one place.
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "vd-internal.h"

int
vd_io_pread (struct vd_io *io, void *buf, size_t count, uint64_t offset)
{
  if (count == 0)
    return 0;
  return io->ops->pread (io, buf, count, offset);
}

int
vd_io_pwrite (struct vd_io *io, const void *buf, size_t count, uint64_t offset)
{
  if (io->readonly) {
    vd_set_error (EROFS, _ ("%s: the image is open read-only"), io->name);
    return -1;
  }
  if (count == 0)
    return 0;
  return io->ops->pwrite (io, buf, count, offset);
}

int
vd_io_flush (struct vd_io *io)
{
  if (io->readonly || !io->ops->flush)
    return 0;
  return io->ops->flush (io);
}

int64_t
vd_io_size (struct vd_io *io)
{
  return io->ops->size (io);
}

int
vd_io_truncate (struct vd_io *io, uint64_t size)
{
  if (io->readonly) {
    vd_set_error (EROFS, _ ("%s: the image is open read-only"), io->name);
    return -1;
  }
  if (!io->ops->truncate) {
    vd_set_error (EOPNOTSUPP, _ ("%s: cannot change the size of this file"),
                  io->name);
    return -1;
  }
  return io->ops->truncate (io, size);
}

int
vd_io_punch (struct vd_io *io, uint64_t offset, uint64_t count)
{
  if (io->readonly) {
    vd_set_error (EROFS, _ ("%s: the image is open read-only"), io->name);
    return -1;
  }
  if (!io->ops->punch) {
    vd_set_error (EOPNOTSUPP, _ ("%s: cannot punch holes"), io->name);
    return -1;
  }
  return io->ops->punch (io, offset, count);
}

int
vd_io_write_zeroes (struct vd_io *io, uint64_t offset, uint64_t count)
{
  static const uint8_t zeroes[65536];
  int64_t fsize;

  if (io->readonly) {
    vd_set_error (EROFS, _ ("%s: the image is open read-only"), io->name);
    return -1;
  }
  if (count == 0)
    return 0;
  if (io->ops->zero && io->ops->zero (io, offset, count) == 0)
    return 0;
  /* Past the end of the file, growing it leaves a hole that reads as
   * zeros: no need to write anything. */
  fsize = vd_io_size (io);
  if (fsize >= 0 && offset >= (uint64_t) fsize && io->ops->truncate)
    return io->ops->truncate (io, offset + count);
  if (io->ops->punch && io->ops->punch (io, offset, count) == 0)
    return 0;
  while (count > 0) {
    size_t n = MIN (count, sizeof zeroes);
    if (io->ops->pwrite (io, zeroes, n, offset) == -1)
      return -1;
    offset += n;
    count -= n;
  }
  return 0;
}

int
vd_io_extent (struct vd_io *io, uint64_t offset, uint64_t count, bool *is_data,
              uint64_t *len)
{
  if (!io->ops->extent) {
    *is_data = true;
    *len = count;
    return 0;
  }
  return io->ops->extent (io, offset, count, is_data, len);
}

int64_t
vd_io_allocated_size (struct vd_io *io)
{
  if (!io->ops->allocated_size)
    return -1;
  return io->ops->allocated_size (io);
}

void
vd_io_close (struct vd_io *io)
{
  if (!io)
    return;
  io->ops->close (io);
}
