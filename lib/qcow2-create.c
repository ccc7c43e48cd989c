/* qcow2: create.  The options and their checks are qemu-img's (same
 * names, same messages), and so is the layout: header (with the backing
 * format and the feature name table), refcount table, one refcount
 * block, then the L1 table, grown through the same code that grows it
 * later, and preallocated L2 tables and clusters if asked.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

#include "qcow2.h"

/* In the order qemu-img prints them in its "Formatting" line. */
const struct vd_create_opt_desc qcow2_create_opts[] = {
  { "cluster_size", "size", N_ ("qcow2 cluster size") },
  { "extended_l2", "bool", N_ ("Extended L2 tables") },
  { "preallocation", "string",
    N_ ("Preallocation mode (allowed values: off, metadata, falloc, full)") },
  { "compression_type", "string",
    N_ ("Compression method used for image cluster compression") },
  { "size", "size", N_ ("Virtual disk size") },
  { "compat", "string", N_ ("Compatibility level (v2 [0.10] or v3 [1.1])") },
  { "backing_file", "string", N_ ("File name of a base image") },
  { "backing_fmt", "string", N_ ("Image format of the base image") },
  { "lazy_refcounts", "bool", N_ ("Postpone refcount updates") },
  { "refcount_bits", "number",
    N_ ("Width of a reference count entry in bits") },
  { NULL, NULL, NULL },
};

/* What qemu-img prints for the options not given. */
const char *const qcow2_create_defaults[] = {
  "cluster_size",
  "65536",
  "extended_l2",
  "off",
  "compression_type",
  "zlib",
  "lazy_refcounts",
  "off",
  "refcount_bits",
  "16",
  NULL,
};

enum { PREALLOC_OFF, PREALLOC_METADATA, PREALLOC_FALLOC, PREALLOC_FULL };

static int
opt_bool (struct vd_opts *opts, const char *key, bool *v)
{
  if (vd_opts_get_bool (opts, key, v) == -1) {
    vd_set_error (EINVAL, _ ("Parameter '%s' expects 'on' or 'off'"), key);
    return -1;
  }
  return 0;
}

static void
put_ext (uint8_t *buf, size_t *p, uint32_t type, const void *data, uint32_t len)
{
  uint32_t v = htobe32 (type);

  memcpy (buf + *p, &v, 4);
  v = htobe32 (len);
  memcpy (buf + *p + 4, &v, 4);
  memcpy (buf + *p + 8, data, len);
  *p += 8 + ROUND_UP (len, 8);
}

/* The feature name table qemu writes (type, bit, name). */
static const struct {
  uint8_t type, bit;
  const char *name;
} feature_names[] = {
  { 0, 0, "dirty bit" },
  { 0, 1, "corrupt bit" },
  { 0, 2, "external data file" },
  { 0, 3, "compression type" },
  { 0, 4, "extended L2 entries" },
  { 1, 0, "lazy refcounts" },
  { 2, 0, "bitmaps" },
  { 2, 1, "raw external data" },
};
#define NFEATURES (sizeof feature_names / sizeof feature_names[0])

/* Write zeros over the image's data clusters (preallocation=full). */
static int
zero_data_clusters (struct qcow2 *s, uint64_t size)
{
  static const uint8_t zeroes[1 << 20];
  uint64_t off = 0, end = ROUND_UP (size, s->cluster_size);

  while (off < end) {
    struct qcow2_map m;
    uint64_t done = 0;

    if (qcow2_map (s, off, end - off, &m) == -1)
      return -1;
    while (m.type == QCOW2_CT_DATA && done < m.len) {
      uint64_t n = MIN (m.len - done, sizeof zeroes);
      if (qcow2_pwrite (s, zeroes, n, m.host + done) == -1)
        return -1;
      done += n;
    }
    off += m.len;
  }
  return 0;
}

int
qcow2_create (struct vd_io *io, const char *filename, uint64_t size,
              struct vd_opts *opts)
{
  uint64_t cs = 65536, rbits = 16, need, end;
  bool lazy = false, extl2 = false;
  const char *compat = NULL, *backing = NULL, *bfmt = NULL;
  const char *prealloc = NULL, *ctype = NULL;
  int version = 3, comp = QCOW2_COMPRESSION_ZLIB, pre = PREALLOC_OFF;
  uint32_t cbits, order, i;
  struct qcow2_header h;
  struct qcow2 s;
  size_t p;
  CLEANUP_FREE uint8_t *c = NULL;
  uint8_t ft[NFEATURES * 48];
  uint64_t v;
  int r = -1;

  if (opts) {
    if (vd_opts_get_size (opts, "cluster_size", &cs) == -1)
      return -1;
    compat = vd_opts_get (opts, "compat");
    backing = vd_opts_get (opts, "backing_file");
    bfmt = vd_opts_get (opts, "backing_fmt");
    prealloc = vd_opts_get (opts, "preallocation");
    ctype = vd_opts_get (opts, "compression_type");
    if (opt_bool (opts, "lazy_refcounts", &lazy) == -1
        || opt_bool (opts, "extended_l2", &extl2) == -1)
      return -1;
    if (vd_opts_get_uint (opts, "refcount_bits", &rbits) == -1) {
      vd_set_error (EINVAL, _ ("Parameter 'refcount_bits' expects a number"));
      return -1;
    }
  }
  if (cs < 512 || cs > (UINT64_C (2) << 20) || (cs & (cs - 1))) {
    vd_set_error (EINVAL, _ ("Cluster size must be a power of two between "
                             "512 and 2048k"));
    return -1;
  }
  cbits = __builtin_ctzll (cs);
  if (compat) {
    if (strcmp (compat, "0.10") == 0 || strcmp (compat, "v2") == 0)
      version = 2;
    else if (strcmp (compat, "1.1") == 0 || strcmp (compat, "v3") == 0)
      version = 3;
    else {
      vd_set_error (EINVAL,
                    _ ("Parameter 'version' does not accept value "
                       "'%s'"),
                    compat);
      return -1;
    }
  }
  if (prealloc) {
    if (strcmp (prealloc, "off") == 0)
      pre = PREALLOC_OFF;
    else if (strcmp (prealloc, "metadata") == 0)
      pre = PREALLOC_METADATA;
    else if (strcmp (prealloc, "falloc") == 0)
      pre = PREALLOC_FALLOC;
    else if (strcmp (prealloc, "full") == 0)
      pre = PREALLOC_FULL;
    else {
      vd_set_error (EINVAL,
                    _ ("Parameter 'preallocation' does not accept value "
                       "'%s'"),
                    prealloc);
      return -1;
    }
  }
  if (rbits == 0 || rbits > 64 || (rbits & (rbits - 1))) {
    vd_set_error (EINVAL, _ ("Refcount width must be a power of two and may "
                             "not exceed 64 bits"));
    return -1;
  }
  order = __builtin_ctzll (rbits);
  if (ctype) {
    if (strcmp (ctype, "zlib") == 0)
      comp = QCOW2_COMPRESSION_ZLIB;
    else if (strcmp (ctype, "zstd") == 0)
      comp = QCOW2_COMPRESSION_ZSTD;
    else {
      vd_set_error (EINVAL,
                    _ ("Parameter 'compression-type' does not accept value "
                       "'%s'"),
                    ctype);
      return -1;
    }
  }
  if (bfmt && !backing) {
    vd_set_error (EINVAL,
                  _ ("Backing format cannot be used without backing file"));
    return -1;
  }
  if (version < 3) {
    const char *what = NULL;
    if (lazy)
      what = _ ("Lazy refcounts only supported with compatibility level 1.1 "
                "and above");
    else if (rbits != 16)
      what = _ ("Different refcount widths than 16 bits require "
                "compatibility level 1.1 or above");
    else if (comp != QCOW2_COMPRESSION_ZLIB)
      what = _ ("Non-zlib compression type is only supported with "
                "compatibility level 1.1 and above");
    else if (extl2)
      what = _ ("Extended L2 entries are only supported with compatibility "
                "level 1.1 and above");
    if (what) {
      vd_set_error (EINVAL, _ ("%s (use version=v3 or greater)"), what);
      return -1;
    }
  }
  if (extl2 && cbits < QCOW2_EXT_L2_MIN_CLUSTER_BITS) {
    vd_set_error (EINVAL, _ ("Extended L2 entries are only supported with "
                             "cluster sizes of at least 16384 bytes"));
    return -1;
  }
  if (backing && pre != PREALLOC_OFF && !extl2) {
    vd_set_error (EINVAL, _ ("Backing file and preallocation can only be "
                             "used at the same time if extended_l2 is on"));
    return -1;
  }
  if (backing && !bfmt) {
    vd_set_error (EINVAL, _ ("Backing file specified without backing format"));
    return -1;
  }
  if (bfmt && (!vd_format_known (bfmt) || strlen (bfmt) > 15)) {
    vd_set_error (
        EINVAL, _ ("Parameter 'backing-fmt' does not accept value '%s'"), bfmt);
    return -1;
  }
  size = ROUND_UP (size, 512);

  /* The header cluster. */
  memset (&h, 0, sizeof h);
  h.version = version;
  h.cluster_bits = cbits;
  h.size = 0; /* until the L1 table is there */
  h.rt_offset = cs;
  h.rt_clusters = 1;
  h.refcount_order = order;
  h.header_length = version >= 3 ? QCOW2_HEADER_LENGTH : QCOW2_V2_HEADER_LENGTH;
  if (version >= 3) {
    h.compat = lazy ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0;
    h.incompat = (extl2 ? QCOW2_INCOMPAT_EXTL2 : 0)
                 | (comp ? QCOW2_INCOMPAT_COMPRESSION : 0);
    h.compression_type = comp;
  }
  c = vd_calloc (1, cs);
  if (!c)
    return -1;
  p = h.header_length;
  if (bfmt)
    put_ext (c, &p, QCOW2_EXT_BACKING_FORMAT, bfmt, strlen (bfmt));
  /* qemu leaves the feature table out of small clusters, where it would
   * take the room of the backing file name. */
  if (version >= 3 && cs > 4096) {
    memset (ft, 0, sizeof ft);
    for (i = 0; i < NFEATURES; i++) {
      ft[i * 48] = feature_names[i].type;
      ft[i * 48 + 1] = feature_names[i].bit;
      memcpy (ft + i * 48 + 2, feature_names[i].name,
              strlen (feature_names[i].name));
    }
    put_ext (c, &p, QCOW2_EXT_FEATURE_TABLE, ft, sizeof ft);
  }
  p += 8; /* end of the extensions */
  if (backing) {
    size_t blen = strlen (backing);
    if (blen > QCOW2_MAX_BACKING_NAME || blen > cs - p) {
      vd_set_error (ENOSPC,
                    _ ("Could not assign backing file '%s' with format "
                       "'%s': No space left on device"),
                    backing, bfmt);
      return -1;
    }
    memcpy (c + p, backing, blen);
    h.backing_offset = p;
    h.backing_size = blen;
  }
  qcow2_encode_header (&h, c);
  if (vd_io_pwrite (io, c, cs, 0) == -1)
    return -1;
  /* Refcount table (one block, at cluster 2) and that block: clusters 0
   * to 2 are used. */
  memset (c, 0, cs);
  v = htobe64 (2 * cs);
  memcpy (c, &v, 8);
  if (vd_io_pwrite (io, c, cs, cs) == -1)
    return -1;
  memset (c, 0, cs);
  for (i = 0; i < 3; i++)
    qcow2_rc_set_entry (c, order, i, 1);
  if (vd_io_pwrite (io, c, cs, 2 * cs) == -1)
    return -1;

  /* From here on the image is valid: grow it with the driver's code. */
  memset (&s, 0, sizeof s);
  if (qcow2_state_open (&s, io, filename, false) == -1)
    goto out;
  s.unsynced = true;
  need = DIV_ROUND_UP (size, cs * s.l2_entries);
  s.h.size = size; /* written with the new L1 table */
  if (need && qcow2_grow_l1 (&s, need) == -1)
    goto out;
  if (pre != PREALLOC_OFF) {
    if (qcow2_preallocate (&s, size, &end) == -1 || qcow2_flush_all (&s) == -1)
      goto out;
    if (pre == PREALLOC_FULL && zero_data_clusters (&s, size) == -1)
      goto out;
    if ((uint64_t) vd_io_size (io) < end && vd_io_truncate (io, end) == -1)
      goto out;
    if (pre == PREALLOC_FALLOC) {
      if (!io->ops->allocate) {
        vd_set_error (ENOTSUP,
                      _ ("%s: preallocation=falloc is not supported here"),
                      filename);
        goto out;
      }
      if (io->ops->allocate (io, 0, end) == -1)
        goto out;
    }
  }
  if (qcow2_flush_all (&s) == -1)
    goto out;
  r = 0;
out:
  qcow2_state_close (&s);
  return r;
}
