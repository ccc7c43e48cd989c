/* Unit tests for the convert engine (lib/convert.c): zero-run detection,
 * the extent walk on a memory backend that has holes like a sparse file
 * (holes are never read, zero blocks are not written), concatenation,
 * targets that are not zero, progress, and the compression pipeline
 * through a fake compressing driver (in order, out of order, serial,
 * sequential-only targets). */
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

#include "convert.h"

#define KiB (UINT64_C (1) << 10)
#define MiB (UINT64_C (1) << 20)
#define PAGE 4096

/* ---- zero runs ------------------------------------------------------- */

struct runs_case {
  const char *name;
  const char *pattern; /* one char per 512 bytes: '0' zero, 'x' data */
  uint64_t off;        /* where the buffer lands in the target */
  uint64_t block;
  const char *expect; /* runs as "z:len d:len ...", lengths in sectors */
};

static const struct runs_case runs_cases[] = {
  { "all data", "xxxxxxxx", 0, 4096, "d:8" },
  { "all zero", "00000000", 0, 4096, "z:8" },
  { "zero block between data", "xxxxxxxx00000000xxxxxxxx", 0, 4096,
    "d:8 z:8 d:8" },
  { "zeros shorter than a block are data", "xxxx0000xxxxxxxx", 0, 4096,
    "d:16" },
  { "unaligned zeros spanning blocks stay data", "xxxx00000000xxxx", 0, 4096,
    "d:16" },
  { "partial first block that is zero", "0000xxxxxxxx", 2048, 4096, "z:4 d:8" },
  { "partial last block that is zero", "xxxxxxxx0000", 0, 4096, "d:8 z:4" },
  { "block of one sector", "x0x00x", 0, 512, "d:1 z:1 d:1 z:2 d:1" },
  { "block larger than the buffer", "00000000", 0, 65536, "z:8" },
  { "data anywhere in a large block", "0000000x", 0, 65536, "d:8" },
  { "neighbouring zero blocks merge", "0000000000000000xxxxxxxx", 0, 4096,
    "z:16 d:8" },
  { "odd block size", "xxx000000xxx", 0, 1536, "d:3 z:6 d:3" },
  { "empty buffer", "", 0, 4096, "" },
};

static void
format_runs (const struct vd_convert_run *r, size_t n, char *out, size_t len)
{
  size_t i;

  out[0] = 0;
  for (i = 0; i < n; i++)
    snprintf (out + strlen (out), len - strlen (out), "%s%c:%zu", i ? " " : "",
              r[i].zero ? 'z' : 'd', r[i].len / 512);
}

static void
test_zero_runs_table (void **state)
{
  size_t k;

  (void) state;
  for (k = 0; k < sizeof runs_cases / sizeof runs_cases[0]; k++) {
    const struct runs_case *c = &runs_cases[k];
    size_t len = strlen (c->pattern) * 512, i, n, total = 0;
    uint8_t *buf = calloc (1, len + 1);
    struct vd_convert_run *runs =
        calloc (vd_convert_max_runs (len, c->block), sizeof *runs);
    char got[256];

    assert_non_null (buf);
    assert_non_null (runs);
    for (i = 0; c->pattern[i]; i++)
      if (c->pattern[i] == 'x')
        buf[i * 512 + 100] = 0x42;
    n = vd_convert_zero_runs (buf, len, c->off, c->block, runs);
    assert_true (n <= vd_convert_max_runs (len, c->block));
    format_runs (runs, n, got, sizeof got);
    if (strcmp (got, c->expect) != 0)
      fail_msg ("%s: got '%s', expected '%s'", c->name, got, c->expect);
    /* Runs tile the buffer and alternate. */
    for (i = 0; i < n; i++) {
      assert_int_equal (runs[i].off, total);
      total += runs[i].len;
      if (i > 0)
        assert_true (runs[i].zero != runs[i - 1].zero);
    }
    assert_int_equal (total, len);
    free (buf);
    free (runs);
  }
}

static void
test_zero_runs_large_buffer_many_blocks (void **state)
{
  size_t len = 2 * MiB, n, i;
  uint8_t *buf = calloc (1, len);
  struct vd_convert_run *runs =
      calloc (vd_convert_max_runs (len, 512), sizeof *runs);

  (void) state;
  /* Every other sector is data: the worst case for the run count. */
  for (i = 0; i < len; i += 1024)
    buf[i] = 1;
  n = vd_convert_zero_runs (buf, len, 0, 512, runs);
  assert_int_equal (n, len / 512);
  assert_true (n <= vd_convert_max_runs (len, 512));
  free (buf);
  free (runs);
}

/* ---- a memory backend with holes ------------------------------------ */

/* The source backend: memory whose pages marked in hole_map are holes,
 * as SEEK_DATA/SEEK_HOLE would report on a sparse file.  Reads that touch
 * a hole are counted: the walk must never read them. */
static const struct vd_io_ops *mem_ops;
static struct vd_io_ops sparse_ops;
static uint8_t *hole_map;
static size_t hole_pages;
static uint64_t hole_reads, bytes_read;

static int
sparse_pread (struct vd_io *io, void *buf, size_t count, uint64_t offset)
{
  uint64_t p;

  for (p = offset / PAGE; p * PAGE < offset + count && p < hole_pages; p++)
    if (hole_map[p])
      hole_reads++;
  bytes_read += count;
  return mem_ops->pread (io, buf, count, offset);
}

static int
sparse_extent (struct vd_io *io, uint64_t offset, uint64_t count, bool *is_data,
               uint64_t *len)
{
  uint64_t p = offset / PAGE, end = offset + count, o;
  bool hole;

  (void) io;
  hole = p < hole_pages && hole_map[p];
  for (o = offset; o < end;) {
    uint64_t next = (o / PAGE + 1) * PAGE;
    uint64_t q = o / PAGE;
    if ((q < hole_pages && hole_map[q]) != hole)
      break;
    o = MIN (next, end);
  }
  *is_data = !hole;
  *len = o - offset;
  return 0;
}

/* The target backend: memory that counts bytes written and zeroed
 * (zero ranges or punched holes). */
static struct vd_io_ops count_ops;
static uint64_t bytes_written, bytes_zeroed;

static int
count_pwrite (struct vd_io *io, const void *buf, size_t count, uint64_t offset)
{
  bytes_written += count;
  return mem_ops->pwrite (io, buf, count, offset);
}

static int
count_zero (struct vd_io *io, uint64_t offset, uint64_t count)
{
  bytes_zeroed += count;
  return mem_ops->zero (io, offset, count);
}

static int
count_punch (struct vd_io *io, uint64_t offset, uint64_t count)
{
  bytes_zeroed += count;
  return mem_ops->punch (io, offset, count);
}

static void
reset_counters (void)
{
  hole_reads = bytes_read = bytes_written = bytes_zeroed = 0;
}

/* A deterministic source of SIZE bytes: pages are holes, zero-filled
 * data, or data, by a fixed pattern. */
static uint8_t *
make_source (size_t size, uint64_t *data_pages, uint64_t *nonzero_pages)
{
  uint8_t *d = calloc (1, size);
  size_t p, n = size / PAGE;
  uint32_t x = 12345;

  assert_non_null (d);
  free (hole_map);
  hole_map = calloc (1, n);
  assert_non_null (hole_map);
  hole_pages = n;
  *data_pages = *nonzero_pages = 0;
  for (p = 0; p < n; p++) {
    x = x * 1103515245 + 12345;
    switch ((x >> 16) % 5) {
    case 0:
    case 1: hole_map[p] = 1; break; /* a hole */
    case 2: (*data_pages)++; break; /* data that is zeros */
    default:                        /* data */
      memset (d + p * PAGE, (int) (p % 250) + 1, PAGE);
      (*data_pages)++;
      (*nonzero_pages)++;
    }
  }
  return d;
}

static vd_image *
open_source (const uint8_t *data, size_t size)
{
  struct vd_io *io = vd_io_mem_new ("src.raw", data, size, size, true);
  vd_image *img;

  assert_non_null (io);
  mem_ops = io->ops;
  sparse_ops = *io->ops;
  sparse_ops.pread = sparse_pread;
  sparse_ops.extent = sparse_extent;
  io->ops = &sparse_ops;
  img = vd_open_io (io, "src.raw", "raw", 0);
  assert_non_null (img);
  return img;
}

static vd_image *
open_target (size_t size, int fill)
{
  uint8_t *d = malloc (size);
  struct vd_io *io;
  vd_image *img;

  assert_non_null (d);
  memset (d, fill, size);
  io = vd_io_mem_new ("dst.raw", d, size, size, false);
  free (d);
  assert_non_null (io);
  mem_ops = io->ops;
  count_ops = *io->ops;
  count_ops.pwrite = count_pwrite;
  count_ops.zero = count_zero;
  count_ops.punch = count_punch;
  io->ops = &count_ops;
  img = vd_open_io (io, "dst.raw", "raw", VD_OPEN_RDWR);
  assert_non_null (img);
  return img;
}

static void
assert_target_equals (vd_image *dst, const uint8_t *expect, size_t size)
{
  size_t len;
  const uint8_t *got = vd_io_mem_data (dst->io, &len);

  assert_true (len >= size);
  assert_memory_equal (got, expect, size);
}

static struct vd_convert_params
params (bool zero_init)
{
  struct vd_convert_params p;

  memset (&p, 0, sizeof p);
  p.sparse_size = 4096;
  p.threads = 1;
  p.zero_init = zero_init;
  return p;
}

static void
test_walk_reads_no_hole_and_writes_no_zero_block (void **state)
{
  size_t size = 8 * MiB;
  uint64_t data_pages, nonzero_pages;
  uint8_t *d = make_source (size, &data_pages, &nonzero_pages);
  vd_image *src = open_source (d, size), *dst = open_target (size, 0);
  struct vd_convert_params p = params (true);

  (void) state;
  reset_counters ();
  assert_int_equal (vd_convert_images (&src, 1, dst, &p), 0);
  assert_target_equals (dst, d, size);
  assert_int_equal (hole_reads, 0);
  assert_int_equal (bytes_read, data_pages * PAGE);
  /* Zero-filled data pages are left sparse on a zero target. */
  assert_int_equal (bytes_written, nonzero_pages * PAGE);
  assert_int_equal (bytes_zeroed, 0);
  vd_close (src);
  vd_close (dst);
  free (d);
}

static void
test_walk_on_a_target_that_is_not_zero (void **state)
{
  size_t size = 4 * MiB;
  uint64_t data_pages, nonzero_pages;
  uint8_t *d = make_source (size, &data_pages, &nonzero_pages);
  vd_image *src = open_source (d, size), *dst = open_target (size, 0xAA);
  struct vd_convert_params p = params (false);

  (void) state;
  reset_counters ();
  assert_int_equal (vd_convert_images (&src, 1, dst, &p), 0);
  assert_target_equals (dst, d, size);
  assert_int_equal (hole_reads, 0);
  /* Everything that is not written is zeroed. */
  assert_true (bytes_zeroed > 0);
  assert_true (bytes_written + bytes_zeroed >= size);
  vd_close (src);
  vd_close (dst);
  free (d);
}

static void
test_no_sparse_writes_every_byte (void **state)
{
  size_t size = 2 * MiB;
  uint64_t data_pages, nonzero_pages;
  uint8_t *d = make_source (size, &data_pages, &nonzero_pages);
  vd_image *src = open_source (d, size), *dst = open_target (size, 0);
  struct vd_convert_params p = params (true);

  (void) state;
  p.flags = VD_CONVERT_NO_SPARSE;
  reset_counters ();
  assert_int_equal (vd_convert_images (&src, 1, dst, &p), 0);
  assert_target_equals (dst, d, size);
  assert_int_equal (bytes_written, size);
  assert_int_equal (hole_reads, 0); /* zeros are written, not read */
  vd_close (src);
  vd_close (dst);
  free (d);
}

static void
test_larger_sparse_size_leaves_only_whole_zero_blocks (void **state)
{
  size_t size = 4 * MiB;
  uint64_t data_pages, nonzero_pages, p64, expect = 0;
  uint8_t *d = make_source (size, &data_pages, &nonzero_pages);
  vd_image *src = open_source (d, size), *dst = open_target (size, 0);
  struct vd_convert_params p = params (true);

  (void) state;
  p.sparse_size = 64 * KiB;
  reset_counters ();
  assert_int_equal (vd_convert_images (&src, 1, dst, &p), 0);
  assert_target_equals (dst, d, size);
  /* Written: the data of each 64 KiB block that is not all zeros,
   * cut at holes (holes are never written). */
  for (p64 = 0; p64 < size / (64 * KiB); p64++) {
    size_t q, nz = 0, data = 0;
    for (q = p64 * 16; q < p64 * 16 + 16; q++) {
      if (!hole_map[q]) {
        data++;
        if (!vd_is_zero (d + q * PAGE, PAGE))
          nz++;
      }
    }
    if (nz)
      expect += data * PAGE;
  }
  /* Zero pages inside a data block are written too, except where a hole
   * cuts the extent (a zero page next to a hole is a partial block). */
  assert_true (bytes_written >= nonzero_pages * PAGE);
  assert_true (bytes_written <= expect);
  vd_close (src);
  vd_close (dst);
  free (d);
}

static void
test_sources_are_concatenated (void **state)
{
  static const size_t sizes[] = { 3 * MiB, 0, 512 * 3, 1 * MiB };
  vd_image *src[4];
  uint8_t *all, *parts[4];
  size_t total = 0, i, at = 0;
  vd_image *dst;
  struct vd_convert_params p = params (true);

  (void) state;
  for (i = 0; i < 4; i++)
    total += sizes[i];
  all = calloc (1, total);
  assert_non_null (all);
  for (i = 0; i < 4; i++) {
    uint64_t dp, nz;
    size_t k;
    /* make_source works in whole pages; trim to the size. */
    parts[i] = make_source (ROUND_UP (sizes[i], PAGE) + PAGE, &dp, &nz);
    for (k = 0; k < sizes[i]; k++)
      parts[i][k] ^= (uint8_t) (i + 1) * (k % 7 == 0);
    memset (hole_map, 0, hole_pages); /* no holes across several sources */
    src[i] = open_source (parts[i], sizes[i]);
    memcpy (all + at, parts[i], sizes[i]);
    at += sizes[i];
  }
  dst = open_target (total, 0);
  assert_int_equal (vd_convert_images (src, 4, dst, &p), 0);
  assert_target_equals (dst, all, total);
  for (i = 0; i < 4; i++) {
    vd_close (src[i]);
    free (parts[i]);
  }
  vd_close (dst);
  free (all);
}

static void
test_target_smaller_than_sources_is_refused (void **state)
{
  uint64_t dp, nz;
  uint8_t *d = make_source (MiB, &dp, &nz);
  vd_image *src = open_source (d, MiB), *dst = open_target (MiB - 512, 0);
  struct vd_convert_params p = params (true);

  (void) state;
  assert_int_equal (vd_convert_images (&src, 1, dst, &p), -1);
  assert_non_null (strstr (vd_error (), "dst.raw"));
  assert_non_null (strstr (vd_error (), "smaller"));
  vd_close (src);
  vd_close (dst);
  free (d);
}

static uint64_t prog_last, prog_total, prog_calls;
static bool prog_monotonic;

static void
record_progress (void *opaque, uint64_t done, uint64_t total)
{
  (void) opaque;
  if (done < prog_last || done > total)
    prog_monotonic = false;
  prog_last = done;
  prog_total = total;
  prog_calls++;
}

static void
test_progress_counts_data_only (void **state)
{
  size_t size = 8 * MiB;
  uint64_t data_pages, nonzero_pages;
  uint8_t *d = make_source (size, &data_pages, &nonzero_pages);
  vd_image *src = open_source (d, size), *dst = open_target (size, 0);
  struct vd_convert_params p = params (true);

  (void) state;
  p.progress = record_progress;
  prog_last = prog_total = prog_calls = 0;
  prog_monotonic = true;
  assert_int_equal (vd_convert_images (&src, 1, dst, &p), 0);
  assert_true (prog_monotonic);
  assert_true (prog_calls >= 2);
  assert_int_equal (prog_total, data_pages * PAGE); /* work, not size */
  assert_int_equal (prog_last, prog_total);
  vd_close (src);
  vd_close (dst);
  free (d);
}

/* ---- a fake compressing driver ------------------------------------- */

/* raw, with whole-cluster compressed writes.  "Compression" reverses the
 * bytes and prefixes a tag, so a payload written without decompressing
 * would show; clusters starting with 0xFF "do not compress" (stored
 * plain).  Every write is recorded to check the order. */
#define FAKE_CLUSTER (64 * 1024)
static struct vd_format_ops fake_ops;
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t fake_offsets[4096];
static size_t fake_nwrites, fake_plain, fake_compressed, fake_serial;
static bool fake_fail_at_half;

static size_t
fake_bound (vd_image *img, size_t count)
{
  (void) img;
  return count + 8;
}

static int
fake_compress (vd_image *img, const void *buf, size_t count, uint64_t offset,
               void *out, size_t *outlen)
{
  const uint8_t *b = buf;
  uint8_t *o = out;
  size_t i;

  (void) img;
  (void) offset;
  if (b[0] == 0xFF) {
    *outlen = 0;
    return 0;
  }
  memcpy (o, "FAKECMP!", 8);
  for (i = 0; i < count; i++)
    o[8 + i] = b[count - 1 - i];
  *outlen = count + 8;
  return 0;
}

static int
fake_record (vd_image *img, uint64_t offset)
{
  int r = 0;

  pthread_mutex_lock (&fake_lock);
  if (fake_nwrites < 4096)
    fake_offsets[fake_nwrites] = offset;
  fake_nwrites++;
  if (fake_fail_at_half && offset >= img->size / 2) {
    vd_set_error (EIO, "%s: injected write error at %" PRIu64, img->filename,
                  offset);
    r = -1;
  }
  pthread_mutex_unlock (&fake_lock);
  return r;
}

static int
fake_precompressed (vd_image *img, const void *buf, size_t count,
                    uint64_t offset, const void *data, size_t len)
{
  const uint8_t *d = data;
  uint8_t *plain;
  size_t i;
  int r;

  if (fake_record (img, offset) == -1)
    return -1;
  if (len == 0) {
    fake_plain++;
    return vd_format_raw.pwrite (img, buf, count, offset);
  }
  assert_int_equal (len, count + 8);
  assert_memory_equal (d, "FAKECMP!", 8);
  plain = malloc (count);
  assert_non_null (plain);
  for (i = 0; i < count; i++)
    plain[i] = d[8 + count - 1 - i];
  fake_compressed++;
  r = vd_format_raw.pwrite (img, plain, count, offset);
  free (plain);
  return r;
}

static int
fake_pwrite_compressed (vd_image *img, const void *buf, size_t count,
                        uint64_t offset)
{
  if (fake_record (img, offset) == -1)
    return -1;
  fake_serial++;
  return vd_format_raw.pwrite (img, buf, count, offset);
}

/* Turn an open raw target into the fake format. */
static void
make_fake (vd_image *img, bool split, bool sequential)
{
  fake_ops = vd_format_raw;
  fake_ops.name = "fake";
  fake_ops.pwrite_compressed = fake_pwrite_compressed;
  if (split) {
    fake_ops.compress_bound = fake_bound;
    fake_ops.compress = fake_compress;
    fake_ops.pwrite_precompressed = fake_precompressed;
  }
  img->fmt = &fake_ops;
  img->cluster_size = FAKE_CLUSTER;
  img->sequential_only = sequential;
  fake_nwrites = fake_plain = fake_compressed = fake_serial = 0;
  fake_fail_at_half = false;
}

/* A source whose non-zero clusters are distinct, some starting 0xFF. */
static uint8_t *
make_cluster_source (size_t size, size_t *nonzero_clusters)
{
  uint8_t *d = calloc (1, size);
  size_t c, n = size / FAKE_CLUSTER;

  assert_non_null (d);
  *nonzero_clusters = 0;
  free (hole_map);
  hole_pages = size / PAGE;
  hole_map = calloc (1, hole_pages);
  assert_non_null (hole_map);
  for (c = 0; c < n; c++) {
    uint8_t *p = d + c * FAKE_CLUSTER;
    size_t k;
    switch (c % 7) {
    case 0: break; /* zeros, data */
    case 1:        /* a hole */
      memset (hole_map + c * (FAKE_CLUSTER / PAGE), 1, FAKE_CLUSTER / PAGE);
      break;
    case 2: /* half a hole: the cluster is read whole */
      memset (hole_map + c * (FAKE_CLUSTER / PAGE), 1, FAKE_CLUSTER / PAGE / 2);
      memset (p + FAKE_CLUSTER / 2, (int) c, FAKE_CLUSTER / 2);
      (*nonzero_clusters)++;
      break;
    case 3:
      p[0] = 0xFF;
      memset (p + 1, 0x11, 100);
      (*nonzero_clusters)++;
      break;
    default:
      for (k = 0; k < FAKE_CLUSTER; k++)
        p[k] = (uint8_t) (k * 7 + c);
      (*nonzero_clusters)++;
    }
  }
  return d;
}

static void
run_fake (bool split, bool sequential, unsigned threads, unsigned flags)
{
  size_t size = 6 * MiB + 3 * FAKE_CLUSTER, nonzero, i, half_holes = 0;
  uint8_t *d = make_cluster_source (size, &nonzero);
  vd_image *src = open_source (d, size), *dst = open_target (size, 0);
  struct vd_convert_params p = params (true);

  make_fake (dst, split, sequential);
  p.threads = threads;
  p.flags = VD_CONVERT_COMPRESS | flags;
  reset_counters ();
  assert_int_equal (vd_convert_images (&src, 1, dst, &p), 0);
  assert_target_equals (dst, d, size);
  /* Clusters half hole, half data are read whole; whole holes never. */
  for (i = 0; i < size / FAKE_CLUSTER; i++)
    if (i % 7 == 2)
      half_holes++;
  assert_int_equal (hole_reads, half_holes * (FAKE_CLUSTER / PAGE / 2));
  /* Each non-zero cluster is written once, whole; zero clusters never. */
  assert_int_equal (fake_nwrites, nonzero);
  if (split) {
    assert_int_equal (fake_serial, 0);
    assert_true (fake_plain > 0);
    assert_int_equal (fake_plain + fake_compressed, nonzero);
  }
  else
    assert_int_equal (fake_serial, nonzero);
  for (i = 0; i < fake_nwrites; i++)
    assert_int_equal (fake_offsets[i] % FAKE_CLUSTER, 0);
  if (!(flags & VD_CONVERT_OUT_OF_ORDER) || sequential)
    for (i = 1; i < fake_nwrites; i++)
      assert_true (fake_offsets[i] > fake_offsets[i - 1]);
  vd_close (src);
  vd_close (dst);
  free (d);
}

static void
test_compressed_serial (void **state)
{
  (void) state;
  run_fake (true, false, 1, 0);
}

static void
test_compressed_threads_in_order (void **state)
{
  (void) state;
  run_fake (true, false, 4, 0);
}

static void
test_compressed_threads_out_of_order (void **state)
{
  size_t i;
  uint64_t seen = 0;

  (void) state;
  run_fake (true, false, 4, VD_CONVERT_OUT_OF_ORDER);
  /* Whatever the order, every cluster exactly once. */
  for (i = 0; i < fake_nwrites; i++) {
    size_t j;
    for (j = i + 1; j < fake_nwrites; j++)
      assert_true (fake_offsets[i] != fake_offsets[j]);
    seen++;
  }
  assert_true (seen > 0);
}

static void
test_compressed_driver_without_split (void **state)
{
  (void) state;
  run_fake (false, false, 4, 0);
}

static void
test_sequential_target_gets_increasing_writes (void **state)
{
  (void) state;
  /* -W is ignored for a target that must be written in order. */
  run_fake (true, true, 4, VD_CONVERT_OUT_OF_ORDER);
}

static void
test_compressed_write_error_stops_the_pipeline (void **state)
{
  size_t size = 4 * MiB, nonzero;
  uint8_t *d = make_cluster_source (size, &nonzero);
  vd_image *src = open_source (d, size), *dst = open_target (size, 0);
  struct vd_convert_params p = params (true);

  (void) state;
  make_fake (dst, true, false);
  fake_fail_at_half = true;
  p.threads = 4;
  p.flags = VD_CONVERT_COMPRESS;
  assert_int_equal (vd_convert_images (&src, 1, dst, &p), -1);
  assert_int_equal (vd_errno (), EIO);
  assert_non_null (strstr (vd_error (), "injected write error"));
  vd_close (src);
  vd_close (dst);
  free (d);
}

static void
test_compress_refused_by_a_format_that_cannot (void **state)
{
  uint64_t dp, nz;
  uint8_t *d = make_source (MiB, &dp, &nz);
  vd_image *src = open_source (d, MiB), *dst = open_target (MiB, 0);
  struct vd_convert_params p = params (true);

  (void) state;
  p.flags = VD_CONVERT_COMPRESS;
  assert_int_equal (vd_convert_images (&src, 1, dst, &p), -1);
  assert_int_equal (vd_errno (), ENOTSUP);
  assert_non_null (strstr (vd_error (), "compress"));
  vd_close (src);
  vd_close (dst);
  free (d);
}

/* The real qcow2 driver behind convert -c on two threads: clusters that
 * shrink are stored compressed, the one that does not is stored as it
 * is, zero clusters are left unallocated, and everything reads back. */
static void
test_compressed_into_qcow2 (void **state)
{
  size_t size = 4 * MiB + FAKE_CLUSTER, nonzero, i, n = size / FAKE_CLUSTER;
  size_t compressed = 0, plain = 0, unalloc = 0, zero_clusters = 0;
  uint8_t *d = make_cluster_source (size, &nonzero);
  uint8_t *back = malloc (size);
  struct vd_io *io = vd_io_mem_new ("dst.qcow2", NULL, 0, 64 * MiB, false);
  struct vd_opts o = { 0 };
  struct vd_convert_params p = params (true);
  struct vd_extent e;
  uint32_t x = 99;
  vd_image *src, *dst;
  size_t olen;

  (void) state;
  assert_non_null (back);
  assert_non_null (io);
  /* Cluster 4 (data) becomes random bytes: it does not compress. */
  for (i = 0; i < FAKE_CLUSTER; i++) {
    x = x * 1103515245 + 12345;
    d[4 * FAKE_CLUSTER + i] = (uint8_t) (x >> 16);
  }
  src = open_source (d, size);
  assert_int_equal (vd_opts_parse (&o, "cluster_size=65536"), 0);
  assert_int_equal (vd_create_io (io, "dst.qcow2", "qcow2", size, &o), 0);
  vd_opts_free (&o);
  dst = vd_open_io (io, "dst.qcow2", "qcow2", VD_OPEN_RDWR);
  assert_non_null (dst);
  assert_non_null (dst->fmt->compress);
  p.threads = 2;
  p.flags = VD_CONVERT_COMPRESS | VD_CONVERT_OUT_OF_ORDER;
  assert_int_equal (vd_convert_images (&src, 1, dst, &p), 0);
  assert_int_equal (vd_pread (dst, back, size, 0), 0);
  assert_memory_equal (back, d, size);
  for (i = 0; i < n; i++) {
    assert_int_equal (vd_block_status (dst, i * FAKE_CLUSTER, FAKE_CLUSTER, &e),
                      0);
    assert_int_equal (e.length, FAKE_CLUSTER);
    if (!(e.flags & VD_EXT_ALLOCATED))
      unalloc++;
    else if (e.flags & VD_EXT_OFFSET_VALID)
      plain++;
    else
      compressed++;
    if (vd_is_zero (d + i * FAKE_CLUSTER, FAKE_CLUSTER))
      zero_clusters++;
  }
  assert_int_equal (unalloc, zero_clusters);
  assert_int_equal (plain, 1);
  assert_int_equal (compressed, nonzero - 1);

  /* The split interface refuses what pwrite_compressed refuses. */
  olen = 0;
  assert_int_equal (dst->fmt->compress (dst, d, FAKE_CLUSTER, 512, back, &olen),
                    -1);
  assert_int_equal (vd_errno (), EINVAL);
  assert_int_equal (
      dst->fmt->pwrite_precompressed (dst, d, FAKE_CLUSTER, 0, d, FAKE_CLUSTER),
      -1);
  assert_int_equal (vd_errno (), EINVAL);
  assert_true (dst->fmt->compress_bound (dst, FAKE_CLUSTER) < FAKE_CLUSTER);
  vd_close (src);
  vd_close (dst);
  free (back);
  free (d);
}

static int
teardown_all (void **state)
{
  (void) state;
  free (hole_map);
  return 0;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_zero_runs_table),
    cmocka_unit_test (test_zero_runs_large_buffer_many_blocks),
    cmocka_unit_test (test_walk_reads_no_hole_and_writes_no_zero_block),
    cmocka_unit_test (test_walk_on_a_target_that_is_not_zero),
    cmocka_unit_test (test_no_sparse_writes_every_byte),
    cmocka_unit_test (test_larger_sparse_size_leaves_only_whole_zero_blocks),
    cmocka_unit_test (test_sources_are_concatenated),
    cmocka_unit_test (test_target_smaller_than_sources_is_refused),
    cmocka_unit_test (test_progress_counts_data_only),
    cmocka_unit_test (test_compressed_serial),
    cmocka_unit_test (test_compressed_threads_in_order),
    cmocka_unit_test (test_compressed_threads_out_of_order),
    cmocka_unit_test (test_compressed_driver_without_split),
    cmocka_unit_test (test_sequential_target_gets_increasing_writes),
    cmocka_unit_test (test_compressed_write_error_stops_the_pipeline),
    cmocka_unit_test (test_compress_refused_by_a_format_that_cannot),
    cmocka_unit_test (test_compressed_into_qcow2),
  };

  return cmocka_run_group_tests (tests, NULL, teardown_all);
}
