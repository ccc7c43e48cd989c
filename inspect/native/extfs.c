/* ext2/3/4 read natively (extfs.h): an io_manager that reads through
 * libvd at a partition's offset, libext2fs above it, and a small VFS of
 * mounts.  The image is hostile: libext2fs checks its own structures;
 * this file checks every range it hands to libvd and bounds every loop
 * (symlink hops, link sizes, folder sizes).
 */
#include <config.h>

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "extfs.h"

#include "native-internal.h"

/* ---- the io_manager -------------------------------------------------------
 */

/* libext2fs opens a channel by name: "vdnative:N" names slot N here.  The
 * reader is one single-threaded child, so a plain table serves. */
#define MAX_CHANNELS 64
#define CACHE_BLOCKS 256

struct chan_target {
  vd_image *img;
  uint64_t offset, size;
  bool used;
};
static struct chan_target targets[MAX_CHANNELS];

struct chan {
  struct chan_target *t;
  uint64_t cache_blk[CACHE_BLOCKS]; /* UINT64_MAX: empty */
  unsigned char *cache;             /* CACHE_BLOCKS * block_size */
};

static struct struct_io_manager vd_io_manager;

static errcode_t
chan_open (const char *name, int flags, io_channel *ret)
{
  io_channel ch;
  struct chan *c;
  unsigned n;
  size_t i;

  if (flags & IO_FLAG_RW)
    return EROFS;
  if (sscanf (name, "vdnative:%u", &n) != 1 || n >= MAX_CHANNELS
      || !targets[n].used)
    return EXT2_ET_BAD_DEVICE_NAME;
  ch = calloc (1, sizeof *ch);
  c = calloc (1, sizeof *c);
  if (ch)
    ch->name = strdup (name);
  if (!ch || !c || !ch->name) {
    if (ch)
      free (ch->name);
    free (ch);
    free (c);
    return EXT2_ET_NO_MEMORY;
  }
  c->t = &targets[n];
  for (i = 0; i < CACHE_BLOCKS; i++)
    c->cache_blk[i] = UINT64_MAX;
  ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
  ch->manager = &vd_io_manager;
  ch->block_size = 1024;
  ch->refcount = 1;
  ch->private_data = c;
  *ret = ch;
  return 0;
}

static errcode_t
chan_close (io_channel ch)
{
  struct chan *c = ch->private_data;

  if (--ch->refcount > 0)
    return 0;
  free (c->cache);
  free (c);
  free (ch->name);
  free (ch);
  return 0;
}

static errcode_t
chan_set_blksize (io_channel ch, int blksize)
{
  struct chan *c = ch->private_data;
  size_t i;

  if (blksize < 1024 || blksize > 65536)
    return EXT2_ET_INVALID_ARGUMENT;
  ch->block_size = blksize;
  free (c->cache);
  c->cache = malloc ((size_t) CACHE_BLOCKS * (size_t) blksize);
  for (i = 0; i < CACHE_BLOCKS; i++)
    c->cache_blk[i] = UINT64_MAX;
  return 0;
}

static errcode_t
read_range (struct chan *c, uint64_t off, uint64_t len, void *buf)
{
  uint64_t end;

  if (__builtin_add_overflow (off, len, &end) || end > c->t->size)
    return EXT2_ET_SHORT_READ;
  if (vd_pread (c->t->img, buf, len, c->t->offset + off) == -1)
    return EXT2_ET_SHORT_READ;
  return 0;
}

static errcode_t
chan_read_blk64 (io_channel ch, unsigned long long block, int count, void *data)
{
  struct chan *c = ch->private_data;
  uint64_t bs = (uint64_t) ch->block_size, off, len;
  errcode_t r;

  if (count < 0)
    len = (uint64_t) - (int64_t) count;
  else
    len = (uint64_t) count * bs;
  if (__builtin_mul_overflow ((uint64_t) block, bs, &off))
    return EXT2_ET_SHORT_READ;
  if (count == 1 && c->cache) {
    size_t slot = (size_t) (block % CACHE_BLOCKS);
    unsigned char *p = c->cache + slot * bs;
    if (c->cache_blk[slot] != block) {
      r = read_range (c, off, bs, p);
      if (r)
        return r;
      c->cache_blk[slot] = block;
    }
    memcpy (data, p, bs);
    return 0;
  }
  return read_range (c, off, len, data);
}

static errcode_t
chan_read_blk (io_channel ch, unsigned long block, int count, void *data)
{
  return chan_read_blk64 (ch, block, count, data);
}

static errcode_t
chan_write_blk64 (io_channel ch, unsigned long long block, int count,
                  const void *data)
{
  (void) ch;
  (void) block;
  (void) count;
  (void) data;
  return EROFS;
}

static errcode_t
chan_write_blk (io_channel ch, unsigned long block, int count, const void *data)
{
  return chan_write_blk64 (ch, block, count, data);
}

static errcode_t
chan_flush (io_channel ch)
{
  (void) ch;
  return 0;
}

static errcode_t
chan_set_option (io_channel ch, const char *option, const char *arg)
{
  (void) ch;
  (void) option;
  (void) arg;
  return EXT2_ET_INVALID_ARGUMENT;
}

static struct struct_io_manager vd_io_manager = {
  .magic = EXT2_ET_MAGIC_IO_MANAGER,
  .name = "vdtools libvd I/O manager",
  .open = chan_open,
  .close = chan_close,
  .set_blksize = chan_set_blksize,
  .read_blk = chan_read_blk,
  .write_blk = chan_write_blk,
  .flush = chan_flush,
  .set_option = chan_set_option,
  .read_blk64 = chan_read_blk64,
  .write_blk64 = chan_write_blk64,
};

/* ---- probing --------------------------------------------------------------
 */

static uint32_t
le32_at (const unsigned char *p)
{
  uint32_t v;
  memcpy (&v, p, 4);
  return le32toh (v);
}

int
ext_probe (vd_image *img, uint64_t offset, uint64_t size, struct ext_probe *p)
{
  unsigned char sb[1024];
  uint32_t compat, incompat, ro_compat;
  const unsigned char *u;
  uint64_t end;

  memset (p, 0, sizeof *p);
  if (size < 2048 || __builtin_add_overflow (offset, size, &end)
      || end > vd_get_size (img))
    return 0;
  if (vd_pread (img, sb, sizeof sb, offset + 1024) == -1)
    return -1;
  if (sb[56] != 0x53 || sb[57] != 0xef)
    return 0;
  compat = le32_at (sb + 92);
  incompat = le32_at (sb + 96);
  ro_compat = le32_at (sb + 100);
  if (incompat & EXT3_FEATURE_INCOMPAT_JOURNAL_DEV)
    return 0; /* an external journal, not a filesystem */
  /* As blkid names them. */
  if ((incompat
       & ~(uint32_t) (EXT2_FEATURE_INCOMPAT_FILETYPE
                      | EXT3_FEATURE_INCOMPAT_RECOVER
                      | EXT2_FEATURE_INCOMPAT_META_BG))
      || (ro_compat
          & ~(uint32_t) (EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER
                         | EXT2_FEATURE_RO_COMPAT_LARGE_FILE
                         | 0x0004 /* btree_dir */)))
    strcpy (p->fstype, "ext4");
  else if (compat & EXT3_FEATURE_COMPAT_HAS_JOURNAL)
    strcpy (p->fstype, "ext3");
  else
    strcpy (p->fstype, "ext2");
  u = sb + 104;
  snprintf (p->uuid, sizeof p->uuid,
            "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
            "%02x%02x%02x%02x%02x%02x",
            u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
            u[11], u[12], u[13], u[14], u[15]);
  memcpy (p->label, sb + 120, 16);
  p->label[16] = '\0';
  p->needs_recovery = (incompat & EXT3_FEATURE_INCOMPAT_RECOVER) != 0;
  if (incompat & EXT4_FEATURE_INCOMPAT_ENCRYPT)
    p->unsupported = "encryption";
  else if (incompat & EXT4_FEATURE_INCOMPAT_CASEFOLD)
    p->unsupported = "casefold";
  else if (ro_compat & EXT4_FEATURE_RO_COMPAT_BIGALLOC)
    p->unsupported = "bigalloc";
  else if (incompat & EXT2_FEATURE_INCOMPAT_COMPRESSION)
    p->unsupported = "compression";
  return 1;
}

/* ---- a filesystem ---------------------------------------------------------
 */

struct ext_fs {
  ext2_filsys fs;
  int slot;
  char *name;
  int64_t dev;
};

static int
ext_error (errcode_t e, const char *name, const char *what)
{
  int errnum = e == EXT2_ET_FILE_NOT_FOUND ? ENOENT
               : e == EXT2_ET_NO_MEMORY    ? ENOMEM
                                           : EIO;
  vd_set_error (errnum, _ ("%s: %s: %s"), name, what, error_message (e));
  return -1;
}

struct ext_fs *
ext_fs_open (vd_image *img, uint64_t offset, uint64_t size, const char *name,
             int64_t dev)
{
  struct ext_fs *f;
  char chname[32];
  errcode_t e;
  int slot;

  for (slot = 0; slot < MAX_CHANNELS && targets[slot].used; slot++)
    ;
  if (slot == MAX_CHANNELS) {
    vd_set_error (EMFILE, _ ("%s: too many filesystems open"), name);
    return NULL;
  }
  f = calloc (1, sizeof *f);
  if (!f || !(f->name = strdup (name))) {
    free (f);
    vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  targets[slot] = (struct chan_target){ img, offset, size, true };
  snprintf (chname, sizeof chname, "vdnative:%d", slot);
  e = ext2fs_open2 (chname, NULL, EXT2_FLAG_64BITS, 0, 0, &vd_io_manager,
                    &f->fs);
  if (e) {
    targets[slot].used = false;
    ext_error (e, name, _ ("cannot open the ext2/3/4 filesystem"));
    free (f->name);
    free (f);
    return NULL;
  }
  f->slot = slot;
  f->dev = dev;
  return f;
}

void
ext_fs_close (struct ext_fs *f)
{
  if (!f)
    return;
  ext2fs_close_free (&f->fs);
  targets[f->slot].used = false;
  free (f->name);
  free (f);
}

/* The blocks the kernel counts as overhead of group G (ext4's
 * ext4_num_base_meta_blocks): the superblock copy and the descriptor
 * blocks (with the reserved ones) where the group has them. */
static uint64_t
base_meta_blocks (ext2_filsys fs, dgrp_t g)
{
  struct ext2_super_block *s = fs->super;
  uint64_t per_block = EXT2_DESC_PER_BLOCK (s);
  uint64_t n = ext2fs_bg_has_super (fs, g) ? 1 : 0;
  bool meta = ext2fs_has_feature_meta_bg (s);

  if (!meta || g < (uint64_t) s->s_first_meta_bg * per_block) {
    if (n)
      n += (meta ? s->s_first_meta_bg : fs->desc_blocks)
           + s->s_reserved_gdt_blocks;
  }
  else {
    uint64_t idx = g % per_block;
    if (idx == 0 || idx == 1 || idx == per_block - 1)
      n += 1;
  }
  return n;
}

int
ext_fs_statvfs (struct ext_fs *f, struct ext_statvfs *out)
{
  ext2_filsys fs = f->fs;
  struct ext2_super_block *s = fs->super;
  uint64_t blocks = ext2fs_blocks_count (s), overhead, bfree = 0, ffree = 0;
  uint64_t resv = 0, rsv, first = s->s_first_data_block, end;
  dgrp_t g;

  memset (out, 0, sizeof *out);
  if (s->s_overhead_clusters && s->s_overhead_clusters < blocks)
    overhead = s->s_overhead_clusters;
  else {
    overhead = first;
    end = blocks;
    for (g = 0; g < fs->group_desc_count; g++) {
      uint64_t bb = ext2fs_block_bitmap_loc (fs, g);
      uint64_t ib = ext2fs_inode_bitmap_loc (fs, g);
      uint64_t it = ext2fs_inode_table_loc (fs, g);
      overhead += base_meta_blocks (fs, g);
      if (bb >= first && bb < end)
        overhead++;
      if (ib >= first && ib < end)
        overhead++;
      if (it >= first && it < end)
        overhead += fs->inode_blocks_per_group;
    }
    /* The journal inode's blocks, as a mounted journal counts them. */
    if (ext2fs_has_feature_journal (s) && s->s_journal_inum
        && !ext2fs_has_feature_journal_dev (s)) {
      struct ext2_inode ji;
      if (ext2fs_read_inode (fs, s->s_journal_inum, &ji) == 0)
        overhead += EXT2_I_SIZE (&ji) / fs->blocksize;
    }
  }
  for (g = 0; g < fs->group_desc_count; g++) {
    bfree += ext2fs_bg_free_blocks_count (fs, g);
    ffree += ext2fs_bg_free_inodes_count (fs, g);
  }
  if (overhead > blocks) {
    vd_set_error (EIO, _ ("%s: the filesystem's overhead exceeds its size"),
                  f->name);
    return -1;
  }
  /* ext4 keeps 2% (at most 4096 clusters) back for extent-mapped
   * filesystems, on top of the reserved blocks. */
  if (ext2fs_has_feature_extents (s)) {
    resv = blocks / 50;
    if (resv > 4096)
      resv = 4096;
  }
  rsv = ext2fs_r_blocks_count (s) + resv;
  out->bsize = out->frsize = fs->blocksize;
  out->blocks = blocks - overhead;
  out->bfree = bfree;
  out->bavail = bfree > rsv ? bfree - rsv : 0;
  out->files = s->s_inodes_count;
  out->ffree = out->favail = ffree;
  out->namemax = EXT2_NAME_LEN;
  {
    uint64_t a, b;
    memcpy (&a, s->s_uuid, 8);
    memcpy (&b, s->s_uuid + 8, 8);
    out->fsid = le64toh (a) ^ le64toh (b);
  }
  return 0;
}

/* ---- inodes ---------------------------------------------------------------
 */

/* ext4 time: 32 signed bits, and in a large inode two epoch bits and the
 * nanoseconds in the _extra field. */
static void
decode_time (uint32_t t, const uint32_t *extra, int64_t *sec, int64_t *nsec)
{
  *sec = (int32_t) t;
  *nsec = 0;
  if (extra) {
    *sec += (int64_t) (*extra & 3) << 32;
    *nsec = *extra >> 2;
    if (*nsec > 999999999)
      *nsec = 0;
  }
}

static int
read_inode (struct ext_fs *f, ext2_ino_t ino, struct ext2_inode_large *in)
{
  errcode_t e;

  memset (in, 0, sizeof *in);
  e = ext2fs_read_inode_full (f->fs, ino, (struct ext2_inode *) in, sizeof *in);
  if (e)
    return ext_error (e, f->name, _ ("cannot read an inode"));
  return 0;
}

static void
fill_stat (struct ext_fs *f, ext2_ino_t ino, const struct ext2_inode_large *in,
           struct ext_stat *st)
{
  bool large = EXT2_INODE_SIZE (f->fs->super) > EXT2_GOOD_OLD_INODE_SIZE;
  unsigned xs = large ? in->i_extra_isize : 0;
  uint64_t blocks;

#define HAS_EXTRA(field)                                                       \
  (xs >= offsetof (struct ext2_inode_large, field) + sizeof (in->field)        \
             - EXT2_GOOD_OLD_INODE_SIZE)
  memset (st, 0, sizeof *st);
  st->dev = f->dev;
  st->ino = ino;
  st->mode = in->i_mode;
  st->nlink = in->i_links_count;
  st->uid = inode_uid (*in);
  st->gid = inode_gid (*in);
  st->size = (int64_t) EXT2_I_SIZE (in);
  st->blksize = f->fs->blocksize;
  blocks = in->i_blocks;
  if (ext2fs_has_feature_huge_file (f->fs->super)) {
    blocks |= (uint64_t) in->osd2.linux2.l_i_blocks_hi << 32;
    if (in->i_flags & EXT4_HUGE_FILE_FL)
      blocks *= f->fs->blocksize / 512;
  }
  st->blocks = (int64_t) blocks;
  if (LINUX_S_ISCHR (in->i_mode) || LINUX_S_ISBLK (in->i_mode)) {
    uint32_t old = in->i_block[0], nw = in->i_block[1];
    if (old)
      st->rdev = (int64_t) makedev ((old >> 8) & 255, old & 255);
    else
      st->rdev = (int64_t) makedev ((nw & 0xfff00) >> 8,
                                    (nw & 0xff) | ((nw >> 12) & 0xfff00));
  }
  decode_time (in->i_atime,
               HAS_EXTRA (i_atime_extra) ? &in->i_atime_extra : NULL,
               &st->atime_sec, &st->atime_nsec);
  decode_time (in->i_mtime,
               HAS_EXTRA (i_mtime_extra) ? &in->i_mtime_extra : NULL,
               &st->mtime_sec, &st->mtime_nsec);
  decode_time (in->i_ctime,
               HAS_EXTRA (i_ctime_extra) ? &in->i_ctime_extra : NULL,
               &st->ctime_sec, &st->ctime_nsec);
#undef HAS_EXTRA
}

/* A symlink's target (at most EXT_MAX_LINK bytes), malloc'd. */
static char *
read_link (struct ext_fs *f, ext2_ino_t ino, const struct ext2_inode_large *in)
{
  uint64_t size = EXT2_I_SIZE (in);
  char *buf;
  unsigned got = 0;
  ext2_file_t file;
  errcode_t e;

  if (size == 0 || size >= EXT_MAX_LINK) {
    vd_set_error (EIO, _ ("%s: inode %u: a symlink of %" PRIu64 " bytes"),
                  f->name, ino, size);
    return NULL;
  }
  buf = malloc (size + 1);
  if (!buf) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  if (ext2fs_is_fast_symlink ((struct ext2_inode *) in)) {
    if (size >= sizeof in->i_block) {
      free (buf);
      vd_set_error (EIO, _ ("%s: inode %u: a bad fast symlink"), f->name, ino);
      return NULL;
    }
    memcpy (buf, in->i_block, size);
  }
  else {
    e = ext2fs_file_open2 (f->fs, ino, (struct ext2_inode *) in, 0, &file);
    if (!e) {
      e = ext2fs_file_read (file, buf, (unsigned) size, &got);
      ext2fs_file_close (file);
    }
    if (e || got != size) {
      free (buf);
      ext_error (e ? e : EXT2_ET_SHORT_READ, f->name,
                 _ ("cannot read a symlink"));
      return NULL;
    }
  }
  buf[size] = '\0';
  if (strlen (buf) != size) {
    free (buf);
    vd_set_error (EIO, _ ("%s: inode %u: a symlink holding a NUL byte"),
                  f->name, ino);
    return NULL;
  }
  return buf;
}

/* ---- the VFS --------------------------------------------------------------
 */

struct mount {
  char *mp;
  struct ext_fs *fs;
};

/* The folders listed last, names sorted with their inodes, so that
 * looking their entries up (stat of each name in -l, -R) costs a binary
 * search instead of a scan of the whole folder each time. */
#define DIR_CACHE 16
struct dir_cache {
  struct ext_fs *fs; /* NULL: empty slot */
  ext2_ino_t ino;
  char **names;
  ext2_ino_t *inos;
  size_t n;
  unsigned long stamp;
};

struct ext_vfs {
  struct mount *m;
  size_t n;
  struct dir_cache cache[DIR_CACHE];
  unsigned long clock;
};

static void
cache_drop (struct dir_cache *c)
{
  size_t i;

  for (i = 0; i < c->n; i++)
    free (c->names[i]);
  free (c->names);
  free (c->inos);
  memset (c, 0, sizeof *c);
}

/* Look NAME (NL bytes) up in folder (FS, DIR): 1 found, 0 not in the
 * cache (ask libext2fs), -1 the cached folder has no such name. */
static int
cache_lookup (struct ext_vfs *v, struct ext_fs *fs, ext2_ino_t dir,
              const char *name, size_t nl, ext2_ino_t *ino)
{
  size_t i;

  for (i = 0; i < DIR_CACHE; i++) {
    struct dir_cache *c = &v->cache[i];
    size_t lo = 0, hi;
    if (c->fs != fs || c->ino != dir)
      continue;
    hi = c->n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      int r = strncmp (c->names[mid], name, nl);
      if (r == 0 && c->names[mid][nl] != '\0')
        r = 1;
      if (r == 0) {
        *ino = c->inos[mid];
        c->stamp = ++v->clock;
        return 1;
      }
      if (r < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
    return -1;
  }
  return 0;
}

static errcode_t
lookup (struct ext_vfs *v, struct ext_fs *fs, ext2_ino_t dir, const char *name,
        size_t nl, ext2_ino_t *ino)
{
  int r = cache_lookup (v, fs, dir, name, nl, ino);

  if (r == 1)
    return 0;
  if (r == -1)
    return EXT2_ET_FILE_NOT_FOUND;
  return ext2fs_lookup (fs->fs, dir, name, (int) nl, NULL, ino);
}

/* Where a path leads: a filesystem and an inode. */
struct loc {
  struct ext_fs *fs;
  ext2_ino_t ino;
};

struct ext_vfs *
ext_vfs_new (void)
{
  struct ext_vfs *v = calloc (1, sizeof *v);

  if (!v)
    vd_set_error (ENOMEM, _ ("out of memory"));
  return v;
}

void
ext_vfs_free (struct ext_vfs *v)
{
  size_t i;

  if (!v)
    return;
  for (i = 0; i < DIR_CACHE; i++)
    cache_drop (&v->cache[i]);
  for (i = 0; i < v->n; i++) {
    free (v->m[i].mp);
    ext_fs_close (v->m[i].fs);
  }
  free (v->m);
  free (v);
}

/* The filesystem mounted last at exactly CANON, or NULL. */
static struct ext_fs *
mounted_at (struct ext_vfs *v, const char *canon)
{
  size_t i = v->n;

  while (i-- > 0)
    if (strcmp (v->m[i].mp, canon) == 0)
      return v->m[i].fs;
  return NULL;
}

static int
not_found (const char *path, int errnum)
{
  vd_set_error (errnum, "%s: %s", path, strerror (errnum));
  return -1;
}

/* Resolve PATH as the kernel would under the guest's root: "." and ".."
 * by the canonical path so far, symlinks (at most EXT_MAX_SYMLINKS, and
 * the last one only when FOLLOW), absolute targets from the guest's root,
 * and mount points crossed by name. */
static int
resolve (struct ext_vfs *v, const char *path, bool follow, struct loc *out)
{
  char *rest = NULL, *canon = NULL;
  struct loc cur;
  int hops = 0, r = -1;
  size_t clen;

  if (v->n == 0 || strcmp (v->m[0].mp, "/") != 0)
    return not_found (path, ENOENT);
  if (path[0] != '/')
    return not_found (path, ENOENT);
  rest = strdup (path);
  canon = malloc (strlen (path) + 2);
  if (!rest || !canon) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    goto out;
  }
  strcpy (canon, "/");
  clen = 1;
  cur.fs = mounted_at (v, "/");
  cur.ino = EXT2_ROOT_INO;

  for (;;) {
    char *p = rest, *name, *slash, *target;
    struct ext2_inode_large in;
    struct loc next;
    errcode_t e;
    size_t nl, before;
    bool last;

    while (*p == '/')
      p++;
    if (!*p)
      break;
    name = p;
    slash = strchr (p, '/');
    nl = slash ? (size_t) (slash - p) : strlen (p);
    last = true;
    if (slash) {
      const char *q = slash;
      while (*q == '/')
        q++;
      last = *q == '\0';
    }
    if (nl == 1 && name[0] == '.') {
      memmove (rest, name + nl, strlen (name + nl) + 1);
      continue;
    }
    if (read_inode (cur.fs, cur.ino, &in) == -1)
      goto out;
    if (!LINUX_S_ISDIR (in.i_mode)) {
      not_found (path, ENOTDIR);
      goto out;
    }
    if (nl == 2 && name[0] == '.' && name[1] == '.') {
      /* Up by the canonical path, then walk it down again from the root
       * (it holds no symlinks). */
      char *cut = strrchr (canon, '/');
      struct loc walk;
      char *copy, *tok, *save;
      size_t wl;

      memmove (rest, name + nl, strlen (name + nl) + 1);
      if (cut == canon)
        canon[1] = '\0';
      else
        *cut = '\0';
      clen = strlen (canon);
      copy = strdup (canon);
      if (!copy) {
        vd_set_error (ENOMEM, _ ("out of memory"));
        goto out;
      }
      walk.fs = mounted_at (v, "/");
      walk.ino = EXT2_ROOT_INO;
      wl = 0;
      canon[0] = '\0';
      for (tok = strtok_r (copy, "/", &save); tok;
           tok = strtok_r (NULL, "/", &save)) {
        struct ext_fs *mfs;
        e = lookup (v, walk.fs, walk.ino, tok, strlen (tok), &walk.ino);
        if (e) {
          free (copy);
          ext_error (e, walk.fs->name, _ ("cannot look a name up"));
          goto out;
        }
        wl += (size_t) sprintf (canon + wl, "/%s", tok);
        mfs = mounted_at (v, canon);
        if (mfs) {
          walk.fs = mfs;
          walk.ino = EXT2_ROOT_INO;
        }
      }
      free (copy);
      if (!canon[0])
        strcpy (canon, "/");
      clen = strlen (canon);
      cur = walk;
      continue;
    }
    if (nl > EXT2_NAME_LEN) {
      not_found (path, ENAMETOOLONG);
      goto out;
    }
    e = lookup (v, cur.fs, cur.ino, name, nl, &next.ino);
    if (e == EXT2_ET_FILE_NOT_FOUND) {
      not_found (path, ENOENT);
      goto out;
    }
    if (e) {
      ext_error (e, cur.fs->name, _ ("cannot look a name up"));
      goto out;
    }
    next.fs = cur.fs;
    {
      /* canon + "/" + name (canon grows with the link targets). */
      char *nc = realloc (canon, clen + nl + 3);
      struct ext_fs *mfs;
      if (!nc) {
        vd_set_error (ENOMEM, _ ("out of memory"));
        goto out;
      }
      canon = nc;
      before = clen;
      if (clen > 1)
        canon[clen++] = '/';
      memcpy (canon + clen, name, nl);
      clen += nl;
      canon[clen] = '\0';
      mfs = mounted_at (v, canon);
      if (mfs) {
        next.fs = mfs;
        next.ino = EXT2_ROOT_INO;
      }
    }
    if (read_inode (next.fs, next.ino, &in) == -1)
      goto out;
    if (LINUX_S_ISLNK (in.i_mode) && (!last || follow)) {
      char *nr;
      if (++hops > EXT_MAX_SYMLINKS) {
        not_found (path, ELOOP);
        goto out;
      }
      target = read_link (next.fs, next.ino, &in);
      if (!target)
        goto out;
      if (asprintf (&nr, "%s/%s", target, name + nl) == -1) {
        free (target);
        vd_set_error (ENOMEM, _ ("out of memory"));
        goto out;
      }
      if (target[0] == '/') {
        strcpy (canon, "/");
        clen = 1;
        cur.fs = mounted_at (v, "/");
        cur.ino = EXT2_ROOT_INO;
      }
      else {
        /* Relative: from the folder holding the link. */
        clen = before;
        canon[clen] = '\0';
      }
      free (target);
      free (rest);
      rest = nr;
      continue;
    }
    memmove (rest, name + nl, strlen (name + nl) + 1);
    cur = next;
  }
  *out = cur;
  r = 0;
out:
  free (rest);
  free (canon);
  return r;
}

int
ext_vfs_mount (struct ext_vfs *v, struct ext_fs *fs, const char *mountpoint)
{
  struct mount *m;
  char *mp;

  if (v->n == 0 && strcmp (mountpoint, "/") != 0) {
    vd_set_error (EINVAL, _ ("%s: / must be mounted first"), mountpoint);
    goto fail;
  }
  if (v->n > 0) {
    struct ext_stat st;
    if (ext_vfs_stat (v, mountpoint, true, &st) == -1)
      goto fail;
    if (!LINUX_S_ISDIR (st.mode)) {
      vd_set_error (ENOTDIR, _ ("%s: %s"), mountpoint, strerror (ENOTDIR));
      goto fail;
    }
  }
  m = realloc (v->m, (v->n + 1) * sizeof *m);
  mp = strdup (mountpoint);
  if (m)
    v->m = m;
  if (!m || !mp) {
    free (mp);
    vd_set_error (ENOMEM, _ ("out of memory"));
    goto fail;
  }
  /* Mount points are kept as canonical paths: no trailing '/'. */
  while (strlen (mp) > 1 && mp[strlen (mp) - 1] == '/')
    mp[strlen (mp) - 1] = '\0';
  v->m[v->n].mp = mp;
  v->m[v->n].fs = fs;
  v->n++;
  return 0;
fail:
  ext_fs_close (fs);
  return -1;
}

int
ext_vfs_stat (struct ext_vfs *v, const char *path, bool follow,
              struct ext_stat *st)
{
  struct ext2_inode_large in;
  struct loc l;

  if (resolve (v, path, follow, &l) == -1)
    return -1;
  if (read_inode (l.fs, l.ino, &in) == -1)
    return -1;
  fill_stat (l.fs, l.ino, &in, st);
  return 0;
}

char *
ext_vfs_readlink (struct ext_vfs *v, const char *path)
{
  struct ext2_inode_large in;
  struct loc l;

  if (resolve (v, path, false, &l) == -1)
    return NULL;
  if (read_inode (l.fs, l.ino, &in) == -1)
    return NULL;
  if (!LINUX_S_ISLNK (in.i_mode)) {
    not_found (path, EINVAL);
    return NULL;
  }
  return read_link (l.fs, l.ino, &in);
}

struct names {
  struct pair {
    char *name;
    ext2_ino_t ino;
  } * v;
  size_t n, cap;
  int err;
};

static int
dir_cb (ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
        int blocksize, char *buf, void *priv)
{
  struct names *nm = priv;
  unsigned len = ext2fs_dirent_name_len (de);
  char *s;

  (void) dir;
  (void) entry;
  (void) offset;
  (void) blocksize;
  (void) buf;
  if ((len == 1 && de->name[0] == '.')
      || (len == 2 && de->name[0] == '.' && de->name[1] == '.'))
    return 0;
  if (nm->n + 1 >= EXT_MAX_DIR_ENTRIES) {
    nm->err = E2BIG;
    return DIRENT_ABORT;
  }
  if (nm->n == nm->cap) {
    size_t cap = nm->cap ? nm->cap * 2 : 64;
    struct pair *nv = realloc (nm->v, cap * sizeof *nv);
    if (!nv) {
      nm->err = ENOMEM;
      return DIRENT_ABORT;
    }
    nm->v = nv;
    nm->cap = cap;
  }
  s = strndup (de->name, len);
  if (!s) {
    nm->err = ENOMEM;
    return DIRENT_ABORT;
  }
  nm->v[nm->n].name = s;
  nm->v[nm->n].ino = de->inode;
  nm->n++;
  return 0;
}

static int
cmp_pairs (const void *a, const void *b)
{
  return strcmp (((const struct pair *) a)->name,
                 ((const struct pair *) b)->name);
}

/* Keep a folder's sorted entries for lookups (cache_lookup); a slot is
 * taken from the least recently used. */
static void
cache_fill (struct ext_vfs *v, struct ext_fs *fs, ext2_ino_t dir,
            const struct names *nm)
{
  struct dir_cache *c = NULL;
  size_t i;

  for (i = 0; i < DIR_CACHE && !c; i++)
    if (v->cache[i].fs == fs && v->cache[i].ino == dir)
      c = &v->cache[i];
  for (i = 0; i < DIR_CACHE && !c; i++)
    if (!v->cache[i].fs)
      c = &v->cache[i];
  if (!c) {
    c = &v->cache[0];
    for (i = 1; i < DIR_CACHE; i++)
      if (v->cache[i].stamp < c->stamp)
        c = &v->cache[i];
  }
  cache_drop (c);
  c->names = calloc (nm->n + 1, sizeof *c->names);
  c->inos = calloc (nm->n + 1, sizeof *c->inos);
  if (!c->names || !c->inos) {
    cache_drop (c);
    return;
  }
  for (i = 0; i < nm->n; i++) {
    c->names[i] = strdup (nm->v[i].name);
    if (!c->names[i]) {
      c->n = i;
      cache_drop (c);
      return;
    }
    c->inos[i] = nm->v[i].ino;
  }
  c->n = nm->n;
  c->fs = fs;
  c->ino = dir;
  c->stamp = ++v->clock;
}

char **
ext_vfs_readdir (struct ext_vfs *v, const char *path)
{
  struct ext2_inode_large in;
  struct names nm = { NULL, 0, 0, 0 };
  struct loc l;
  errcode_t e;
  char **out;
  size_t i;

  if (resolve (v, path, true, &l) == -1)
    return NULL;
  if (read_inode (l.fs, l.ino, &in) == -1)
    return NULL;
  if (!LINUX_S_ISDIR (in.i_mode)) {
    not_found (path, ENOTDIR);
    return NULL;
  }
  if (in.i_flags & EXT4_ENCRYPT_FL) {
    vd_set_error (ENOTSUP, _ ("%s: an encrypted folder"), path);
    return NULL;
  }
  e = ext2fs_dir_iterate2 (l.fs->fs, l.ino, 0, NULL, dir_cb, &nm);
  out = e || nm.err ? NULL : calloc (nm.n + 1, sizeof *out);
  if (!out) {
    for (i = 0; i < nm.n; i++)
      free (nm.v[i].name);
    free (nm.v);
    if (nm.err)
      vd_set_error (nm.err, "%s: %s", path, strerror (nm.err));
    else if (e)
      ext_error (e, l.fs->name, _ ("cannot read a folder"));
    else
      vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  if (nm.n)
    qsort (nm.v, nm.n, sizeof *nm.v, cmp_pairs);
  cache_fill (v, l.fs, l.ino, &nm);
  for (i = 0; i < nm.n; i++)
    out[i] = nm.v[i].name;
  free (nm.v);
  return out;
}

int
ext_vfs_read (struct ext_vfs *v, const char *path,
              int (*fn) (void *opaque, const void *buf, size_t len),
              void *opaque)
{
  struct ext2_inode_large in;
  static char buf[65536];
  uint64_t left;
  ext2_file_t file;
  struct loc l;
  errcode_t e;
  int r = 0;

  if (resolve (v, path, true, &l) == -1)
    return -1;
  if (read_inode (l.fs, l.ino, &in) == -1)
    return -1;
  if (LINUX_S_ISDIR (in.i_mode))
    return not_found (path, EISDIR);
  if (!LINUX_S_ISREG (in.i_mode))
    return not_found (path, EINVAL);
  if (in.i_flags & EXT4_ENCRYPT_FL) {
    vd_set_error (ENOTSUP, _ ("%s: an encrypted file"), path);
    return -1;
  }
  e = ext2fs_file_open2 (l.fs->fs, l.ino, (struct ext2_inode *) &in, 0, &file);
  if (e)
    return ext_error (e, l.fs->name, _ ("cannot open a file"));
  left = EXT2_I_SIZE (&in);
  while (left > 0) {
    unsigned want = left < sizeof buf ? (unsigned) left : sizeof buf, got = 0;
    e = ext2fs_file_read (file, buf, want, &got);
    if (e || got == 0) {
      r = ext_error (e ? e : EXT2_ET_SHORT_READ, l.fs->name,
                     _ ("cannot read a file"));
      break;
    }
    if (fn (opaque, buf, got) == -1) {
      r = -1;
      break;
    }
    left -= got;
  }
  ext2fs_file_close (file);
  return r;
}
