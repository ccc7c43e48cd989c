/* vd-img rebase: qemu-img's rebase.  Safe mode (the default) copies into
 * the image every range it does not allocate itself where the old
 * backing chain and the new backing file read differently, so the
 * guest sees the same disk afterwards; -u only rewrites the recorded
 * name; -b "" copies the whole old chain in and drops the backing file.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "img-chain.h"

#define SECTOR 512

/* Read LEN bytes at OFF from IMG (may be NULL), zeros where it has none. */
static int
read_or_zero (vd_image *img, uint8_t *buf, uint64_t len, uint64_t off)
{
  uint64_t n = 0;

  if (img && off < vd_get_size (img)) {
    n = MIN (len, vd_get_size (img) - off);
    if (vd_pread (img, buf, n, off) == -1)
      return -1;
  }
  memset (buf + n, 0, len - n);
  return 0;
}

/* Does IMG (may be NULL) read as zeros over the whole run at OFF?  Sets
 * *len to the length (<= LEN) the answer covers. */
static int
zero_run (vd_image *img, uint64_t off, uint64_t len, bool *zero, uint64_t *out)
{
  struct chain_ext e;

  if (!img || off >= vd_get_size (img)) {
    *zero = true;
    *out = len;
    return 0;
  }
  if (chain_block_status (img, off, MIN (len, vd_get_size (img) - off), &e)
      == -1)
    return -1;
  *zero = e.zero;
  *out = e.length;
  return 0;
}

/* Make IMG read as OLD over every range it does not allocate where NEW
 * reads differently. */
static int
copy_differences (vd_image *img, vd_image *old, vd_image *new, bool progress)
{
  uint64_t size = vd_get_size (img), off = 0;
  uint8_t *a = malloc (CHAIN_BUF_SIZE), *b = malloc (CHAIN_BUF_SIZE);
  int r = -1;

  if (!a || !b) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    goto out;
  }
  while (off < size) {
    struct vd_extent x;
    uint64_t n, l1, l2, i;
    bool z1, z2;

    if (vd_block_status_top (img, off, size - off, &x) == -1)
      goto out;
    n = MIN (x.length, CHAIN_BUF_SIZE);
    if (x.flags & VD_EXT_ALLOCATED) {
      off += x.length;
      continue;
    }
    if (zero_run (old, off, n, &z1, &l1) == -1
        || zero_run (new, off, n, &z2, &l2) == -1)
      goto out;
    if (z1 && z2) {
      off += MIN (l1, l2);
      continue;
    }
    if (read_or_zero (old, a, n, off) == -1
        || read_or_zero (new, b, n, off) == -1)
      goto out;
    for (i = 0; i < n;) {
      uint64_t j, l = MIN (n - i, SECTOR);
      if (memcmp (a + i, b + i, l) == 0) {
        i += l;
        continue;
      }
      /* A run of differing sectors. */
      for (j = i + l; j < n; j += MIN (n - j, SECTOR))
        if (memcmp (a + j, b + j, MIN (n - j, SECTOR)) == 0)
          break;
      if (vd_pwrite (img, a + i, j - i, off + i) == -1)
        goto out;
      i = j;
    }
    off += n;
    if (progress)
      printf ("    (%3.2f/100%%)\r", off * 100.0 / size);
  }
  if (progress)
    printf ("    (100.00/100%%)\n");
  r = 0;
out:
  free (a);
  free (b);
  return r;
}

int
cmd_rebase (int argc, char **argv)
{
  static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "force-share", no_argument, NULL, 'U' },
    { NULL, 0, NULL, 0 },
  };
  const char *format = NULL, *bfmt = NULL, *backing = NULL, *filename;
  bool unsafe = false, progress = false, quiet = false;
  int c, r = EXIT_ERR;
  vd_image *img = NULL, *new = NULL;

  while ((c = getopt_long (argc, argv, "hf:F:b:ut:T:pqU", long_opts, NULL))
         != -1) {
    switch (c) {
    case 'h': img_subcommand_usage ("rebase"); return EXIT_OK;
    case 'f': format = optarg; break;
    case 'F': bfmt = optarg; break;
    case 'b': backing = optarg; break;
    case 'u': unsafe = true; break;
    case 't':
    case 'T': break; /* cache modes: accepted, as qemu-img */
    case 'p': progress = true; break;
    case 'q': quiet = true; break;
    case 'U': break; /* the image is written: a lock is needed anyway */
    default:
      tool_error (_ ("Try '%s rebase --help'"), progname);
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
  if (!backing) {
    tool_error (_ ("Must specify backing file (-b) or use unsafe mode (-u)"));
    return EXIT_ERR;
  }
  if ((format && !vd_format_known (format))
      || (bfmt && !vd_format_known (bfmt))) {
    tool_error (_ ("Unknown file format '%s'"),
                format && !vd_format_known (format) ? format : bfmt);
    return EXIT_ERR;
  }
  if (*backing && !bfmt) {
    tool_error (_ ("Could not change the backing file to '%s': backing "
                   "format must be specified"),
                backing);
    return EXIT_ERR;
  }
  img = vd_open (filename, format,
                 VD_OPEN_RDWR | (unsafe ? VD_OPEN_NO_BACKING : 0));
  if (!img) {
    tool_error_vd ();
    return EXIT_ERR;
  }
  if (!unsafe) {
    if (*backing) {
      /* The new name is relative to the image's folder, as it will be
       * when the image is opened. */
      char *path = NULL, *dup = strdup (filename);

      if (!dup) {
        tool_error (_ ("out of memory"));
        goto out;
      }
      if (backing[0] == '/'
          || asprintf (&path, "%s/%s", dirname (dup), backing) == -1)
        path = NULL;
      new = vd_open (path ? path : backing, bfmt, VD_OPEN_NO_LOCK);
      free (path);
      free (dup);
      if (!new) {
        tool_error (_ ("Could not open new backing file '%s': %s"), backing,
                    vd_error ());
        goto out;
      }
    }
    if (copy_differences (img, vd_get_backing (img), new, progress) == -1) {
      tool_error (_ ("Could not rebase %s: %s"), filename, vd_error ());
      goto out;
    }
  }
  if (vd_set_backing (img, *backing ? backing : NULL, bfmt) == -1) {
    tool_error (_ ("Could not change the backing file to '%s': %s"), backing,
                vd_error ());
    goto out;
  }
  r = EXIT_OK;
out:
  if (new)
    vd_close (new);
  if (vd_close (img) == -1 && r == EXIT_OK) {
    tool_error_vd ();
    r = EXIT_ERR;
  }
  return r;
}
