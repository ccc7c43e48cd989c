/* vd-img compare: qemu-img's compare.  Exit 0 when the images read the
 * same, 1 when they differ (with the first differing 512-byte sector),
 * 2 when an image cannot be opened, 3 when the allocation cannot be
 * read, 4 when data cannot be read.  Extent-driven: ranges that read as
 * zeros in both images are never read.
 */
#include <config.h>

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "img-chain.h"

#define EXIT_DIFFERENT 1
#define EXIT_OPEN 2
#define EXIT_STATUS 3
#define EXIT_READ 4
#define SECTOR 512

static bool quiet;

static void say (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static void
say (const char *fmt, ...)
{
  va_list ap;

  if (quiet)
    return;
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
}

/* Index of the first 512-byte sector of BUF that is not all zeros (as a
 * byte index), or -1. */
static int64_t
find_nonzero (const uint8_t *buf, uint64_t n)
{
  static const uint8_t zeros[SECTOR];
  uint64_t i;

  for (i = 0; i < n; i += SECTOR) {
    uint64_t l = MIN (n - i, SECTOR);
    if (memcmp (buf + i, zeros, l) != 0)
      return (int64_t) i;
  }
  return -1;
}

static int
read_at (vd_image *img, const char *name, uint8_t *buf, uint64_t len,
         uint64_t off)
{
  if (vd_pread (img, buf, len, off) == -1) {
    tool_error (_ ("Error while reading offset %" PRIu64 " of %s: %s"), off,
                name, vd_error ());
    return EXIT_READ;
  }
  return 0;
}

/* The range must read as zeros in IMG.  Returns 0, EXIT_DIFFERENT or
 * EXIT_READ. */
static int
check_empty (vd_image *img, const char *name, uint8_t *buf, uint64_t len,
             uint64_t off)
{
  int64_t idx;
  int r = read_at (img, name, buf, len, off);

  if (r)
    return r;
  idx = find_nonzero (buf, len);
  if (idx >= 0) {
    say ("Content mismatch at offset %" PRIu64 "!\n", off + idx);
    return EXIT_DIFFERENT;
  }
  return 0;
}

static void
progress (bool on, uint64_t done, uint64_t total)
{
  if (on && !quiet)
    printf ("    (%3.2f/100%%)\r", total ? done * 100.0 / total : 100.0);
}

int
cmd_compare (int argc, char **argv)
{
  static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "force-share", no_argument, NULL, 'U' },
    { NULL, 0, NULL, 0 },
  };
  const char *fmt1 = NULL, *fmt2 = NULL, *name1, *name2;
  bool strict = false, prog = false;
  unsigned flags = 0;
  int c, r = EXIT_OPEN;
  vd_image *img1 = NULL, *img2 = NULL;
  uint8_t *buf1 = NULL, *buf2 = NULL;
  uint64_t size1, size2, total, base, off = 0;

  quiet = false;
  while ((c = getopt_long (argc, argv, "hf:F:T:pqsU", long_opts, NULL)) != -1) {
    switch (c) {
    case 'h': img_subcommand_usage ("compare"); return EXIT_OK;
    case 'f': fmt1 = optarg; break;
    case 'F': fmt2 = optarg; break;
    case 'T': break; /* cache mode: accepted, as qemu-img */
    case 'p': prog = true; break;
    case 'q': quiet = true; break;
    case 's': strict = true; break;
    case 'U': flags |= VD_OPEN_NO_LOCK; break;
    default:
      tool_error (_ ("Try '%s compare --help'"), progname);
      return EXIT_ERR;
    }
  }
  if (optind != argc - 2) {
    tool_error (_ ("Expecting two image file names (try '%s compare "
                   "--help')"),
                progname);
    return EXIT_ERR;
  }
  name1 = argv[optind];
  name2 = argv[optind + 1];
  if ((fmt1 && !vd_format_known (fmt1)) || (fmt2 && !vd_format_known (fmt2))) {
    tool_error (_ ("Unknown file format '%s'"),
                fmt1 && !vd_format_known (fmt1) ? fmt1 : fmt2);
    return EXIT_OPEN;
  }
  img1 = vd_open (name1, fmt1, flags);
  if (!img1) {
    tool_error_vd ();
    goto out;
  }
  img2 = vd_open (name2, fmt2, flags);
  if (!img2) {
    tool_error_vd ();
    goto out;
  }
  buf1 = malloc (CHAIN_BUF_SIZE);
  buf2 = malloc (CHAIN_BUF_SIZE);
  if (!buf1 || !buf2) {
    tool_error (_ ("out of memory"));
    goto out;
  }

  size1 = vd_get_size (img1);
  size2 = vd_get_size (img2);
  total = MIN (size1, size2);
  base = MAX (size1, size2);
  if (strict && size1 != size2) {
    say ("Strict mode: Image size mismatch!\n");
    r = EXIT_DIFFERENT;
    goto out;
  }
  progress (prog, 0, base);

  while (off < total) {
    struct chain_ext e1, e2;
    uint64_t chunk;

    if (chain_block_status (img1, off, total - off, &e1) == -1) {
      tool_error (_ ("Sector allocation test failed for %s: %s"), name1,
                  vd_error ());
      r = EXIT_STATUS;
      goto out;
    }
    if (chain_block_status (img2, off, total - off, &e2) == -1) {
      tool_error (_ ("Sector allocation test failed for %s: %s"), name2,
                  vd_error ());
      r = EXIT_STATUS;
      goto out;
    }
    chunk = MIN (e1.length, e2.length);
    if (strict
        && (e1.present != e2.present || e1.zero != e2.zero
            || e1.data != e2.data)) {
      say ("Strict mode: Offset %" PRIu64 " block status mismatch!\n", off);
      r = EXIT_DIFFERENT;
      goto out;
    }
    if (e1.zero && e2.zero) {
      /* Both read as zeros: nothing to read. */
    }
    else if (e1.present == e2.present) {
      if (e1.present) {
        uint64_t i;

        chunk = MIN (chunk, CHAIN_BUF_SIZE);
        if ((r = read_at (img1, name1, buf1, chunk, off))
            || (r = read_at (img2, name2, buf2, chunk, off)))
          goto out;
        for (i = 0; i < chunk; i += SECTOR) {
          uint64_t l = MIN (chunk - i, SECTOR);
          if (memcmp (buf1 + i, buf2 + i, l) != 0) {
            say ("Content mismatch at offset %" PRIu64 "!\n", off + i);
            r = EXIT_DIFFERENT;
            goto out;
          }
        }
      }
    }
    else {
      chunk = MIN (chunk, CHAIN_BUF_SIZE);
      r = e1.present ? check_empty (img1, name1, buf1, chunk, off)
                     : check_empty (img2, name2, buf1, chunk, off);
      if (r)
        goto out;
    }
    off += chunk;
    progress (prog, off, base);
  }

  if (size1 != size2) {
    vd_image *over = size1 > size2 ? img1 : img2;
    const char *oname = size1 > size2 ? name1 : name2;

    say ("Warning: Image size mismatch!\n");
    while (off < base) {
      struct chain_ext e;
      uint64_t chunk;

      if (chain_block_status (over, off, base - off, &e) == -1) {
        tool_error (_ ("Sector allocation test failed for %s"), oname);
        r = EXIT_STATUS;
        goto out;
      }
      chunk = e.length;
      if (e.present && !e.zero) {
        chunk = MIN (chunk, CHAIN_BUF_SIZE);
        r = check_empty (over, oname, buf1, chunk, off);
        if (r)
          goto out;
      }
      off += chunk;
      progress (prog, off, base);
    }
  }
  if (prog && !quiet)
    printf ("\n");
  say ("Images are identical.\n");
  r = EXIT_OK;
out:
  free (buf1);
  free (buf2);
  if (img2)
    vd_close (img2);
  if (img1)
    vd_close (img1);
  return r;
}
