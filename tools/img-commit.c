/* vd-img commit: qemu-img's commit.  Every range the overlay (and, with
 * -b, the images between it and BASE) allocates is written into the
 * base image; the overlay is then emptied so the chain reads the same,
 * unless -d (or -b, which implies it) keeps its content.
 */
#include <config.h>

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "img-chain.h"

/* Is NAME the file of image L? */
static bool
same_file (vd_image *l, const char *name)
{
  char a[PATH_MAX], b[PATH_MAX];

  if (strcmp (vd_get_filename (l), name) == 0)
    return true;
  return realpath (vd_get_filename (l), a) && realpath (name, b)
         && strcmp (a, b) == 0;
}

int
cmd_commit (int argc, char **argv)
{
  static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *format = NULL, *base_name = NULL, *filename;
  bool drop = false, progress = false, quiet = false;
  int c, r = EXIT_ERR, depth = 1;
  vd_image *top = NULL, *base, *bimg = NULL;
  uint64_t size, off = 0;
  uint8_t *buf = NULL;

  while ((c = getopt_long (argc, argv, "hf:t:b:dpqr:", long_opts, NULL))
         != -1) {
    switch (c) {
    case 'h': img_subcommand_usage ("commit"); return EXIT_OK;
    case 'f': format = optarg; break;
    case 't': break; /* cache mode: accepted, as qemu-img */
    case 'b':
      base_name = optarg;
      drop = true; /* -b implies -d, as in qemu-img */
      break;
    case 'd': drop = true; break;
    case 'p': progress = true; break;
    case 'q': quiet = true; break;
    case 'r': break; /* rate limit: accepted, as qemu-img */
    default:
      tool_error (_ ("Try '%s commit --help'"), progname);
      return EXIT_ERR;
    }
  }
  if (quiet)
    progress = false;
  if (optind != argc - 1) {
    tool_error (_ ("Expecting one image file name"));
    return EXIT_ERR;
  }
  filename = argv[optind];
  if (format && !vd_format_known (format)) {
    tool_error (_ ("Unknown file format '%s'"), format);
    return EXIT_ERR;
  }
  top = vd_open (filename, format, VD_OPEN_RDWR);
  if (!top) {
    tool_error_vd ();
    return EXIT_ERR;
  }
  base = vd_get_backing (top);
  if (!base) {
    tool_error (_ ("Image does not have a backing file"));
    goto out;
  }
  if (base_name) {
    while (base && !same_file (base, base_name)) {
      base = vd_get_backing (base);
      depth++;
    }
    if (!base) {
      tool_error (_ ("Did not find '%s' in the backing chain of '%s'"),
                  base_name, filename);
      goto out;
    }
  }
  /* The chain holds BASE read-only: open it again for writing (only
   * ranges allocated above it are read through the chain). */
  bimg = vd_open (vd_get_filename (base), vd_get_format (base), VD_OPEN_RDWR);
  if (!bimg) {
    tool_error_vd ();
    goto out;
  }
  size = vd_get_size (top);
  if (vd_get_size (bimg) < size && vd_truncate (bimg, size, 0) == -1) {
    tool_error_vd ();
    goto out;
  }
  buf = malloc (CHAIN_BUF_SIZE);
  if (!buf) {
    tool_error (_ ("out of memory"));
    goto out;
  }
  while (off < size) {
    struct chain_ext e;

    if (chain_block_status (top, off, size - off, &e) == -1) {
      tool_error_vd ();
      goto out;
    }
    if (e.present && e.depth < depth) {
      if (e.zero) {
        if (vd_zero (bimg, off, e.length, 0) == -1) {
          tool_error_vd ();
          goto out;
        }
      }
      else {
        uint64_t done = 0;
        while (done < e.length) {
          uint64_t n = MIN (e.length - done, CHAIN_BUF_SIZE);
          if (vd_pread (top, buf, n, off + done) == -1
              || vd_pwrite (bimg, buf, n, off + done) == -1) {
            tool_error_vd ();
            goto out;
          }
          done += n;
        }
      }
    }
    off += e.length;
    if (progress)
      printf ("    (%3.2f/100%%)\r", off * 100.0 / size);
  }
  if (progress)
    printf ("    (100.00/100%%)\n");
  if (vd_flush (bimg) == -1) {
    tool_error_vd ();
    goto out;
  }
  if (vd_close (bimg) == -1) {
    bimg = NULL;
    tool_error_vd ();
    goto out;
  }
  bimg = NULL;
  /* Empty the overlay: its ranges fall through to the base again. */
  if (!drop && vd_make_empty (top) == -1) {
    tool_error (_ ("Could not empty %s: %s"), filename, vd_error ());
    goto out;
  }
  if (!quiet)
    printf ("Image committed.\n");
  r = EXIT_OK;
out:
  free (buf);
  if (bimg)
    vd_close (bimg);
  if (vd_close (top) == -1 && r == EXIT_OK) {
    tool_error_vd ();
    r = EXIT_ERR;
  }
  return r;
}
