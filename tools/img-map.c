/* vd-img map: qemu-img's map, human and JSON.  Extents come from
 * chain_block_status (img-chain.c) and are merged as qemu-img merges
 * them, so both tools print the same lines for the same image.
 */
#include <config.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "img-chain.h"

static bool
mergeable (const struct chain_ext *a, const struct chain_ext *b)
{
  if (a->length == 0)
    return false;
  if (a->zero != b->zero || a->data != b->data || a->depth != b->depth
      || a->present != b->present || !a->filename != !b->filename
      || a->has_offset != b->has_offset)
    return false;
  if (a->filename && strcmp (a->filename, b->filename) != 0)
    return false;
  if (a->has_offset && a->offset + a->length != b->offset)
    return false;
  return true;
}

/* Print E; NEXT is the following extent (NULL at the end), which human
 * output may change to merge more (qemu-img ignores the difference
 * between unallocated, zero and zero-data there). */
static int
dump_entry (int output, const struct chain_ext *e, struct chain_ext *next)
{
  if (output == 1) {
    printf ("{ \"start\": %" PRIu64 ", \"length\": %" PRIu64
            ", \"depth\": %d, \"present\": %s, \"zero\": %s, \"data\": %s",
            e->start, e->length, e->depth, e->present ? "true" : "false",
            e->zero ? "true" : "false", e->data ? "true" : "false");
    if (e->has_offset)
      printf (", \"offset\": %" PRIu64, e->offset);
    putchar ('}');
    if (next)
      puts (",");
    return 0;
  }
  if (e->data && !e->has_offset) {
    tool_error (_ ("File contains external, encrypted or compressed "
                   "clusters."));
    return -1;
  }
  if (e->data && !e->zero) {
    char a[32], b[32], c[32];
    /* qemu prints %#-16x: "0" without the 0x prefix. */
    snprintf (a, sizeof a, e->start ? "0x%" PRIx64 : "%" PRIx64, e->start);
    snprintf (b, sizeof b, e->length ? "0x%" PRIx64 : "%" PRIx64, e->length);
    snprintf (c, sizeof c, e->offset ? "0x%" PRIx64 : "%" PRIx64,
              e->has_offset ? e->offset : 0);
    printf ("%-16s%-16s%-16s%s\n", a, b, c, e->filename ? e->filename : "");
  }
  if (next && (!next->data || next->zero)) {
    next->data = false;
    next->zero = true;
  }
  return 0;
}

int
cmd_map (int argc, char **argv)
{
  static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "output", required_argument, NULL, 'O' },
    { "start-offset", required_argument, NULL, 's' },
    { "max-length", required_argument, NULL, 'l' },
    { "force-share", no_argument, NULL, 'U' },
    { NULL, 0, NULL, 0 },
  };
  const char *format = NULL;
  int output = 0, c, r = EXIT_ERR;
  unsigned flags = 0;
  uint64_t start = 0, max_length = UINT64_MAX, size, end;
  vd_image *img;
  struct chain_ext curr, next;

  while ((c = getopt_long (argc, argv, "hf:U", long_opts, NULL)) != -1) {
    switch (c) {
    case 'h': img_subcommand_usage ("map"); return EXIT_OK;
    case 'f': format = optarg; break;
    case 'O':
      output = img_parse_output (optarg);
      if (output < 0)
        return EXIT_ERR;
      break;
    case 's':
      if (vd_parse_size (optarg, &start) == -1) {
        tool_error (_ ("Invalid start offset specified. You may use k, M, "
                       "G, T, P or E suffixes for"));
        tool_error (_ ("kilobytes, megabytes, gigabytes, terabytes, "
                       "petabytes and exabytes."));
        return EXIT_ERR;
      }
      break;
    case 'l':
      if (vd_parse_size (optarg, &max_length) == -1) {
        tool_error (_ ("Invalid max length specified. You may use k, M, "
                       "G, T, P or E suffixes for"));
        tool_error (_ ("kilobytes, megabytes, gigabytes, terabytes, "
                       "petabytes and exabytes."));
        return EXIT_ERR;
      }
      break;
    case 'U': flags |= VD_OPEN_NO_LOCK; break;
    default: tool_error (_ ("Try '%s map --help'"), progname); return EXIT_ERR;
    }
  }
  if (optind != argc - 1) {
    tool_error (_ ("Expecting one image file name (try '%s map --help')"),
                progname);
    return EXIT_ERR;
  }
  if (format && !vd_format_known (format)) {
    tool_error (_ ("Unknown file format '%s'"), format);
    return EXIT_ERR;
  }
  img = vd_open (argv[optind], format, flags);
  if (!img) {
    tool_error_vd ();
    return EXIT_ERR;
  }

  size = vd_get_size (img);
  end = size;
  if (max_length != UINT64_MAX && start <= UINT64_MAX - max_length)
    end = MIN (start + max_length, size);

  if (output == 1)
    putchar ('[');
  else
    printf ("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");

  memset (&curr, 0, sizeof curr);
  curr.start = start;
  while (curr.start + curr.length < end) {
    uint64_t off = curr.start + curr.length;

    if (chain_block_status (img, off, end - off, &next) == -1) {
      tool_error (_ ("Could not read file metadata: %s"), vd_error ());
      goto out;
    }
    if (mergeable (&curr, &next)) {
      curr.length += next.length;
      continue;
    }
    if (curr.length > 0 && dump_entry (output, &curr, &next) == -1)
      goto out;
    curr = next;
  }
  if (dump_entry (output, &curr, NULL) == -1)
    goto out;
  if (output == 1)
    puts ("]");
  r = EXIT_OK;
out:
  fflush (stdout);
  vd_close (img);
  return r;
}
