/* vd-df's work (df.h): the statvfs of every filesystem of many guests with
 * few appliance launches.  A launch costs as much as examining a dozen
 * guests, so the disks of several guests go into one appliance, and the
 * guest's own names are given back (the appliance's /dev/sdc1 is the
 * second guest's /dev/sda1).  LVM is the one thing guests can share by
 * accident (cloned disks hold the same volume group): when two guests of
 * an appliance hold physical volumes, each guest's volumes are looked at
 * through an LVM filter of its own devices.  Up to -P appliances run at
 * once, one thread each.  A guest that fails is reported and the others
 * go on: a disk qemu refuses costs its guest only, and when the appliance
 * dies under one guest the guests after it get a new appliance.
 *
 * Each filesystem costs a few calls into the appliance (vfs_type, mount,
 * statvfs); virt-df's guestfs_list_filesystems also reads every
 * partition table several times over, which under emulation is most of
 * its time, so we list and classify the devices ourselves.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "df.h"
#include "inspect.h"

/* With -P chosen by vd-df: guests per appliance before starting another
 * is worth a launch (a launch costs about as much as examining ten). */
#define MIN_GUESTS_PER_APPLIANCE 8
/* Memory the host needs per appliance beyond the appliance's own. */
#define APPLIANCE_OVERHEAD_MB 256

/* ---- notes ----------------------------------------------------------------
 */

static bool notes_on;
static pthread_mutex_t note_lock = PTHREAD_MUTEX_INITIALIZER;

void
df_notes (bool on)
{
  notes_on = on;
}

void
df_note (const char *fmt, ...)
{
  va_list ap;

  if (!notes_on)
    return;
  pthread_mutex_lock (&note_lock);
  fprintf (stderr, "%s: note: ", progname);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  pthread_mutex_unlock (&note_lock);
}

static void
free_strings (char **v)
{
  size_t i;

  for (i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

static size_t
count_strings (char *const *v)
{
  size_t n = 0;

  while (v && v[n])
    n++;
  return n;
}

/* ---- the run: a queue of batches, worked by -P threads ------------------ */

struct batch {
  size_t *idx; /* guests, in order */
  size_t n;
};

struct run {
  struct df_guest *guests;
  struct df_work *w;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct batch *q;
  size_t qhead, qn, qcap;
  unsigned busy;
  unsigned launches;
};

/* Queue guests IDX[0..N-1] as one appliance.  Returns 0 or -1 (out of
 * memory: those guests get an error instead). */
static int
push_batch (struct run *run, const size_t *idx, size_t n)
{
  struct batch b = { NULL, n };
  int r = 0;

  if (n == 0)
    return 0;
  b.idx = malloc (n * sizeof *b.idx);
  pthread_mutex_lock (&run->lock);
  if (b.idx && run->qn == run->qcap) {
    size_t cap = run->qcap ? run->qcap * 2 : 16;
    struct batch *q = realloc (run->q, cap * sizeof *q);
    if (q) {
      run->q = q;
      run->qcap = cap;
    }
  }
  if (b.idx && run->qn < run->qcap) {
    memcpy (b.idx, idx, n * sizeof *idx);
    run->q[run->qn++] = b;
    pthread_cond_broadcast (&run->cond);
  }
  else {
    free (b.idx);
    r = -1;
  }
  pthread_mutex_unlock (&run->lock);
  if (r == -1) {
    size_t i;
    for (i = 0; i < n; i++)
      df_guest_add_error (&run->guests[idx[i]], "%s: out of memory",
                          run->guests[idx[i]].name);
  }
  return r;
}

/* ---- one appliance ------------------------------------------------------- */

/* A device that may hold a filesystem. */
struct cand {
  char *dev;  /* the appliance's name */
  char *type; /* vfs type once known */
};

struct cands {
  struct cand *v;
  size_t n;
};

/* A guest in an appliance, and what was found so far (given to the guest
 * only when it is done, so a guest that has to start over in another
 * appliance reports nothing twice). */
struct member {
  struct df_guest *g;
  size_t gi;    /* index in run->guests */
  size_t first; /* its first disk among the appliance's disks */
  size_t ndisks;
  struct cands fs; /* filesystems to mount, in virt-df's order */
  char **pvs;      /* LVM physical volumes (appliance names) */
  size_t npvs;
  bool has_ldm;        /* holds Windows dynamic disk partitions */
  bool alone;          /* must go to an appliance of its own */
  struct df_guest res; /* fs and errors found */
  char **rowdev;       /* appliance device of each res.fs row */
  char *fstab;         /* /etc/fstab found on one of its filesystems */
  size_t fstab_row;
};

struct appliance {
  struct run *run;
  guestfs_h *g;
  struct member *m;
  size_t nm;
  char **devices, **parts, **ldm_parts, **mds;
  unsigned mounts; /* mount points made so far */
  bool luks_opened;
};

static void
cands_free (struct cands *c)
{
  size_t i;

  for (i = 0; i < c->n; i++) {
    free (c->v[i].dev);
    free (c->v[i].type);
  }
  free (c->v);
  c->v = NULL;
  c->n = 0;
}

static int
cands_add (struct cands *c, const char *dev, const char *type)
{
  struct cand *v = realloc (c->v, (c->n + 1) * sizeof *v);

  if (!v)
    return -1;
  c->v = v;
  v[c->n].dev = strdup (dev);
  v[c->n].type = type ? strdup (type) : NULL;
  if (!v[c->n].dev || (type && !v[c->n].type)) {
    free (v[c->n].dev);
    free (v[c->n].type);
    return -1;
  }
  c->n++;
  return 0;
}

static int
strings_add (char ***v, size_t *n, const char *s)
{
  char **nv = realloc (*v, (*n + 2) * sizeof *nv);

  if (!nv)
    return -1;
  *v = nv;
  nv[*n] = strdup (s);
  if (!nv[*n])
    return -1;
  nv[++*n] = NULL;
  return 0;
}

static void
member_free (struct member *m)
{
  size_t i;

  cands_free (&m->fs);
  free_strings (m->pvs);
  for (i = 0; i < m->res.nr_fs; i++) {
    free (m->res.fs[i].device);
    free (m->res.fs[i].type);
    free (m->res.fs[i].mountpoint);
    free (m->rowdev[i]);
  }
  free (m->res.fs);
  free (m->rowdev);
  for (i = 0; i < m->res.nr_errors; i++)
    free (m->res.errors[i]);
  free (m->res.errors);
  free (m->fstab);
  memset (m, 0, sizeof *m);
}

/* An error of M's guest, named when there are many guests. */
static void __attribute__ ((format (printf, 3, 4)))
member_error (const struct appliance *a, struct member *m, const char *fmt, ...)
{
  char *msg;
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (r < 0)
    msg = NULL;
  if (a->run->w->name_errors)
    df_guest_add_error (&m->res, "%s: %s", m->g->name,
                        msg ? msg : "out of memory");
  else
    df_guest_add_error (&m->res, "%s", msg ? msg : "out of memory");
  free (msg);
}

/* Give M's findings to its guest. */
static void
member_commit (struct member *m)
{
  size_t i;

  for (i = 0; i < m->res.nr_fs; i++) {
    const struct df_fs *f = &m->res.fs[i];
    if (df_guest_add_fs (m->g, f->device, f->type, f->mountpoint, &f->st) == -1)
      df_guest_add_error (m->g, "%s: out of memory", m->g->name);
  }
  for (i = 0; i < m->res.nr_errors; i++)
    df_guest_add_error (m->g, "%s", m->res.errors[i]);
}

static bool
alive (guestfs_h *g)
{
  return guestfs_is_ready (g) == 1;
}

/* The guest's name for the appliance's DEV (malloc'd, or NULL). */
static char *
shown (const struct member *m, const char *dev)
{
  return df_guest_device (dev, m->first);
}

/* The member whose disks hold appliance disk INDEX, or NULL. */
static struct member *
owner_of_disk (struct appliance *a, size_t index)
{
  size_t i;

  for (i = 0; i < a->nm; i++)
    if (index >= a->m[i].first && index < a->m[i].first + a->m[i].ndisks)
      return &a->m[i];
  return NULL;
}

/* The owner of a device or partition named like "sdb1" or "/dev/sdb1". */
static struct member *
owner_of_name (struct appliance *a, const char *name)
{
  size_t index;
  const char *rest;

  if (strncmp (name, "/dev/", 5) == 0)
    name += 5;
  if (df_disk_index (name, &index, &rest) == -1)
    return NULL;
  return owner_of_disk (a, index);
}

static bool
in_list (char *const *v, const char *s)
{
  size_t i;

  for (i = 0; v && v[i]; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

/* The vfs type of DEV, or NULL when there is none (an error here is
 * "nothing recognisable", as virt-df takes it). */
static char *
vfs_type (guestfs_h *g, const char *dev)
{
  char *t;

  guestfs_push_error_handler (g, NULL, NULL);
  t = guestfs_vfs_type (g, dev);
  guestfs_pop_error_handler (g);
  if (t && !t[0]) {
    free (t);
    t = NULL;
  }
  return t;
}

static int open_luks (struct appliance *a, struct member *m, const char *dev);

/* Sort DEV of M by its content: a filesystem to mount (added to M's
 * list), a physical volume, a LUKS container (opened, and its content
 * sorted in turn), or nothing we show.  Returns 0, or -1 when the
 * appliance died (M's error set). */
static int
classify (struct appliance *a, struct member *m, const char *dev)
{
  char *type = vfs_type (a->g, dev);
  CLEANUP_FREE char *name = shown (m, dev);
  const char *n = name ? name : dev;
  int r = 0;

  if (!type) {
    if (!alive (a->g)) {
      member_error (a, m, _ ("the appliance stopped while examining %s"), n);
      return -1;
    }
    df_note ("%s: %s: no filesystem found, skipped", m->g->name, n);
    return 0;
  }
  if (strcmp (type, "swap") == 0)
    df_note ("%s: %s: swap, skipped", m->g->name, n);
  else if (strcmp (type, "LVM2_member") == 0) {
    if (strings_add (&m->pvs, &m->npvs, dev) == -1)
      member_error (a, m, _ ("out of memory"));
  }
  else if (strlen (type) > 7
           && strcmp (type + strlen (type) - 7, "_member") == 0)
    df_note ("%s: %s: part of a set (%s), skipped", m->g->name, n, type);
  else if (strcmp (type, "crypto_LUKS") == 0)
    r = open_luks (a, m, dev);
  else if (strcmp (type, "btrfs") == 0) {
    struct guestfs_btrfssubvolume_list *vols;
    int64_t def;
    uint32_t i;

    /* The device is its default subvolume; the others are rows of their
     * own, as virt-df lists them. */
    if (cands_add (&m->fs, dev, type) == -1)
      member_error (a, m, _ ("out of memory"));
    guestfs_push_error_handler (a->g, NULL, NULL);
    vols = guestfs_btrfs_subvolume_list (a->g, dev);
    def = vols ? guestfs_btrfs_subvolume_get_default (a->g, dev) : -1;
    guestfs_pop_error_handler (a->g);
    for (i = 0; vols && def >= 0 && i < vols->len; i++) {
      CLEANUP_FREE char *vol = NULL;
      if ((int64_t) vols->val[i].btrfssubvolume_id == def)
        continue;
      if (asprintf (&vol, "btrfsvol:%s/%s", dev,
                    vols->val[i].btrfssubvolume_path)
              == -1
          || cands_add (&m->fs, vol, type) == -1)
        member_error (a, m, _ ("out of memory"));
    }
    if (vols)
      guestfs_free_btrfssubvolume_list (vols);
  }
  else if (cands_add (&m->fs, dev, type) == -1)
    member_error (a, m, _ ("out of memory"));
  free (type);
  return r;
}

/* Open the LUKS device DEV of M with the key the user gave, and sort
 * what is inside.  No key is an error of M's (its other filesystems are
 * still shown).  Returns 0, or -1 when the appliance died. */
static int
open_luks (struct appliance *a, struct member *m, const char *dev)
{
  CLEANUP_FREE char *name = shown (m, dev), *uuid = NULL, *mapped = NULL;
  const char *base = strrchr (dev, '/');
  char mapname[64], *key;
  struct df_work *w = a->run->w;
  int r;

  guestfs_push_error_handler (a->g, NULL, NULL);
  uuid = guestfs_vfs_uuid (a->g, dev);
  guestfs_pop_error_handler (a->g);
  key = w->key ? w->key (w->key_opaque, m->g->name, name ? name : dev, uuid)
               : NULL;
  if (!key) {
    member_error (a, m, "%s", vd_error ());
    return 0;
  }
  /* Named after the appliance's device: unique among the guests. */
  snprintf (mapname, sizeof mapname, "luks-%s", base ? base + 1 : dev);
  r = guestfs_cryptsetup_open (a->g, dev, key, mapname,
                               GUESTFS_CRYPTSETUP_OPEN_READONLY, 1, -1);
  memset (key, 0, strlen (key));
  free (key);
  if (r == -1) {
    if (!alive (a->g)) {
      member_error (a, m, _ ("the appliance stopped while opening %s"),
                    name ? name : dev);
      return -1;
    }
    member_error (a, m,
                  _ ("%s: cannot open the encrypted device (wrong key?): %s"),
                  name ? name : dev, guestfs_last_error (a->g));
    return 0;
  }
  a->luks_opened = true;
  if (asprintf (&mapped, "/dev/mapper/%s", mapname) == -1) {
    mapped = NULL;
    member_error (a, m, _ ("out of memory"));
    return 0;
  }
  return classify (a, m, mapped);
}

/* Mount CAND of M (the appliance's DEV) on a mount point of its own and
 * take its statvfs.  A filesystem that does not mount is skipped with a
 * note, as virt-df skips it.  Returns 0, or -1 when the appliance died. */
static int
examine_fs (struct appliance *a, struct member *m, const struct cand *c)
{
  struct guestfs_statvfs *sv;
  struct df_stat st;
  char mp[32], fstab[48];
  CLEANUP_FREE char *name = shown (m, c->dev);
  const char *n = name ? name : c->dev;
  char **rd;
  int r;

  /* A mount point each: nothing needs unmounting between filesystems. */
  snprintf (mp, sizeof mp, "/vd-df%u", ++a->mounts);
  if (guestfs_mkmountpoint (a->g, mp) == -1
      || guestfs_mount_ro (a->g, c->dev, mp) == -1) {
    if (!alive (a->g)) {
      member_error (a, m, _ ("the appliance stopped while mounting %s: %s"), n,
                    guestfs_last_error (a->g));
      return -1;
    }
    df_note ("%s: %s (%s): cannot be mounted, skipped: %s", m->g->name, n,
             c->type, guestfs_last_error (a->g));
    return 0;
  }
  sv = guestfs_statvfs (a->g, mp);
  if (!sv) {
    if (!alive (a->g)) {
      member_error (a, m, _ ("the appliance stopped while examining %s"), n);
      return -1;
    }
    df_note ("%s: %s: statvfs failed, skipped: %s", m->g->name, n,
             guestfs_last_error (a->g));
    return 0;
  }
  r = 0;
  if (sv->bsize < 0 || sv->frsize < 0 || sv->blocks < 0 || sv->bfree < 0
      || sv->bavail < 0 || sv->files < 0 || sv->ffree < 0 || sv->favail < 0) {
    member_error (a, m,
                  _ ("%s: the appliance reported negative statvfs numbers"), n);
    r = 1;
  }
  else {
    st.bsize = (uint64_t) sv->bsize;
    st.frsize = (uint64_t) sv->frsize;
    st.blocks = (uint64_t) sv->blocks;
    st.bfree = (uint64_t) sv->bfree;
    st.bavail = (uint64_t) sv->bavail;
    st.files = (uint64_t) sv->files;
    st.ffree = (uint64_t) sv->ffree;
    st.favail = (uint64_t) sv->favail;
    if (df_stat_check (n, &st) == -1) {
      member_error (a, m, "%s", vd_error ());
      r = 1;
    }
  }
  guestfs_free_statvfs (sv);
  if (r)
    return 0;

  rd = realloc (m->rowdev, (m->res.nr_fs + 1) * sizeof *rd);
  if (!rd) {
    member_error (a, m, _ ("out of memory"));
    return 0;
  }
  m->rowdev = rd;
  rd[m->res.nr_fs] = strdup (c->dev);
  if (!rd[m->res.nr_fs]
      || df_guest_add_fs (&m->res, n, c->type, NULL, &st) == -1) {
    free (rd[m->res.nr_fs]);
    member_error (a, m, _ ("out of memory"));
    return 0;
  }

  /* The root filesystem holds the fstab that says where the others go. */
  if (a->run->w->want_mountpoints && !m->fstab) {
    snprintf (fstab, sizeof fstab, "%s/etc/fstab", mp);
    guestfs_push_error_handler (a->g, NULL, NULL);
    if (guestfs_is_file (a->g, fstab) == 1) {
      m->fstab = guestfs_cat (a->g, fstab);
      m->fstab_row = m->res.nr_fs - 1;
    }
    guestfs_pop_error_handler (a->g);
    if (!alive (a->g)) {
      member_error (a, m, _ ("the appliance stopped while reading %s"), n);
      return -1;
    }
  }
  return 0;
}

static int
examine_all (struct appliance *a, struct member *m, struct cands *c)
{
  size_t i;

  for (i = 0; i < c->n; i++)
    if (examine_fs (a, m, &c->v[i]) == -1)
      return -1;
  return 0;
}

/* The logical volumes LVM shows now, sorted as filesystems to mount. */
static int
examine_lvs (struct appliance *a, struct member *m)
{
  char **lvs = guestfs_lvs (a->g);
  size_t i, before;
  int r = 0;

  if (!lvs) {
    if (!alive (a->g)) {
      member_error (a, m,
                    _ ("the appliance stopped while listing LVM volumes"));
      return -1;
    }
    member_error (a, m, _ ("cannot list the LVM volumes: %s"),
                  guestfs_last_error (a->g));
    return 0;
  }
  before = m->fs.n;
  for (i = 0; lvs[i] && r == 0; i++)
    r = classify (a, m, lvs[i]);
  if (r == 0) {
    struct cands lv = { m->fs.v + before, m->fs.n - before };
    r = examine_all (a, m, &lv);
  }
  free_strings (lvs);
  return r;
}

/* The guest's fstab says where its filesystems are mounted: match its
 * lines to the rows found (by device name, UUID or label). */
static void
find_mountpoints (struct appliance *a, struct member *m)
{
  struct df_fstab_entry *e = NULL;
  size_t ne = 0, i, j;
  char **uuids = NULL, **labels = NULL;

  if (!m->fstab || m->res.nr_fs == 0)
    return;
  if (df_fstab_parse (m->fstab, &e, &ne) == -1)
    return;
  uuids = calloc (m->res.nr_fs, sizeof *uuids);
  labels = calloc (m->res.nr_fs, sizeof *labels);
  if (!uuids || !labels)
    goto out;
  guestfs_push_error_handler (a->g, NULL, NULL);
  for (i = 0; i < ne; i++) {
    for (j = 0; j < m->res.nr_fs; j++) {
      struct df_fs *f = &m->res.fs[j];
      bool match = false;

      if (f->mountpoint || strncmp (f->device, "btrfsvol:", 9) == 0)
        continue;
      switch (e[i].kind) {
      case DF_SPEC_DEVICE: match = strcmp (e[i].value, f->device) == 0; break;
      case DF_SPEC_UUID:
        if (!uuids[j])
          uuids[j] = guestfs_vfs_uuid (a->g, m->rowdev[j]);
        match = uuids[j] && strcasecmp (uuids[j], e[i].value) == 0;
        break;
      case DF_SPEC_LABEL:
        if (!labels[j])
          labels[j] = guestfs_vfs_label (a->g, m->rowdev[j]);
        match =
            labels[j] && labels[j][0] && strcmp (labels[j], e[i].value) == 0;
        break;
      }
      if (match) {
        f->mountpoint = strdup (e[i].mountpoint);
        break;
      }
    }
  }
  guestfs_pop_error_handler (a->g);
  /* Whatever its fstab calls it, the filesystem holding /etc/fstab is /. */
  if (!m->res.fs[m->fstab_row].mountpoint) {
    bool root_taken = false;
    for (j = 0; j < m->res.nr_fs; j++)
      if (m->res.fs[j].mountpoint && strcmp (m->res.fs[j].mountpoint, "/") == 0)
        root_taken = true;
    if (!root_taken)
      m->res.fs[m->fstab_row].mountpoint = strdup ("/");
  }
out:
  for (j = 0; uuids && j < m->res.nr_fs; j++)
    free (uuids[j]);
  for (j = 0; labels && j < m->res.nr_fs; j++)
    free (labels[j]);
  free (uuids);
  free (labels);
  df_fstab_free (e, ne);
}

/* Add every disk of the batch.  0, or -1 after an error for the guest
 * whose disk libguestfs refused (the batch must start over). */
static int
add_disks (struct appliance *a, size_t *bad)
{
  size_t i, j, k = 0;

  for (i = 0; i < a->nm; i++) {
    struct member *m = &a->m[i];

    m->first = k;
    m->ndisks = m->g->nr_disks;
    for (j = 0; j < m->g->nr_disks; j++, k++) {
      const struct df_disk *d = &m->g->disks[j];

      if (guestfs_add_drive_opts (
              a->g, d->filename, GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
              d->format ? GUESTFS_ADD_DRIVE_OPTS_FORMAT : -1, d->format, -1)
          == -1) {
        member_error (a, m, "%s: %s", d->filename, guestfs_last_error (a->g));
        *bad = i;
        return -1;
      }
    }
  }
  return 0;
}

/* The appliance disk a launch error is about, or -1: libguestfs makes a
 * qcow2 overlay over each read-only disk, in order, and names the one
 * qemu-img could not make ("/overlay2.qcow2" is the second disk).  Only
 * a hint: a wrong guess costs one launch, never a wrong verdict (the
 * guest suspected is tried alone). */
static long
blame_disk (const char *msg)
{
  const char *p = strstr (msg, "/overlay");
  char *end;
  long n;

  if (!p || strstr (p + 1, "/overlay"))
    return -1;
  n = strtol (p + 8, &end, 10);
  if (end == p + 8 || strncmp (end, ".qcow2", 6) != 0 || n < 1)
    return -1;
  return n - 1;
}

/* Requeue the members of A from FROM on, except SKIP (or those marked
 * alone, which get an appliance each). */
static void
requeue (struct appliance *a, size_t from, size_t skip)
{
  size_t *idx = malloc ((a->nm + 1) * sizeof *idx);
  size_t i, n = 0;

  if (!idx)
    return;
  for (i = from; i < a->nm; i++) {
    if (i == skip)
      continue;
    if (a->m[i].alone)
      push_batch (a->run, &a->m[i].gi, 1);
    else
      idx[n++] = a->m[i].gi;
  }
  push_batch (a->run, idx, n);
  free (idx);
}

/* Phase 1 for member M: its devices and partitions, its md arrays. */
static int
sort_devices (struct appliance *a, struct member *m)
{
  size_t k, i;

  for (k = m->first; k < m->first + m->ndisks; k++) {
    const char *dev = a->devices[k];
    size_t dl = strlen (dev);
    bool partitioned = false;

    for (i = 0; a->parts[i]; i++) {
      const char *p = a->parts[i];
      if (strncmp (p, dev, dl) != 0 || p[dl] < '0' || p[dl] > '9')
        continue;
      partitioned = true;
      /* Windows dynamic disk partitions: their volumes come from LDM. */
      if (in_list (a->ldm_parts, p)) {
        m->has_ldm = true;
        continue;
      }
      if (classify (a, m, p) == -1)
        return -1;
    }
    /* A partitioned disk holds no filesystem of its own. */
    if (!partitioned && classify (a, m, dev) == -1)
      return -1;
  }
  for (i = 0; a->mds && a->mds[i]; i++) {
    struct guestfs_mdstat_list *st;
    struct member *owner = NULL;

    guestfs_push_error_handler (a->g, NULL, NULL);
    st = guestfs_md_stat (a->g, a->mds[i]);
    guestfs_pop_error_handler (a->g);
    if (st && st->len > 0)
      owner = owner_of_name (a, st->val[0].mdstat_device);
    if (st)
      guestfs_free_mdstat_list (st);
    if (owner == m && classify (a, m, a->mds[i]) == -1)
      return -1;
  }
  return 0;
}

static void
run_batch (struct run *run, const struct batch *b)
{
  struct appliance a = { .run = run };
  size_t i, bad, owners_pv = 0, owners_ldm = 0;
  struct member *pv_owner = NULL;
  time_t started;
  int r;

  a.m = calloc (b->n, sizeof *a.m);
  if (!a.m) {
    for (i = 0; i < b->n; i++)
      df_guest_add_error (&run->guests[b->idx[i]], "%s: out of memory",
                          run->guests[b->idx[i]].name);
    return;
  }
  a.nm = b->n;
  for (i = 0; i < b->n; i++) {
    a.m[i].g = &run->guests[b->idx[i]];
    a.m[i].gi = b->idx[i];
  }

  a.g = inspect_handle_new (false, run->w->trace);
  if (!a.g) {
    for (i = 0; i < a.nm; i++)
      member_error (&a, &a.m[i], "%s", vd_error ());
    goto commit_all;
  }
  if (add_disks (&a, &bad) == -1) {
    member_commit (&a.m[bad]);
    requeue (&a, 0, bad);
    goto out;
  }

  pthread_mutex_lock (&run->lock);
  run->launches++;
  pthread_mutex_unlock (&run->lock);
  df_note ("launching an appliance for %zu %s (%s%s)", a.nm,
           a.nm == 1 ? "guest" : "guests", a.m[0].g->name,
           a.nm > 1 ? ", ..." : "");
  started = time (NULL);
  if (inspect_launch (a.g) == -1) {
    CLEANUP_FREE char *msg = strdup (vd_error ());
    long disk = blame_disk (msg ? msg : "");
    struct member *who = disk >= 0 ? owner_of_disk (&a, (size_t) disk) : NULL;

    if (a.nm == 1) {
      if (who && a.m[0].ndisks > 1)
        member_error (&a, &a.m[0], _ ("disk %s: %s"),
                      a.m[0].g->disks[(size_t) disk].filename,
                      msg ? msg : vd_error ());
      else
        member_error (&a, &a.m[0], "%s", msg ? msg : vd_error ());
      goto commit_all;
    }
    if (who) {
      /* That guest alone, the others together again. */
      push_batch (run, &who->gi, 1);
      requeue (&a, 0, (size_t) (who - a.m));
      goto out;
    }
    if (time (NULL) - started < 10) {
      /* A quick failure is a disk qemu cannot open, not an appliance
       * that cannot boot: halve the guests until it is found. */
      size_t half = a.nm / 2, *idx = malloc (a.nm * sizeof *idx);
      if (idx) {
        for (i = 0; i < a.nm; i++)
          idx[i] = a.m[i].gi;
        push_batch (run, idx, half);
        push_batch (run, idx + half, a.nm - half);
        free (idx);
        goto out;
      }
    }
    member_error (&a, &a.m[0], "%s", msg ? msg : vd_error ());
    for (i = 1; i < a.nm; i++)
      member_error (&a, &a.m[i],
                    _ ("not examined: the appliance it shared with %s did not "
                       "launch"),
                    a.m[0].g->name);
    goto commit_all;
  }

  a.devices = guestfs_list_devices (a.g);
  a.parts = a.devices ? guestfs_list_partitions (a.g) : NULL;
  a.mds = a.parts ? guestfs_list_md_devices (a.g) : NULL;
  if (!a.mds) {
    for (i = 0; i < a.nm; i++)
      member_error (&a, &a.m[i], _ ("cannot list the appliance's devices: %s"),
                    guestfs_last_error (a.g));
    goto commit_all;
  }
  {
    size_t total = 0;
    for (i = 0; i < a.nm; i++)
      total += a.m[i].ndisks;
    if (count_strings (a.devices) != total) {
      for (i = 0; i < a.nm; i++)
        member_error (&a, &a.m[i],
                      _ ("the appliance shows %zu disks where %zu were added"),
                      count_strings (a.devices), total);
      goto commit_all;
    }
  }
  {
    const char *ldm[] = { "ldm", NULL };
    guestfs_push_error_handler (a.g, NULL, NULL);
    if (guestfs_feature_available (a.g, (char **) ldm) == 1)
      a.ldm_parts = guestfs_list_ldm_partitions (a.g);
    guestfs_pop_error_handler (a.g);
  }

  /* 1. What each guest's devices hold; LUKS opened with the keys given. */
  for (i = 0; i < a.nm; i++) {
    if (sort_devices (&a, &a.m[i]) == -1) {
      member_commit (&a.m[i]);
      requeue (&a, i + 1, a.nm);
      /* Those before it are started again too: nothing was mounted yet. */
      {
        size_t *idx = malloc (i * sizeof *idx + 1), k;
        if (idx) {
          for (k = 0; k < i; k++)
            idx[k] = a.m[k].gi;
          push_batch (run, idx, i);
          free (idx);
        }
      }
      goto out;
    }
    if (a.m[i].npvs)
      owners_pv++, pv_owner = &a.m[i];
    if (a.m[i].has_ldm)
      owners_ldm++;
  }
  if (owners_ldm > 1)
    for (i = 0; i < a.nm; i++)
      a.m[i].alone = a.m[i].has_ldm;

  /* 2. LVM: volume groups inside LUKS appear once scanned. */
  if (a.luks_opened && owners_pv > 0) {
    guestfs_push_error_handler (a.g, NULL, NULL);
    guestfs_lvm_scan (a.g, 1);
    guestfs_pop_error_handler (a.g);
  }

  /* 3. Each guest: mount and statvfs. */
  for (i = 0; i < a.nm; i++) {
    struct member *m = &a.m[i];
    size_t nfs = m->fs.n;

    if (m->alone) {
      /* Several guests with Windows dynamic disks: whose volume is
       * whose cannot be told apart in one appliance. */
      push_batch (run, &m->gi, 1);
      continue;
    }
    {
      struct cands own = { m->fs.v, nfs };
      r = examine_all (&a, m, &own);
    }
    if (r == 0 && m->npvs && owners_pv > 1) {
      /* Another guest has volumes too, maybe the same ones (a cloned
       * disk): show LVM this guest's physical volumes only. */
      guestfs_umount_all (a.g);
      if (guestfs_lvm_set_filter (a.g, m->pvs) == -1) {
        if (!alive (a.g)) {
          member_error (&a, m,
                        _ ("the appliance stopped while setting "
                           "an LVM filter"));
          r = -1;
        }
        else
          member_error (&a, m, _ ("cannot look at its LVM volumes: %s"),
                        guestfs_last_error (a.g));
      }
      else
        r = examine_lvs (&a, m);
    }
    else if (r == 0 && m == pv_owner)
      r = examine_lvs (&a, m);
    if (r == 0 && m->has_ldm && owners_ldm == 1) {
      char **vols;
      size_t k, before = m->fs.n;

      guestfs_push_error_handler (a.g, NULL, NULL);
      vols = guestfs_list_ldm_volumes (a.g);
      guestfs_pop_error_handler (a.g);
      for (k = 0; vols && vols[k] && r == 0; k++)
        r = classify (&a, m, vols[k]);
      free_strings (vols);
      if (r == 0) {
        struct cands v = { m->fs.v + before, m->fs.n - before };
        r = examine_all (&a, m, &v);
      }
    }
    if (r == 0)
      find_mountpoints (&a, m);
    if (r == 0 && m->res.nr_fs == 0 && m->res.nr_errors == 0)
      df_note ("%s: no filesystem could be mounted", m->g->name);
    member_commit (m);
    if (r == -1) {
      /* The appliance died under this guest: the rest get another. */
      requeue (&a, i + 1, a.nm);
      goto out;
    }
  }
  goto out;

commit_all:
  for (i = 0; i < a.nm; i++)
    member_commit (&a.m[i]);
out:
  if (a.g)
    inspect_handle_close (a.g);
  free_strings (a.devices);
  free_strings (a.parts);
  free_strings (a.ldm_parts);
  free_strings (a.mds);
  for (i = 0; i < a.nm; i++)
    member_free (&a.m[i]);
  free (a.m);
}

static void *
worker (void *arg)
{
  struct run *run = arg;
  struct batch b;

  for (;;) {
    pthread_mutex_lock (&run->lock);
    while (run->qhead == run->qn && run->busy > 0)
      pthread_cond_wait (&run->cond, &run->lock);
    if (run->qhead == run->qn) {
      pthread_cond_broadcast (&run->cond);
      pthread_mutex_unlock (&run->lock);
      return NULL;
    }
    b = run->q[run->qhead++];
    run->busy++;
    pthread_mutex_unlock (&run->lock);

    run_batch (run, &b);
    free (b.idx);

    pthread_mutex_lock (&run->lock);
    run->busy--;
    pthread_cond_broadcast (&run->cond);
    pthread_mutex_unlock (&run->lock);
  }
}

/* ---- planning ------------------------------------------------------------ */

/* Appliances the host can run at once: one per processor, as far as the
 * available memory goes (each takes MEMSIZE MiB plus qemu's own). */
static unsigned
default_parallel (int memsize_mb)
{
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  unsigned long long avail_kb = 0, per_kb, n;
  FILE *fp = fopen ("/proc/meminfo", "re");
  char line[256];

  while (fp && fgets (line, sizeof line, fp))
    if (sscanf (line, "MemAvailable: %llu kB", &avail_kb) == 1)
      break;
  if (fp)
    fclose (fp);
  if (cpus < 1)
    cpus = 1;
  if (memsize_mb < 128)
    memsize_mb = 1280;
  per_kb = ((unsigned long long) memsize_mb + APPLIANCE_OVERHEAD_MB) * 1024;
  n = avail_kb ? avail_kb / per_kb : 1;
  if (n > (unsigned long long) cpus)
    n = (unsigned long long) cpus;
  if (n < 1)
    n = 1;
  if (n > 64)
    n = 64;
  return (unsigned) n;
}

/* Check every disk of guest G on the host (missing, unreadable, a folder)
 * before any appliance: 0, or -1 with G's error added. */
static int
check_disks (const struct df_work *w, struct df_guest *g)
{
  size_t i;

  for (i = 0; i < g->nr_disks; i++) {
    const struct df_disk *d = &g->disks[i];

    if (inspect_check_disk (d->filename, true) == 0)
      continue;
    if (g->domain && w->name_errors)
      df_guest_add_error (g, "%s: disk %s: %s", g->name,
                          d->target ? d->target : "?", vd_error ());
    else if (g->domain)
      df_guest_add_error (g, _ ("domain %s: disk %s: %s"), g->name,
                          d->target ? d->target : "?", vd_error ());
    else if (w->name_errors)
      df_guest_add_error (g, "%s: %s", g->name, vd_error ());
    else
      df_guest_add_error (g, "%s", vd_error ());
    return -1;
  }
  return 0;
}

int
df_examine (struct df_guest *guests, size_t n, struct df_work *w)
{
  struct run run = { .guests = guests, .w = w };
  size_t *todo, ntodo = 0, i, total_disks = 0, nbatches, start;
  unsigned parallel, nthreads, t;
  pthread_t *threads;
  int max_disks = 255, memsize = 1280;
  guestfs_h *g;

  if (w->verbose)
    notes_on = true;
  w->launches = 0;
  todo = malloc ((n + 1) * sizeof *todo);
  if (!todo) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }

  /* Limits of an appliance on this host (no launch needed). */
  g = guestfs_create ();
  if (g) {
    guestfs_set_error_handler (g, NULL, NULL);
    max_disks = guestfs_max_disks (g);
    memsize = guestfs_get_memsize (g);
    guestfs_close (g);
  }
  if (max_disks < 1)
    max_disks = 255;

  for (i = 0; i < n; i++) {
    if (guests[i].nr_errors > 0)
      continue; /* its disks could not even be listed */
    if (guests[i].nr_disks == 0)
      continue; /* a domain with none (noted when it was listed) */
    if (guests[i].nr_disks > (size_t) max_disks) {
      df_guest_add_error (&guests[i],
                          _ ("%s: has %zu disks, more than an appliance can "
                             "take (%d)"),
                          guests[i].name, guests[i].nr_disks, max_disks);
      continue;
    }
    if (check_disks (w, &guests[i]) == -1)
      continue;
    todo[ntodo++] = i;
    total_disks += guests[i].nr_disks;
  }

  /* How many appliances: all of the guests' disks must fit, and each
   * appliance should have enough guests to be worth its launch. */
  parallel = w->parallel ? w->parallel : default_parallel (memsize);
  if (w->one_per_guest)
    nbatches = ntodo;
  else {
    size_t min_per = w->parallel ? 1 : MIN_GUESTS_PER_APPLIANCE;
    size_t by_guests = (ntodo + min_per - 1) / min_per;
    size_t by_disks =
        (total_disks + (size_t) max_disks - 1) / (size_t) max_disks;

    nbatches = by_guests < parallel ? by_guests : parallel;
    if (nbatches < by_disks)
      nbatches = by_disks;
  }
  if (ntodo > 0 && nbatches == 0)
    nbatches = 1;

  if (pthread_mutex_init (&run.lock, NULL) != 0
      || pthread_cond_init (&run.cond, NULL) != 0) {
    free (todo);
    vd_set_error (errno, _ ("cannot start threads"));
    return -1;
  }
  /* Contiguous runs of guests, about the same number of disks in each,
   * none over the appliance's limit. */
  for (i = 0, start = 0; start < ntodo; i++) {
    size_t left = i < nbatches ? nbatches - i : 1, disks = 0, end = start;
    size_t rest = 0, target, k;

    for (k = start; k < ntodo; k++)
      rest += guests[todo[k]].nr_disks;
    target = (rest + left - 1) / left;
    while (end < ntodo) {
      size_t d = guests[todo[end]].nr_disks;
      if (end > start
          && (disks + d > (size_t) max_disks || (disks >= target && left > 1)
              || w->one_per_guest))
        break;
      disks += d;
      end++;
    }
    push_batch (&run, todo + start, end - start);
    start = end;
  }

  nthreads = parallel;
  if (nthreads > run.qn)
    nthreads = (unsigned) run.qn;
  threads = calloc (nthreads + 1, sizeof *threads);
  for (t = 0; threads && t < nthreads; t++)
    if (pthread_create (&threads[t], NULL, worker, &run) != 0)
      break;
  if (t == 0) /* no thread at all: work here */
    worker (&run);
  nthreads = t;
  for (t = 0; t < nthreads; t++)
    pthread_join (threads[t], NULL);
  free (threads);

  for (i = run.qhead; i < run.qn; i++)
    free (run.q[i].idx);
  free (run.q);
  pthread_mutex_destroy (&run.lock);
  pthread_cond_destroy (&run.cond);
  free (todo);
  w->launches = run.launches;
  return 0;
}
