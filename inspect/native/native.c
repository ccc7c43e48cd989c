/* The native path of the guest tools (native.h): disks opened with
 * libvd, partitions and filesystems found by their signatures, and the
 * guest's ext2/3/4 filesystems mounted in a VFS by -m or by inspection
 * (the root found by its /etc, the rest by its /etc/fstab).  Whenever the
 * guest needs something this path cannot do (LVM, LUKS, md, another
 * filesystem, a journal to replay), native_mount says so and why, so the
 * tool can use the appliance instead.
 */
#include <config.h>

#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <nettle/nettle-meta.h>

#include "native.h"

#include "native-internal.h"

#define MAX_DISKS 26
#define MAX_FSTAB (1u << 20)

/* ---- disks ----------------------------------------------------------------
 */

int
native_guest_open (struct native_guest *g, char *const *files,
                   char *const *formats, size_t n)
{
  size_t i;

  memset (g, 0, sizeof *g);
  if (n > MAX_DISKS) {
    vd_set_error (E2BIG, _ ("the native path reads at most %d disks"),
                  MAX_DISKS);
    return -1;
  }
  g->disks = calloc (n ? n : 1, sizeof *g->disks);
  if (!g->disks) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  for (i = 0; i < n; i++) {
    vd_image *img =
        vd_open (files[i], formats ? formats[i] : NULL, VD_OPEN_NO_LOCK);
    if (!img)
      return -1;
    g->disks[i].img = img;
    g->disks[i].name = strdup (files[i]);
    g->nr_disks++;
    if (!g->disks[i].name) {
      vd_set_error (ENOMEM, _ ("out of memory"));
      return -1;
    }
  }
  return 0;
}

void
native_guest_free (struct native_guest *g)
{
  size_t i;

  for (i = 0; i < g->nr_disks; i++) {
    vd_close (g->disks[i].img);
    free (g->disks[i].name);
  }
  free (g->disks);
  free (g->fs);
  memset (g, 0, sizeof *g);
}

/* ---- what a partition holds -----------------------------------------------
 */

static bool
at (vd_image *img, uint64_t base, uint64_t size, uint64_t off, const void *sig,
    size_t len)
{
  unsigned char buf[16];

  if (len > sizeof buf || off > size || len > size - off)
    return false;
  if (vd_pread (img, buf, len, base + off) == -1)
    return false;
  return memcmp (buf, sig, len) == 0;
}

static int
classify (vd_image *img, struct native_fs *f)
{
  static const unsigned char md_magic[4] = { 0xfc, 0x4e, 0x2b, 0xa9 };
  uint64_t b = f->offset, s = f->size;
  int r, i;

  r = ext_probe (img, b, s, &f->probe);
  if (r == -1)
    return -1;
  if (r == 1) {
    f->kind = NK_EXT;
    f->what = f->probe.fstype;
    return 0;
  }
  for (i = 0; i < 4; i++)
    if (at (img, b, s, 512 * (uint64_t) i, "LABELONE", 8)) {
      f->kind = NK_LVM;
      f->what = "an LVM physical volume";
      return 0;
    }
  if (at (img, b, s, 0, "LUKS\xba\xbe", 6)) {
    f->kind = NK_LUKS;
    f->what = "a LUKS encrypted device";
    return 0;
  }
  if (at (img, b, s, 0, md_magic, 4) || at (img, b, s, 4096, md_magic, 4)
      || (s >= 131072
          && at (img, b, s, (s & ~UINT64_C (65535)) - 65536, md_magic, 4))
      || (s >= 16384
          && at (img, b, s, ((s - 8192) & ~UINT64_C (4095)), md_magic, 4))) {
    f->kind = NK_MD;
    f->what = "a software RAID (md) member";
    return 0;
  }
  if (at (img, b, s, 4086, "SWAPSPACE2", 10)
      || at (img, b, s, 4086, "SWAP-SPACE", 10)) {
    f->kind = NK_SWAP;
    f->what = "swap";
    return 0;
  }
  if (at (img, b, s, 0, "XFSB", 4))
    f->what = "xfs";
  else if (at (img, b, s, 65536 + 64, "_BHRfS_M", 8))
    f->what = "btrfs";
  else if (at (img, b, s, 3, "NTFS    ", 8))
    f->what = "ntfs";
  else if (at (img, b, s, 54, "FAT", 3) || at (img, b, s, 82, "FAT", 3))
    f->what = "vfat";
  else if (at (img, b, s, 0x8000 + 1, "CD001", 5))
    f->what = "iso9660";
  else {
    /* Nothing known: all zeros at the start is an empty partition. */
    unsigned char buf[4096];
    size_t k, n = s < sizeof buf ? (size_t) s : sizeof buf;
    if (vd_pread (img, buf, n, b) == -1)
      return -1;
    for (k = 0; k < n && buf[k] == 0; k++)
      ;
    f->kind = k == n ? NK_EMPTY : NK_OTHER;
    f->what = k == n ? "nothing" : "an unrecognised filesystem";
    return 0;
  }
  f->kind = NK_OTHER;
  return 0;
}

static int
add_fs (struct native_guest *g, int disk, int part, uint64_t off, uint64_t size)
{
  struct native_fs *v = realloc (g->fs, (g->nr_fs + 1) * sizeof *v), *f;

  if (!v) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  g->fs = v;
  f = &g->fs[g->nr_fs];
  memset (f, 0, sizeof *f);
  f->disk = disk;
  f->part = part;
  f->offset = off;
  f->size = size;
  if (part)
    snprintf (f->device, sizeof f->device, "/dev/sd%c%d", 'a' + disk, part);
  else
    snprintf (f->device, sizeof f->device, "/dev/sd%c", 'a' + disk);
  if (classify (g->disks[disk].img, f) == -1)
    return -1;
  g->nr_fs++;
  return 0;
}

int
native_scan (struct native_guest *g)
{
  size_t d, i;

  for (d = 0; d < g->nr_disks; d++) {
    struct pt_table pt;
    vd_image *img = g->disks[d].img;

    if (pt_table_read (img, g->disks[d].name, &pt) == -1)
      return -1;
    if (pt.type == PT_NONE) {
      if (add_fs (g, (int) d, 0, 0, vd_get_size (img)) == -1)
        return -1;
      continue;
    }
    for (i = 0; i < pt.n; i++) {
      if (pt.v[i].extended)
        continue;
      if (add_fs (g, (int) d, pt.v[i].number, pt.v[i].offset, pt.v[i].size)
          == -1) {
        pt_table_free (&pt);
        return -1;
      }
    }
    pt_table_free (&pt);
  }
  return 0;
}

struct native_fs *
native_find_device (struct native_guest *g, const char *dev)
{
  char canon[32];
  const char *p;
  size_t i;

  /* /dev/vda2, /dev/hda2 and /dev/xvda2 are /dev/sda2 to the appliance. */
  if (strncmp (dev, "/dev/xvd", 8) == 0)
    p = dev + 8;
  else if (strncmp (dev, "/dev/", 5) == 0 && strchr ("shv", dev[5])
           && dev[6] == 'd')
    p = dev + 7;
  else
    return NULL;
  if (*p < 'a' || *p > 'z' || strlen (p) > 10)
    return NULL;
  snprintf (canon, sizeof canon, "/dev/sd%s", p);
  for (i = 0; i < g->nr_fs; i++)
    if (strcmp (g->fs[i].device, canon) == 0)
      return &g->fs[i];
  return NULL;
}

/* ---- mounting -------------------------------------------------------------
 */

static int64_t
fs_dev (const struct native_fs *f)
{
  /* The appliance's numbering: sd disks on major 8, 16 minors each. */
  return (int64_t) makedev (8, (unsigned) (16 * f->disk + f->part));
}

/* 1 if F can be mounted natively, else 0 with WHY filled. */
static int
usable (const struct native_fs *f, char *why, size_t len)
{
  if (f->kind != NK_EXT) {
    snprintf (why, len, "%s holds %s", f->device, f->what);
    return 0;
  }
  if (f->probe.unsupported) {
    snprintf (why, len, "%s uses the ext4 feature %s", f->device,
              f->probe.unsupported);
    return 0;
  }
  if (f->probe.needs_recovery) {
    snprintf (why, len, "%s has a journal to replay", f->device);
    return 0;
  }
  return 1;
}

static int
mount_one (struct native_guest *g, struct ext_vfs *v, struct native_fs *f,
           const char *mp)
{
  struct ext_fs *fs = ext_fs_open (g->disks[f->disk].img, f->offset, f->size,
                                   f->device, fs_dev (f));

  if (!fs)
    return -1;
  return ext_vfs_mount (v, fs, mp);
}

struct fstab_ent {
  char *mp;
  struct native_fs *fs;
};

static int
ent_cmp (const void *a, const void *b)
{
  const struct fstab_ent *x = a, *y = b;
  size_t lx = strlen (x->mp), ly = strlen (y->mp);

  /* As inspect/mount.c orders them: shorter first. */
  if (lx != ly)
    return lx < ly ? -1 : 1;
  return strcmp (x->mp, y->mp);
}

struct buf {
  char *p;
  size_t n;
};

static int
buf_add (void *opaque, const void *data, size_t len)
{
  struct buf *b = opaque;
  char *np;

  if (len > MAX_FSTAB - b->n) {
    vd_set_error (E2BIG, _ ("/etc/fstab: larger than %u bytes"), MAX_FSTAB);
    return -1;
  }
  np = realloc (b->p, b->n + len + 1);
  if (!np) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  b->p = np;
  memcpy (b->p + b->n, data, len);
  b->n += len;
  b->p[b->n] = '\0';
  return 0;
}

static bool
prefix_dir (const char *mp, const char *dir)
{
  size_t l = strlen (dir);
  return strncmp (mp, dir, l) == 0 && (mp[l] == '\0' || mp[l] == '/');
}

/* The filesystem an fstab spec names, or NULL (*ignore set when the line
 * is one inspection skips anyway). */
static struct native_fs *
resolve_spec (struct native_guest *g, const char *spec, bool *ignore)
{
  size_t i;

  *ignore = false;
  if (strncmp (spec, "UUID=", 5) == 0
      || strncmp (spec, "/dev/disk/by-uuid/", 18) == 0) {
    const char *u = spec[0] == 'U' ? spec + 5 : spec + 18;
    for (i = 0; i < g->nr_fs; i++)
      if (g->fs[i].kind == NK_EXT && strcasecmp (g->fs[i].probe.uuid, u) == 0)
        return &g->fs[i];
    return NULL;
  }
  if (strncmp (spec, "LABEL=", 6) == 0
      || strncmp (spec, "/dev/disk/by-label/", 19) == 0) {
    const char *l = spec[0] == 'L' ? spec + 6 : spec + 19;
    for (i = 0; i < g->nr_fs; i++)
      if (g->fs[i].kind == NK_EXT && strcmp (g->fs[i].probe.label, l) == 0)
        return &g->fs[i];
    return NULL;
  }
  if ((strncmp (spec, "/dev/fd", 7) == 0 && isdigit ((unsigned char) spec[7]))
      || strncmp (spec, "/dev/cdrom", 10) == 0
      || strncmp (spec, "/dev/sr", 7) == 0) {
    *ignore = true;
    return NULL;
  }
  if (strncmp (spec, "/dev/", 5) == 0 || strncmp (spec, "PARTUUID=", 9) == 0)
    return native_find_device (g, spec);
  /* proc, tmpfs, none, ...: not a device. */
  *ignore = true;
  return NULL;
}

/* Inspection: the one ext filesystem with /etc/fstab or /etc/os-release
 * is the root; its fstab says where the others go. */
static int
mount_inspect (struct native_guest *g, struct ext_vfs **out, char *why,
               size_t len)
{
  struct native_fs *root = NULL;
  struct fstab_ent *ents = NULL;
  struct buf fstab = { NULL, 0 };
  struct ext_vfs *v = NULL;
  size_t i, nents = 0, nroots = 0;
  char *line, *save;
  int r = -1;

  for (i = 0; i < g->nr_fs; i++) {
    struct native_fs *f = &g->fs[i];
    struct ext_vfs *probe;
    struct ext_stat st;

    if (f->kind == NK_EMPTY || f->kind == NK_SWAP)
      continue;
    if (!usable (f, why, len))
      return 0;
    probe = ext_vfs_new ();
    if (!probe || mount_one (g, probe, f, "/") == -1) {
      ext_vfs_free (probe);
      return -1;
    }
    if (ext_vfs_stat (probe, "/etc/fstab", true, &st) == 0
        || ext_vfs_stat (probe, "/etc/os-release", true, &st) == 0) {
      root = f;
      nroots++;
    }
    ext_vfs_free (probe);
  }
  if (nroots != 1) {
    snprintf (why, len,
              nroots ? "the disks hold %zu operating systems"
                     : "no operating system was found%.0zu",
              nroots);
    return 0;
  }
  v = ext_vfs_new ();
  if (!v || mount_one (g, v, root, "/") == -1)
    goto out;
  {
    struct ext_stat st;
    if (ext_vfs_stat (v, "/etc/fstab", true, &st) == 0
        && ext_vfs_read (v, "/etc/fstab", buf_add, &fstab) == -1)
      goto out;
  }
  for (line = fstab.p ? strtok_r (fstab.p, "\n", &save) : NULL; line;
       line = strtok_r (NULL, "\n", &save)) {
    char *spec, *mp, *fields_save;
    struct native_fs *f;
    bool ignore;

    spec = strtok_r (line, " \t", &fields_save);
    if (!spec || spec[0] == '#')
      continue;
    mp = strtok_r (NULL, " \t", &fields_save);
    if (!mp || mp[0] != '/' || strcmp (mp, "/") == 0 || prefix_dir (mp, "/dev")
        || prefix_dir (mp, "/proc") || prefix_dir (mp, "/sys")
        || prefix_dir (mp, "/selinux") || prefix_dir (mp, "/media"))
      continue;
    f = resolve_spec (g, spec, &ignore);
    if (ignore)
      continue;
    if (!f) {
      snprintf (why, len,
                "the guest's fstab names %.100s, which is not on a "
                "plain partition",
                spec);
      r = 0;
      goto out;
    }
    if (!usable (f, why, len)) {
      r = 0;
      goto out;
    }
    {
      struct fstab_ent *ne = realloc (ents, (nents + 1) * sizeof *ne);
      if (!ne) {
        vd_set_error (ENOMEM, _ ("out of memory"));
        goto out;
      }
      ents = ne;
      ents[nents].mp = mp;
      ents[nents].fs = f;
      nents++;
    }
  }
  if (nents)
    qsort (ents, nents, sizeof *ents, ent_cmp);
  for (i = 0; i < nents; i++) {
    struct ext_stat st;
    if (ext_vfs_stat (v, ents[i].mp, true, &st) == -1) {
      snprintf (why, len,
                "%s (%.100s in the guest's fstab) has no folder to "
                "be mounted on",
                ents[i].fs->device, ents[i].mp);
      r = 0;
      goto out;
    }
    if (mount_one (g, v, ents[i].fs, ents[i].mp) == -1)
      goto out;
  }
  *out = v;
  v = NULL;
  r = 1;
out:
  ext_vfs_free (v);
  free (ents);
  free (fstab.p);
  return r;
}

int
native_mount (struct native_guest *g, char *const *mounts, size_t nr_mounts,
              struct ext_vfs **out, char *why, size_t len)
{
  struct ext_vfs *v;
  size_t i;

  *out = NULL;
  if (nr_mounts == 0)
    return mount_inspect (g, out, why, len);
  v = ext_vfs_new ();
  if (!v)
    return -1;
  for (i = 0; i < nr_mounts; i++) {
    char *spec = strdup (mounts[i]), *dev, *mp = NULL, *o, *fstype = NULL, *p;
    struct native_fs *f;
    int r = 1;

    if (!spec) {
      vd_set_error (ENOMEM, _ ("out of memory"));
      ext_vfs_free (v);
      return -1;
    }
    /* DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]], as inspect/mount.c reads it. */
    dev = spec;
    if ((p = strchr (dev, ':'))) {
      *p = '\0';
      mp = p + 1;
      if ((p = strchr (mp, ':'))) {
        *p = '\0';
        o = p + 1;
        if ((p = strrchr (o, ':'))) {
          *p = '\0';
          fstype = p + 1;
        }
      }
    }
    if (!mp || !mp[0])
      mp = (char *) "/";
    f = native_find_device (g, dev);
    if (!f) {
      snprintf (why, len,
                "-m %.100s: not a partition or disk the native "
                "path knows",
                dev);
      r = 0;
    }
    else if (!usable (f, why, len))
      r = 0;
    else if (fstype && fstype[0] && strcmp (fstype, "ext2") != 0
             && strcmp (fstype, "ext3") != 0 && strcmp (fstype, "ext4") != 0) {
      snprintf (why, len, "-m %.100s: the filesystem type %.20s", dev, fstype);
      r = 0;
    }
    else if (mp[0] != '/' || (i == 0 && strcmp (mp, "/") != 0)) {
      snprintf (why, len, "-m %.100s: mounted on %.100s", dev, mp);
      r = 0;
    }
    else if (i > 0) {
      struct ext_stat st;
      if (ext_vfs_stat (v, mp, true, &st) == -1) {
        snprintf (why, len, "-m %.100s: no folder %.100s to mount it on", dev,
                  mp);
        r = 0;
      }
    }
    if (r == 1 && mount_one (g, v, f, mp) == -1)
      r = -1;
    free (spec);
    if (r != 1) {
      ext_vfs_free (v);
      return r;
    }
  }
  *out = v;
  return 1;
}

/* ---- checksums ------------------------------------------------------------
 */

struct native_sum {
  const struct nettle_hash *h; /* NULL: crc */
  uint32_t crc;
  uint64_t len;
  unsigned char ctx[] __attribute__ ((aligned (16)));
};

/* POSIX cksum: CRC-32 (polynomial 0x04c11db7, most significant bit
 * first) over the bytes, then the length's bytes, low first, then
 * complemented. */
static uint32_t
crc_byte (uint32_t crc, unsigned char b)
{
  int k;

  crc ^= (uint32_t) b << 24;
  for (k = 0; k < 8; k++)
    crc = crc & 0x80000000u ? (crc << 1) ^ 0x04c11db7u : crc << 1;
  return crc;
}

struct native_sum *
native_sum_new (const char *type)
{
  static const struct {
    const char *name;
    const struct nettle_hash *h;
  } hashes[] = {
    { "md5", &nettle_md5 },       { "sha1", &nettle_sha1 },
    { "sha224", &nettle_sha224 }, { "sha256", &nettle_sha256 },
    { "sha384", &nettle_sha384 }, { "sha512", &nettle_sha512 },
  };
  const struct nettle_hash *h = NULL;
  struct native_sum *s;
  size_t i;

  if (strcmp (type, "crc") != 0) {
    for (i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
      if (strcmp (type, hashes[i].name) == 0)
        h = hashes[i].h;
    if (!h) {
      vd_set_error (EINVAL, _ ("unknown checksum type %s"), type);
      return NULL;
    }
  }
  s = calloc (1, sizeof *s + (h ? h->context_size : 0));
  if (!s) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  s->h = h;
  if (h)
    h->init (s->ctx);
  return s;
}

void
native_sum_update (struct native_sum *s, const void *buf, size_t len)
{
  const unsigned char *p = buf;
  size_t i;

  if (s->h) {
    s->h->update (s->ctx, len, p);
    return;
  }
  for (i = 0; i < len; i++)
    s->crc = crc_byte (s->crc, p[i]);
  s->len += len;
}

char *
native_sum_finish (struct native_sum *s)
{
  unsigned char d[64];
  char *out;
  size_t i;

  if (s->h) {
    out = malloc (2 * s->h->digest_size + 1);
    if (out) {
      s->h->digest (s->ctx, s->h->digest_size, d);
      for (i = 0; i < s->h->digest_size; i++)
        sprintf (out + 2 * i, "%02x", d[i]);
    }
  }
  else {
    uint64_t n;
    for (n = s->len; n; n >>= 8)
      s->crc = crc_byte (s->crc, (unsigned char) (n & 0xff));
    if (asprintf (&out, "%u", ~s->crc) == -1)
      out = NULL;
  }
  free (s);
  if (!out)
    vd_set_error (ENOMEM, _ ("out of memory"));
  return out;
}
