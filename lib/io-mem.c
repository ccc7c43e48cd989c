/* The memory backend of the I/O layer: an image held in a growable
 * buffer.  Unit tests and fuzzers run the format drivers on it with no
 * files at all.
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "vd-internal.h"

struct mem_priv {
  uint8_t *data;
  size_t len;
  uint64_t max;
};

static int
mem_pread (struct vd_io *io, void *buf, size_t count, uint64_t offset)
{
  struct mem_priv *p = io->priv;

  if (offset > p->len || count > p->len - offset) {
    vd_set_error (EIO,
                  _ ("%s: unexpected end of file reading %zu bytes at "
                     "offset %" PRIu64),
                  io->name, count, offset);
    return -1;
  }
  memcpy (buf, p->data + offset, count);
  return 0;
}

static int
mem_resize (struct vd_io *io, uint64_t size)
{
  struct mem_priv *p = io->priv;
  uint8_t *d;

  if (size > p->max || size > SIZE_MAX) {
    vd_set_error (EFBIG,
                  _ ("%s: memory image cannot grow to %" PRIu64 " bytes"),
                  io->name, size);
    return -1;
  }
  d = vd_realloc (p->data, size);
  if (!d)
    return -1;
  if (size > p->len)
    memset (d + p->len, 0, size - p->len);
  p->data = d;
  p->len = size;
  return 0;
}

static int
mem_pwrite (struct vd_io *io, const void *buf, size_t count, uint64_t offset)
{
  struct mem_priv *p = io->priv;
  uint64_t end;

  if (vd_add_overflow (offset, count, &end)) {
    vd_set_error (EFBIG, _ ("%s: write past the largest offset"), io->name);
    return -1;
  }
  if (end > p->len && mem_resize (io, end) == -1)
    return -1;
  memcpy (p->data + offset, buf, count);
  return 0;
}

static int64_t
mem_size (struct vd_io *io)
{
  struct mem_priv *p = io->priv;
  return p->len;
}

static int
mem_truncate (struct vd_io *io, uint64_t size)
{
  return mem_resize (io, size);
}

static int
mem_punch (struct vd_io *io, uint64_t offset, uint64_t count)
{
  struct mem_priv *p = io->priv;

  if (offset >= p->len)
    return 0;
  if (count > p->len - offset)
    count = p->len - offset;
  memset (p->data + offset, 0, count);
  return 0;
}

static int64_t
mem_allocated_size (struct vd_io *io)
{
  struct mem_priv *p = io->priv;
  return p->len;
}

static void
mem_close (struct vd_io *io)
{
  struct mem_priv *p = io->priv;

  free (p->data);
  free (p);
  free (io->name);
  free (io);
}

static const struct vd_io_ops mem_ops = {
  .name = "memory",
  .pread = mem_pread,
  .pwrite = mem_pwrite,
  .size = mem_size,
  .truncate = mem_truncate,
  .punch = mem_punch,
  .zero = mem_punch,
  .allocated_size = mem_allocated_size,
  .close = mem_close,
};

struct vd_io *
vd_io_mem_new (const char *name, const void *data, size_t len,
               uint64_t max_size, bool readonly)
{
  struct vd_io *io = vd_calloc (1, sizeof *io);
  struct mem_priv *p = vd_calloc (1, sizeof *p);

  if (!io || !p || !(io->name = vd_strdup (name)))
    goto fail;
  p->data = vd_malloc (len);
  if (!p->data)
    goto fail;
  if (len)
    memcpy (p->data, data, len);
  p->len = len;
  p->max = max_size < len ? len : max_size;
  io->ops = &mem_ops;
  io->priv = p;
  io->readonly = readonly;
  return io;

fail:
  if (p)
    free (p->data);
  free (p);
  if (io)
    free (io->name);
  free (io);
  return NULL;
}

const uint8_t *
vd_io_mem_data (struct vd_io *io, size_t *len)
{
  struct mem_priv *p = io->priv;
  *len = p->len;
  return p->data;
}
