/* vd-img snapshot: qemu-img snapshot -l / -c / -a / -d on internal
 * snapshots, with its messages and exit codes.  -d and -a take a tag as
 * qemu-img 7.x does (-a also an ID); --id N deletes by ID, and
 * --output=json lists as JSON (both our additions).
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vd-img.h"

enum { ACT_NONE, ACT_LIST, ACT_CREATE, ACT_APPLY, ACT_DELETE };

static void
print_json (const struct vd_info *info)
{
  json_t *a = img_snapshots_json (info);

  json_print_qemu (stdout, a);
  json_decref (a);
}

int
cmd_snapshot (int argc, char **argv)
{
  static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "output", required_argument, NULL, 'O' },
    { "id", required_argument, NULL, 'I' },
    { "force-share", no_argument, NULL, 'U' },
    { NULL, 0, NULL, 0 },
  };
  const char *format = NULL, *filename, *name = NULL, *id = NULL;
  int action = ACT_NONE, output = 0, c, r;
  unsigned flags = VD_OPEN_NO_BACKING;
  bool quiet = false;
  vd_image *img;

  while ((c = getopt_long (argc, argv, "hf:la:c:d:qU", long_opts, NULL))
         != -1) {
    int act = ACT_NONE;
    switch (c) {
    case 'h': img_subcommand_usage ("snapshot"); return EXIT_OK;
    case 'f': format = optarg; break;
    case 'l': act = ACT_LIST; break;
    case 'c': act = ACT_CREATE; break;
    case 'a': act = ACT_APPLY; break;
    case 'd': act = ACT_DELETE; break;
    case 'I': id = optarg; break;
    case 'O':
      output = img_parse_output (optarg);
      if (output < 0)
        return EXIT_ERR;
      break;
    case 'q': quiet = true; break;
    case 'U': flags |= VD_OPEN_NO_LOCK; break;
    default:
      tool_error (_ ("Try '%s snapshot --help'"), progname);
      return EXIT_ERR;
    }
    if (act != ACT_NONE) {
      if (action != ACT_NONE) {
        tool_error (_ ("Cannot mix '-l', '-a', '-c', '-d'"));
        return EXIT_ERR;
      }
      action = act;
      if (act != ACT_LIST)
        name = optarg;
    }
  }
  (void) quiet;
  if (id) {
    if (action == ACT_NONE)
      action = ACT_DELETE;
    else if (action != ACT_DELETE) {
      tool_error (_ ("--id goes with -d only"));
      return EXIT_ERR;
    }
  }
  if (optind != argc - 1) {
    tool_error (_ ("Expecting one image file name (try '%s snapshot "
                   "--help')"),
                progname);
    return EXIT_ERR;
  }
  filename = argv[optind];
  if (format && !vd_format_known (format)) {
    tool_error (_ ("Unknown file format '%s'"), format);
    return EXIT_ERR;
  }
  if (action != ACT_LIST && action != ACT_NONE) {
    flags |= VD_OPEN_RDWR;
    flags &= ~VD_OPEN_NO_LOCK;
  }

  img = vd_open (filename, format, flags);
  if (!img) {
    tool_error_vd ();
    return EXIT_ERR;
  }
  r = EXIT_OK;
  switch (action) {
  case ACT_LIST: {
    struct vd_info info;
    if (vd_get_info (img, &info) == -1) {
      tool_error_vd ();
      r = EXIT_ERR;
      break;
    }
    if (output == 1)
      print_json (&info);
    else if (info.nr_snapshots > 0)
      img_print_snapshot_table (&info);
    vd_info_free (&info);
    break;
  }
  case ACT_CREATE:
    if (vd_snapshot_create (img, name) == -1) {
      tool_error (_ ("Could not create snapshot '%s': %s"), name, vd_error ());
      r = EXIT_ERR;
    }
    break;
  case ACT_APPLY:
    if (vd_snapshot_apply (img, name) == -1) {
      if (vd_errno () == ENOENT)
        tool_error (_ ("Could not apply snapshot '%s': Failed to load "
                       "snapshot: %s"),
                    name, strerror (ENOENT));
      else
        tool_error (_ ("Could not apply snapshot '%s': %s"), name, vd_error ());
      r = EXIT_ERR;
    }
    break;
  case ACT_DELETE:
    if (vd_snapshot_delete (img, name, id) == -1) {
      tool_error (_ ("Could not delete snapshot '%s': %s"), name ? name : id,
                  vd_error ());
      r = EXIT_ERR;
    }
    break;
  default: break;
  }
  if (vd_close (img) == -1 && r == EXIT_OK) {
    tool_error_vd ();
    r = EXIT_ERR;
  }
  return r;
}
