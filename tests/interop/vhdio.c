/* vhdio: a test-only driver of libvd for the vdi/vhdx/vpc interop tests,
 * until vd-img grows convert and friends.  It opens one image and runs a
 * list of commands on it, in order:
 *
 *   write OFF LEN BYTE   write LEN bytes of BYTE at OFF
 *   zero OFF LEN         make the range read as zeros (vd_zero)
 *   read OFF LEN BYTE    check that the range reads as BYTE (exit 1 if not)
 *   import RAW           write the non-zero 64 KiB pieces of file RAW
 *   export RAW           write the whole virtual disk to file RAW
 *   map                  print the extents: OFFSET LENGTH data|zero|hole
 *   size                 print the virtual size
 *   format               print the format
 *   crash                (vhdx) put pending metadata in the log only and
 *                        stop, as if the machine crashed
 *
 * Usage: vhdio [-f FMT] FILE COMMAND [ARGS] [COMMAND [ARGS]]...
 * The image is opened read-write if any command writes.  Errors print
 * "vhdio: MESSAGE" and exit 1.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vd-internal.h"
#include "vhdx.h"

#define CHUNK (64 * 1024)

static void __attribute__ ((noreturn)) die (const char *what)
{
  fprintf (stderr, "vhdio: %s%s%s\n", what, *vd_error () ? ": " : "",
           vd_error ());
  exit (1);
}

static uint64_t
num (const char *s)
{
  uint64_t v;

  if (vd_parse_size (s, &v) == -1)
    die ("bad number");
  return v;
}

static int
nargs (const char *cmd)
{
  if (!strcmp (cmd, "write") || !strcmp (cmd, "read"))
    return 3;
  if (!strcmp (cmd, "zero"))
    return 2;
  if (!strcmp (cmd, "import") || !strcmp (cmd, "export"))
    return 1;
  if (!strcmp (cmd, "map") || !strcmp (cmd, "size") || !strcmp (cmd, "format")
      || !strcmp (cmd, "crash"))
    return 0;
  return -1;
}

static void
do_import (vd_image *img, const char *raw)
{
  static uint8_t buf[CHUNK];
  int fd = open (raw, O_RDONLY);
  uint64_t off = 0, size = vd_get_size (img);

  if (fd == -1)
    die ("cannot open the raw file");
  while (off < size) {
    ssize_t n = pread (fd, buf, MIN ((uint64_t) CHUNK, size - off), off);
    if (n <= 0)
      break;
    if (!vd_is_zero (buf, n) && vd_pwrite (img, buf, n, off) == -1)
      die ("write");
    off += n;
  }
  close (fd);
}

static void
do_export (vd_image *img, const char *raw)
{
  static uint8_t buf[CHUNK];
  int fd = open (raw, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  uint64_t off = 0, size = vd_get_size (img);

  if (fd == -1)
    die ("cannot create the raw file");
  while (off < size) {
    size_t n = MIN ((uint64_t) CHUNK, size - off);
    if (vd_pread (img, buf, n, off) == -1)
      die ("read");
    if (pwrite (fd, buf, n, off) != (ssize_t) n)
      die ("cannot write the raw file");
    off += n;
  }
  if (ftruncate (fd, size) == -1 || close (fd) == -1)
    die ("cannot write the raw file");
}

static void
do_map (vd_image *img)
{
  uint64_t off = 0, size = vd_get_size (img);
  struct vd_extent e;

  while (off < size) {
    if (vd_block_status (img, off, size - off, &e) == -1)
      die ("block status");
    printf ("%" PRIu64 " %" PRIu64 " %s\n", off, e.length,
            e.flags & VD_EXT_DATA        ? "data"
            : e.flags & VD_EXT_ALLOCATED ? "zero"
                                         : "hole");
    off += e.length;
  }
}

int
main (int argc, char **argv)
{
  const char *format = NULL;
  unsigned flags = VD_OPEN_NO_BACKING;
  vd_image *img;
  int i, c;

  while ((c = getopt (argc, argv, "f:")) != -1) {
    if (c == 'f')
      format = optarg;
    else
      return 2;
  }
  if (optind + 2 > argc) {
    fprintf (stderr, "usage: vhdio [-f FMT] FILE COMMAND [ARGS]...\n");
    return 2;
  }
  for (i = optind + 1; i < argc;) {
    int n = nargs (argv[i]);
    if (n < 0 || i + n >= argc) {
      fprintf (stderr, "vhdio: bad command or arguments at '%s'\n", argv[i]);
      return 2;
    }
    if (!strcmp (argv[i], "write") || !strcmp (argv[i], "zero")
        || !strcmp (argv[i], "import") || !strcmp (argv[i], "crash"))
      flags |= VD_OPEN_RDWR;
    i += n + 1;
  }

  img = vd_open (argv[optind], format, flags);
  if (!img)
    die ("open");
  for (i = optind + 1; i < argc;) {
    const char *cmd = argv[i];
    char **a = argv + i + 1;

    if (!strcmp (cmd, "write") || !strcmp (cmd, "read")) {
      uint64_t off = num (a[0]), len = num (a[1]);
      int byte = strtol (a[2], NULL, 0);
      uint8_t *buf = malloc (len ? len : 1), *want = malloc (len ? len : 1);
      if (!buf || !want)
        die ("out of memory");
      memset (want, byte, len);
      if (cmd[0] == 'w') {
        if (vd_pwrite (img, want, len, off) == -1)
          die ("write");
      }
      else {
        if (vd_pread (img, buf, len, off) == -1)
          die ("read");
        if (memcmp (buf, want, len) != 0) {
          fprintf (stderr,
                   "vhdio: %" PRIu64 " bytes at %" PRIu64
                   " do not all read as 0x%02x\n",
                   len, off, byte);
          exit (1);
        }
      }
      free (buf);
      free (want);
    }
    else if (!strcmp (cmd, "zero")) {
      if (vd_zero (img, num (a[0]), num (a[1]), 0) == -1)
        die ("zero");
    }
    else if (!strcmp (cmd, "import"))
      do_import (img, a[0]);
    else if (!strcmp (cmd, "export"))
      do_export (img, a[0]);
    else if (!strcmp (cmd, "map"))
      do_map (img);
    else if (!strcmp (cmd, "size"))
      printf ("%" PRIu64 "\n", vd_get_size (img));
    else if (!strcmp (cmd, "format"))
      printf ("%s\n", vd_get_format (img));
    else if (!strcmp (cmd, "crash")) {
      if (vd_vhdx_test_crash_after_log (img) == -1)
        die ("crash");
    }
    i += nargs (cmd) + 1;
  }
  if (vd_close (img) == -1)
    die ("close");
  return 0;
}
