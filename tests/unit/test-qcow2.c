/* Unit tests for the qcow2 driver, on the memory backend: refcount entry
 * arithmetic for every width, header parsing against a table of bad
 * fields, the bounded table cache, and write/read round trips whose
 * refcounts are then counted from the tables and compared. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "qcow2.h"

#define MiB (UINT64_C (1) << 20)

/* ---- refcount arithmetic --------------------------------------------- */

static void
test_rc_entries_every_width (void **state)
{
  uint8_t b[64];
  uint32_t order;

  (void) state;
  for (order = 0; order <= 6; order++) {
    uint64_t bits = UINT64_C (1) << order;
    uint64_t max = bits == 64 ? UINT64_MAX : (UINT64_C (1) << bits) - 1;
    uint64_t n = sizeof b * 8 / bits, i;

    memset (b, 0, sizeof b);
    for (i = 0; i < n; i++)
      qcow2_rc_set_entry (b, order, i, (i * 37 + 1) & max);
    for (i = 0; i < n; i++)
      assert_int_equal (qcow2_rc_get_entry (b, order, i), (i * 37 + 1) & max);
    /* Setting one entry leaves its neighbours alone. */
    memset (b, 0, sizeof b);
    qcow2_rc_set_entry (b, order, 5, max);
    for (i = 0; i < n; i++)
      assert_int_equal (qcow2_rc_get_entry (b, order, i), i == 5 ? max : 0);
    qcow2_rc_set_entry (b, order, 5, 0);
    for (i = 0; i < sizeof b; i++)
      assert_int_equal (b[i], 0);
  }
}

static void
test_rc_entries_layout (void **state)
{
  uint8_t b[16];

  (void) state;
  /* Sub-byte widths: entry 0 in the least significant bits. */
  memset (b, 0, sizeof b);
  qcow2_rc_set_entry (b, 0, 1, 1);
  assert_int_equal (b[0], 0x02);
  memset (b, 0, sizeof b);
  qcow2_rc_set_entry (b, 2, 1, 0xf);
  assert_int_equal (b[0], 0xf0);
  memset (b, 0, sizeof b);
  qcow2_rc_set_entry (b, 1, 3, 2);
  assert_int_equal (b[0], 0x80);
  /* Wider entries are big-endian. */
  memset (b, 0, sizeof b);
  qcow2_rc_set_entry (b, 4, 1, 0x1234);
  assert_int_equal (b[2], 0x12);
  assert_int_equal (b[3], 0x34);
  memset (b, 0, sizeof b);
  qcow2_rc_set_entry (b, 5, 1, 0x01020304);
  assert_memory_equal (b + 4, "\x01\x02\x03\x04", 4);
  qcow2_rc_set_entry (b, 6, 1, UINT64_C (0x0102030405060708));
  assert_memory_equal (b + 8, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
}

/* ---- header parsing -------------------------------------------------- */

static void
good_header (uint8_t *buf, size_t len)
{
  struct qcow2_header h;

  memset (buf, 0, len);
  memset (&h, 0, sizeof h);
  h.version = 3;
  h.cluster_bits = 16;
  h.size = 1 << 30;
  h.l1_size = 2;
  h.l1_offset = 0x30000;
  h.rt_offset = 0x10000;
  h.rt_clusters = 1;
  h.refcount_order = 4;
  h.header_length = 112;
  qcow2_encode_header (&h, buf);
}

static void
put_be (uint8_t *p, int width, uint64_t v)
{
  int i;
  for (i = width - 1; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t) v;
}

static const struct bad_field {
  const char *what;
  int offset, width;
  uint64_t value;
  const char *message;
} bad_fields[] = {
  { "magic", 0, 4, 0x514649fc, "not a qcow2 image" },
  { "version 1", 4, 4, 1, "qcow2 version 1 is not supported" },
  { "version 4", 4, 4, 4, "qcow2 version 4 is not supported" },
  { "cluster bits 8", 20, 4, 8, "cluster size 2^8 is not supported" },
  { "cluster bits 22", 20, 4, 22, "cluster size 2^22 is not supported" },
  { "header length 100", 100, 4, 100, "bad header length 100" },
  { "header length 106", 100, 4, 106, "bad header length 106" },
  { "header length past the cluster", 100, 4, 0x20000, "bad header length" },
  { "refcount order 7", 96, 4, 7, "refcount width 2^7 bits" },
  { "AES encryption", 32, 4, 1, "encrypted qcow2 images (method 1)" },
  { "LUKS encryption", 32, 4, 2, "encrypted qcow2 images (method 2)" },
  { "virtual size too large", 24, 8, UINT64_MAX, "virtual size" },
  { "L1 too small", 36, 4, 1, "too few for the virtual size 1073741824" },
  { "L1 too large", 36, 4, 0x400001, "more than the limit" },
  { "L1 unaligned", 40, 8, 0x30008, "L1 table at offset 0x30008" },
  { "L1 on the header", 40, 8, 0, "L1 table at offset 0x0" },
  { "L1 past the end", 40, 8, 0x100000, "L1 table at offset 0x100000" },
  { "refcount table empty", 56, 4, 0, "the refcount table is empty" },
  { "refcount table too large", 56, 4, 129, "more than the limit of 8 MiB" },
  { "refcount table unaligned", 48, 8, 0x10200, "refcount table at offset" },
  { "refcount table past the end", 48, 8, 0x100000,
    "refcount table at offset 0x100000" },
  { "too many snapshots", 60, 4, 65537, "too many snapshots" },
  { "snapshot table unaligned", 64, 8, 0x20100, "snapshot table at offset" },
  { "backing name too long", 16, 4, 1024, "is 1024 bytes long" },
  { "backing name outside the cluster", 8, 8, 0x10000,
    "backing file name at offset 0x10000" },
  { "compression bit, no type", 72, 8, 8, "no compression type" },
  { "compression type, no bit", 104, 1, 1, "without the compression type" },
  { "unknown compression type", 104, 1, 7, "unknown compression type 7" },
  { "extended L2 with 4 KiB clusters", 72, 8, 16, "at least 16 KiB" },
  { NULL, 0, 0, 0, NULL },
};

static void
test_header_bad_fields (void **state)
{
  uint8_t buf[512];
  struct qcow2_header h;
  const struct bad_field *f;

  (void) state;
  good_header (buf, sizeof buf);
  assert_int_equal (qcow2_parse_header ("x", buf, sizeof buf, MiB, &h), 0);
  assert_int_equal (h.l1_size, 2);
  for (f = bad_fields; f->what; f++) {
    good_header (buf, sizeof buf);
    put_be (buf + f->offset, f->width, f->value);
    if (strcmp (f->what, "extended L2 with 4 KiB clusters") == 0)
      put_be (buf + 20, 4, 12);
    if (strcmp (f->what, "unknown compression type") == 0)
      put_be (buf + 72, 8, 8);
    if (strcmp (f->what, "too many snapshots") == 0
        || strcmp (f->what, "snapshot table unaligned") == 0) {
      put_be (buf + 60, 4, f->offset == 60 ? f->value : 1);
      put_be (buf + 64, 8, f->offset == 64 ? f->value : 0x20000);
    }
    if (strncmp (f->what, "backing", 7) == 0) {
      put_be (buf + 8, 8, f->offset == 8 ? f->value : 0x200);
      put_be (buf + 16, 4, f->offset == 16 ? f->value : 4);
    }
    errno = 0;
    if (qcow2_parse_header ("x", buf, sizeof buf, MiB, &h) != -1)
      fail_msg ("bad field accepted: %s", f->what);
    if (!strstr (vd_error (), f->message))
      fail_msg ("%s: message '%s' lacks '%s'", f->what, vd_error (),
                f->message);
    assert_true (strncmp (vd_error (), "x: ", 3) == 0);
  }
  /* A short buffer. */
  good_header (buf, sizeof buf);
  assert_int_equal (qcow2_parse_header ("x", buf, 50, MiB, &h), -1);
  assert_non_null (strstr (vd_error (), "too short"));
}

/* ---- the cache ------------------------------------------------------- */

static void
test_cache_is_bounded_and_writes_back (void **state)
{
  struct qcow2 s;
  uint8_t *t[5];
  size_t len, i;
  const uint8_t *d;

  (void) state;
  memset (&s, 0, sizeof s);
  s.io = vd_io_mem_new ("mem", NULL, 0, MiB, false);
  s.name = "mem";
  s.cluster_size = 512;
  assert_non_null (s.io);
  assert_int_equal (qcow2_cache_init (&s.l2c, "L2 table", 512, 4), 0);
  assert_int_equal (qcow2_cache_init (&s.rcc, "refcount block", 512, 4), 0);
  for (i = 0; i < 4; i++) {
    assert_int_equal (qcow2_cache_get (&s, &s.l2c, 512 * (i + 1), false, &t[i]),
                      0);
    memset (t[i], 0x10 + (int) i, 512);
    qcow2_cache_dirty (&s.l2c, t[i]);
  }
  /* All four pinned: no room for a fifth. */
  assert_int_equal (qcow2_cache_get (&s, &s.l2c, 512 * 5, false, &t[4]), -1);
  assert_non_null (strstr (vd_error (), "in use"));
  for (i = 0; i < 4; i++)
    qcow2_cache_put (&s.l2c, t[i]);
  /* Nothing written yet. */
  d = vd_io_mem_data (s.io, &len);
  assert_int_equal (len, 0);
  /* A fifth table evicts, and the dirty ones reach the file. */
  assert_int_equal (qcow2_cache_get (&s, &s.l2c, 512 * 5, false, &t[4]), 0);
  qcow2_cache_put (&s.l2c, t[4]);
  d = vd_io_mem_data (s.io, &len);
  assert_int_equal (len, 512 * 5);
  for (i = 0; i < 4; i++)
    assert_int_equal (d[512 * (i + 1) + 100], 0x10 + i);
  /* A hit returns the cached copy. */
  assert_int_equal (qcow2_cache_get (&s, &s.l2c, 512 * 5, true, &t[4]), 0);
  memset (t[4], 0x55, 512);
  qcow2_cache_dirty (&s.l2c, t[4]);
  qcow2_cache_put (&s.l2c, t[4]);
  /* A dropped table is forgotten, not written. */
  qcow2_cache_drop (&s.l2c, 512 * 5);
  assert_false (qcow2_cache_has_dirty (&s.l2c));
  assert_int_equal (qcow2_cache_write_dirty (&s, &s.l2c), 0);
  d = vd_io_mem_data (s.io, &len);
  assert_int_equal (len, 512 * 5);
  /* Never over the header. */
  assert_int_equal (qcow2_cache_get (&s, &s.l2c, 256, false, &t[0]), 0);
  qcow2_cache_dirty (&s.l2c, t[0]);
  qcow2_cache_put (&s.l2c, t[0]);
  assert_int_equal (qcow2_cache_write_dirty (&s, &s.l2c), -1);
  assert_non_null (strstr (vd_error (), "over the header"));
  qcow2_cache_free (&s.l2c);
  qcow2_cache_free (&s.rcc);
  vd_io_close (s.io);
}

/* ---- round trips ----------------------------------------------------- */

/* Every refcount equals the references counted from the tables. */
static void
assert_refcounts_exact (vd_image *img)
{
  struct qcow2 *s = img->priv;
  uint32_t *map;
  uint64_t n, c, rc;

  assert_int_equal (vd_flush (img), 0);
  assert_int_equal (qcow2_count_refs (s, true, &map, &n), 0);
  for (c = 0; c < n + 4 * s->rb_entries; c++) {
    assert_int_equal (qcow2_get_refcount (s, c, &rc), 0);
    if (rc != (c < n ? map[c] : 0))
      fail_msg ("cluster %" PRIu64 ": refcount %" PRIu64 ", references %u", c,
                rc, c < n ? map[c] : 0);
  }
  free (map);
}

static struct vd_io *
copy_io (vd_image *img)
{
  size_t len;
  const uint8_t *d = vd_io_mem_data (img->io, &len);
  return vd_io_mem_new ("copy.qcow2", d, len, 256 * MiB, false);
}

static void
fill (uint8_t *shadow, uint8_t *buf, uint64_t off, size_t len, int pat)
{
  memset (buf, pat, len);
  memcpy (shadow + off, buf, len);
}

static void
roundtrip (const char *options, uint64_t size)
{
  struct vd_opts o = { 0 };
  struct vd_io *io = vd_io_mem_new ("mem.qcow2", NULL, 0, 256 * MiB, false);
  uint64_t cs, coff;
  uint8_t *shadow = calloc (1, size + MiB), *buf = malloc (16 * MiB);
  uint8_t *back = malloc (size + MiB);
  vd_image *img, *img2;
  struct vd_extent e;

  assert_non_null (io);
  assert_int_equal (vd_opts_parse (&o, options), 0);
  assert_int_equal (vd_create_io (io, "mem.qcow2", "qcow2", size, &o), 0);
  vd_opts_free (&o);
  img = vd_open_io (io, "mem.qcow2", "qcow2", VD_OPEN_RDWR);
  assert_non_null (img);
  cs = vd_get_cluster_size (img);
  coff = ROUND_UP (5 * MiB, cs);
  assert_int_equal (vd_get_size (img), size);

  /* Unallocated reads as zeros. */
  assert_int_equal (vd_pread (img, back, size, 0), 0);
  assert_memory_equal (back, shadow, size);
  assert_int_equal (vd_block_status (img, 0, size, &e), 0);
  assert_false (e.flags & VD_EXT_ALLOCATED);

  fill (shadow, buf, 0, cs * 3 + 100, 0x11);
  assert_int_equal (vd_pwrite (img, buf, cs * 3 + 100, 0), 0);
  fill (shadow, buf, cs / 2, 1000, 0x22);
  assert_int_equal (vd_pwrite (img, buf, 1000, cs / 2), 0);
  fill (shadow, buf, MiB + 7, 2 * MiB, 0x33);
  assert_int_equal (vd_pwrite (img, buf, 2 * MiB, MiB + 7), 0);
  assert_int_equal (vd_block_status (img, MiB + cs, MiB, &e), 0);
  assert_true (e.flags & VD_EXT_DATA);
  assert_true (e.flags & VD_EXT_ALLOCATED);

  /* Zero: whole clusters become zero clusters, the ends zero bytes. */
  assert_int_equal (vd_zero (img, MiB + 100, cs * 4, VD_ZERO_MAY_UNMAP), 0);
  memset (shadow + MiB + 100, 0, cs * 4);
  assert_int_equal (vd_zero (img, 2 * MiB, cs * 2, 0), 0);
  memset (shadow + 2 * MiB, 0, cs * 2);

  /* Discard then zero (discarded data is unspecified). */
  assert_int_equal (vd_discard (img, 4 * MiB, cs * 3), 0);
  assert_int_equal (vd_zero (img, 4 * MiB, cs * 3, 0), 0);

  /* Compressed clusters, repeated and then overwritten in part. */
  if (vd_can_compress (img)) {
    fill (shadow, buf, coff, cs, 0x44);
    assert_int_equal (vd_pwrite_compressed (img, buf, cs, coff), 0);
    fill (shadow, buf, coff + cs, cs, 0x45);
    assert_int_equal (vd_pwrite_compressed (img, buf, cs, coff + cs), 0);
    assert_int_equal (vd_block_status (img, coff, cs, &e), 0);
    assert_true (e.flags & VD_EXT_DATA);
    assert_false (e.flags & VD_EXT_OFFSET_VALID);
    fill (shadow, buf, coff + 10, 20, 0x46);
    assert_int_equal (vd_pwrite (img, buf, 20, coff + 10), 0);
    /* Not a whole cluster: refused. */
    assert_int_equal (vd_pwrite_compressed (img, buf, cs / 2, 6 * MiB), -1);
  }

  assert_int_equal (vd_pread (img, back, size, 0), 0);
  assert_memory_equal (back, shadow, size);
  assert_refcounts_exact (img);

  /* Grow, and the new area reads as zeros. */
  assert_int_equal (vd_truncate (img, size + MiB, 0), 0);
  assert_int_equal (vd_get_size (img), size + MiB);
  fill (shadow, buf, size + 1000, 5000, 0x99);
  assert_int_equal (vd_pwrite (img, buf, 5000, size + 1000), 0);
  assert_int_equal (vd_pread (img, back, size + MiB, 0), 0);
  assert_memory_equal (back, shadow, size + MiB);
  assert_refcounts_exact (img);

  /* What is on "disk" reads the same when opened again. */
  img2 = vd_open_io (copy_io (img), "copy.qcow2", NULL, 0);
  assert_non_null (img2);
  assert_string_equal (vd_get_format (img2), "qcow2");
  assert_int_equal (vd_pread (img2, back, size + MiB, 0), 0);
  assert_memory_equal (back, shadow, size + MiB);
  assert_int_equal (vd_close (img2), 0);
  assert_int_equal (vd_close (img), 0);
  free (shadow);
  free (buf);
  free (back);
}

static void
test_roundtrip_v3 (void **state)
{
  (void) state;
  roundtrip ("cluster_size=65536", 8 * MiB);
}
static void
test_roundtrip_v2_small_clusters (void **state)
{
  (void) state;
  roundtrip ("compat=0.10,cluster_size=512", 8 * MiB);
}
static void
test_roundtrip_refcount_bits_1 (void **state)
{
  (void) state;
  roundtrip ("cluster_size=4k,refcount_bits=1", 8 * MiB);
}
static void
test_roundtrip_refcount_bits_64_zstd (void **state)
{
  (void) state;
  roundtrip ("cluster_size=512,refcount_bits=64,compression_type=zstd",
             8 * MiB);
}
static void
test_roundtrip_extended_l2 (void **state)
{
  (void) state;
  roundtrip ("extended_l2=on,cluster_size=32k", 8 * MiB);
}
static void
test_roundtrip_lazy_2m (void **state)
{
  (void) state;
  roundtrip ("lazy_refcounts=on,cluster_size=2M", 32 * MiB);
}

/* Lazy refcounts: a copy taken while writing has the dirty bit set; its
 * first read-write open repairs the refcounts. */
static void
test_dirty_image_is_repaired (void **state)
{
  struct vd_opts o = { 0 };
  struct vd_io *io = vd_io_mem_new ("lazy.qcow2", NULL, 0, 64 * MiB, false);
  uint8_t buf[4096], back[4096];
  vd_image *img, *crashed;
  struct qcow2 *s;
  uint8_t *blk;
  size_t len;

  (void) state;
  assert_int_equal (vd_opts_parse (&o, "lazy_refcounts=on,cluster_size=4k"), 0);
  assert_int_equal (vd_create_io (io, "lazy.qcow2", "qcow2", 4 * MiB, &o), 0);
  vd_opts_free (&o);
  img = vd_open_io (io, "lazy.qcow2", "qcow2", VD_OPEN_RDWR);
  assert_non_null (img);
  memset (buf, 0x5a, sizeof buf);
  assert_int_equal (vd_pwrite (img, buf, sizeof buf, MiB), 0);
  assert_int_equal (vd_flush (img), 0);
  /* The copy: dirty, and its refcount block wiped. */
  s = img->priv;
  {
    const uint8_t *d = vd_io_mem_data (img->io, &len);
    blk = malloc (len);
    memcpy (blk, d, len);
  }
  assert_true (blk[79] & 1);
  memset (blk + (s->rt[0] & QCOW2_RT_OFFSET_MASK), 0, 4096);
  crashed =
      vd_open_io (vd_io_mem_new ("crashed.qcow2", blk, len, 64 * MiB, false),
                  "crashed.qcow2", "qcow2", VD_OPEN_RDWR);
  free (blk);
  assert_non_null (crashed);
  assert_refcounts_exact (crashed);
  assert_int_equal (vd_pread (crashed, back, sizeof back, MiB), 0);
  assert_memory_equal (back, buf, sizeof back);
  assert_int_equal (vd_close (crashed), 0);
  assert_int_equal (vd_close (img), 0);
}

/* pwrite_compressed compresses outside the image lock: two threads may
 * call it at once. */
struct writer {
  vd_image *img;
  int first;
  int r;
};

static void *
write_clusters (void *arg)
{
  struct writer *w = arg;
  uint8_t buf[65536];
  int i;

  for (i = w->first; i < 64; i += 2) {
    memset (buf, i + 1, sizeof buf);
    memset (buf, 0, 100); /* not all one byte */
    if (vd_pwrite_compressed (w->img, buf, sizeof buf, (uint64_t) i * 65536)
        == -1)
      w->r = -1;
  }
  return NULL;
}

static void
test_parallel_compressed_writes (void **state)
{
  struct vd_io *io = vd_io_mem_new ("par.qcow2", NULL, 0, 64 * MiB, false);
  struct writer w[2];
  pthread_t th[2];
  uint8_t buf[65536];
  vd_image *img;
  int i;

  (void) state;
  assert_int_equal (vd_create_io (io, "par.qcow2", "qcow2", 4 * MiB, NULL), 0);
  img = vd_open_io (io, "par.qcow2", "qcow2", VD_OPEN_RDWR);
  assert_non_null (img);
  for (i = 0; i < 2; i++) {
    w[i].img = img;
    w[i].first = i;
    w[i].r = 0;
    assert_int_equal (pthread_create (&th[i], NULL, write_clusters, &w[i]), 0);
  }
  for (i = 0; i < 2; i++) {
    pthread_join (th[i], NULL);
    assert_int_equal (w[i].r, 0);
  }
  for (i = 0; i < 64; i++) {
    assert_int_equal (vd_pread (img, buf, sizeof buf, (uint64_t) i * 65536), 0);
    assert_int_equal (buf[99], 0);
    assert_int_equal (buf[100], i + 1);
    assert_int_equal (buf[65535], i + 1);
  }
  assert_refcounts_exact (img);
  assert_int_equal (vd_close (img), 0);
}

/* Open errors on the memory backend. */
static void
test_open_refusals (void **state)
{
  struct vd_io *io = vd_io_mem_new ("f.qcow2", NULL, 0, 64 * MiB, false);
  size_t len;
  uint8_t *d;
  vd_image *img;

  (void) state;
  assert_int_equal (vd_create_io (io, "f.qcow2", "qcow2", MiB, NULL), 0);
  {
    const uint8_t *src = vd_io_mem_data (io, &len);
    d = malloc (len);
    assert_non_null (d);
    memcpy (d, src, len);
  }
  vd_io_close (io);

  /* Feature bit 7, named in the image's feature table. */
  d[79] = 0x80;
  d[0x70 + 8 + 4 * 48 + 1] = 7; /* "extended L2 entries" entry → bit 7 */
  img = vd_open_io (vd_io_mem_new ("f.qcow2", d, len, len, true), "f.qcow2",
                    NULL, 0);
  assert_null (img);
  assert_non_null (strstr (vd_error (), "incompatible feature bit 7 "
                                        "(extended L2 entries) is set"));
  d[79] = 0;

  /* Read-only opens never write, even a dirty image. */
  d[79] = 1;
  {
    struct vd_io *ro = vd_io_mem_new ("f.qcow2", d, len, len, true);
    img = vd_open_io (ro, "f.qcow2", NULL, 0);
    assert_non_null (img);
    assert_int_equal (vd_close (img), 0);
  }
  free (d);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_rc_entries_every_width),
    cmocka_unit_test (test_rc_entries_layout),
    cmocka_unit_test (test_header_bad_fields),
    cmocka_unit_test (test_cache_is_bounded_and_writes_back),
    cmocka_unit_test (test_roundtrip_v3),
    cmocka_unit_test (test_roundtrip_v2_small_clusters),
    cmocka_unit_test (test_roundtrip_refcount_bits_1),
    cmocka_unit_test (test_roundtrip_refcount_bits_64_zstd),
    cmocka_unit_test (test_roundtrip_extended_l2),
    cmocka_unit_test (test_roundtrip_lazy_2m),
    cmocka_unit_test (test_dirty_image_is_repaired),
    cmocka_unit_test (test_parallel_compressed_writes),
    cmocka_unit_test (test_open_refusals),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
