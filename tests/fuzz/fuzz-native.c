/* libFuzzer harness: the whole native path on a disk held in memory:
 * partitions, filesystem signatures, every ext2/3/4 filesystem opened
 * with libext2fs through our io_manager, its root listed, stat'd and its
 * files read.  Seeds: small ext2/ext4 images (run-fuzz.sh makes them).
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vd-internal.h"
#include "native.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
sink (void *opaque, const void *buf, size_t len)
{
  (void) opaque;
  (void) buf;
  (void) len;
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct vd_io *io = vd_io_mem_new ("fuzz", data, size, size, true);
  struct native_guest g;
  size_t i, j;

  if (!io)
    return 0;
  memset (&g, 0, sizeof g);
  g.disks = calloc (1, sizeof *g.disks);
  g.disks[0].img = vd_open_io (io, "fuzz", "raw", VD_OPEN_NO_BACKING);
  g.disks[0].name = strdup ("fuzz");
  if (!g.disks[0].img) {
    free (g.disks[0].name);
    free (g.disks);
    return 0;
  }
  g.nr_disks = 1;
  if (native_scan (&g) == 0) {
    for (i = 0; i < g.nr_fs; i++) {
      struct native_fs *f = &g.fs[i];
      struct ext_vfs *v;
      struct ext_fs *fs;
      struct ext_statvfs sv;
      char **names;

      if (f->kind != NK_EXT)
        continue;
      fs = ext_fs_open (g.disks[0].img, f->offset, f->size, f->device, 0);
      if (!fs)
        continue;
      ext_fs_statvfs (fs, &sv);
      v = ext_vfs_new ();
      if (ext_vfs_mount (v, fs, "/") == -1) {
        ext_vfs_free (v);
        continue;
      }
      names = ext_vfs_readdir (v, "/");
      for (j = 0; names && names[j] && j < 64; j++) {
        char path[300];
        struct ext_stat st;
        char *link;

        snprintf (path, sizeof path, "/%s", names[j]);
        ext_vfs_stat (v, path, false, &st);
        link = ext_vfs_readlink (v, path);
        free (link);
        ext_vfs_read (v, path, sink, NULL);
      }
      for (j = 0; names && names[j]; j++)
        free (names[j]);
      free (names);
      ext_vfs_free (v);
    }
  }
  native_guest_free (&g);
  return 0;
}
