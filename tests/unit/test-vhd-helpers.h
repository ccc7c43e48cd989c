/* Helpers for the vdi, vhdx and vpc unit tests: images made and opened on
 * the memory backend, byte-level edits of them, and the "this image is
 * refused with this message" check the bad-field tables use. */
#ifndef TEST_VHD_HELPERS_H
#define TEST_VHD_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include "vd-internal.h"
#include "vhd-util.h"

#define MiB (UINT64_C (1) << 20)
#define MEM_MAX (UINT64_C (1) << 30)

/* An image as bytes (malloc'd; caller frees). */
struct bytes {
  uint8_t *p;
  size_t len;
};

static inline struct bytes
take_bytes (struct vd_io *io)
{
  struct bytes b;
  const uint8_t *d = vd_io_mem_data (io, &b.len);

  b.p = malloc (b.len ? b.len : 1);
  assert_non_null (b.p);
  memcpy (b.p, d, b.len);
  return b;
}

/* Create FMT of SIZE with options OPTS ("" for none) in memory. */
static inline struct bytes
make_image (const char *fmt, uint64_t size, const char *opts)
{
  struct vd_io *io = vd_io_mem_new ("new", NULL, 0, MEM_MAX, false);
  struct vd_opts o = { 0 };
  struct bytes b;

  assert_non_null (io);
  assert_int_equal (vd_opts_parse (&o, opts), 0);
  if (vd_create_io (io, "new", fmt, size, &o) == -1)
    fail_msg ("create %s %s: %s", fmt, opts, vd_error ());
  vd_opts_free (&o);
  b = take_bytes (io);
  vd_io_close (io);
  return b;
}

static inline vd_image *
open_bytes (const struct bytes *b, const char *fmt, unsigned flags)
{
  struct vd_io *io = vd_io_mem_new ("disk.img", b->p, b->len, MEM_MAX,
                                    !(flags & VD_OPEN_RDWR));
  assert_non_null (io);
  return vd_open_io (io, "disk.img", fmt, flags | VD_OPEN_NO_BACKING);
}

/* Open read-write, run nothing, close, and keep the result in *b. */
static inline vd_image *
open_rw (struct bytes *b, const char *fmt)
{
  vd_image *img = open_bytes (b, fmt, VD_OPEN_RDWR);
  if (!img)
    fail_msg ("open: %s", vd_error ());
  return img;
}

/* Close IMG (opened by open_rw on *b) and replace *b with its bytes. */
static inline void
close_into (vd_image *img, struct bytes *b)
{
  struct vd_io *io = img->io;
  struct bytes nb;

  assert_int_equal (vd_flush (img), 0);
  nb = take_bytes (io);
  assert_int_equal (vd_close (img), 0);
  free (b->p);
  *b = nb;
}

/* The image must be refused, with a message naming the file and holding
 * WANT. */
static inline void
expect_refused (const struct bytes *b, const char *fmt, const char *want)
{
  vd_image *img = open_bytes (b, fmt, 0);

  if (img) {
    vd_close (img);
    fail_msg ("opened, but expected a refusal containing '%s'", want);
  }
  if (!strstr (vd_error (), want) || !strstr (vd_error (), "disk.img"))
    fail_msg ("message '%s' lacks '%s' or the file name", vd_error (), want);
}

static inline struct bytes
copy_bytes (const struct bytes *b)
{
  struct bytes c = { malloc (b->len ? b->len : 1), b->len };
  assert_non_null (c.p);
  memcpy (c.p, b->p, b->len);
  return c;
}

static inline void
write_pattern (vd_image *img, uint64_t off, size_t len, int byte)
{
  uint8_t *buf = malloc (len);

  assert_non_null (buf);
  memset (buf, byte, len);
  if (vd_pwrite (img, buf, len, off) == -1)
    fail_msg ("write %zu at %" PRIu64 ": %s", len, off, vd_error ());
  free (buf);
}

/* Does [off, off + len) read as BYTE? */
static inline bool
reads_as (vd_image *img, uint64_t off, size_t len, int byte)
{
  uint8_t *buf = malloc (len);
  size_t i;
  bool ok = true;

  assert_non_null (buf);
  if (vd_pread (img, buf, len, off) == -1)
    fail_msg ("read %zu at %" PRIu64 ": %s", len, off, vd_error ());
  for (i = 0; i < len; i++)
    if (buf[i] != byte)
      ok = false;
  free (buf);
  return ok;
}

/* vd_check's problem lines, kept for the tests to look at. */
static char check_lines[2048];

static inline void
collect_line (void *opaque, const char *msg)
{
  (void) opaque;
  strncat (check_lines, msg, sizeof check_lines - strlen (check_lines) - 2);
  strcat (check_lines, "\n");
}

static inline int
run_check (vd_image *img, struct vd_check_result *res, unsigned fix)
{
  memset (res, 0, sizeof *res);
  check_lines[0] = 0;
  res->report = collect_line;
  return vd_check (img, res, fix);
}

#endif
