/* libFuzzer harness: the native path's partition table parser
 * (inspect/native/parttable.c) on a disk held in memory.  A crash, a
 * leak, a huge allocation or a partition outside the disk is a bug.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>

#include "vd-internal.h"
#include "parttable.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct vd_io *io = vd_io_mem_new ("fuzz", data, size, size, true);
  struct pt_table pt;
  vd_image *img;
  size_t i;

  if (!io)
    return 0;
  img = vd_open_io (io, "fuzz", "raw", VD_OPEN_NO_BACKING);
  if (!img)
    return 0;
  if (pt_table_read (img, "fuzz", &pt) == 0) {
    for (i = 0; i < pt.n; i++)
      if (pt.v[i].offset + pt.v[i].size > vd_get_size (img))
        abort ();
    pt_table_free (&pt);
  }
  vd_close (img);
  return 0;
}
