/* vd-img amend: qemu-img's amend for qcow2 (compat 0.10 <-> 1.1,
 * refcount_bits, lazy_refcounts, backing_file, backing_fmt).  The
 * driver writes new structures before the header that points to them.
 */
#include <config.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vd-img.h"

int
cmd_amend (int argc, char **argv)
{
  static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "force", no_argument, NULL, 'F' },
    { NULL, 0, NULL, 0 },
  };
  const char *format = NULL;
  struct vd_opts opts = { 0 };
  bool have_opts = false, help = false;
  int c, r = EXIT_ERR;
  vd_image *img = NULL;

  while ((c = getopt_long (argc, argv, "hf:o:t:pq", long_opts, NULL)) != -1) {
    switch (c) {
    case 'h': img_subcommand_usage ("amend"); return EXIT_OK;
    case 'f': format = optarg; break;
    case 'o':
      if (strcmp (optarg, "help") == 0 || strcmp (optarg, "?") == 0) {
        help = true;
        break;
      }
      if (img_add_opts (&opts, optarg) == -1)
        goto out;
      have_opts = true;
      break;
    case 't': break; /* cache mode: accepted, as qemu-img */
    case 'p': break; /* progress: amend is quick here */
    case 'q': break;
    case 'F': break;
    default: tool_error (_ ("Try '%s amend --help'"), progname); goto out;
    }
  }
  if (help) {
    printf (_ ("Amendable options for qcow2: backing_file, backing_fmt, "
               "compat, lazy_refcounts, refcount_bits\n"));
    r = EXIT_OK;
    goto out;
  }
  if (!have_opts) {
    tool_error (_ ("Must specify options (-o)"));
    goto out;
  }
  if (optind != argc - 1) {
    tool_error (_ ("Expecting one image file name"));
    goto out;
  }
  if (format && !vd_format_known (format)) {
    tool_error (_ ("Unknown file format '%s'"), format);
    goto out;
  }
  img = vd_open (argv[optind], format, VD_OPEN_RDWR | VD_OPEN_NO_BACKING);
  if (!img) {
    tool_error_vd ();
    goto out;
  }
  if (vd_amend (img, &opts) == -1) {
    tool_error_vd ();
    goto out;
  }
  r = EXIT_OK;
out:
  if (img && vd_close (img) == -1 && r == EXIT_OK) {
    tool_error_vd ();
    r = EXIT_ERR;
  }
  vd_opts_free (&opts);
  return r;
}
