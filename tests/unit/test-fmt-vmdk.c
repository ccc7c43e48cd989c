/* Unit tests for the VMDK driver on the memory backend: the layout create
 * writes, grain table lookups (reads, writes, zero grains, block status,
 * the redundant directory), the streamOptimized writer, header and table
 * checks against corrupt images, compressed grain checks, probing and
 * create options. */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "vmdk.h"

#define KiB (UINT64_C (1) << 10)
#define MiB (UINT64_C (1) << 20)
#define GiB (UINT64_C (1) << 30)

/* A new image on a memory backend; OPTS may be NULL. */
static struct vd_io *
mem_create (const char *opts, uint64_t size)
{
  struct vd_io *io = vd_io_mem_new ("t.vmdk", NULL, 0, 256 * MiB, false);
  struct vd_opts o = { 0 };

  assert_non_null (io);
  if (opts)
    assert_int_equal (vd_opts_parse (&o, opts), 0);
  if (vd_create_io (io, "t.vmdk", "vmdk", size, &o) == -1)
    fail_msg ("create: %s", vd_error ());
  vd_opts_free (&o);
  return io;
}

/* A copy of IO's bytes (caller frees), *LEN set. */
static uint8_t *
mem_copy (struct vd_io *io, size_t *len)
{
  const uint8_t *d = vd_io_mem_data (io, len);
  uint8_t *c = malloc (*len ? *len : 1);

  assert_non_null (c);
  memcpy (c, d, *len);
  return c;
}

static vd_image *
mem_open (const uint8_t *data, size_t len, unsigned flags)
{
  struct vd_io *io =
      vd_io_mem_new ("t.vmdk", data, len, 256 * MiB, !(flags & VD_OPEN_RDWR));
  assert_non_null (io);
  return vd_open_io (io, "t.vmdk", "vmdk", flags);
}

/* Close IMG (flushing) and open its bytes again. */
static vd_image *
reopen (vd_image *img, unsigned flags)
{
  size_t len;
  uint8_t *d;
  vd_image *r;

  assert_int_equal (vd_flush (img), 0);
  d = mem_copy (img->io, &len);
  assert_int_equal (vd_close (img), 0);
  r = mem_open (d, len, flags);
  free (d);
  return r;
}

static void
fill (uint8_t *b, size_t n, unsigned seed)
{
  size_t i;
  for (i = 0; i < n; i++)
    b[i] = (uint8_t) (i * 31 + seed * 7 + (i >> 9));
}

static void
test_create_layout_is_qemus (void **state)
{
  struct vd_io *io = mem_create (NULL, 10 * GiB);
  struct vmdk_header h;
  size_t len;
  const uint8_t *d = vd_io_mem_data (io, &len);
  const char *desc = (const char *) d + 512;

  (void) state;
  assert_memory_equal (d, "KDMV", 4);
  vmdk_header_decode (d, &h);
  assert_int_equal (h.version, 1);
  assert_int_equal (h.flags, VMDK_FLAG_NL_DETECT | VMDK_FLAG_RGD);
  assert_int_equal (h.capacity, 10 * GiB / 512);
  assert_int_equal (h.grain_size, 128);
  assert_int_equal (h.desc_offset, 1);
  assert_int_equal (h.desc_size, 20);
  assert_int_equal (h.gtes_per_gt, 512);
  /* 320 tables of 4 sectors behind a 3-sector directory, twice. */
  assert_int_equal (h.rgd_offset, 21);
  assert_int_equal (h.gd_offset, 21 + 3 + 320 * 4);
  assert_int_equal (h.overhead, ROUND_UP (1304 + 3 + 1280, 128));
  assert_int_equal (len, h.overhead * 512);
  assert_memory_equal (h.nl, "\n \r\n", 4);
  assert_int_equal (vmdk_le32 (d + 21 * 512), 24);
  assert_int_equal (vmdk_le32 (d + 21 * 512 + 4), 28);
  assert_int_equal (vmdk_le32 (d + 1304 * 512), 1307);
  assert_int_equal (vmdk_le32 (d + 1304 * 512 + 319 * 4), 1307 + 319 * 4);
  assert_int_equal (
      strncmp (desc, "# Disk DescriptorFile\nversion=1\nCID=", 36), 0);
  assert_non_null (strstr (desc, "parentCID=ffffffff\n"));
  assert_non_null (strstr (desc, "createType=\"monolithicSparse\"\n"));
  assert_non_null (strstr (desc, "RW 20971520 SPARSE \"t.vmdk\"\n"));
  assert_non_null (strstr (desc, "ddb.virtualHWVersion = \"4\"\n"));
  assert_non_null (strstr (desc, "ddb.geometry.cylinders = \"20805\"\n"));
  assert_non_null (strstr (desc, "ddb.geometry.heads = \"16\"\n"));
  assert_non_null (strstr (desc, "ddb.adapterType = \"ide\"\n"));
  assert_non_null (strstr (desc, "ddb.toolsVersion = \"2147483647\"\n"));
  vd_io_close (io);
}

static void
test_write_read_and_grain_tables (void **state)
{
  struct vd_io *io = mem_create (NULL, 64 * MiB);
  vd_image *img = vd_open_io (io, "t.vmdk", NULL, VD_OPEN_RDWR);
  static uint8_t a[300 * KiB], b[300 * KiB];
  struct vd_extent e;
  struct vmdk_priv *p;
  uint32_t gte, rgte;

  (void) state;
  assert_non_null (img);
  assert_string_equal (vd_get_format (img), "vmdk");
  assert_int_equal (vd_get_size (img), 64 * MiB);
  assert_int_equal (vd_get_cluster_size (img), 64 * KiB);
  fill (a, sizeof a, 1);
  /* Partial grains at both ends, whole grains between. */
  assert_int_equal (vd_pwrite (img, a, 200 * KiB, 1000), 0);
  /* Across a grain table boundary (32 MiB). */
  assert_int_equal (vd_pwrite (img, a, 300 * KiB, 32 * MiB - 100 * KiB), 0);
  /* Overwrite inside allocated grains. */
  assert_int_equal (vd_pwrite (img, a + 7, 5000, 3000), 0);
  assert_int_equal (vd_pread (img, b, 200 * KiB, 1000), 0);
  assert_memory_equal (b, a, 2000);
  assert_memory_equal (b + 2000, a + 7, 5000);
  assert_memory_equal (b + 7000, a + 7000, 200 * KiB - 7000);
  assert_int_equal (vd_pread (img, b, 1000, 0), 0);
  assert_true (vd_is_zero (b, 1000));

  img = reopen (img, 0);
  assert_non_null (img);
  assert_int_equal (vd_pread (img, b, 300 * KiB, 32 * MiB - 100 * KiB), 0);
  assert_memory_equal (b, a, 300 * KiB);
  assert_int_equal (vd_pread (img, b, 64 * KiB, 10 * MiB), 0);
  assert_true (vd_is_zero (b, 64 * KiB));

  /* Block status from the grain tables: 4 data grains, then a hole. */
  assert_int_equal (vd_block_status (img, 0, 64 * MiB, &e), 0);
  assert_int_equal (e.length, 256 * KiB);
  assert_int_equal (e.flags,
                    VD_EXT_DATA | VD_EXT_ALLOCATED | VD_EXT_OFFSET_VALID);
  assert_int_equal (e.depth, 0);
  assert_int_equal (vd_block_status (img, 256 * KiB, 64 * MiB, &e), 0);
  assert_int_equal (e.length, 32 * MiB - 128 * KiB - 256 * KiB);
  assert_int_equal (e.flags, VD_EXT_ZERO);
  assert_int_equal (vd_block_status (img, 32 * MiB - 128 * KiB, 64 * MiB, &e),
                    0);
  assert_int_equal (e.length, 384 * KiB);
  assert_true (e.flags & VD_EXT_DATA);
  assert_int_equal (vd_block_status (img, 32 * MiB + 256 * KiB, 64 * MiB, &e),
                    0);
  assert_int_equal (e.length, 32 * MiB - 256 * KiB);
  assert_false (e.flags & VD_EXT_ALLOCATED);

  /* Both directories point at tables with the same entries. */
  p = img->priv;
  {
    size_t len;
    const uint8_t *d = vd_io_mem_data (img->io, &len);
    uint32_t gd0 = vmdk_le32 (d + p->ext[0].h.gd_offset * 512);
    uint32_t rgd0 = vmdk_le32 (d + p->ext[0].h.rgd_offset * 512);
    assert_int_not_equal (gd0, rgd0);
    gte = vmdk_le32 (d + (uint64_t) gd0 * 512 + 4);
    rgte = vmdk_le32 (d + (uint64_t) rgd0 * 512 + 4);
    assert_int_equal (gte, rgte);
    assert_true (gte >= p->ext[0].h.overhead);
  }
  vd_close (img);
}

static void
test_zeroed_grains (void **state)
{
  struct vd_io *io = mem_create ("zeroed_grain=on", 4 * MiB);
  vd_image *img = vd_open_io (io, "t.vmdk", NULL, VD_OPEN_RDWR);
  static uint8_t a[256 * KiB], b[256 * KiB];
  struct vd_extent e;
  struct vmdk_priv *p;

  (void) state;
  assert_non_null (img);
  p = img->priv;
  assert_true (p->ext[0].zero_grain);
  assert_int_equal (p->ext[0].h.version, 2);
  fill (a, sizeof a, 3);
  assert_int_equal (vd_pwrite (img, a, sizeof a, 0), 0);
  /* A whole grain becomes a zero grain; a part is written as zeros. */
  assert_int_equal (vd_zero (img, 64 * KiB, 64 * KiB, 0), 0);
  assert_int_equal (vd_zero (img, 128 * KiB + 10, 100, 0), 0);
  assert_int_equal (vd_zero (img, 1 * MiB, 3 * MiB, 0), 0);
  img = reopen (img, 0);
  assert_int_equal (vd_pread (img, b, sizeof b, 0), 0);
  memset (a + 64 * KiB, 0, 64 * KiB);
  memset (a + 128 * KiB + 10, 0, 100);
  assert_memory_equal (a, b, sizeof a);
  assert_int_equal (vd_block_status (img, 64 * KiB, 4 * MiB, &e), 0);
  assert_int_equal (e.length, 64 * KiB);
  assert_int_equal (e.flags, VD_EXT_ZERO | VD_EXT_ALLOCATED);
  assert_int_equal (vd_block_status_top (img, 1 * MiB, 4 * MiB, &e), 0);
  assert_int_equal (e.flags, 0); /* never written: unallocated */
  vd_close (img);
}

/* Sector of grain GI's marker in a finished stream. */
static uint64_t
stream_grain_sector (const uint8_t *d, size_t len, uint64_t gi)
{
  struct vmdk_header f;
  uint32_t gt;

  vmdk_header_decode (d + len - 1024, &f);
  gt = vmdk_le32 (d + f.gd_offset * 512 + 4 * (gi / 512));
  assert_int_not_equal (gt, 0);
  return vmdk_le32 (d + (uint64_t) gt * 512 + 4 * (gi % 512));
}

static void
test_stream_writer (void **state)
{
  struct vd_io *io = mem_create ("subformat=streamOptimized", 64 * MiB);
  vd_image *img;
  static uint8_t a[192 * KiB], b[192 * KiB];
  struct vd_extent e;
  size_t len;
  const uint8_t *d;

  (void) state;
  /* An empty stream already ends with directory, footer and marker. */
  d = vd_io_mem_data (io, &len);
  assert_int_equal (len % 512, 0);
  assert_int_equal (vmdk_le32 (d + len - 1536 + 12), VMDK_MARKER_FOOTER);
  assert_memory_equal (d + len - 1024, "KDMV", 4);
  assert_int_equal (vmdk_le64 (d + 56), VMDK_GD_AT_END);

  img = vd_open_io (io, "t.vmdk", NULL, VD_OPEN_RDWR);
  assert_non_null (img);
  assert_true (vd_is_sequential_only (img));
  assert_true (vd_can_compress (img));
  fill (a, sizeof a, 5);
  /* Grain 0 in two pieces, with a flush between. */
  assert_int_equal (vd_pwrite (img, a, 1000, 0), 0);
  assert_int_equal (vd_flush (img), 0);
  assert_int_equal (vd_pread (img, b, 1000, 0), 0);
  assert_memory_equal (a, b, 1000);
  assert_int_equal (vd_pwrite (img, a + 1000, 64 * KiB - 1000, 1000), 0);
  /* Grains 1 and 2 whole (compressed writes), a zero grain, then the
   * second grain table. */
  assert_int_equal (
      vd_pwrite_compressed (img, a + 64 * KiB, 64 * KiB, 64 * KiB), 0);
  assert_int_equal (vd_pwrite (img, a + 128 * KiB, 64 * KiB, 128 * KiB), 0);
  assert_int_equal (vd_zero (img, 192 * KiB, 64 * KiB, 0), 0);
  assert_int_equal (vd_pwrite (img, a, 64 * KiB, 40 * MiB), 0);
  /* Going back is refused, whatever the layer. */
  assert_int_equal (vd_pwrite (img, a, 512, 10 * MiB), -1);
  assert_non_null (strstr (vd_error (), "t.vmdk: streamOptimized images are "
                                        "written once, front to back"));
  assert_int_equal (vd_pwrite (img, a, 512, 40 * MiB), -1);
  assert_non_null (strstr (vd_error (), "already written"));
  /* Zeros past the last grain are fine: they are zeros already. */
  assert_int_equal (vd_zero (img, 41 * MiB, 23 * MiB, 0), 0);

  img = reopen (img, 0);
  assert_non_null (img);
  assert_int_equal (vd_pread (img, b, sizeof b, 0), 0);
  assert_memory_equal (a, b, sizeof a);
  assert_int_equal (vd_pread (img, b, 64 * KiB, 40 * MiB), 0);
  assert_memory_equal (a, b, 64 * KiB);
  assert_int_equal (vd_block_status (img, 0, 64 * MiB, &e), 0);
  assert_int_equal (e.length, 192 * KiB);
  assert_int_equal (e.flags, VD_EXT_DATA | VD_EXT_ALLOCATED); /* no offset */
  assert_int_equal (vd_block_status_top (img, 192 * KiB, 64 * MiB, &e), 0);
  assert_int_equal (e.flags, 0);
  d = vd_io_mem_data (img->io, &len);
  /* Grain markers carry the grain's sector. */
  assert_int_equal (vmdk_le64 (d + stream_grain_sector (d, len, 640) * 512),
                    40 * MiB / 512);
  vd_close (img);
}

static void
test_stream_with_data_is_write_once (void **state)
{
  struct vd_io *io = mem_create ("subformat=streamOptimized", 1 * MiB);
  vd_image *img = vd_open_io (io, "t.vmdk", NULL, VD_OPEN_RDWR);
  uint8_t a[4096];
  size_t len;
  uint8_t *d;

  (void) state;
  memset (a, 0x42, sizeof a);
  assert_int_equal (vd_pwrite (img, a, sizeof a, 0), 0);
  assert_int_equal (vd_flush (img), 0);
  d = mem_copy (img->io, &len);
  vd_close (img);
  assert_null (mem_open (d, len, VD_OPEN_RDWR));
  assert_non_null (strstr (vd_error (), "already holds data"));
  img = mem_open (d, len, 0);
  assert_non_null (img);
  assert_false (vd_is_sequential_only (img));
  vd_close (img);
  free (d);
}

/* Corruptions of a valid monolithicSparse image with one grain written. */
struct corruption {
  uint64_t offset; /* UINT64_MAX - N: see below */
  unsigned width;  /* bytes */
  uint64_t value;
  bool at_open; /* refused by open (else by the first read) */
  const char *message;
};

#define AT_GD0 (UINT64_MAX - 1)  /* first entry of the directory */
#define AT_GTE0 (UINT64_MAX - 2) /* entry of grain 0 */

static const struct corruption corruptions[] = {
  { 4, 4, 4, true, "unsupported VMDK version 4" },
  { 4, 4, 0, true, "unsupported VMDK version 0" },
  { 20, 8, 3, true, "is not a power of two from 1 to 2048" },
  { 20, 8, 4096, true, "is not a power of two" },
  { 20, 8, 0, true, "is not a power of two" },
  { 44, 4, 0, true, "entries per grain table (must be 1 to 512)" },
  { 44, 4, 1024, true, "entries per grain table" },
  { 12, 8, UINT64_C (1) << 60, true, "is too large" },
  { 12, 8, UINT64_C (1) << 50, true, "grain directory would have" },
  { 77, 2, 7, true, "unknown compression algorithm 7" },
  { 56, 8, UINT64_C (1) << 40, true, "grain directory at sector" },
  { 56, 8, 0, true, "grain directory at offset 0" },
  { 64, 8, UINT64_C (1) << 33, true, "the file is truncated" },
  { 36, 8, UINT64_C (1) << 30, true, "descriptor at sector" },
  { 28, 8, UINT64_C (1) << 30, true, "descriptor at sector" },
  { 0, 4, 0x41414141, true, "data after a NUL byte" },
  { AT_GD0, 4, 0x7fffffff, false, "grain table 0 at offset" },
  { AT_GTE0, 4, 5, false, "points into the metadata (sector 5)" },
  { AT_GTE0, 4, 1, false, "points into the metadata (sector 1)" },
  { AT_GTE0, 4, 0x7fffffff, false, "lies past the end of the file" },
};

static void
test_corrupt_headers_and_tables (void **state)
{
  struct vd_io *io = mem_create (NULL, 8 * MiB);
  vd_image *img = vd_open_io (io, "t.vmdk", NULL, VD_OPEN_RDWR);
  uint8_t a[512], *d;
  size_t len, i;
  struct vmdk_header h;

  (void) state;
  memset (a, 0x17, sizeof a);
  assert_int_equal (vd_pwrite (img, a, sizeof a, 0), 0);
  assert_int_equal (vd_flush (img), 0);
  d = mem_copy (img->io, &len);
  vd_close (img);
  vmdk_header_decode (d, &h);

  for (i = 0; i < sizeof corruptions / sizeof corruptions[0]; i++) {
    const struct corruption *c = &corruptions[i];
    uint8_t *x = malloc (len);
    uint64_t off = c->offset;
    uint32_t gd0 = vmdk_le32 (d + h.gd_offset * 512);
    vd_image *bad;

    memcpy (x, d, len);
    if (off == AT_GD0)
      off = h.gd_offset * 512;
    else if (off == AT_GTE0)
      off = (uint64_t) gd0 * 512;
    if (c->width == 2) {
      x[off] = c->value;
      x[off + 1] = c->value >> 8;
    }
    else if (c->width == 4)
      vmdk_put_le32 (x + off, c->value);
    else
      vmdk_put_le64 (x + off, c->value);
    bad = mem_open (x, len, 0);
    if (c->at_open) {
      if (bad || !strstr (vd_error (), c->message)
          || strncmp (vd_error (), "t.vmdk: ", 8))
        fail_msg ("case %zu: open gave '%s', expected '%s'", i,
                  bad ? "success" : vd_error (), c->message);
    }
    else {
      uint8_t b[512];
      if (!bad)
        fail_msg ("case %zu: open failed: %s", i, vd_error ());
      if (vd_pread (bad, b, sizeof b, 0) != -1
          || !strstr (vd_error (), c->message))
        fail_msg ("case %zu: read gave '%s', expected '%s'", i, vd_error (),
                  c->message);
      vd_close (bad);
    }
    free (x);
  }

  /* Version 3 without compression: read-only only (changed block
   * tracking we would not keep up to date). */
  vmdk_put_le32 (d + 4, 3);
  assert_null (mem_open (d, len, VD_OPEN_RDWR));
  assert_non_null (strstr (vd_error (), "can only be opened read-only"));
  img = mem_open (d, len, 0);
  assert_non_null (img);
  vd_close (img);
  vmdk_put_le32 (d + 4, 1);

  /* The embedded descriptor must describe the header's capacity. */
  {
    char *desc = (char *) d + 512;
    char *p = strstr (desc, "RW 16384 SPARSE");
    assert_non_null (p);
    memcpy (p, "RW 16383", 8);
    assert_null (mem_open (d, len, 0));
    assert_non_null (strstr (vd_error (), "describes 16383 sectors, but the "
                                          "header holds 16384"));
    memcpy (p, "RW 16384", 8);
    p = strstr (desc, "parentCID");
    p[0] = '!';
    assert_null (mem_open (d, len, 0));
    assert_non_null (strstr (vd_error (), "descriptor line"));
  }
  free (d);
}

/* A one-grain stream whose grain 0 we then damage. */
static void
test_compressed_grain_checks (void **state)
{
  struct vd_io *io = mem_create ("subformat=streamOptimized", 1 * MiB);
  vd_image *img = vd_open_io (io, "t.vmdk", NULL, VD_OPEN_RDWR);
  static uint8_t a[64 * KiB], zeros[128 * KiB];
  uint8_t *d, *x, bomb[1024];
  uLongf blen = sizeof bomb;
  size_t len;
  uint64_t at;
  struct {
    const char *name;
    uint64_t lba;
    uint32_t size;
    const uint8_t *data;
    size_t n;
    const char *message;
  } cases[] = {
    { "zero size", 0, 0, NULL, 0, "has a bad size (0 bytes)" },
    { "huge size", 0, 0x7fffffff, NULL, 0, "has a bad size" },
    { "past the end", 0, 64 * KiB, NULL, 0, "lies past the end" },
    { "wrong lba", 128, 0, NULL, 0, "is marked for sector 128, but" },
    { "garbage", 0, 8, (const uint8_t *) "garbage!", 8, "is corrupt" },
    { "bomb", 0, 0, bomb, 0, "decompresses to more than the grain size" },
  };
  size_t i;

  (void) state;
  assert_int_equal (compress (bomb, &blen, zeros, sizeof zeros), Z_OK);
  cases[5].size = blen;
  cases[5].n = blen;
  fill (a, sizeof a, 9);
  assert_int_equal (vd_pwrite (img, a, sizeof a, 0), 0);
  assert_int_equal (vd_flush (img), 0);
  d = mem_copy (img->io, &len);
  vd_close (img);
  at = stream_grain_sector (d, len, 0) * 512;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t b[512];
    vd_image *bad;

    x = malloc (len);
    memcpy (x, d, len);
    if (cases[i].lba)
      vmdk_put_le64 (x + at, cases[i].lba);
    if (cases[i].size)
      vmdk_put_le32 (x + at + 8, cases[i].size);
    else if (!cases[i].lba)
      vmdk_put_le32 (x + at + 8, cases[i].n);
    if (cases[i].data)
      memcpy (x + at + 12, cases[i].data, cases[i].n);
    bad = mem_open (x, len, 0);
    assert_non_null (bad);
    if (vd_pread (bad, b, sizeof b, 0) != -1
        || !strstr (vd_error (), cases[i].message))
      fail_msg ("%s: read gave '%s', expected '%s'", cases[i].name, vd_error (),
                cases[i].message);
    vd_close (bad);
    free (x);
  }

  /* A stream cut short has no footer. */
  assert_null (mem_open (d, len - 512, 0));
  assert_non_null (strstr (vd_error (), "does not end with a footer"));
  assert_null (mem_open (d, len - 100, 0));
  assert_non_null (strstr (vd_error (), "whole number of sectors"));
  free (d);
}

static void
count_report (void *opaque, const char *msg)
{
  (*(int *) opaque)++;
  assert_non_null (strstr (msg, "ERROR: t.vmdk: "));
}

static void
test_check (void **state)
{
  struct vd_io *io = mem_create (NULL, 64 * MiB);
  vd_image *img = vd_open_io (io, "t.vmdk", NULL, VD_OPEN_RDWR);
  struct vd_check_result res;
  uint8_t a[512], *d;
  size_t len;
  uint32_t gd0;
  int reports = 0;

  (void) state;
  memset (a, 1, sizeof a);
  assert_int_equal (vd_pwrite (img, a, sizeof a, 0), 0);
  assert_int_equal (vd_pwrite (img, a, sizeof a, 40 * MiB), 0);
  memset (&res, 0, sizeof res);
  assert_int_equal (vd_check (img, &res, VD_CHECK_FIX_LEAKS), -1);
  assert_int_equal (vd_errno (), ENOTSUP);
  assert_int_equal (vd_flush (img), 0);
  d = mem_copy (img->io, &len);
  vd_close (img);

  img = mem_open (d, len, 0);
  memset (&res, 0, sizeof res);
  assert_int_equal (vd_check (img, &res, 0), 0);
  assert_int_equal (res.corruptions, 0);
  vd_close (img);
  /* Two bad entries, in two grain tables: both are found. */
  gd0 = vmdk_le32 (d + vmdk_le64 (d + 56) * 512);
  vmdk_put_le32 (d + (uint64_t) gd0 * 512, 0x7fffffff);
  vmdk_put_le32 (d + vmdk_le64 (d + 56) * 512 + 4, 0x7ffffff0);
  img = mem_open (d, len, 0);
  memset (&res, 0, sizeof res);
  res.report = count_report;
  res.opaque = &reports;
  assert_int_equal (vd_check (img, &res, 0), 0);
  assert_int_equal (res.corruptions, 2);
  assert_int_equal (reports, 2);
  vd_close (img);
  free (d);
}

static void
test_probe (void **state)
{
  static const struct {
    const char *text;
    const char *format;
  } cases[] = {
    { "KDMV\1\0\0\0", "vmdk" },
    { "COWD\1\0\0\0", "vmdk" },
    { "# Disk DescriptorFile\nversion=1\nCID=1\n", "vmdk" },
    { "\n   \r\n# c\nversion=3\r\nx", "vmdk" },
    { "version=4\n", "raw" },
    { "version=1", "raw" },
    { "  x\nversion=1\n", "raw" },
    { "hello", "raw" },
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct vd_format_ops *f =
        vd_probe_buffer ((const uint8_t *) cases[i].text,
                         strlen (cases[i].text) + (i < 2 ? 4 : 0), NULL);
    if (strcmp (f->name, cases[i].format) != 0)
      fail_msg ("case %zu probed as %s", i, f->name);
  }
}

static void
test_create_options (void **state)
{
  static const struct {
    const char *opts;
    const char *message;
  } bad[] = {
    { "adapter_type=scsi", "invalid adapter_type 'scsi'" },
    { "subformat=sparse", "invalid subformat 'sparse'" },
    { "compat6=on,hwversion=7", "compat6 cannot be enabled with hwversion" },
    { "compat6=maybe", "compat6" },
    { "subformat=monolithicFlat,zeroed_grain=on", "cannot have zeroed grains" },
    { "subformat=twoGbMaxExtentFlat,backing_file=b.vmdk",
      "cannot have a backing file" },
    { "backing_fmt=qcow2", "backing_fmt must be 'vmdk'" },
    { "hwversion=7\"\nx=\"y", "may not contain quotes" },
    { "toolsversion=", "is empty" },
    { "preallocation=full", "invalid option 'preallocation'" },
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct vd_io *io = vd_io_mem_new ("t.vmdk", NULL, 0, 16 * MiB, false);
    struct vd_opts o = { 0 };
    assert_int_equal (vd_opts_parse (&o, bad[i].opts), 0);
    if (vd_create_io (io, "t.vmdk", "vmdk", MiB, &o) != -1
        || !strstr (vd_error (), bad[i].message))
      fail_msg ("'%s' gave '%s'", bad[i].opts, vd_error ());
    vd_opts_free (&o);
    vd_io_close (io);
  }

  {
    struct vd_io *io = mem_create (
        "adapter_type=lsilogic,hwversion=7,toolsversion=9", 10 * GiB);
    size_t len;
    const char *desc = (const char *) vd_io_mem_data (io, &len) + 512;
    assert_non_null (strstr (desc, "ddb.adapterType = \"lsilogic\"\n"));
    assert_non_null (strstr (desc, "ddb.geometry.heads = \"255\"\n"));
    assert_non_null (strstr (desc, "ddb.geometry.cylinders = \"1305\"\n"));
    assert_non_null (strstr (desc, "ddb.virtualHWVersion = \"7\"\n"));
    assert_non_null (strstr (desc, "ddb.toolsVersion = \"9\"\n"));
    vd_io_close (io);
    io = mem_create ("compat6", MiB);
    desc = (const char *) vd_io_mem_data (io, &len) + 512;
    assert_non_null (strstr (desc, "ddb.virtualHWVersion = \"6\"\n"));
    vd_io_close (io);
  }
  assert_string_equal (vd_format_create_opt_default ("vmdk", "compat6"), "off");
  assert_string_equal (vd_format_create_opt_default ("vmdk", "hwversion"),
                       "undefined");
  assert_null (vd_format_create_opt_default ("vmdk", "subformat"));
  assert_null (vd_format_create_opt_default ("raw", "preallocation"));
}

static void
test_zero_size_and_odd_sizes (void **state)
{
  static const uint64_t sizes[] = { 0, 512, 1000, 64 * KiB + 512 };
  static const char *const subs[] = { "subformat=monolithicSparse",
                                      "subformat=streamOptimized" };
  size_t i, j;

  (void) state;
  for (j = 0; j < 2; j++) {
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      struct vd_io *io = mem_create (subs[j], sizes[i]);
      vd_image *img = vd_open_io (io, "t.vmdk", NULL, VD_OPEN_RDWR);
      uint64_t size = ROUND_UP (sizes[i], 512);
      uint8_t b[512];
      if (!img)
        fail_msg ("%s %" PRIu64 ": %s", subs[j], sizes[i], vd_error ());
      assert_int_equal (vd_get_size (img), size);
      if (size) {
        memset (b, 0x61, sizeof b);
        assert_int_equal (vd_pwrite (img, b, sizeof b, size - 512), 0);
        img = reopen (img, 0);
        memset (b, 0, sizeof b);
        assert_int_equal (vd_pread (img, b, sizeof b, size - 512), 0);
        assert_int_equal (b[0], 0x61);
        assert_int_equal (b[511], 0x61);
      }
      vd_close (img);
    }
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_create_layout_is_qemus),
    cmocka_unit_test (test_write_read_and_grain_tables),
    cmocka_unit_test (test_zeroed_grains),
    cmocka_unit_test (test_stream_writer),
    cmocka_unit_test (test_stream_with_data_is_write_once),
    cmocka_unit_test (test_corrupt_headers_and_tables),
    cmocka_unit_test (test_compressed_grain_checks),
    cmocka_unit_test (test_check),
    cmocka_unit_test (test_probe),
    cmocka_unit_test (test_create_options),
    cmocka_unit_test (test_zero_size_and_odd_sizes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
