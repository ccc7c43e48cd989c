/* Creating VMDK images with qemu-img's options and layout: the same
 * descriptor text, the same table layout for sparse extents (so the same
 * disk usage), extent files named as qemu-img names them.  Extent files go
 * through vd_create_extra_file, so a failed create leaves none behind.
 * streamOptimized images are written as a stream that already ends
 * (directory, footer, end-of-stream marker), ready to be filled by the
 * stream writer.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmdk.h"

const struct vd_create_opt_desc vmdk_create_opts[] = {
  { "size", "size", N_ ("Virtual disk size") },
  { "adapter_type", "string",
    N_ ("Virtual adapter type, can be one of ide (default), lsilogic, "
        "buslogic or legacyESX") },
  { "backing_file", "string", N_ ("File name of a base image") },
  { "backing_fmt", "string", N_ ("Must be 'vmdk' if present") },
  { "compat6", "bool", N_ ("VMDK version 6 image") },
  { "hwversion", "string", N_ ("VMDK hardware version") },
  { "toolsversion", "string", N_ ("VMware guest tools version") },
  { "subformat", "string",
    N_ ("VMDK flat extent format, can be one of {monolithicSparse (default) "
        "| monolithicFlat | twoGbMaxExtentSparse | twoGbMaxExtentFlat | "
        "streamOptimized} ") },
  { "zeroed_grain", "bool",
    N_ ("Enable efficient zero writes using the zeroed-grain GTE feature") },
  { NULL, NULL, NULL },
};

/* As qemu-img shows them in its "Formatting ..." line. */
const char *const vmdk_create_opt_defaults[] = {
  "compat6", "off", "hwversion", "undefined", NULL,
};

enum subformat { MONO_SPARSE, MONO_FLAT, SPLIT_SPARSE, SPLIT_FLAT, STREAM };

static const char *const subformats[] = {
  [MONO_SPARSE] = "monolithicSparse",
  [MONO_FLAT] = "monolithicFlat",
  [SPLIT_SPARSE] = "twoGbMaxExtentSparse",
  [SPLIT_FLAT] = "twoGbMaxExtentFlat",
  [STREAM] = "streamOptimized",
};

#define SPLIT_SIZE (UINT64_C (2) << 30) /* twoGbMaxExtent* extents */
#define DESC_SECTORS 20                 /* embedded descriptor room */

/* Text that goes between quotes in the descriptor. */
static int
check_text (const char *filename, const char *opt, const char *v)
{
  const char *c;

  for (c = v; *c; c++) {
    if (*c == '"' || (unsigned char) *c < 0x20) {
      vd_set_error (EINVAL,
                    _ ("%s: the value of '%s' may not contain quotes or "
                       "control characters"),
                    filename, opt);
      return -1;
    }
  }
  if (!*v) {
    vd_set_error (EINVAL, _ ("%s: the value of '%s' is empty"), filename, opt);
    return -1;
  }
  return 0;
}

/* The CID of the backing file, which must be a VMDK image. */
static int
backing_cid (const char *filename, const char *backing, uint32_t *cid)
{
  const char *slash = strrchr (filename, '/');
  CLEANUP_FREE char *path = NULL;
  vd_image *b;

  if (backing[0] == '/' || !slash)
    path = vd_strdup (backing);
  else if (asprintf (&path, "%.*s%s", (int) (slash - filename + 1), filename,
                     backing)
           == -1)
    path = NULL;
  if (!path) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  b = vd_open (path, NULL, VD_OPEN_NO_BACKING | VD_OPEN_NO_LOCK);
  if (!b) {
    vd_set_error (vd_errno (), _ ("%s: cannot open the backing file: %s"),
                  filename, vd_error ());
    return -1;
  }
  if (b->fmt != &vd_format_vmdk) {
    vd_set_error (EINVAL,
                  _ ("%s: the backing file '%s' is a %s image; a VMDK image "
                     "can only have a VMDK backing file"),
                  filename, backing, b->fmt->name);
    vd_close (b);
    return -1;
  }
  *cid = ((struct vmdk_priv *) b->priv)->cid;
  vd_close (b);
  return 0;
}

/* A new sparse extent of CAPACITY sectors on IO: header, the descriptor
 * area left for the caller, both directories; the tables are holes. */
static int
write_sparse (struct vd_io *io, uint64_t capacity, bool embedded_desc,
              bool zeroed_grain)
{
  struct vmdk_layout l;
  struct vmdk_header h = { 0 };
  uint8_t sec[VMDK_SECTOR];
  CLEANUP_FREE uint8_t *gd = NULL;
  uint64_t i;

  vmdk_sparse_layout (capacity, embedded_desc ? DESC_SECTORS : 0, &l);
  if (l.gd_entries > VMDK_MAX_GD_ENTRIES) {
    vd_set_error (
        EFBIG,
        _ ("%s: too large for a VMDK sparse extent (at most %" PRIu64 " TiB)"),
        io->name, (uint64_t) VMDK_MAX_GD_ENTRIES * 512 * 65536 >> 40);
    return -1;
  }
  h.version = zeroed_grain ? 2 : 1;
  h.flags = VMDK_FLAG_NL_DETECT | VMDK_FLAG_RGD
            | (zeroed_grain ? VMDK_FLAG_ZERO_GRAIN : 0);
  h.capacity = capacity;
  h.grain_size = 128;
  h.desc_offset = embedded_desc ? 1 : 0;
  h.desc_size = embedded_desc ? DESC_SECTORS : 0;
  h.gtes_per_gt = 512;
  h.rgd_offset = l.rgd_offset;
  h.gd_offset = l.gd_offset;
  h.overhead = l.overhead;
  vmdk_header_encode (&h, sec);
  if (vd_io_pwrite (io, sec, sizeof sec, 0) == -1
      || vd_io_truncate (io, l.overhead * VMDK_SECTOR) == -1)
    return -1;
  if (l.gd_entries == 0)
    return 0;
  gd = vd_calloc (l.gd_sectors, VMDK_SECTOR);
  if (!gd)
    return -1;
  /* Each directory is followed by its own tables. */
  for (i = 0; i < l.gd_entries; i++)
    vmdk_put_le32 (gd + 4 * i, l.rgd_offset + l.gd_sectors + i * l.gt_sectors);
  if (vd_io_pwrite (io, gd, l.gd_sectors * VMDK_SECTOR,
                    l.rgd_offset * VMDK_SECTOR)
      == -1)
    return -1;
  for (i = 0; i < l.gd_entries; i++)
    vmdk_put_le32 (gd + 4 * i, l.gd_offset + l.gd_sectors + i * l.gt_sectors);
  return vd_io_pwrite (io, gd, l.gd_sectors * VMDK_SECTOR,
                       l.gd_offset * VMDK_SECTOR);
}

/* An empty stream: header, descriptor room, then its end right away. */
static int
write_stream (struct vd_io *io, uint64_t capacity, bool zeroed_grain)
{
  struct vmdk_header h = { 0 };
  uint8_t sec[VMDK_SECTOR];
  uint64_t gd_entries = DIV_ROUND_UP (capacity, 128 * 512);

  if (gd_entries > VMDK_MAX_GD_ENTRIES) {
    vd_set_error (EFBIG, _ ("%s: too large for a streamOptimized image"),
                  io->name);
    return -1;
  }
  h.version = 3;
  h.flags = VMDK_FLAG_NL_DETECT | VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS
            | (zeroed_grain ? VMDK_FLAG_ZERO_GRAIN : 0);
  h.capacity = capacity;
  h.grain_size = 128;
  h.desc_offset = 1;
  h.desc_size = DESC_SECTORS;
  h.gtes_per_gt = 512;
  h.gd_offset = VMDK_GD_AT_END;
  h.overhead = 128; /* grains start at 64 KiB */
  h.compress = VMDK_COMPRESS_DEFLATE;
  vmdk_header_encode (&h, sec);
  if (vd_io_pwrite (io, sec, sizeof sec, 0) == -1)
    return -1;
  return vmdk_stream_write_empty_tail (io, &h, h.overhead * VMDK_SECTOR);
}

/* A flat extent file: SIZE bytes, sparse; the first block allocated as
 * qemu-img's file creation does, so both report the same disk size. */
static int
write_flat (struct vd_io *io, uint64_t size)
{
  if (vd_io_truncate (io, size) == -1)
    return -1;
  return vd_io_pwrite (io, vmdk_zeroes, MIN (size, 4096), 0);
}

/* Create extent NAME (a path) of SECTORS. */
static int
make_extent (const char *path, uint64_t sectors, bool flat, bool zeroed_grain)
{
  struct vd_io *io = vd_create_extra_file (path);
  int r;

  if (!io)
    return -1;
  if (flat)
    r = write_flat (io, sectors * VMDK_SECTOR);
  else
    r = write_sparse (io, sectors, false, zeroed_grain);
  if (r == 0)
    r = vd_io_flush (io);
  vd_io_close (io);
  return r;
}

int
vmdk_create (struct vd_io *io, const char *filename, uint64_t size,
             struct vd_opts *opts)
{
  const char *adapter, *backing, *bfmt, *hw, *tools, *sub;
  const char *slash = strrchr (filename, '/'), *base, *dot;
  bool compat6 = false, zeroed = false, flat, split;
  enum subformat sf = MONO_SPARSE;
  uint32_t parent_cid = UINT32_MAX;
  CLEANUP_FREE char *extents = NULL, *desc = NULL, *prefix = NULL;
  size_t extents_len = 0;
  FILE *fp;
  uint64_t capacity, done;
  unsigned heads;
  int idx, len;
  size_t i;

  if (vd_opts_get_bool (opts, "compat6", &compat6) == -1
      || vd_opts_get_bool (opts, "zeroed_grain", &zeroed) == -1)
    return -1;
  adapter = vd_opts_get (opts, "adapter_type");
  backing = vd_opts_get (opts, "backing_file");
  bfmt = vd_opts_get (opts, "backing_fmt");
  hw = vd_opts_get (opts, "hwversion");
  tools = vd_opts_get (opts, "toolsversion");
  sub = vd_opts_get (opts, "subformat");

  if (!adapter)
    adapter = "ide";
  if (strcmp (adapter, "ide") && strcmp (adapter, "lsilogic")
      && strcmp (adapter, "buslogic") && strcmp (adapter, "legacyESX")) {
    vd_set_error (EINVAL,
                  _ ("%s: invalid adapter_type '%s' (use ide, lsilogic, "
                     "buslogic or legacyESX)"),
                  filename, adapter);
    return -1;
  }
  if (sub) {
    for (i = 0; i < sizeof subformats / sizeof subformats[0]; i++)
      if (strcmp (sub, subformats[i]) == 0)
        break;
    if (i == sizeof subformats / sizeof subformats[0]) {
      vd_set_error (EINVAL,
                    _ ("%s: invalid subformat '%s' (use monolithicSparse, "
                       "monolithicFlat, twoGbMaxExtentSparse, "
                       "twoGbMaxExtentFlat or streamOptimized)"),
                    filename, sub);
      return -1;
    }
    sf = i;
  }
  if (bfmt && strcmp (bfmt, "vmdk") != 0) {
    vd_set_error (EINVAL,
                  _ ("%s: backing_fmt must be 'vmdk': a VMDK image can only "
                     "have a VMDK backing file"),
                  filename);
    return -1;
  }
  if (hw && strcmp (hw, "undefined") == 0)
    hw = NULL;
  if (compat6 && hw) {
    vd_set_error (EINVAL,
                  _ ("%s: compat6 cannot be enabled with hwversion set"),
                  filename);
    return -1;
  }
  if ((hw && check_text (filename, "hwversion", hw) == -1)
      || (tools && check_text (filename, "toolsversion", tools) == -1)
      || (backing && check_text (filename, "backing_file", backing) == -1))
    return -1;
  hw = compat6 ? "6" : hw ? hw : "4";
  if (!tools)
    tools = "2147483647";
  flat = sf == MONO_FLAT || sf == SPLIT_FLAT;
  split = sf == SPLIT_SPARSE || sf == SPLIT_FLAT;
  if (flat && backing) {
    vd_set_error (ENOTSUP, _ ("%s: a flat image cannot have a backing file"),
                  filename);
    return -1;
  }
  if (flat && zeroed) {
    vd_set_error (ENOTSUP, _ ("%s: a flat image cannot have zeroed grains"),
                  filename);
    return -1;
  }
  size = ROUND_UP (size, VMDK_SECTOR);
  capacity = size / VMDK_SECTOR;
  if (split && DIV_ROUND_UP (size, SPLIT_SIZE) > VMDK_MAX_EXTENTS) {
    vd_set_error (EFBIG,
                  _ ("%s: too large for %s (at most %d extents of 2 GiB)"),
                  filename, subformats[sf], VMDK_MAX_EXTENTS);
    return -1;
  }
  if (backing && backing_cid (filename, backing, &parent_cid) == -1)
    return -1;

  /* Extent files are named after the image: NAME-flat.vmdk,
   * NAME-s001.vmdk, NAME-f001.vmdk, ... beside it. */
  base = slash ? slash + 1 : filename;
  dot = strrchr (base, '.');
  if (!dot)
    dot = base + strlen (base);
  prefix = vd_strdup (filename);
  if (!prefix)
    return -1;
  prefix[dot - filename] = 0;

  fp = open_memstream (&extents, &extents_len);
  if (!fp) {
    vd_set_error (errno, _ ("out of memory"));
    return -1;
  }
  if (sf == MONO_SPARSE || sf == STREAM)
    fprintf (fp, "RW %" PRIu64 " SPARSE \"%s\"\n", capacity, base);
  for (done = 0, idx = 1; (flat || split) && done < size; idx++) {
    uint64_t cur = split ? MIN (size - done, SPLIT_SIZE) : size;
    CLEANUP_FREE char *path = NULL;
    const char *ebase;

    if (split)
      len = asprintf (&path, "%s-%c%03d%s", prefix, flat ? 'f' : 's', idx, dot);
    else
      len = asprintf (&path, "%s-flat%s", prefix, dot);
    if (len == -1) {
      fclose (fp);
      vd_set_error (ENOMEM, _ ("out of memory"));
      return -1;
    }
    if (make_extent (path, cur / VMDK_SECTOR, flat, zeroed) == -1) {
      fclose (fp);
      return -1;
    }
    ebase = strrchr (path, '/') ? strrchr (path, '/') + 1 : path;
    if (flat)
      fprintf (fp, "RW %" PRIu64 " FLAT \"%s\" 0\n", cur / VMDK_SECTOR, ebase);
    else
      fprintf (fp, "RW %" PRIu64 " SPARSE \"%s\"\n", cur / VMDK_SECTOR, ebase);
    done += cur;
  }
  if (fclose (fp) != 0) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }

  heads = strcmp (adapter, "ide") == 0 ? 16 : 255;
  {
    char parent_line[VD_MAX_PATH + 32] = "";
    if (backing)
      snprintf (parent_line, sizeof parent_line, "parentFileNameHint=\"%s\"\n",
                backing);
    len = asprintf (&desc,
                    "# Disk DescriptorFile\n"
                    "version=1\n"
                    "CID=%08" PRIx32 "\n"
                    "parentCID=%08" PRIx32 "\n"
                    "createType=\"%s\"\n"
                    "%s"
                    "\n"
                    "# Extent description\n"
                    "%s"
                    "\n"
                    "# The Disk Data Base\n"
                    "#DDB\n"
                    "\n"
                    "ddb.virtualHWVersion = \"%s\"\n"
                    "ddb.geometry.cylinders = \"%" PRIu64 "\"\n"
                    "ddb.geometry.heads = \"%u\"\n"
                    "ddb.geometry.sectors = \"63\"\n"
                    "ddb.adapterType = \"%s\"\n"
                    "ddb.toolsVersion = \"%s\"\n",
                    vmdk_random_cid (), parent_cid, subformats[sf], parent_line,
                    extents ? extents : "", hw,
                    size / (63 * heads * VMDK_SECTOR), heads, adapter, tools);
  }
  if (len == -1) {
    desc = NULL;
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }

  if (flat || split) /* the descriptor is the file */
    return vd_io_pwrite (io, desc, len, 0);

  if ((size_t) len > DESC_SECTORS * VMDK_SECTOR) {
    vd_set_error (EINVAL,
                  _ ("%s: the descriptor does not fit in its %d sectors "
                     "(the backing file name is too long)"),
                  filename, DESC_SECTORS);
    return -1;
  }
  if (sf == STREAM) {
    if (write_stream (io, capacity, zeroed) == -1)
      return -1;
  }
  else if (write_sparse (io, capacity, true, zeroed) == -1)
    return -1;
  return vd_io_pwrite (io, desc, len, VMDK_SECTOR);
}
