/* The option parser every guest tool uses (guest.h): the shared options
 * and the tool's own come from tables, which also make --help, so the
 * help, the parser and the man page test all read the same list.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

/* Ids of the shared long-only options (tools use 256..0xfff). */
enum {
  COPT_FORMAT = 0x1000,
  COPT_KEY,
  COPT_KEYS_FROM_STDIN,
  COPT_ECHO_KEYS,
  COPT_CSV,
  COPT_JSON,
  COPT_HELP,
  COPT_NATIVE,
  COPT_APPLIANCE,
};

struct common_option {
  unsigned group; /* GOPT_* that brings it in; 0: always */
  struct tool_option opt;
};

static const struct common_option common_options[] = {
  { GOPT_ADD,
    { "add", 'a', required_argument, "IMAGE", N_ ("Add a disk image"), 'a' } },
  { GOPT_ADD,
    { "connect", 'c', required_argument, "URI",
      N_ ("Libvirt URI for the -d option"), 'c' } },
  { GOPT_ADD,
    { "domain", 'd', required_argument, "GUEST",
      N_ ("Add the disks of a libvirt guest (name or UUID)"), 'd' } },
  { GOPT_ADD,
    { "format", 0, optional_argument, "[=raw|qcow2|..]",
      N_ ("Force the disk format of the -a options that follow"),
      COPT_FORMAT } },
  { GOPT_MOUNT,
    { "mount", 'm', required_argument, "DEV[:MNT[:OPTS[:FSTYPE]]]",
      N_ ("Mount DEV on MNT (if omitted, /)"), 'm' } },
  { GOPT_INSPECT,
    { "inspector", 'i', no_argument, NULL,
      N_ ("Find the guest's root and mount its filesystems"), 'i' } },
  { GOPT_KEYS,
    { "key", 0, required_argument, "ID:key:KEY|ID:file:FILE",
      N_ ("The key of a LUKS device (ID: its device or UUID)"), COPT_KEY } },
  { GOPT_KEYS,
    { "keys-from-stdin", 0, no_argument, NULL,
      N_ ("Read LUKS keys from stdin, one per line"), COPT_KEYS_FROM_STDIN } },
  { GOPT_KEYS,
    { "echo-keys", 0, no_argument, NULL,
      N_ ("Do not turn echo off when asking for a key"), COPT_ECHO_KEYS } },
  { GOPT_CSV,
    { "csv", 0, no_argument, NULL, N_ ("Comma-separated values output"),
      COPT_CSV } },
  { GOPT_JSON,
    { "json", 0, no_argument, NULL, N_ ("JSON output"), COPT_JSON } },
  { GOPT_PATH,
    { "native", 0, no_argument, NULL,
      N_ ("Read ext2/3/4 guests without the appliance (or fail)"),
      COPT_NATIVE } },
  { GOPT_PATH,
    { "appliance", 0, no_argument, NULL,
      N_ ("Always read the guest through the libguestfs appliance"),
      COPT_APPLIANCE } },
  { 0, { "help", 0, no_argument, NULL, N_ ("Display brief help"), COPT_HELP } },
  { 0, { "verbose", 'v', no_argument, NULL, N_ ("Verbose messages"), 'v' } },
  { 0,
    { "version", 'V', no_argument, NULL, N_ ("Display the version and exit"),
      'V' } },
  { 0,
    { NULL, 'x', no_argument, NULL, N_ ("Trace libguestfs API calls"), 'x' } },
};
#define NR_COMMON (sizeof common_options / sizeof common_options[0])

/* Every option the tool offers: the shared ones it asked for, then its
 * own.  Borrowed pointers; caller frees the array. */
static const struct tool_option **
all_options (const struct tool_info *t, size_t *n)
{
  const struct tool_option **v;
  size_t i, k = 0, own = 0;

  while (t->options && t->options[own].help)
    own++;
  v = calloc (NR_COMMON + own, sizeof *v);
  if (!v)
    return NULL;
  for (i = 0; i < NR_COMMON; i++)
    if (common_options[i].group == 0 || (t->common & common_options[i].group))
      v[k++] = &common_options[i].opt;
  for (i = 0; i < own; i++)
    v[k++] = &t->options[i];
  *n = k;
  return v;
}

static const char *
sort_name (const struct tool_option *o)
{
  static char letter[2][2];
  static int which;

  if (o->name)
    return o->name;
  which = !which;
  letter[which][0] = (char) o->short_name;
  letter[which][1] = '\0';
  return letter[which];
}

static int
option_cmp (const void *a, const void *b)
{
  const struct tool_option *x = *(const struct tool_option *const *) a;
  const struct tool_option *y = *(const struct tool_option *const *) b;
  int r = strcmp (sort_name (x), sort_name (y));

  /* -v before -V. */
  if (r == 0)
    r = y->short_name - x->short_name;
  return r;
}

static void
usage (const struct tool_info *t)
{
  const struct tool_option **v;
  size_t n, i;

  printf ("%s: %s\n", progname, _ (t->summary));
  printf (_ ("Usage:\n"));
  for (i = 0; t->usage[i]; i++)
    printf ("  %s %s\n", progname, t->usage[i]);
  printf (_ ("Options:\n"));
  v = all_options (t, &n);
  if (!v)
    return;
  qsort (v, n, sizeof *v, option_cmp);
  for (i = 0; i < n; i++) {
    char spec[128];
    const struct tool_option *o = v[i];
    const char *sep = o->has_arg == optional_argument ? "" : " ";

    if (o->short_name && o->name)
      snprintf (spec, sizeof spec, "-%c|--%s", o->short_name, o->name);
    else if (o->name)
      snprintf (spec, sizeof spec, "--%s", o->name);
    else
      snprintf (spec, sizeof spec, "-%c", o->short_name);
    if (o->arg) {
      size_t l = strlen (spec);
      snprintf (spec + l, sizeof spec - l, "%s%s", sep, o->arg);
    }
    if (strlen (spec) <= 20)
      printf ("  %-20s %s\n", spec, _ (o->help));
    else
      printf ("  %s\n  %-20s %s\n", spec, "", _ (o->help));
  }
  free (v);
  printf (_ ("For more information, see the manpage %s(1).\n"), progname);
}

void
guest_opts_free (struct guest_opts *o)
{
  size_t i;

  for (i = 0; i < o->nr_drives; i++) {
    free (o->drives[i].filename);
    free (o->drives[i].format);
  }
  free (o->drives);
  for (i = 0; i < o->nr_keys; i++) {
    free (o->keys[i].id);
    if (o->keys[i].key) {
      memset (o->keys[i].key, 0, strlen (o->keys[i].key));
      free (o->keys[i].key);
    }
  }
  free (o->keys);
  free (o->mounts);
  free (o->args);
  memset (o, 0, sizeof *o);
}

static int
add_drive (struct guest_opts *o, const char *file, const char *format)
{
  struct guest_drive *v = realloc (o->drives, (o->nr_drives + 1) * sizeof *v);

  if (!v)
    return -1;
  o->drives = v;
  v[o->nr_drives].filename = strdup (file);
  v[o->nr_drives].format = format ? strdup (format) : NULL;
  if (!v[o->nr_drives].filename || (format && !v[o->nr_drives].format)) {
    free (v[o->nr_drives].filename);
    free (v[o->nr_drives].format);
    return -1;
  }
  o->nr_drives++;
  return 0;
}

/* --key ID:key:KEY or ID:file:FILE (the file is read now). */
static int
add_key (struct guest_opts *o, const char *arg)
{
  const char *c1 = strchr (arg, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
  struct guest_key k = { NULL, NULL };
  struct guest_key *v;

  if (!c1 || !c2 || c1 == arg) {
    tool_error (_ ("--key '%s': expected ID:key:KEY or ID:file:FILENAME"), arg);
    return -1;
  }
  k.id = strndup (arg, c1 - arg);
  if (!k.id)
    goto oom;
  if ((size_t) (c2 - c1 - 1) == 3 && strncmp (c1 + 1, "key", 3) == 0)
    k.key = strdup (c2 + 1);
  else if ((size_t) (c2 - c1 - 1) == 4 && strncmp (c1 + 1, "file", 4) == 0) {
    FILE *fp = fopen (c2 + 1, "r");
    size_t cap = 0;
    ssize_t len;

    if (!fp) {
      tool_error ("--key: %s: %s", c2 + 1, strerror (errno));
      free (k.id);
      return -1;
    }
    len = getline (&k.key, &cap, fp);
    fclose (fp);
    if (len < 0) {
      tool_error (_ ("--key: %s: the file holds no key"), c2 + 1);
      free (k.key);
      free (k.id);
      return -1;
    }
    k.key[strcspn (k.key, "\r\n")] = '\0';
  }
  else {
    tool_error (_ ("--key '%s': expected ID:key:KEY or ID:file:FILENAME"), arg);
    free (k.id);
    return -1;
  }
  if (!k.key)
    goto oom;
  v = realloc (o->keys, (o->nr_keys + 1) * sizeof *v);
  if (!v)
    goto oom;
  o->keys = v;
  o->keys[o->nr_keys++] = k;
  return 0;

oom:
  free (k.id);
  free (k.key);
  tool_error (_ ("out of memory"));
  return -1;
}

/* The --format given last, and whether an -a has used it yet. */
struct format_state {
  const char *format;
  bool pending;
};

static int
handle_common (struct guest_opts *o, int id, const char *arg,
               struct format_state *fs, const struct tool_info *t)
{
  char **m;

  switch (id) {
  case 'a':
    fs->pending = false;
    if (add_drive (o, arg, fs->format) == -1) {
      tool_error (_ ("out of memory"));
      return -1;
    }
    return 0;
  case 'c': o->uri = arg; return 0;
  case 'd':
    if (o->domain) {
      tool_error (_ ("only one -d option can be given"));
      return -1;
    }
    o->domain = arg;
    return 0;
  case COPT_FORMAT:
    fs->format = arg && arg[0] ? arg : NULL;
    fs->pending = fs->format != NULL;
    return 0;
  case 'm':
    m = realloc (o->mounts, (o->nr_mounts + 1) * sizeof *m);
    if (!m) {
      tool_error (_ ("out of memory"));
      return -1;
    }
    o->mounts = m;
    o->mounts[o->nr_mounts++] = (char *) arg;
    return 0;
  case 'i': o->inspector = true; return 0;
  case COPT_KEY: return add_key (o, arg);
  case COPT_KEYS_FROM_STDIN: o->keys_from_stdin = true; return 0;
  case COPT_ECHO_KEYS: o->echo_keys = true; return 0;
  case COPT_CSV:
  case COPT_JSON:
    if (o->output != OUTPUT_TEXT) {
      tool_error (_ ("--csv and --json cannot be used together"));
      return -1;
    }
    o->output = id == COPT_CSV ? OUTPUT_CSV : OUTPUT_JSON;
    return 0;
  case COPT_NATIVE:
  case COPT_APPLIANCE:
    if (o->path != GUEST_PATH_AUTO) {
      tool_error (_ ("--native and --appliance cannot be used together"));
      return -1;
    }
    o->path = id == COPT_NATIVE ? GUEST_PATH_NATIVE : GUEST_PATH_APPLIANCE;
    return 0;
  case 'v': o->verbose = true; return 0;
  case 'x': o->trace = true; return 0;
  case COPT_HELP: usage (t); return 1;
  case 'V':
    printf ("%s version %s (vdtools)\n", progname, PACKAGE_VERSION);
    return 1;
  }
  return -2; /* not a shared option */
}

static bool
is_own_option (const struct tool_info *t, int id)
{
  size_t i;

  for (i = 0; t->options && t->options[i].help; i++)
    if (t->options[i].id == id)
      return true;
  return false;
}

int
guest_opts_parse (const struct tool_info *t, void *data, int argc, char **argv,
                  struct guest_opts *o)
{
  const struct tool_option **v;
  struct option *longopts;
  char shortopts[128];
  struct format_state fs = { NULL, false };
  size_t n, i, k = 0, s = 0;
  int c, r = 0;

  memset (o, 0, sizeof *o);
  v = all_options (t, &n);
  longopts = calloc (n + 1, sizeof *longopts);
  if (!v || !longopts) {
    free (v);
    free (longopts);
    tool_error (_ ("out of memory"));
    return -1;
  }
  for (i = 0; i < n; i++) {
    if (v[i]->name)
      longopts[k++] =
          (struct option){ v[i]->name, v[i]->has_arg, NULL, v[i]->id };
    if (v[i]->short_name && s + 4 < sizeof shortopts) {
      shortopts[s++] = (char) v[i]->short_name;
      if (v[i]->has_arg != no_argument)
        shortopts[s++] = ':';
      if (v[i]->has_arg == optional_argument)
        shortopts[s++] = ':';
    }
  }
  shortopts[s] = '\0';

  optind = 1;
  while (r == 0
         && (c = getopt_long (argc, argv, shortopts, longopts, NULL)) != -1) {
    if (c == '?') {
      tool_error (_ ("try '%s --help'"), progname);
      r = -1;
      break;
    }
    /* A tool's own option wins over a shared one of the same letter that
     * the tool did not ask for (vd-df's -i is --inodes, not -i). */
    r = is_own_option (t, c) ? -2 : handle_common (o, c, optarg, &fs, t);
    if (r == -2)
      r = t->handle (data, c, optarg) == 0 ? 0 : -1;
  }
  free (v);
  free (longopts);
  if (r != 0)
    goto fail;

  if ((t->common & GOPT_ADD) && !t->disks_optional && o->nr_drives == 0
      && !o->domain) {
    tool_error (_ ("no disk given: use -a IMAGE or -d GUEST (try '%s "
                   "--help')"),
                progname);
    goto fail;
  }
  if (fs.pending) {
    /* As virt tools say: --format applies to the -a options after it. */
    tool_error (_ ("--format parameter must appear before -a parameter"));
    goto fail;
  }
  if (o->nr_drives > 0 && o->domain) {
    tool_error (_ ("use either -a or -d, not both"));
    goto fail;
  }
  if ((size_t) (argc - optind) < t->min_args) {
    tool_error (_ ("missing argument (try '%s --help')"), progname);
    goto fail;
  }
  o->nr_args = (size_t) (argc - optind);
  o->args = calloc (o->nr_args + 1, sizeof *o->args);
  if (!o->args) {
    tool_error (_ ("out of memory"));
    goto fail;
  }
  for (i = 0; i < o->nr_args; i++)
    o->args[i] = argv[optind + i];
  return 0;

fail:
  guest_opts_free (o);
  return r > 0 ? 1 : -1;
}
