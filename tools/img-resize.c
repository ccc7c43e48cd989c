/* vd-img resize: qemu-img's resize.  SIZE is absolute, or relative with
 * a leading + or -; shrinking needs --shrink (data past the new end is
 * discarded, as qemu-img does).  Growing may preallocate the new area
 * of a raw image (falloc, full).
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "img-chain.h"

/* Write zeros over [from, to) so the host allocates it (raw falloc and
 * full preallocation). */
static int
fill_zeros (vd_image *img, uint64_t from, uint64_t to)
{
  uint8_t *buf = calloc (1, CHAIN_BUF_SIZE);
  int r = 0;

  if (!buf) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  while (from < to && r == 0) {
    uint64_t n = MIN (to - from, CHAIN_BUF_SIZE);
    r = vd_pwrite (img, buf, n, from);
    from += n;
  }
  free (buf);
  return r;
}

int
cmd_resize (int argc, char **argv)
{
  static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "shrink", no_argument, NULL, 's' },
    { "preallocation", required_argument, NULL, 'P' },
    { NULL, 0, NULL, 0 },
  };
  const char *format = NULL, *prealloc = "off", *size_arg;
  bool quiet = false, shrink = false;
  int c, relative = 0, r = EXIT_ERR;
  uint64_t n, cur, total;
  vd_image *img;

  /* The size is the last argument, taken off before the options are
   * parsed so that "-1G" is not read as an option (as qemu-img does). */
  if (argc >= 2 && strcmp (argv[argc - 1], "--help") != 0
      && strcmp (argv[argc - 1], "-h") != 0) {
    size_arg = argv[argc - 1];
    argc--;
  }
  else
    size_arg = NULL;
  while ((c = getopt_long (argc, argv, "hf:q", long_opts, NULL)) != -1) {
    switch (c) {
    case 'h': img_subcommand_usage ("resize"); return EXIT_OK;
    case 'f': format = optarg; break;
    case 'q': quiet = true; break;
    case 's': shrink = true; break;
    case 'P':
      if (strcmp (optarg, "off") && strcmp (optarg, "metadata")
          && strcmp (optarg, "falloc") && strcmp (optarg, "full")) {
        tool_error (_ ("Invalid preallocation mode '%s'"), optarg);
        return EXIT_ERR;
      }
      prealloc = optarg;
      break;
    default:
      tool_error (_ ("Try '%s resize --help'"), progname);
      return EXIT_ERR;
    }
  }
  if (argc - optind != 1 || !size_arg) {
    tool_error (_ ("Expecting image file name and size (try '%s resize "
                   "--help')"),
                progname);
    return EXIT_ERR;
  }
  if (size_arg[0] == '+') {
    relative = 1;
    size_arg++;
  }
  else if (size_arg[0] == '-') {
    relative = -1;
    size_arg++;
  }
  if (vd_parse_size (size_arg, &n) == -1) {
    tool_error (_ ("Parameter 'size' expects a non-negative number below "
                   "2^64\nOptional suffix k, M, G, T, P or E means kilo-, "
                   "mega-, giga-, tera-, peta-\nand exabytes, respectively."));
    return EXIT_ERR;
  }
  if (format && !vd_format_known (format)) {
    tool_error (_ ("Unknown file format '%s'"), format);
    return EXIT_ERR;
  }
  img = vd_open (argv[optind], format, VD_OPEN_RDWR);
  if (!img) {
    tool_error_vd ();
    return EXIT_ERR;
  }
  cur = vd_get_size (img);
  if (relative > 0) {
    if (n > UINT64_MAX - cur) {
      tool_error (_ ("New image size is too large"));
      goto out;
    }
    total = cur + n;
  }
  else if (relative < 0) {
    if (n >= cur) {
      tool_error (_ ("New image size must be positive"));
      goto out;
    }
    total = cur - n;
  }
  else
    total = n;
  if (total == 0 || total > INT64_MAX) {
    tool_error (total ? _ ("New image size is too large")
                      : _ ("New image size must be positive"));
    goto out;
  }
  if (total <= cur && strcmp (prealloc, "off") != 0) {
    tool_error (_ ("Preallocation can only be used for growing images"));
    goto out;
  }
  if (total < cur && !shrink) {
    tool_error (_ ("Use the --shrink option to perform a shrink operation."));
    tool_error (_ ("warning: Shrinking an image will delete all data beyond "
                   "the shrunken image's end. Before performing such an "
                   "operation, make sure there is no important data "
                   "there."));
    goto out;
  }
  if (strcmp (vd_get_format (img), "qcow2") == 0) {
    if (total % 512) {
      tool_error (_ ("The new size must be a multiple of 512"));
      goto out;
    }
    if (strcmp (prealloc, "off") != 0) {
      tool_error (_ ("%s: preallocation '%s' is not supported when resizing "
                     "qcow2 images"),
                  argv[optind], prealloc);
      goto out;
    }
  }
  else if (strcmp (prealloc, "metadata") == 0) {
    tool_error (_ ("Unsupported preallocation mode: %s"), prealloc);
    goto out;
  }
  if (vd_truncate (img, total, shrink ? VD_TRUNCATE_SHRINK : 0) == -1
      || (strcmp (prealloc, "off") != 0 && fill_zeros (img, cur, total) == -1)
      || vd_flush (img) == -1) {
    tool_error_vd ();
    goto out;
  }
  if (!quiet)
    printf ("Image resized.\n");
  r = EXIT_OK;
out:
  if (vd_close (img) == -1 && r == EXIT_OK) {
    tool_error_vd ();
    r = EXIT_ERR;
  }
  return r;
}
