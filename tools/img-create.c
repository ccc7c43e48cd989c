/* vd-img create: parse qemu-img's create options into a request, call
 * vd_create, print qemu-img's "Formatting ..." line.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vd-img.h"

/* The "Formatting 'F', fmt=X size=N k=v..." line: options in the order
 * the format lists them, sizes in bytes, as qemu-img prints it. */
static void
print_formatting (const char *filename, const char *format, uint64_t size,
                  struct vd_opts *opts)
{
  const struct vd_create_opt_desc *d = vd_format_create_opts (format);
  size_t i;

  printf ("Formatting '%s', fmt=%s", filename, format);
  for (; d && d->name; d++) {
    bool given = false;

    if (strcmp (d->name, "size") == 0) {
      printf (" size=%" PRIu64, size);
      continue;
    }
    for (i = 0; i < opts->n; i++) {
      if (strcmp (opts->v[i].key, d->name) != 0)
        continue;
      given = true;
      if (strcmp (d->type, "size") == 0) {
        uint64_t v;
        if (vd_parse_size (opts->v[i].value, &v) == 0) {
          printf (" %s=%" PRIu64, d->name, v);
          continue;
        }
      }
      printf (" %s=%s", d->name, opts->v[i].value);
    }
    /* qemu shows an option's default when the user gave none. */
    if (!given && vd_format_create_opt_default (format, d->name))
      printf (" %s=%s", d->name,
              vd_format_create_opt_default (format, d->name));
  }
  printf ("\n");
  fflush (stdout);
}

/* With a backing file and no size, the new image takes the backing
 * file's size, as qemu-img does. */
static int
size_from_backing (const char *filename, const char *backing,
                   const char *backing_fmt, uint64_t *size)
{
  CLEANUP_FREE char *path = NULL;
  const char *slash = strrchr (filename, '/');
  vd_image *b;

  if (backing[0] != '/' && slash) {
    if (asprintf (&path, "%.*s/%s", (int) (slash - filename), filename, backing)
        == -1)
      return -1;
  }
  else
    path = strdup (backing);
  if (!path)
    return -1;
  b = vd_open (path, backing_fmt, VD_OPEN_NO_BACKING | VD_OPEN_NO_LOCK);
  if (!b) {
    tool_error (_ ("%s: cannot open the backing file to find its size: %s"),
                filename, vd_error ());
    return -1;
  }
  *size = vd_get_size (b);
  vd_close (b);
  return 0;
}

int
cmd_create (int argc, char **argv)
{
  static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "force", no_argument, NULL, 'R' },
    { "object", required_argument, NULL, 'J' },
    { NULL, 0, NULL, 0 },
  };
  const char *format = "raw";
  const char *backing = NULL, *backing_fmt = NULL;
  const char *filename;
  bool quiet = false, force = img_qemu_mode (), unsafe = false;
  bool want_help = false;
  struct vd_opts opts = { 0 };
  uint64_t size = 0;
  bool have_size = false;
  int c, r = EXIT_ERR;

  while ((c = getopt_long (argc, argv, "hf:o:b:F:uq", long_opts, NULL)) != -1) {
    switch (c) {
    case 'h':
      img_subcommand_usage ("create");
      vd_opts_free (&opts);
      return EXIT_OK;
    case 'f': format = optarg; break;
    case 'o':
      if (strcmp (optarg, "help") == 0 || strcmp (optarg, "?") == 0) {
        want_help = true;
        break;
      }
      if (img_add_opts (&opts, optarg) == -1)
        goto out;
      break;
    case 'b': backing = optarg; break;
    case 'F': backing_fmt = optarg; break;
    case 'u': unsafe = true; break;
    case 'q': quiet = true; break;
    case 'R': force = true; break;
    case 'J': tool_error (_ ("--object is not supported yet")); goto out;
    default: tool_error (_ ("Try '%s create --help'"), progname); goto out;
    }
  }

  if (!vd_format_known (format)) {
    tool_error (_ ("Unknown file format '%s'"), format);
    goto out;
  }
  if (want_help) {
    img_print_create_opts (format);
    r = EXIT_OK;
    goto out;
  }
  if (optind >= argc) {
    tool_error (_ ("Expecting image file name (try '%s create --help')"),
                progname);
    goto out;
  }
  filename = argv[optind++];
  if (optind < argc) {
    if (vd_parse_size (argv[optind], &size) == -1) {
      tool_error (_ ("%s: %s"), filename, vd_error ());
      goto out;
    }
    if (size > INT64_MAX) {
      tool_error (_ ("%s: image size must be less than 8 EiB"), filename);
      goto out;
    }
    have_size = true;
    optind++;
  }
  if (optind < argc) {
    tool_error (_ ("Unexpected argument '%s' (try '%s create --help')"),
                argv[optind], progname);
    goto out;
  }
  {
    /* -o size=... */
    const char *s = vd_opts_get (&opts, "size");
    if (s) {
      if (vd_parse_size (s, &size) == -1) {
        tool_error (_ ("%s: %s"), filename, vd_error ());
        goto out;
      }
      have_size = true;
    }
  }
  if (backing) {
    if (vd_opts_set (&opts, "backing_file", backing) == -1)
      goto vderr;
  }
  else
    backing = vd_opts_get (&opts, "backing_file");
  if (backing_fmt) {
    if (vd_opts_set (&opts, "backing_fmt", backing_fmt) == -1)
      goto vderr;
  }
  else
    backing_fmt = vd_opts_get (&opts, "backing_fmt");
  /* Leave the options unused again: the format decides. */
  {
    size_t i;
    for (i = 0; i < opts.n; i++)
      opts.v[i].used = false;
  }
  if (!have_size) {
    if (backing && !unsafe) {
      if (size_from_backing (filename, backing, backing_fmt, &size) == -1)
        goto out;
    }
    else {
      tool_error (_ ("%s: Image creation needs a size parameter"), filename);
      goto out;
    }
  }

  if (!quiet)
    print_formatting (filename, format, size, &opts);
  if (vd_create (filename, format, size, &opts, force ? VD_CREATE_FORCE : 0)
      == -1)
    goto vderr;
  r = EXIT_OK;
  goto out;

vderr:
  if (strncmp (vd_error (), filename, strlen (filename)) == 0)
    tool_error_vd ();
  else
    tool_error ("%s: %s", filename, vd_error ());
out:
  vd_opts_free (&opts);
  return r;
}
