/* Before a disk is added writable: is another process (a running VM's
 * qemu, qemu-nbd, vd-img, ...) holding qemu's image lock on it?  libvd's
 * file backend (lib/io-file.c) knows the lock bytes; we open the file
 * read-write through it, which refuses when the write lock is held, and
 * close it again at once, so the appliance's own qemu can take the lock.
 * This is the one file of inspect/ that uses libvd's internal I/O layer.
 */
#include <config.h>

#include "vd-internal.h"
#include "inspect.h"

int
inspect_check_disk_unlocked (const char *filename)
{
  struct vd_io *io = vd_io_file_open (filename, VD_OPEN_RDWR);

  if (!io)
    return -1;
  vd_io_close (io);
  return 0;
}
