/* vdio: a test-only driver of libvd for the shell tests (the way qemu-io
 * drives qemu's block layer).  One operation per run:
 *
 *   vdio [-f FMT] [-F BACKING_FMT] write FILE OFFSET PATTERN LEN
 *   vdio [-f FMT] writec FILE OFFSET PATTERN LEN   (compressed clusters)
 *   vdio [-f FMT] read FILE OFFSET LEN > out       (raw bytes on stdout)
 *   vdio [-f FMT] dump FILE > out                  (the whole disk)
 *   vdio [-f FMT] zero FILE OFFSET LEN [unmap]
 *   vdio [-f FMT] discard FILE OFFSET LEN
 *   vdio [-f FMT] truncate FILE SIZE [shrink]
 *   vdio [-f FMT] map FILE                         (extents, one a line)
 *   vdio [-f FMT] load FILE RAW [compressed]       (RAW's bytes into FILE)
 *
 * PATTERN is a byte (0xNN) as in qemu-io's write -P.  Exit 0 on success,
 * 1 with the error on stderr.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vd.h"

static const char *fmt, *bfmt;

static uint64_t
num (const char *s)
{
  uint64_t v;

  if (vd_parse_size (s, &v) == -1) {
    fprintf (stderr, "vdio: %s\n", vd_error ());
    exit (1);
  }
  return v;
}

static vd_image *
open_image (const char *file, bool rw)
{
  vd_image *img = vd_open_ex (file, fmt, bfmt, rw ? VD_OPEN_RDWR : 0);

  if (!img) {
    fprintf (stderr, "vdio: %s\n", vd_error ());
    exit (1);
  }
  return img;
}

static int
fail (vd_image *img)
{
  fprintf (stderr, "vdio: %s\n", vd_error ());
  vd_close (img);
  return 1;
}

static int
finish (vd_image *img)
{
  if (vd_close (img) == -1) {
    fprintf (stderr, "vdio: %s\n", vd_error ());
    return 1;
  }
  return 0;
}

static int
do_write (vd_image *img, uint64_t off, int pattern, uint64_t len, bool comp)
{
  size_t chunk = 4 << 20;
  uint32_t cs = vd_get_cluster_size (img);
  uint8_t *buf;

  if (comp)
    chunk = cs;
  buf = malloc (chunk);
  if (!buf)
    return -1;
  memset (buf, pattern, chunk);
  while (len > 0) {
    size_t n = len < chunk ? len : chunk;
    int r = comp ? vd_pwrite_compressed (img, buf, n, off)
                 : vd_pwrite (img, buf, n, off);
    if (r == -1) {
      free (buf);
      return -1;
    }
    off += n;
    len -= n;
  }
  free (buf);
  return 0;
}

static int
do_read (vd_image *img, uint64_t off, uint64_t len)
{
  size_t chunk = 4 << 20;
  uint8_t *buf = malloc (chunk);

  if (!buf)
    return -1;
  while (len > 0) {
    size_t n = len < chunk ? len : chunk;
    if (vd_pread (img, buf, n, off) == -1 || fwrite (buf, 1, n, stdout) != n) {
      free (buf);
      return -1;
    }
    off += n;
    len -= n;
  }
  free (buf);
  return fflush (stdout) == 0 ? 0 : -1;
}

static int
do_map (vd_image *img)
{
  uint64_t off = 0, size = vd_get_size (img);

  while (off < size) {
    struct vd_extent e;
    if (vd_block_status (img, off, size - off, &e) == -1)
      return -1;
    printf ("%" PRIu64 " %" PRIu64 " %s%s%s depth=%d", e.offset, e.length,
            e.flags & VD_EXT_DATA ? "data" : "-",
            e.flags & VD_EXT_ZERO ? ",zero" : "",
            e.flags & VD_EXT_ALLOCATED ? ",allocated" : "", e.depth);
    if (e.flags & VD_EXT_OFFSET_VALID)
      printf (" host=%" PRIu64, e.host_offset);
    printf ("\n");
    off += e.length;
  }
  return 0;
}

/* Copy a raw file's bytes into the image (cluster by cluster when
 * compressed; all-zero pieces are skipped as a converter would). */
static int
do_load (vd_image *img, const char *raw, bool comp)
{
  FILE *fp = fopen (raw, "rb");
  uint32_t cs = vd_get_cluster_size (img);
  size_t chunk = comp ? cs : (size_t) 1 << 20, n;
  uint64_t off = 0, size = vd_get_size (img);
  uint8_t *buf = malloc (chunk);
  int r = -1;

  if (!fp || !buf) {
    vd_set_error (errno, "%s: %s", raw, strerror (errno));
    goto out;
  }
  while (off < size && (n = fread (buf, 1, chunk, fp)) > 0) {
    bool zero = true;
    size_t i;

    if (n > size - off)
      n = size - off;
    for (i = 0; i < n && zero; i++)
      zero = buf[i] == 0;
    if (!zero) {
      if (comp && vd_pwrite_compressed (img, buf, n, off) == -1)
        goto out;
      if (!comp && vd_pwrite (img, buf, n, off) == -1)
        goto out;
    }
    off += n;
  }
  r = 0;
out:
  if (fp)
    fclose (fp);
  free (buf);
  return r;
}

static void
usage (void)
{
  fprintf (stderr, "usage: vdio [-f FMT] [-F BACKING_FMT] OP FILE ARGS...\n");
  exit (1);
}

int
main (int argc, char **argv)
{
  const char *op, *file;
  vd_image *img;
  int c;

  while ((c = getopt (argc, argv, "+f:F:")) != -1) {
    if (c == 'f')
      fmt = optarg;
    else if (c == 'F')
      bfmt = optarg;
    else
      usage ();
  }
  if (argc - optind < 2)
    usage ();
  op = argv[optind];
  file = argv[optind + 1];
  argv += optind + 2;
  argc -= optind + 2;

  if ((strcmp (op, "write") == 0 || strcmp (op, "writec") == 0) && argc == 3) {
    img = open_image (file, true);
    if (do_write (img, num (argv[0]), (int) strtol (argv[1], NULL, 0),
                  num (argv[2]), op[5] == 'c')
        == -1)
      return fail (img);
    return finish (img);
  }
  if (strcmp (op, "read") == 0 && argc == 2) {
    img = open_image (file, false);
    if (do_read (img, num (argv[0]), num (argv[1])) == -1)
      return fail (img);
    return finish (img);
  }
  if (strcmp (op, "dump") == 0 && argc == 0) {
    img = open_image (file, false);
    if (do_read (img, 0, vd_get_size (img)) == -1)
      return fail (img);
    return finish (img);
  }
  if (strcmp (op, "zero") == 0 && (argc == 2 || argc == 3)) {
    img = open_image (file, true);
    if (vd_zero (img, num (argv[0]), num (argv[1]),
                 argc == 3 ? VD_ZERO_MAY_UNMAP : 0)
        == -1)
      return fail (img);
    return finish (img);
  }
  if (strcmp (op, "discard") == 0 && argc == 2) {
    img = open_image (file, true);
    if (vd_discard (img, num (argv[0]), num (argv[1])) == -1)
      return fail (img);
    return finish (img);
  }
  if (strcmp (op, "truncate") == 0 && (argc == 1 || argc == 2)) {
    img = open_image (file, true);
    if (vd_truncate (img, num (argv[0]), argc == 2 ? VD_TRUNCATE_SHRINK : 0)
        == -1)
      return fail (img);
    return finish (img);
  }
  if (strcmp (op, "map") == 0 && argc == 0) {
    img = open_image (file, false);
    if (do_map (img) == -1)
      return fail (img);
    return finish (img);
  }
  if (strcmp (op, "load") == 0 && (argc == 1 || argc == 2)) {
    img = open_image (file, true);
    if (do_load (img, argv[0], argc == 2) == -1)
      return fail (img);
    return finish (img);
  }
  usage ();
  return 1;
}
