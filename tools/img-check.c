/* vd-img check: qemu-img's check, human and JSON, with its exit codes
 * (0 clean, 1 check failed, 2 corruptions, 3 leaks only, 63 the format
 * has no check) and -r leaks|all repair followed by a second check.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vd-img.h"

#define EXIT_CHECK_FAILED 1
#define EXIT_CORRUPT 2
#define EXIT_LEAKS 3
#define EXIT_NOT_SUPPORTED 63

static void
print_problem (void *opaque, const char *msg)
{
  bool quiet = *(bool *) opaque;
  if (!quiet)
    fprintf (stderr, "%s\n", msg);
}

static void
print_human (const struct vd_check_result *c, bool quiet)
{
  if (quiet)
    return;
  if (!(c->corruptions || c->leaks || c->check_errors))
    printf ("No errors were found on the image.\n");
  else {
    if (c->corruptions)
      printf ("\n%" PRIu64 " errors were found on the image.\n"
              "Data may be corrupted, or further writes to the image may "
              "corrupt it.\n",
              c->corruptions);
    if (c->leaks)
      printf ("\n%" PRIu64 " leaked clusters were found on the image.\n"
              "This means waste of disk space, but no harm to data.\n",
              c->leaks);
    if (c->check_errors)
      printf ("\n%" PRIu64 " internal errors have occurred during the "
              "check.\n",
              c->check_errors);
  }
  if (c->total_clusters != 0 && c->allocated_clusters != 0)
    printf ("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% "
            "fragmented, %0.2f%% compressed clusters\n",
            c->allocated_clusters, c->total_clusters,
            c->allocated_clusters * 100.0 / c->total_clusters,
            c->fragmented_clusters * 100.0 / c->allocated_clusters,
            c->compressed_clusters * 100.0 / c->allocated_clusters);
  if (c->image_end_offset)
    printf ("Image end offset: %" PRIu64 "\n", c->image_end_offset);
}

static void
print_json (const struct vd_check_result *c, const char *filename,
            const char *format)
{
  json_t *j = json_object ();

  json_object_set_new (j, "filename", json_string (filename));
  json_object_set_new (j, "format", json_string (format));
  json_object_set_new (j, "check-errors", json_integer (c->check_errors));
#define OPT(key, field)                                                        \
  if (c->field)                                                                \
  json_object_set_new (j, key, json_integer (c->field))
  OPT ("image-end-offset", image_end_offset);
  OPT ("corruptions", corruptions);
  OPT ("leaks", leaks);
  OPT ("corruptions-fixed", corruptions_fixed);
  OPT ("leaks-fixed", leaks_fixed);
  OPT ("total-clusters", total_clusters);
  OPT ("allocated-clusters", allocated_clusters);
  OPT ("fragmented-clusters", fragmented_clusters);
  OPT ("compressed-clusters", compressed_clusters);
#undef OPT
  json_qemu_order (j);
  json_print_qemu (stdout, j);
  json_decref (j);
}

int
cmd_check (int argc, char **argv)
{
  static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "output", required_argument, NULL, 'O' },
    { "force-share", no_argument, NULL, 'U' },
    { NULL, 0, NULL, 0 },
  };
  const char *format = NULL, *filename;
  int output = 0, c;
  unsigned fix = 0, flags = VD_OPEN_NO_BACKING | VD_OPEN_CHECK;
  bool quiet = false;
  vd_image *img;
  struct vd_check_result res;
  int r;

  while ((c = getopt_long (argc, argv, "hf:r:T:qU", long_opts, NULL)) != -1) {
    switch (c) {
    case 'h': img_subcommand_usage ("check"); return EXIT_OK;
    case 'f': format = optarg; break;
    case 'O':
      output = img_parse_output (optarg);
      if (output < 0)
        return EXIT_ERR;
      break;
    case 'r':
      if (strcmp (optarg, "leaks") == 0)
        fix = VD_CHECK_FIX_LEAKS;
      else if (strcmp (optarg, "all") == 0)
        fix = VD_CHECK_FIX_LEAKS | VD_CHECK_FIX_ERRORS;
      else {
        tool_error (_ ("Unknown option value for -r (expecting 'leaks' or "
                       "'all'): %s"),
                    optarg);
        return EXIT_ERR;
      }
      break;
    case 'T': break; /* cache mode: accepted, as qemu-img */
    case 'q': quiet = true; break;
    case 'U': flags |= VD_OPEN_NO_LOCK; break;
    default:
      tool_error (_ ("Try '%s check --help'"), progname);
      return EXIT_ERR;
    }
  }
  if (optind != argc - 1) {
    tool_error (_ ("Expecting one image file name (try '%s check --help')"),
                progname);
    return EXIT_ERR;
  }
  filename = argv[optind];
  if (format && !vd_format_known (format)) {
    tool_error (_ ("Unknown file format '%s'"), format);
    return EXIT_ERR;
  }
  if (fix) {
    flags |= VD_OPEN_RDWR;
    flags &= ~VD_OPEN_NO_LOCK;
  }

  img = vd_open (filename, format, flags);
  if (!img) {
    tool_error_vd ();
    return EXIT_ERR;
  }
  memset (&res, 0, sizeof res);
  res.report = print_problem;
  res.opaque = &quiet;
  r = vd_check (img, &res, fix);
  if (r == -1) {
    int e = vd_errno ();
    if (e == ENOTSUP) {
      tool_error ("%s", vd_error ());
      vd_close (img);
      return EXIT_NOT_SUPPORTED;
    }
    tool_error (_ ("Check failed: %s"), vd_error ());
    vd_close (img);
    return EXIT_CHECK_FAILED;
  }

  if (res.corruptions_fixed || res.leaks_fixed) {
    uint64_t lf = res.leaks_fixed, cf = res.corruptions_fixed;

    if (output == 0 && !quiet)
      printf ("The following inconsistencies were found and repaired:\n\n"
              "    %" PRIu64 " leaked clusters\n"
              "    %" PRIu64 " corruptions\n\n"
              "Double checking the fixed image now...\n",
              lf, cf);
    memset (&res, 0, sizeof res);
    res.report = print_problem;
    res.opaque = &quiet;
    if (vd_check (img, &res, 0) == -1) {
      tool_error (_ ("Check failed: %s"), vd_error ());
      vd_close (img);
      return EXIT_CHECK_FAILED;
    }
    res.leaks_fixed = lf;
    res.corruptions_fixed = cf;
  }

  if (output == 1) {
    if (!quiet)
      print_json (&res, filename, vd_get_format (img));
  }
  else
    print_human (&res, quiet);

  if (vd_close (img) == -1) {
    tool_error_vd ();
    return EXIT_CHECK_FAILED;
  }
  if (res.check_errors) {
    tool_error (_ ("Check failed"));
    return EXIT_CHECK_FAILED;
  }
  if (res.corruptions)
    return EXIT_CORRUPT;
  if (res.leaks)
    return EXIT_LEAKS;
  return EXIT_OK;
}
