/* The I/O layer's front: checked calls into a backend's vd_io_ops.
 * Formats call these, never a backend directly, so missing optional
 * operations fall back in one place.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vd-internal.h"

/* Fault injection, for the crash-safety tests only: with VD_FAULT_AT=N in
 * the environment, the Nth write, flush, truncate or zeroing of the
 * process does not happen: the process ends at once with _exit (99) as
 * if it had crashed.  VD_FAULT_MODE=powerloss: the writes since the
 * last completed flush are undone first (what a power cut may lose);
 * VD_FAULT_MODE=fail: the call fails with EIO instead.  VD_FAULT_LOG=FILE
 * appends one line per such call ("N what offset length"), to count the
 * injection points.  Not thread-safe in powerloss mode (tests use it
 * single-threaded). */
static atomic_ullong fault_count;

/* Powerloss mode: the old contents of each range written since the last
 * flush, newest last, and the file's size at that flush. */
struct undo {
  struct vd_io *io;
  uint64_t offset;
  size_t count;
  uint8_t *old;
};
static struct undo *undo_log;
static size_t undo_n;
static int64_t undo_size = -1;
static struct vd_io *undo_io;

static void
undo_clear (void)
{
  size_t i;
  for (i = 0; i < undo_n; i++)
    free (undo_log[i].old);
  free (undo_log);
  undo_log = NULL;
  undo_n = 0;
  undo_size = -1;
}

static void
undo_record (struct vd_io *io, uint64_t offset, uint64_t count)
{
  int64_t size = io->ops->size (io);
  struct undo *u;
  uint64_t have;

  if (size < 0)
    return;
  if (undo_size < 0 || undo_io != io) {
    undo_io = io;
    undo_size = size;
  }
  u = realloc (undo_log, (undo_n + 1) * sizeof *u);
  if (!u)
    abort ();
  undo_log = u;
  u = &undo_log[undo_n++];
  have = offset >= (uint64_t) size ? 0 : MIN (count, (uint64_t) size - offset);
  u->io = io;
  u->offset = offset;
  u->count = have;
  u->old = have ? malloc (have) : NULL;
  if ((have && !u->old)
      || (have && io->ops->pread (io, u->old, have, offset) == -1))
    abort ();
}

static void
undo_apply (void)
{
  while (undo_n > 0) {
    struct undo *u = &undo_log[--undo_n];
    if (u->count
        && u->io->ops->pwrite (u->io, u->old, u->count, u->offset) == -1)
      abort ();
  }
  if (undo_io && undo_size >= 0 && undo_io->ops->truncate)
    undo_io->ops->truncate (undo_io, undo_size);
}

static int
fault_point (struct vd_io *io, const char *what, uint64_t offset,
             uint64_t count)
{
  static int init;              /* 0 unknown, 1 off, 2 on */
  static unsigned long long at; /* 0: never */
  static const char *logname;
  static bool fail_mode, powerloss;
  unsigned long long n;

  if (init == 1)
    return 0;
  if (init == 0) {
    const char *a = getenv ("VD_FAULT_AT"), *m = getenv ("VD_FAULT_MODE");
    logname = getenv ("VD_FAULT_LOG");
    at = a ? strtoull (a, NULL, 10) : 0;
    fail_mode = m && strcmp (m, "fail") == 0;
    powerloss = m && strcmp (m, "powerloss") == 0;
    init = at || logname ? 2 : 1;
    if (init == 1)
      return 0;
  }
  n = atomic_fetch_add (&fault_count, 1) + 1;
  if (logname) {
    char line[128];
    int fd = open (logname, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      int len =
          snprintf (line, sizeof line, "%llu %s %" PRIu64 " %" PRIu64 "\n", n,
                    what, offset, count);
      if (write (fd, line, (size_t) len) < 0) {
        /* nothing to do: the log is best effort */
      }
      close (fd);
    }
  }
  if (n != at) {
    if (powerloss && strcmp (what, "flush") == 0)
      undo_clear ();
    else if (powerloss)
      undo_record (io, offset, count);
    return 0;
  }
  if (powerloss)
    undo_apply ();
  if (!fail_mode)
    _exit (99);
  vd_set_error (EIO, _ ("%s: injected fault at %s %llu"), io->name, what, n);
  return -1;
}

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
  if (fault_point (io, "pwrite", offset, count) == -1)
    return -1;
  return io->ops->pwrite (io, buf, count, offset);
}

int
vd_io_flush (struct vd_io *io)
{
  if (io->readonly || !io->ops->flush)
    return 0;
  if (fault_point (io, "flush", 0, 0) == -1)
    return -1;
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
  if (fault_point (io, "truncate", size, 0) == -1)
    return -1;
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
  if (fault_point (io, "zero", offset, count) == -1)
    return -1;
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
