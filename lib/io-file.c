/* The file backend of the I/O layer: pread/pwrite on a host file, holes
 * via SEEK_DATA/SEEK_HOLE and fallocate, and qemu-compatible image locks
 * (OFD locks on the bytes qemu uses) so we never write a disk a running
 * VM holds, and a VM never starts on a disk we are writing.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vd-internal.h"

struct file_priv {
  int fd;
  bool is_block;
  bool can_seek_data; /* SEEK_DATA works on this file */
};

static int
file_pread (struct vd_io *io, void *buf, size_t count, uint64_t offset)
{
  struct file_priv *p = io->priv;
  char *b = buf;

  while (count > 0) {
    ssize_t r = pread (p->fd, b, count, offset);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      vd_set_error (errno, _ ("%s: read error at offset %" PRIu64 ": %s"),
                    io->name, offset, strerror (errno));
      return -1;
    }
    if (r == 0) {
      vd_set_error (EIO,
                    _ ("%s: unexpected end of file reading %zu bytes at "
                       "offset %" PRIu64),
                    io->name, count, offset);
      return -1;
    }
    b += r;
    count -= r;
    offset += r;
  }
  return 0;
}

static int
file_pwrite (struct vd_io *io, const void *buf, size_t count, uint64_t offset)
{
  struct file_priv *p = io->priv;
  const char *b = buf;

  while (count > 0) {
    ssize_t r = pwrite (p->fd, b, count, offset);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      vd_set_error (errno, _ ("%s: write error at offset %" PRIu64 ": %s"),
                    io->name, offset, strerror (errno));
      return -1;
    }
    b += r;
    count -= r;
    offset += r;
  }
  return 0;
}

static int
file_flush (struct vd_io *io)
{
  struct file_priv *p = io->priv;

  if (fdatasync (p->fd) == -1) {
    vd_set_error (errno, _ ("%s: flush failed: %s"), io->name,
                  strerror (errno));
    return -1;
  }
  return 0;
}

static int64_t
file_size (struct vd_io *io)
{
  struct file_priv *p = io->priv;
  struct stat st;

  if (p->is_block) {
    off_t s = lseek (p->fd, 0, SEEK_END);
    if (s == -1) {
      vd_set_error (errno, _ ("%s: cannot find the device size: %s"), io->name,
                    strerror (errno));
      return -1;
    }
    return s;
  }
  if (fstat (p->fd, &st) == -1) {
    vd_set_error (errno, _ ("%s: stat: %s"), io->name, strerror (errno));
    return -1;
  }
  return st.st_size;
}

static int
file_truncate (struct vd_io *io, uint64_t size)
{
  struct file_priv *p = io->priv;

  if (p->is_block) {
    int64_t s = file_size (io);
    if (s >= 0 && (uint64_t) s >= size)
      return 0;
    vd_set_error (EINVAL, _ ("%s: a block device cannot be resized"), io->name);
    return -1;
  }
  if (size > INT64_MAX || ftruncate (p->fd, (off_t) size) == -1) {
    vd_set_error (errno ? errno : EFBIG,
                  _ ("%s: cannot set the file size to %" PRIu64 ": %s"),
                  io->name, size, strerror (errno ? errno : EFBIG));
    return -1;
  }
  return 0;
}

static int
file_punch (struct vd_io *io, uint64_t offset, uint64_t count)
{
  struct file_priv *p = io->priv;

  if (fallocate (p->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                 (off_t) offset, (off_t) count)
      == -1) {
    vd_set_error (errno, _ ("%s: cannot punch a hole: %s"), io->name,
                  strerror (errno));
    return -1;
  }
  return 0;
}

static int
file_zero (struct vd_io *io, uint64_t offset, uint64_t count)
{
  struct file_priv *p = io->priv;

  if (fallocate (p->fd, FALLOC_FL_ZERO_RANGE, (off_t) offset, (off_t) count)
      == -1) {
    vd_set_error (errno, _ ("%s: cannot zero a range: %s"), io->name,
                  strerror (errno));
    return -1;
  }
  return 0;
}

static int
file_allocate (struct vd_io *io, uint64_t offset, uint64_t count)
{
  struct file_priv *p = io->priv;
  int r;

  r = posix_fallocate (p->fd, (off_t) offset, (off_t) count);
  if (r != 0) {
    vd_set_error (r, _ ("%s: cannot preallocate: %s"), io->name, strerror (r));
    return -1;
  }
  return 0;
}

static int
file_extent (struct vd_io *io, uint64_t offset, uint64_t count, bool *is_data,
             uint64_t *len)
{
  struct file_priv *p = io->priv;
  off_t d, h;

  if (!p->can_seek_data) {
    *is_data = true;
    *len = count;
    return 0;
  }
  d = lseek (p->fd, (off_t) offset, SEEK_DATA);
  if (d == -1) {
    if (errno == ENXIO) { /* only a hole up to the end of the file */
      *is_data = false;
      *len = count;
      return 0;
    }
    /* The filesystem cannot tell: everything is data. */
    p->can_seek_data = false;
    *is_data = true;
    *len = count;
    return 0;
  }
  if ((uint64_t) d > offset) {
    *is_data = false;
    *len = MIN (count, (uint64_t) d - offset);
    return 0;
  }
  h = lseek (p->fd, (off_t) offset, SEEK_HOLE);
  if (h == -1 || (uint64_t) h <= offset) {
    *is_data = true;
    *len = count;
    return 0;
  }
  *is_data = true;
  *len = MIN (count, (uint64_t) h - offset);
  return 0;
}

static int64_t
file_allocated_size (struct vd_io *io)
{
  struct file_priv *p = io->priv;
  struct stat st;

  if (fstat (p->fd, &st) == -1)
    return -1;
  return (int64_t) st.st_blocks * 512;
}

static void
file_close (struct vd_io *io)
{
  struct file_priv *p = io->priv;

  close (p->fd);
  free (p);
  free (io->name);
  free (io);
}

static const struct vd_io_ops file_ops = {
  .name = "file",
  .pread = file_pread,
  .pwrite = file_pwrite,
  .flush = file_flush,
  .size = file_size,
  .truncate = file_truncate,
  .punch = file_punch,
  .zero = file_zero,
  .allocate = file_allocate,
  .extent = file_extent,
  .allocated_size = file_allocated_size,
  .close = file_close,
};

/* qemu's lock bytes (block/file-posix.c): a permission P is held by a
 * shared lock on byte 100+P, and "I do not share P" by one on 200+P.
 * P: 0 consistent read, 1 write, 2 write unchanged, 3 resize. */
#define LOCK_PERM_BASE 100
#define LOCK_SHARED_BASE 200
#define PERM_CONSISTENT_READ 0
#define PERM_WRITE 1

static int
lock_byte (int fd, int cmd, short type, off_t byte, struct flock *fl)
{
  memset (fl, 0, sizeof *fl);
  fl->l_whence = SEEK_SET;
  fl->l_start = byte;
  fl->l_len = 1;
  fl->l_type = type;
  return fcntl (fd, cmd, fl);
}

static int
take_image_lock (int fd, const char *name, bool write)
{
  struct flock fl;

  if (write) {
    /* Someone writing (holds WRITE) or someone that refuses to share
     * WRITE (a reader that wants a consistent image): both conflict. */
    static const off_t bytes[] = { LOCK_PERM_BASE + PERM_WRITE,
                                   LOCK_SHARED_BASE + PERM_WRITE };
    size_t i;

    for (i = 0; i < 2; i++) {
      if (lock_byte (fd, F_OFD_GETLK, F_WRLCK, bytes[i], &fl) == -1) {
        if (errno == EINVAL || errno == ENOTSUP || errno == ENOLCK)
          return 0; /* filesystem without OFD locks: nothing to honour */
        vd_set_error (errno, _ ("%s: cannot test the image lock: %s"), name,
                      strerror (errno));
        return -1;
      }
      if (fl.l_type != F_UNLCK) {
        vd_set_error (EBUSY,
                      _ ("%s: the image is in use by another process (it "
                         "holds qemu's image lock); refusing to write it"),
                      name);
        return -1;
      }
    }
    lock_byte (fd, F_OFD_SETLK, F_RDLCK, LOCK_PERM_BASE + PERM_WRITE, &fl);
    lock_byte (fd, F_OFD_SETLK, F_RDLCK, LOCK_SHARED_BASE + PERM_WRITE, &fl);
  }
  /* Readers hold only CONSISTENT_READ and share everything: a read-only
   * query of a running VM's disk works (no -U needed). */
  lock_byte (fd, F_OFD_SETLK, F_RDLCK, LOCK_PERM_BASE + PERM_CONSISTENT_READ,
             &fl);
  return 0;
}

static struct vd_io *
file_wrap (int fd, const char *filename, bool readonly)
{
  struct vd_io *io = vd_calloc (1, sizeof *io);
  struct file_priv *p = vd_calloc (1, sizeof *p);
  struct stat st;

  if (!io || !p || !(io->name = vd_strdup (filename))) {
    free (io);
    free (p);
    close (fd);
    return NULL;
  }
  p->fd = fd;
  p->can_seek_data = true;
  if (fstat (fd, &st) == 0 && S_ISBLK (st.st_mode)) {
    p->is_block = true;
    p->can_seek_data = false;
  }
  io->ops = &file_ops;
  io->priv = p;
  io->readonly = readonly;
  return io;
}

struct vd_io *
vd_io_file_open (const char *filename, unsigned flags)
{
  bool rw = flags & VD_OPEN_RDWR;
  int fd;
  struct stat st;

  fd = open (filename, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd == -1) {
    vd_set_error (errno, _ ("%s: %s"), filename, strerror (errno));
    return NULL;
  }
  if (fstat (fd, &st) == -1) {
    vd_set_error (errno, _ ("%s: %s"), filename, strerror (errno));
    close (fd);
    return NULL;
  }
  if (S_ISDIR (st.st_mode)) {
    vd_set_error (EISDIR, _ ("%s: is a directory, not a disk image"), filename);
    close (fd);
    return NULL;
  }
  if (!S_ISREG (st.st_mode) && !S_ISBLK (st.st_mode)) {
    vd_set_error (EINVAL, _ ("%s: not a regular file or block device"),
                  filename);
    close (fd);
    return NULL;
  }
  if (!(flags & VD_OPEN_NO_LOCK) && take_image_lock (fd, filename, rw) == -1) {
    close (fd);
    return NULL;
  }
  return file_wrap (fd, filename, !rw);
}

struct vd_io *
vd_io_file_create (const char *filename)
{
  int fd = open (filename, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd == -1) {
    vd_set_error (errno, _ ("%s: cannot create: %s"), filename,
                  strerror (errno));
    return NULL;
  }
  return file_wrap (fd, filename, false);
}
