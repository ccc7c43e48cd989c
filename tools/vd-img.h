/* vd-img's subcommands: one handler per file (img-NAME.c), dispatched
 * through the table in vd-img.c as qemu-img does.
 */
#ifndef VD_IMG_H
#define VD_IMG_H

#include "common/common.h"

/* Exit codes shared by most subcommands. */
#define EXIT_OK 0
#define EXIT_ERR 1

/* True when invoked under the name qemu-img (drop-in mode). */
bool img_qemu_mode (void);

/* Parse "--output=human|json"; returns 0 human, 1 json, -1 bad. */
int img_parse_output (const char *arg);

/* Add -o option text to OPTS, reporting errors.  Returns 0 / -1. */
int img_add_opts (struct vd_opts *opts, const char *arg);
/* Print "-o help" for FORMAT. */
void img_print_create_opts (const char *format);

/* "usage: ..." of one subcommand, for CMD --help. */
void img_subcommand_usage (const char *name);

int cmd_check (int argc, char **argv);
int cmd_create (int argc, char **argv);
int cmd_info (int argc, char **argv);
int cmd_convert (int argc, char **argv);
int cmd_snapshot (int argc, char **argv);

/* The "Snapshot list:" table of qemu-img info and snapshot -l. */
void img_print_snapshot_table (const struct vd_info *info);
/* The snapshots as qemu-img's JSON lists them (info and snapshot -l). */
json_t *img_snapshots_json (const struct vd_info *info);
int cmd_map (int argc, char **argv);
int cmd_compare (int argc, char **argv);
int cmd_measure (int argc, char **argv);
int cmd_resize (int argc, char **argv);
int cmd_amend (int argc, char **argv);
int cmd_commit (int argc, char **argv);
int cmd_rebase (int argc, char **argv);

#endif /* VD_IMG_H */
