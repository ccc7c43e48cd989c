/* vd-img info: qemu-img's info, human and JSON, optionally for the whole
 * backing chain.  The backing file is not opened unless --backing-chain
 * asks for it (a hostile image may name any file).
 */
#include <config.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vd-img.h"

/* The snapshots as qemu-img's JSON lists them (info and snapshot -l). */
json_t *
img_snapshots_json (const struct vd_info *info)
{
  json_t *a = json_array ();
  size_t i;

  for (i = 0; i < info->nr_snapshots; i++) {
    const struct vd_snapshot_info *s = &info->snapshots[i];
    json_t *o = json_object ();
    if (s->icount != UINT64_MAX)
      json_object_set_new (o, "icount", json_integer (s->icount));
    json_object_set_new (o, "vm-clock-nsec",
                         json_integer (s->vm_clock_nsec % 1000000000));
    json_object_set_new (o, "name", json_string (s->name));
    json_object_set_new (o, "date-sec", json_integer (s->date_sec));
    json_object_set_new (o, "date-nsec", json_integer (s->date_nsec));
    json_object_set_new (o, "vm-clock-sec",
                         json_integer (s->vm_clock_nsec / 1000000000));
    json_object_set_new (o, "id", json_string (s->id));
    json_object_set_new (o, "vm-state-size", json_integer (s->vm_state_size));
    json_array_append_new (a, o);
  }
  return a;
}

static json_t *
info_to_json (const struct vd_info *info)
{
  json_t *j = json_object ();

  json_object_set_new (j, "virtual-size", json_integer (info->virtual_size));
  json_object_set_new (j, "filename", json_string (info->filename));
  if (info->cluster_size)
    json_object_set_new (j, "cluster-size", json_integer (info->cluster_size));
  json_object_set_new (j, "format", json_string (info->format));
  if (info->actual_size >= 0)
    json_object_set_new (j, "actual-size", json_integer (info->actual_size));
  if (info->encrypted)
    json_object_set_new (j, "encrypted", json_true ());
  if (info->backing_filename) {
    json_object_set_new (j, "backing-filename",
                         json_string (info->backing_filename));
    if (info->full_backing_filename)
      json_object_set_new (j, "full-backing-filename",
                           json_string (info->full_backing_filename));
    if (info->backing_format)
      json_object_set_new (j, "backing-filename-format",
                           json_string (info->backing_format));
  }
  if (info->nr_snapshots > 0)
    json_object_set_new (j, "snapshots", img_snapshots_json (info));
  if (info->format_specific)
    json_object_set_new (j, "format-specific",
                         value_to_json (info->format_specific));
  json_object_set_new (j, "dirty-flag", json_boolean (info->dirty_flag));
  json_qemu_order (j);
  return j;
}

void
img_print_snapshot_table (const struct vd_info *info)
{
  size_t i;

  printf ("Snapshot list:\n");
  printf ("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
          "VM CLOCK", "ICOUNT");
  for (i = 0; i < info->nr_snapshots; i++) {
    const struct vd_snapshot_info *s = &info->snapshots[i];
    char size[32], date[32], clock[32], icount[32] = "";
    time_t t = s->date_sec;
    struct tm tm;
    uint64_t secs = s->vm_clock_nsec / 1000000000;

    vd_size_to_str (s->vm_state_size, size, sizeof size);
    localtime_r (&t, &tm);
    strftime (date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf (clock, sizeof clock,
              "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64,
              secs / 3600, (secs / 60) % 60, secs % 60,
              (s->vm_clock_nsec / 1000000) % 1000);
    if (s->icount != UINT64_MAX)
      snprintf (icount, sizeof icount, "%" PRIu64, s->icount);
    printf ("%-9s %-16s %8s%20s%13s%11s\n", s->id, s->name, size, date, clock,
            icount);
  }
}

static void
print_human (const struct vd_info *info)
{
  char vsize[32], dsize[32];

  vd_size_to_str (info->virtual_size, vsize, sizeof vsize);
  if (info->actual_size >= 0)
    vd_size_to_str (info->actual_size, dsize, sizeof dsize);
  else
    strcpy (dsize, "unavailable");
  printf ("image: %s\n"
          "file format: %s\n"
          "virtual size: %s (%" PRIu64 " bytes)\n"
          "disk size: %s\n",
          info->filename, info->format, vsize, info->virtual_size, dsize);
  if (info->encrypted)
    printf ("encrypted: yes\n");
  if (info->cluster_size)
    printf ("cluster_size: %" PRIu64 "\n", info->cluster_size);
  if (info->dirty_flag)
    printf ("cleanly shut down: no\n");
  if (info->backing_filename) {
    printf ("backing file: %s", info->backing_filename);
    if (!info->full_backing_filename)
      printf (" (cannot determine actual path)");
    else if (strcmp (info->backing_filename, info->full_backing_filename))
      printf (" (actual path: %s)", info->full_backing_filename);
    printf ("\n");
    if (info->backing_format)
      printf ("backing file format: %s\n", info->backing_format);
  }
  if (info->nr_snapshots > 0)
    img_print_snapshot_table (info);
  if (info->format_specific) {
    json_t *j = value_to_json (info->format_specific);
    json_t *data;
    json_qemu_order (j);
    data = json_object_get (j, "data");
    printf ("Format specific information:\n");
    if (data)
      json_dump_human (stdout, data, 1);
    json_decref (j);
  }
}

int
cmd_info (int argc, char **argv)
{
  static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "output", required_argument, NULL, 'O' },
    { "backing-chain", no_argument, NULL, 'C' },
    { "force-share", no_argument, NULL, 'U' },
    { NULL, 0, NULL, 0 },
  };
  const char *format = NULL, *filename;
  int output = 0, c;
  bool chain = false;
  unsigned flags = VD_OPEN_NO_BACKING;
  vd_image *img, *cur;
  json_t *arr = NULL;

  while ((c = getopt_long (argc, argv, "hf:U", long_opts, NULL)) != -1) {
    switch (c) {
    case 'h': img_subcommand_usage ("info"); return EXIT_OK;
    case 'f': format = optarg; break;
    case 'O':
      output = img_parse_output (optarg);
      if (output < 0)
        return EXIT_ERR;
      break;
    case 'C': chain = true; break;
    case 'U': flags |= VD_OPEN_NO_LOCK; break;
    default: tool_error (_ ("Try '%s info --help'"), progname); return EXIT_ERR;
    }
  }
  if (optind != argc - 1) {
    tool_error (_ ("Expecting one image file name (try '%s info --help')"),
                progname);
    return EXIT_ERR;
  }
  filename = argv[optind];
  if (format && !vd_format_known (format)) {
    tool_error (_ ("Unknown file format '%s'"), format);
    return EXIT_ERR;
  }
  if (chain)
    flags &= ~VD_OPEN_NO_BACKING;

  img = vd_open (filename, format, flags);
  if (!img) {
    tool_error_vd ();
    return EXIT_ERR;
  }
  if (output == 1 && chain)
    arr = json_array ();
  for (cur = img; cur; cur = chain ? vd_get_backing (cur) : NULL) {
    struct vd_info info;

    if (vd_get_info (cur, &info) == -1) {
      tool_error_vd ();
      json_decref (arr);
      vd_close (img);
      return EXIT_ERR;
    }
    if (output == 1) {
      json_t *j = info_to_json (&info);
      if (arr)
        json_array_append_new (arr, j);
      else {
        json_print_qemu (stdout, j);
        json_decref (j);
      }
    }
    else {
      if (cur != img)
        printf ("\n");
      print_human (&info);
    }
    vd_info_free (&info);
  }
  if (arr) {
    json_print_qemu (stdout, arr);
    json_decref (arr);
  }
  vd_close (img);
  return EXIT_OK;
}
