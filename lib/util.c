/* libvd utilities shared by every layer: checked memory helpers, size
 * parsing and printing as qemu-img does them, -o option lists, the info
 * value tree, zero detection and safe resolution of names found inside
 * images.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "vd-internal.h"

void *
vd_malloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    vd_set_error (ENOMEM, _ ("out of memory allocating %zu bytes"), n);
  return p;
}

void *
vd_calloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);
  if (p == NULL)
    vd_set_error (ENOMEM, _ ("out of memory allocating %zu x %zu bytes"), n,
                  size);
  return p;
}

void *
vd_realloc (void *p, size_t n)
{
  void *q = realloc (p, n ? n : 1);
  if (q == NULL)
    vd_set_error (ENOMEM, _ ("out of memory allocating %zu bytes"), n);
  return q;
}

char *
vd_strdup (const char *s)
{
  char *r = strdup (s);
  if (r == NULL)
    vd_set_error (ENOMEM, _ ("out of memory"));
  return r;
}

bool
vd_is_zero (const void *buf, size_t len)
{
  const unsigned char *p = buf;
  size_t i;

  /* Check the first 16 bytes by hand, then compare the buffer with itself
   * shifted by 16: memcmp is vectorised and this touches each byte once. */
  for (i = 0; i < len && i < 16; i++)
    if (p[i])
      return false;
  if (len <= 16)
    return true;
  return memcmp (p, p + 16, len - 16) == 0;
}

/* ---- sizes ----------------------------------------------------------- */

static uint64_t
suffix_mul (char c)
{
  switch (c) {
  case 'b':
  case 'B': return 1;
  case 'k':
  case 'K': return UINT64_C (1) << 10;
  case 'm':
  case 'M': return UINT64_C (1) << 20;
  case 'g':
  case 'G': return UINT64_C (1) << 30;
  case 't':
  case 'T': return UINT64_C (1) << 40;
  case 'p':
  case 'P': return UINT64_C (1) << 50;
  case 'e':
  case 'E': return UINT64_C (1) << 60;
  default: return 0;
  }
}

int
vd_parse_size (const char *str, uint64_t *ret)
{
  const char *p = str;
  uint64_t val = 0, mul;
  unsigned __int128 frac = 0; /* 0.64 fixed point */
  bool have_frac = false;

  while (*p == ' ' || *p == '\t')
    p++;
  if (*p == '-') {
    vd_set_error (EINVAL, _ ("invalid size '%s': sizes cannot be negative"),
                  str);
    return -1;
  }
  if (*p == '+')
    p++;
  if (*p < '0' || *p > '9')
    goto bad;

  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    /* Hex: no fraction, no suffix (as qemu). */
    p += 2;
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')
          || (*p >= 'A' && *p <= 'F')))
      goto bad;
    for (; *p; p++) {
      unsigned d;
      if (*p >= '0' && *p <= '9')
        d = *p - '0';
      else if (*p >= 'a' && *p <= 'f')
        d = *p - 'a' + 10;
      else if (*p >= 'A' && *p <= 'F')
        d = *p - 'A' + 10;
      else
        goto bad;
      if (val >> 60)
        goto range;
      val = val * 16 + d;
    }
    *ret = val;
    return 0;
  }

  for (; *p >= '0' && *p <= '9'; p++) {
    if (vd_mul_overflow (val, 10, &val)
        || vd_add_overflow (val, *p - '0', &val))
      goto range;
  }
  if (*p == '.') {
    unsigned __int128 scale = 1;
    uint64_t digits = 0;
    int n = 0;

    p++;
    for (; *p >= '0' && *p <= '9'; p++) {
      /* Keep 18 significant digits of fraction: more is noise. */
      if (n < 18) {
        digits = digits * 10 + (*p - '0');
        scale *= 10;
        n++;
      }
    }
    if (n > 0) {
      frac = ((unsigned __int128) digits << 64) / scale;
      have_frac = frac != 0;
    }
  }
  mul = 1;
  if (*p) {
    mul = suffix_mul (*p);
    if (mul == 0)
      goto bad;
    p++;
    /* Accept "iB"/"B" after the unit letter, as people write "10GiB". */
    if (mul > 1 && (p[0] == 'i' && p[1] == 'B'))
      p += 2;
    else if (mul > 1 && p[0] == 'B')
      p++;
  }
  if (*p)
    goto bad;
  if (mul == 1 && have_frac) {
    vd_set_error (EINVAL,
                  _ ("invalid size '%s': a fractional size needs a unit "
                     "suffix (k, M, G, T, P or E)"),
                  str);
    return -1;
  }
  {
    unsigned __int128 r = (unsigned __int128) val * mul;
    unsigned __int128 f = frac * mul;
    r += f >> 64;
    if ((uint64_t) f >> 63) /* round half up */
      r++;
    if (r > UINT64_MAX)
      goto range;
    *ret = (uint64_t) r;
  }
  return 0;

bad:
  vd_set_error (EINVAL,
                _ ("invalid size '%s': use a number of bytes or a number "
                   "with a suffix k, M, G, T, P or E"),
                str);
  return -1;
range:
  vd_set_error (ERANGE, _ ("invalid size '%s': too large"), str);
  return -1;
}

void
vd_size_to_str (uint64_t val, char *buf, size_t len)
{
  static const char *const suffixes[] = {
    "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"
  };
  int e, i;

  /* The same rounding as qemu's size_to_str: pick the unit so that the
   * value is below 1000 of it, print three significant digits. */
  frexp (val / (1000 / 1024.0), &e);
  i = (e - 1) / 10;
  if (i < 0)
    i = 0;
  if (i > 6)
    i = 6;
  snprintf (buf, len, "%0.3g %sB",
            (double) val / (double) (UINT64_C (1) << (i * 10)), suffixes[i]);
}

/* ---- options --------------------------------------------------------- */

int
vd_opts_set (struct vd_opts *opts, const char *key, const char *value)
{
  size_t i;
  struct vd_opt *v;

  for (i = 0; i < opts->n; i++) {
    if (strcmp (opts->v[i].key, key) == 0) {
      char *nv = vd_strdup (value);
      if (!nv)
        return -1;
      free (opts->v[i].value);
      opts->v[i].value = nv;
      return 0;
    }
  }
  v = vd_realloc (opts->v, (opts->n + 1) * sizeof *v);
  if (!v)
    return -1;
  opts->v = v;
  v[opts->n].key = vd_strdup (key);
  v[opts->n].value = vd_strdup (value);
  v[opts->n].used = false;
  if (!v[opts->n].key || !v[opts->n].value) {
    free (v[opts->n].key);
    free (v[opts->n].value);
    return -1;
  }
  opts->n++;
  return 0;
}

int
vd_opts_parse (struct vd_opts *opts, const char *str)
{
  size_t len = strlen (str);
  CLEANUP_FREE char *key = vd_malloc (len + 1);
  CLEANUP_FREE char *val = vd_malloc (len + 1);
  const char *p = str;

  if (!key || !val)
    return -1;
  while (*p) {
    size_t k = 0, v = 0;
    bool has_eq = false;

    while (*p && *p != '=' && *p != ',')
      key[k++] = *p++;
    key[k] = 0;
    if (*p == '=') {
      has_eq = true;
      p++;
      for (;;) {
        if (*p == ',' && p[1] == ',') {
          val[v++] = ',';
          p += 2;
        }
        else if (*p == ',' || *p == 0)
          break;
        else
          val[v++] = *p++;
      }
    }
    val[v] = 0;
    if (k == 0) {
      vd_set_error (EINVAL, _ ("invalid option list '%s': empty option name"),
                    str);
      return -1;
    }
    if (vd_opts_set (opts, key, has_eq ? val : "on") == -1)
      return -1;
    if (*p == ',')
      p++;
  }
  return 0;
}

static struct vd_opt *
opts_find (struct vd_opts *opts, const char *key)
{
  size_t i;

  if (!opts)
    return NULL;
  for (i = 0; i < opts->n; i++)
    if (strcmp (opts->v[i].key, key) == 0) {
      opts->v[i].used = true;
      return &opts->v[i];
    }
  return NULL;
}

const char *
vd_opts_get (struct vd_opts *opts, const char *key)
{
  struct vd_opt *o = opts_find (opts, key);
  return o ? o->value : NULL;
}

int
vd_opts_get_size (struct vd_opts *opts, const char *key, uint64_t *ret)
{
  struct vd_opt *o = opts_find (opts, key);
  if (!o)
    return 0;
  if (vd_parse_size (o->value, ret) == -1) {
    vd_set_error (EINVAL, _ ("option '%s': %s"), key, vd_error ());
    return -1;
  }
  return 1;
}

int
vd_opts_get_uint (struct vd_opts *opts, const char *key, uint64_t *ret)
{
  struct vd_opt *o = opts_find (opts, key);
  char *end;
  unsigned long long v;

  if (!o)
    return 0;
  errno = 0;
  v = strtoull (o->value, &end, 0);
  if (o->value[0] == '-' || o->value[0] == 0 || *end || errno) {
    vd_set_error (EINVAL, _ ("option '%s': '%s' is not a number"), key,
                  o->value);
    return -1;
  }
  *ret = v;
  return 1;
}

int
vd_opts_get_bool (struct vd_opts *opts, const char *key, bool *ret)
{
  struct vd_opt *o = opts_find (opts, key);
  static const char *const yes[] = { "on", "yes", "true", "y", "1" };
  static const char *const no[] = { "off", "no", "false", "n", "0" };
  size_t i;

  if (!o)
    return 0;
  for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    if (strcasecmp (o->value, yes[i]) == 0) {
      *ret = true;
      return 1;
    }
    if (strcasecmp (o->value, no[i]) == 0) {
      *ret = false;
      return 1;
    }
  }
  vd_set_error (EINVAL, _ ("option '%s': '%s' is not 'on' or 'off'"), key,
                o->value);
  return -1;
}

const char *
vd_opts_first_unused (const struct vd_opts *opts)
{
  size_t i;

  if (!opts)
    return NULL;
  for (i = 0; i < opts->n; i++)
    if (!opts->v[i].used)
      return opts->v[i].key;
  return NULL;
}

void
vd_opts_free (struct vd_opts *opts)
{
  size_t i;

  if (!opts)
    return;
  for (i = 0; i < opts->n; i++) {
    free (opts->v[i].key);
    free (opts->v[i].value);
  }
  free (opts->v);
  opts->v = NULL;
  opts->n = 0;
}

/* ---- value tree ------------------------------------------------------ */

static struct vd_value *
value_new (enum vd_value_type type, const char *key)
{
  struct vd_value *v = vd_calloc (1, sizeof *v);
  if (!v)
    return NULL;
  v->type = type;
  if (key) {
    v->key = vd_strdup (key);
    if (!v->key) {
      free (v);
      return NULL;
    }
  }
  return v;
}

struct vd_value *
vd_value_new_dict (void)
{
  return value_new (VD_VAL_DICT, NULL);
}

struct vd_value *
vd_value_new_list (void)
{
  return value_new (VD_VAL_LIST, NULL);
}

static struct vd_value *
value_add (struct vd_value *parent, enum vd_value_type type, const char *key)
{
  struct vd_value *v, **items;

  if (!parent)
    return NULL;
  v = value_new (type, parent->type == VD_VAL_DICT ? key : NULL);
  if (!v)
    return NULL;
  items = vd_realloc (parent->items, (parent->n + 1) * sizeof *items);
  if (!items) {
    vd_value_free (v);
    return NULL;
  }
  parent->items = items;
  items[parent->n++] = v;
  return v;
}

struct vd_value *
vd_value_add_str (struct vd_value *parent, const char *key, const char *s)
{
  struct vd_value *v = value_add (parent, VD_VAL_STRING, key);
  if (v && !(v->s = vd_strdup (s ? s : "")))
    return NULL;
  return v;
}

struct vd_value *
vd_value_add_int (struct vd_value *parent, const char *key, int64_t i)
{
  struct vd_value *v = value_add (parent, VD_VAL_INT, key);
  if (v)
    v->i = i;
  return v;
}

struct vd_value *
vd_value_add_bool (struct vd_value *parent, const char *key, bool b)
{
  struct vd_value *v = value_add (parent, VD_VAL_BOOL, key);
  if (v)
    v->b = b;
  return v;
}

struct vd_value *
vd_value_add_dict (struct vd_value *parent, const char *key)
{
  return value_add (parent, VD_VAL_DICT, key);
}

struct vd_value *
vd_value_add_list (struct vd_value *parent, const char *key)
{
  return value_add (parent, VD_VAL_LIST, key);
}

void
vd_value_free (struct vd_value *v)
{
  size_t i;

  if (!v)
    return;
  for (i = 0; i < v->n; i++)
    vd_value_free (v->items[i]);
  free (v->items);
  free (v->key);
  free (v->s);
  free (v);
}

/* ---- names found inside images --------------------------------------- */

char *
vd_resolve_name (const char *image, const char *dir, const char *name,
                 const char *what, unsigned flags)
{
  char *path;
  const char *p;
  int depth = 0;

  if (name[0] == 0) {
    vd_set_error (EINVAL, _ ("%s: the %s name is empty"), image, what);
    return NULL;
  }
  if (strlen (name) >= VD_MAX_PATH) {
    vd_set_error (ENAMETOOLONG, _ ("%s: the %s name is too long"), image, what);
    return NULL;
  }
  if (strchr (name, ':') && strstr (name, "://")) {
    vd_set_error (EINVAL,
                  _ ("%s: the %s '%s' is a URI, which is not supported "
                     "here"),
                  image, what, name);
    return NULL;
  }
  if (!(flags & VD_OPEN_UNSAFE_PATHS)) {
    if (name[0] == '/') {
      vd_set_error (EPERM,
                    _ ("%s: the %s '%s' is an absolute path; refusing to "
                       "follow it out of the image's folder (use "
                       "--allow-unsafe-paths to allow it)"),
                    image, what, name);
      return NULL;
    }
    /* Walk the components: ".." may not climb above DIR. */
    for (p = name; *p;) {
      const char *end = strchr (p, '/');
      size_t n = end ? (size_t) (end - p) : strlen (p);
      if (n == 2 && p[0] == '.' && p[1] == '.')
        depth--;
      else if (n > 0 && !(n == 1 && p[0] == '.'))
        depth++;
      if (depth < 0) {
        vd_set_error (EPERM,
                      _ ("%s: the %s '%s' leads out of the image's folder; "
                         "refusing to follow it (use --allow-unsafe-paths "
                         "to allow it)"),
                      image, what, name);
        return NULL;
      }
      p += n;
      while (*p == '/')
        p++;
    }
  }
  if (name[0] == '/' || dir == NULL || dir[0] == 0
      || (dir[0] == '.' && dir[1] == 0))
    return vd_strdup (name);
  if (asprintf (&path, "%s/%s", dir, name) == -1) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  return path;
}
