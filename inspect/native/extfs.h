/* ext2/3/4 filesystems read natively: libext2fs over an io_manager of
 * ours that reads through libvd at a partition's offset (read-only), and
 * a small VFS that mounts several of them at guest paths and resolves
 * paths as the kernel does (symlinks inside the guest, "..", mount
 * points).  Runs inside the sandboxed child (sandbox.h): everything read
 * here comes from a hostile image.
 */
#ifndef VD_NATIVE_EXTFS_H
#define VD_NATIVE_EXTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vd.h"

/* Caps: symlinks followed in one lookup (as Linux's 40), a symlink's
 * target, names in one folder. */
#define EXT_MAX_SYMLINKS 40
#define EXT_MAX_LINK 4096
#define EXT_MAX_DIR_ENTRIES 10000000

/* What a superblock says, before libext2fs is asked to open it. */
struct ext_probe {
  char fstype[8]; /* "ext2", "ext3", "ext4" */
  char uuid[37];
  char label[17];
  bool needs_recovery;     /* the journal holds changes not yet replayed */
  const char *unsupported; /* a feature we cannot read natively, or NULL */
};

/* Is there an ext2/3/4 superblock at OFFSET (SIZE bytes) of IMG?  1 and
 * *p filled, 0 if not, -1 on a read error. */
int ext_probe (vd_image *img, uint64_t offset, uint64_t size,
               struct ext_probe *p);

/* The fields of a stat (the same as libguestfs' statns). */
struct ext_stat {
  int64_t dev, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks;
  int64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

/* statvfs numbers as the kernel's ext4_statfs gives them. */
struct ext_statvfs {
  uint64_t bsize, frsize, blocks, bfree, bavail, files, ffree, favail, fsid,
      flag, namemax;
};

struct ext_fs;

/* Open the filesystem at OFFSET (SIZE bytes) of IMG, read-only.  NAME
 * ("/dev/sda2") is used in messages; DEV is the st_dev it reports.
 * NULL with the error set. */
struct ext_fs *ext_fs_open (vd_image *img, uint64_t offset, uint64_t size,
                            const char *name, int64_t dev);
void ext_fs_close (struct ext_fs *fs);
int ext_fs_statvfs (struct ext_fs *fs, struct ext_statvfs *out);

/* ---- the VFS --------------------------------------------------------------
 */

struct ext_vfs;

struct ext_vfs *ext_vfs_new (void);
/* Mount FS (owned by the VFS from now on) at MOUNTPOINT; the mount point
 * must be a folder in what is already mounted (except "/", first).
 * Returns 0 or -1 with the error set. */
int ext_vfs_mount (struct ext_vfs *v, struct ext_fs *fs,
                   const char *mountpoint);
void ext_vfs_free (struct ext_vfs *v);

/* stat (FOLLOW) or lstat PATH.  -1 with errno ENOENT, ENOTDIR, ELOOP or
 * EIO and the error set. */
int ext_vfs_stat (struct ext_vfs *v, const char *path, bool follow,
                  struct ext_stat *st);
/* A symlink's target, malloc'd. */
char *ext_vfs_readlink (struct ext_vfs *v, const char *path);
/* The names in folder PATH (symlinks followed), without "." and "..",
 * sorted as strcmp sorts.  NULL-terminated, malloc'd (free each and the
 * array); NULL with the error set. */
char **ext_vfs_readdir (struct ext_vfs *v, const char *path);
/* Read the regular file PATH (symlinks followed) from the start, giving
 * each chunk to FN; FN returns 0 or -1 (stop, error set by FN). */
int ext_vfs_read (struct ext_vfs *v, const char *path,
                  int (*fn) (void *opaque, const void *buf, size_t len),
                  void *opaque);

#endif /* VD_NATIVE_EXTFS_H */
