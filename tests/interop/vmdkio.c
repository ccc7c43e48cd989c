/* vmdkio: a test-only driver of libvd for the VMDK shell tests (until
 * vd-img convert exists).  Runs a list of operations on one image:
 *
 *   vmdkio [-f FMT] IMAGE OP [ARGS] [OP [ARGS]] ...
 *     write OFF LEN BYTE     write LEN bytes of value BYTE at OFF
 *     zero OFF LEN           make the range read as zeros (vd_zero)
 *     read OFF LEN           print the range's bytes on stdout
 *     dump                   print the whole virtual disk on stdout
 *     load RAWFILE           copy a raw file in, front to back, skipping
 *                            holes and all-zero blocks (a stand-in for
 *                            convert that suits streamOptimized), one
 *                            grain-sized write at a time
 *     compare RAWFILE        compare with a raw file (exit 1 if they
 *                            differ), reading only what may hold data
 *     map                    print "OFFSET LENGTH FLAGS" per extent
 *     size                   print the virtual size
 *
 * Sizes take suffixes (vd_parse_size).  The image is opened read-write
 * only when an operation writes.  Exit 1 with libvd's message on error.
 */
#include <config.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vd.h"

static uint64_t
size_arg (const char *s)
{
  uint64_t v;

  if (vd_parse_size (s, &v) == -1) {
    fprintf (stderr, "vmdkio: %s\n", vd_error ());
    exit (2);
  }
  return v;
}

static int
do_load (vd_image *img, const char *raw)
{
  int fd = open (raw, O_RDONLY);
  uint64_t off = 0, size = vd_get_size (img);
  size_t bs = vd_get_cluster_size (img) ? vd_get_cluster_size (img) : 65536;
  char *buf = malloc (bs);
  int r = 0;

  if (fd == -1 || !buf) {
    perror (raw);
    free (buf);
    if (fd >= 0)
      close (fd);
    return -1;
  }
  while (off < size) {
    size_t want = size - off < bs ? size - off : bs, i;
    ssize_t got;
    bool zero = true;
    off_t data = lseek (fd, off, SEEK_DATA);

    /* Holes of the raw file are zeros: skip whole blocks of them. */
    if (data == -1)
      break;
    if ((uint64_t) data >= off + bs) {
      off = (uint64_t) data / bs * bs;
      continue;
    }
    got = pread (fd, buf, want, off);
    if (got < 0) {
      perror (raw);
      r = -1;
      break;
    }
    if ((size_t) got < want)
      memset (buf + got, 0, want - got);
    for (i = 0; i < want && zero; i++)
      zero = buf[i] == 0;
    if (!zero && vd_pwrite (img, buf, want, off) == -1) {
      r = -1;
      break;
    }
    off += want;
  }
  close (fd);
  free (buf);
  return r;
}

static int
do_map (vd_image *img)
{
  uint64_t off = 0, size = vd_get_size (img);

  while (off < size) {
    struct vd_extent e;
    if (vd_block_status (img, off, size - off, &e) == -1)
      return -1;
    printf ("%" PRIu64 " %" PRIu64 " %s%s%s\n", e.offset, e.length,
            e.flags & VD_EXT_DATA ? "data" : "",
            e.flags & VD_EXT_ZERO ? "zero" : "",
            e.flags & VD_EXT_ALLOCATED ? "" : ",unallocated");
    off += e.length;
  }
  return 0;
}

/* Compare the image with a raw file without reading what both sides know
 * to be zero: the image's zero extents are checked against the raw
 * file's data only (SEEK_DATA), its data extents byte for byte. */
static int
do_compare (vd_image *img, const char *raw)
{
  static char a[1 << 20], b[1 << 20];
  int fd = open (raw, O_RDONLY);
  uint64_t off = 0, size = vd_get_size (img);
  struct stat st;
  int r = 0;

  if (fd == -1 || fstat (fd, &st) == -1) {
    perror (raw);
    return -1;
  }
  if ((uint64_t) st.st_size != size) {
    printf ("size differs: %" PRIu64 " and %" PRIu64 "\n", size,
            (uint64_t) st.st_size);
    close (fd);
    return 1;
  }
  while (off < size && r == 0) {
    struct vd_extent e;
    uint64_t end, pos;

    if (vd_block_status (img, off, size - off, &e) == -1) {
      r = -1;
      break;
    }
    end = off + e.length;
    for (pos = off; pos < end && r == 0;) {
      size_t n = end - pos < sizeof a ? end - pos : sizeof a;
      if (e.flags & VD_EXT_ZERO) {
        off_t d = lseek (fd, pos, SEEK_DATA);
        if (d == -1 || (uint64_t) d >= end)
          break;
        pos = d;
        n = end - pos < sizeof a ? end - pos : sizeof a;
        memset (a, 0, n);
      }
      else if (vd_pread (img, a, n, pos) == -1) {
        r = -1;
        break;
      }
      if (pread (fd, b, n, pos) != (ssize_t) n) {
        perror (raw);
        r = -1;
        break;
      }
      if (memcmp (a, b, n) != 0) {
        size_t i = 0;
        while (a[i] == b[i])
          i++;
        printf ("content differs at offset %" PRIu64 "\n", pos + i);
        r = 1;
      }
      pos += n;
    }
    off = end;
  }
  close (fd);
  if (r == 0)
    printf ("identical\n");
  return r;
}

static int
do_read (vd_image *img, uint64_t off, uint64_t len)
{
  static char buf[1 << 20];

  while (len > 0) {
    size_t n = len < sizeof buf ? len : sizeof buf;
    if (vd_pread (img, buf, n, off) == -1)
      return -1;
    if (fwrite (buf, 1, n, stdout) != n)
      return -1;
    off += n;
    len -= n;
  }
  return 0;
}

int
main (int argc, char **argv)
{
  const char *fmt = NULL;
  unsigned flags = 0;
  vd_image *img;
  int i = 1, r = 0;

  if (argc > 2 && strcmp (argv[1], "-f") == 0) {
    fmt = argv[2];
    i = 3;
  }
  if (i >= argc) {
    fprintf (stderr, "usage: vmdkio [-f FMT] IMAGE OP [ARGS] ...\n");
    return 2;
  }
  for (int j = i + 1; j < argc; j++)
    if (!strcmp (argv[j], "write") || !strcmp (argv[j], "zero")
        || !strcmp (argv[j], "load"))
      flags |= VD_OPEN_RDWR;
  img = vd_open (argv[i], fmt, flags);
  if (!img) {
    fprintf (stderr, "vmdkio: %s\n", vd_error ());
    return 1;
  }
  for (i++; i < argc && r == 0; i++) {
    const char *op = argv[i];
    if (!strcmp (op, "write") && i + 3 < argc) {
      uint64_t off = size_arg (argv[i + 1]), len = size_arg (argv[i + 2]);
      int byte = (int) strtol (argv[i + 3], NULL, 0);
      char *buf = malloc (len ? len : 1);
      if (!buf)
        return 1;
      memset (buf, byte, len);
      r = vd_pwrite (img, buf, len, off);
      free (buf);
      i += 3;
    }
    else if (!strcmp (op, "zero") && i + 2 < argc) {
      r = vd_zero (img, size_arg (argv[i + 1]), size_arg (argv[i + 2]), 0);
      i += 2;
    }
    else if (!strcmp (op, "read") && i + 2 < argc) {
      r = do_read (img, size_arg (argv[i + 1]), size_arg (argv[i + 2]));
      i += 2;
    }
    else if (!strcmp (op, "dump"))
      r = do_read (img, 0, vd_get_size (img));
    else if (!strcmp (op, "load") && i + 1 < argc)
      r = do_load (img, argv[++i]);
    else if (!strcmp (op, "compare") && i + 1 < argc)
      r = do_compare (img, argv[++i]);
    else if (!strcmp (op, "map"))
      r = do_map (img);
    else if (!strcmp (op, "size"))
      printf ("%" PRIu64 "\n", vd_get_size (img));
    else {
      fprintf (stderr, "vmdkio: bad operation '%s'\n", op);
      vd_close (img);
      return 2;
    }
  }
  if (r == -1)
    fprintf (stderr, "vmdkio: %s\n", vd_error ());
  if (r == 1) /* compare: different */
    r = -2;
  if (vd_close (img) == -1 && r == 0) {
    fprintf (stderr, "vmdkio: %s\n", vd_error ());
    r = -1;
  }
  fflush (stdout);
  return r == 0 ? 0 : 1;
}
