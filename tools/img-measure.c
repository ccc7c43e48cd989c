/* vd-img measure: qemu-img's measure.  How large a new image of the
 * output format (raw or qcow2) must be to hold a given size or a given
 * image: "required" (what the data needs) and "fully allocated" (every
 * cluster written), and for qcow2 v3 from a qcow2 v3 source, the space
 * its persistent bitmaps would take.  The qcow2 numbers follow the
 * layout qemu writes: one header cluster, L1 and L2 tables for the whole
 * disk, and refcount blocks and table counting themselves.
 */
#include <config.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "img-chain.h"

#define QCOW2_MAX_L1 (UINT64_C (32) << 20)

struct q2_params {
  uint64_t cluster_size;
  unsigned version;
  unsigned refcount_order;
  bool extended_l2;
  bool full_prealloc;
  bool has_backing;
};

static uint64_t
div_up (uint64_t a, uint64_t b)
{
  return a / b + (a % b != 0);
}

static uint64_t
round_up (uint64_t a, uint64_t b)
{
  return div_up (a, b) * b;
}

/* Refcount blocks and table needed to count CLUSTERS clusters plus
 * themselves: iterate to the fixed point. */
static uint64_t
refcount_metadata_size (uint64_t clusters, uint64_t cs, unsigned order)
{
  uint64_t per_table = cs / 8, per_block = cs * 8 >> order;
  uint64_t table = 0, blocks = 0, n = 0, last;

  do {
    last = n;
    blocks = div_up (clusters + table + blocks, per_block);
    table = div_up (blocks, per_table);
    n = clusters + blocks + table;
  } while (n != last);
  return (blocks + table) * cs;
}

/* The file size of SIZE bytes fully allocated in qcow2. */
static uint64_t
q2_prealloc_size (uint64_t size, const struct q2_params *p)
{
  uint64_t cs = p->cluster_size, l2e = p->extended_l2 ? 16 : 8;
  uint64_t aligned = round_up (size, cs), meta = cs, nl2e, nl1e;

  nl2e = round_up (aligned / cs, cs / l2e);
  meta += nl2e * l2e;
  nl1e = round_up (nl2e * l2e / cs, cs / 8);
  meta += nl1e * 8;
  meta += refcount_metadata_size ((meta + aligned) / cs, cs, p->refcount_order);
  return meta + aligned;
}

/* Parse the qcow2 create options measure looks at (others are accepted
 * and ignored, as qemu-img does). */
static int
q2_parse (struct vd_opts *opts, struct q2_params *p)
{
  uint64_t rb = 16;
  const char *v;

  memset (p, 0, sizeof *p);
  p->cluster_size = 65536;
  p->version = 3;
  if (vd_opts_get_bool (opts, "extended_l2", &p->extended_l2) == -1
      || vd_opts_get_size (opts, "cluster_size", &p->cluster_size) == -1) {
    tool_error_vd ();
    return -1;
  }
  if (p->cluster_size < 512 || p->cluster_size > (2 << 20)
      || (p->cluster_size & (p->cluster_size - 1))) {
    tool_error (_ ("Cluster size must be a power of two between 512 and "
                   "2048k"));
    return -1;
  }
  if (p->extended_l2 && p->cluster_size < 16384) {
    tool_error (_ ("Extended L2 entries are only supported with cluster "
                   "sizes of at least 16384 bytes"));
    return -1;
  }
  v = vd_opts_get (opts, "compat");
  if (v) {
    if (strcmp (v, "0.10") == 0 || strcmp (v, "v2") == 0)
      p->version = 2;
    else if (strcmp (v, "1.1") == 0 || strcmp (v, "v3") == 0)
      p->version = 3;
    else {
      tool_error (_ ("Invalid compatibility level: '%s'"), v);
      return -1;
    }
  }
  switch (vd_opts_get_uint (opts, "refcount_bits", &rb)) {
  case -1: tool_error_vd (); return -1;
  case 1:
    if (rb > 64 || rb == 0 || (rb & (rb - 1))) {
      tool_error (_ ("Refcount width must be a power of two and may not "
                     "exceed 64 bits"));
      return -1;
    }
    if (p->version < 3 && rb != 16) {
      tool_error (_ ("Different refcount widths than 16 bits require "
                     "compatibility level 1.1 or above (use compat=1.1 or "
                     "greater)"));
      return -1;
    }
  }
  while ((UINT64_C (1) << p->refcount_order) < rb)
    p->refcount_order++;
  v = vd_opts_get (opts, "preallocation");
  if (v) {
    if (strcmp (v, "full") == 0 || strcmp (v, "falloc") == 0)
      p->full_prealloc = true;
    else if (strcmp (v, "off") != 0 && strcmp (v, "metadata") != 0) {
      tool_error (_ ("Parameter 'preallocation' does not accept value '%s'"),
                  v);
      return -1;
    }
  }
  p->has_backing = vd_opts_get (opts, "backing_file") != NULL;
  return 0;
}

/* Bytes the source's persistent bitmaps would take in a qcow2 image of
 * cluster size CS (bitmap data, bitmap tables, directory). */
static uint64_t
bitmaps_size (vd_image *in, uint64_t cs)
{
  struct vd_info info;
  const struct vd_value *d, *list = NULL;
  uint64_t total = 0, dir = 0, len = vd_get_size (in);
  size_t i, j;

  if (vd_get_info (in, &info) == -1)
    return 0;
  d = info.format_specific;
  for (i = 0; d && i < d->n; i++)
    if (d->items[i]->key && strcmp (d->items[i]->key, "data") == 0) {
      const struct vd_value *data = d->items[i];
      for (j = 0; j < data->n; j++)
        if (data->items[j]->key && strcmp (data->items[j]->key, "bitmaps") == 0)
          list = data->items[j];
    }
  for (i = 0; list && i < list->n; i++) {
    const struct vd_value *bm = list->items[i];
    const char *name = "";
    uint64_t gran = 0, bytes, clusters;

    for (j = 0; j < bm->n; j++) {
      if (strcmp (bm->items[j]->key, "name") == 0)
        name = bm->items[j]->s;
      else if (strcmp (bm->items[j]->key, "granularity") == 0)
        gran = bm->items[j]->i;
    }
    if (gran == 0)
      continue;
    bytes = div_up (div_up (len, gran), 8);
    clusters = div_up (bytes, cs);
    total += clusters * cs + round_up (clusters * 8, cs);
    dir += round_up (24 + strlen (name), 8);
  }
  total += round_up (dir, cs);
  vd_info_free (&info);
  return total;
}

/* Is the open image a qcow2 v3 (can carry persistent bitmaps)? */
static bool
is_qcow2_v3 (vd_image *in)
{
  struct vd_info info;
  bool r = false;
  size_t i, j;

  if (strcmp (vd_get_format (in), "qcow2") != 0 || vd_get_info (in, &info))
    return false;
  for (i = 0; info.format_specific && i < info.format_specific->n; i++) {
    const struct vd_value *data = info.format_specific->items[i];
    if (!data->key || strcmp (data->key, "data") != 0)
      continue;
    for (j = 0; j < data->n; j++)
      if (strcmp (data->items[j]->key, "compat") == 0)
        r = strcmp (data->items[j]->s, "1.1") == 0;
  }
  vd_info_free (&info);
  return r;
}

static void
print_result (int output, uint64_t required, uint64_t full, bool has_bitmaps,
              uint64_t bitmaps)
{
  if (output == 1) {
    json_t *j = json_object ();
    if (has_bitmaps)
      json_object_set_new (j, "bitmaps", json_integer (bitmaps));
    json_object_set_new (j, "required", json_integer (required));
    json_object_set_new (j, "fully-allocated", json_integer (full));
    json_print_qemu (stdout, j);
    json_decref (j);
    return;
  }
  printf ("required size: %" PRIu64 "\n", required);
  printf ("fully allocated size: %" PRIu64 "\n", full);
  if (has_bitmaps)
    printf ("bitmaps size: %" PRIu64 "\n", bitmaps);
}

/* Check every -o option is one the output format knows. */
static int
check_known (struct vd_opts *opts, const char *format)
{
  const struct vd_create_opt_desc *d = vd_format_create_opts (format);
  size_t i, k;

  for (i = 0; i < opts->n; i++) {
    bool found = false;
    for (k = 0; d && d[k].name; k++)
      if (strcmp (d[k].name, opts->v[i].key) == 0)
        found = true;
    if (!found) {
      tool_error (_ ("Invalid parameter '%s'"), opts->v[i].key);
      tool_error (_ ("Invalid options for file format '%s'"), format);
      return -1;
    }
  }
  return 0;
}

int
cmd_measure (int argc, char **argv)
{
  static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "output", required_argument, NULL, 'O' + 256 },
    { "size", required_argument, NULL, 's' },
    { "force-share", no_argument, NULL, 'U' },
    { NULL, 0, NULL, 0 },
  };
  const char *out_fmt = "raw", *in_fmt = NULL, *size_arg = NULL;
  struct vd_opts opts = { 0 };
  int output = 0, c, r = EXIT_ERR;
  unsigned flags = 0;
  uint64_t size = 0, required = 0, full, bm = 0;
  vd_image *in = NULL;
  bool has_bitmaps = false;

  while ((c = getopt_long (argc, argv, "hf:O:o:U", long_opts, NULL)) != -1) {
    switch (c) {
    case 'h': img_subcommand_usage ("measure"); return EXIT_OK;
    case 'f': in_fmt = optarg; break;
    case 'O': out_fmt = optarg; break;
    case 'O' + 256:
      output = img_parse_output (optarg);
      if (output < 0)
        goto out;
      break;
    case 'o':
      if (strcmp (optarg, "help") == 0 || strcmp (optarg, "?") == 0) {
        img_print_create_opts (out_fmt);
        vd_opts_free (&opts);
        return EXIT_OK;
      }
      if (img_add_opts (&opts, optarg) == -1)
        goto out;
      break;
    case 's': size_arg = optarg; break;
    case 'U': flags |= VD_OPEN_NO_LOCK; break;
    default: tool_error (_ ("Try '%s measure --help'"), progname); goto out;
    }
  }
  if (optind < argc - 1) {
    tool_error (_ ("Expecting one image file name"));
    goto out;
  }
  if (optind == argc && !size_arg) {
    tool_error (_ ("Either --size N or one filename must be specified."));
    goto out;
  }
  if (optind < argc && size_arg) {
    tool_error (_ ("--size N cannot be used together with a filename."));
    goto out;
  }
  if (!vd_format_known (out_fmt)) {
    tool_error (_ ("Unknown file format '%s'"), out_fmt);
    goto out;
  }
  if (strcmp (out_fmt, "raw") != 0 && strcmp (out_fmt, "qcow2") != 0) {
    tool_error (_ ("Block driver '%s' does not support size measurement"),
                out_fmt);
    goto out;
  }
  if (check_known (&opts, out_fmt) == -1)
    goto out;
  if (size_arg) {
    if (vd_parse_size (size_arg, &size) == -1 || size > INT64_MAX) {
      tool_error (_ ("Invalid image size specified. You may use k, M, G, T, "
                     "P or E suffixes for"));
      tool_error (_ ("kilobytes, megabytes, gigabytes, terabytes, petabytes "
                     "and exabytes."));
      goto out;
    }
  }
  else {
    if (in_fmt && !vd_format_known (in_fmt)) {
      tool_error (_ ("Unknown file format '%s'"), in_fmt);
      goto out;
    }
    in = vd_open (argv[optind], in_fmt, flags);
    if (!in) {
      tool_error_vd ();
      goto out;
    }
    size = vd_get_size (in);
  }

  if (strcmp (out_fmt, "raw") == 0) {
    const char *p = vd_opts_get (&opts, "preallocation");
    if (p && strcmp (p, "off") && strcmp (p, "falloc") && strcmp (p, "full")) {
      tool_error (_ ("Parameter 'preallocation' does not accept value '%s'"),
                  p);
      goto out;
    }
    required = in ? size : round_up (size, 512);
    full = required;
  }
  else {
    struct q2_params p;
    uint64_t cs, vsize, l2e;

    if (q2_parse (&opts, &p) == -1)
      goto out;
    cs = p.cluster_size;
    l2e = p.extended_l2 ? 16 : 8;
    if (size > UINT64_MAX - cs) {
      tool_error (_ ("The image size is too large (try using a larger "
                     "cluster size)"));
      goto out;
    }
    vsize = round_up (size, cs);
    if (div_up (vsize / cs, cs / l2e) > QCOW2_MAX_L1 / 8) {
      tool_error (_ ("The image size is too large (try using a larger "
                     "cluster size)"));
      goto out;
    }
    if (in) {
      if (p.has_backing)
        required = vsize;
      else {
        uint64_t off = 0, n;
        struct chain_ext e;

        /* Count each cluster that holds data once. */
        for (off = 0; off < size; off += n) {
          if (chain_block_status (in, off, size - off, &e) == -1) {
            tool_error (_ ("Unable to get block status: %s"), vd_error ());
            goto out;
          }
          n = e.length;
          if (e.zero)
            continue;
          if (e.data && e.present) {
            n = round_up (off + n, cs) - off;
            required += off % cs + n;
          }
        }
      }
    }
    if (p.full_prealloc)
      required = vsize;
    full = q2_prealloc_size (vsize, &p);
    required = full - vsize + required;
    if (p.version >= 3 && in && is_qcow2_v3 (in)) {
      has_bitmaps = true;
      bm = bitmaps_size (in, cs);
    }
  }
  print_result (output, required, full, has_bitmaps, bm);
  r = EXIT_OK;
out:
  if (in)
    vd_close (in);
  vd_opts_free (&opts);
  return r;
}
