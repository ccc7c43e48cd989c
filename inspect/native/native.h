/* The native (no-appliance) path of the guest tools: a guest's disks
 * opened with libvd, their partitions and filesystems found, the choice
 * between this path and the libguestfs appliance, and the guest's ext2/3/4
 * filesystems mounted in a VFS by -m or by inspection, all without
 * mounting anything on the host.  Everything that reads guest data runs
 * in the sandboxed child (sandbox.h); the parent only opens the images.
 */
#ifndef VD_NATIVE_H
#define VD_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vd.h"
#include "extfs.h"
#include "parttable.h"
#include "sandbox.h"

/* What a partition (or a whole disk) holds. */
enum native_kind {
  NK_EMPTY, /* nothing we recognise (no signature) */
  NK_EXT,   /* ext2/3/4 */
  NK_SWAP,  /* Linux swap */
  NK_LVM,   /* an LVM physical volume */
  NK_LUKS,  /* a LUKS container */
  NK_MD,    /* a Linux software RAID member */
  NK_OTHER, /* another filesystem (xfs, btrfs, vfat, ntfs, ...) */
};

struct native_fs {
  char device[32]; /* "/dev/sda2" as the appliance names it */
  int disk, part;  /* part 0: the whole disk */
  uint64_t offset, size;
  enum native_kind kind;
  const char *what;       /* "xfs", "LVM physical volume", ... for messages */
  struct ext_probe probe; /* NK_EXT */
};

struct native_disk {
  vd_image *img;
  char *name; /* the file name, for messages */
};

struct native_guest {
  struct native_disk *disks;
  size_t nr_disks;
  struct native_fs *fs; /* filled by native_scan (in the child) */
  size_t nr_fs;
};

/* Open each FILES[i] (with FORMATS[i], or probed when NULL) read-only
 * with libvd.  Returns 0 or -1 with the error set (caller frees with
 * native_guest_free either way). */
int native_guest_open (struct native_guest *g, char *const *files,
                       char *const *formats, size_t n);
void native_guest_free (struct native_guest *g);

/* Find the partitions and what each holds.  Returns 0 or -1. */
int native_scan (struct native_guest *g);

/* The filesystem the appliance would call DEVICE ("/dev/sda2", also
 * "/dev/vda2" and "/dev/hda2"), or NULL. */
struct native_fs *native_find_device (struct native_guest *g,
                                      const char *device);

/* Mount what MOUNTS (-m specs) say, or by inspection when NR_MOUNTS is 0,
 * into a new VFS.  Returns 1 with *vfs set; 0 when the native path
 * cannot do it, with *why (a static or malloc'd-into-WHYBUF message)
 * saying what it cannot handle; -1 on an error (set).  WHYBUF is LEN
 * bytes. */
int native_mount (struct native_guest *g, char *const *mounts, size_t nr_mounts,
                  struct ext_vfs **vfs, char *whybuf, size_t len);

/* A checksum of the bytes fed in, as the appliance's tools print it
 * (md5sum & co: hex; crc: cksum's decimal CRC). */
struct native_sum;
struct native_sum *native_sum_new (const char *type);
void native_sum_update (struct native_sum *s, const void *buf, size_t len);
/* The result (malloc'd); frees S. */
char *native_sum_finish (struct native_sum *s);

#endif /* VD_NATIVE_H */
