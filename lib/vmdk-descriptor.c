/* The VMDK text descriptor: "key = value" lines (CID, parentCID,
 * createType, parentFileNameHint, ddb.* ...) and extent lines
 * (ACCESS SECTORS TYPE "FILE" [OFFSET]).  Parsed strictly: a line that is
 * none of comment, key/value or extent is an error, known keys may not
 * repeat, extent lines are checked field by field; unknown keys are kept
 * in order.  The text itself is kept so that rewriting the CID changes
 * nothing else.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmdk.h"

static bool
is_blank (char c)
{
  return c == ' ' || c == '\t';
}

static bool
is_key_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

void
vmdk_desc_free (struct vmdk_desc *d)
{
  size_t i;

  free (d->text);
  free (d->create_type);
  free (d->parent_hint);
  for (i = 0; i < d->nr_extents; i++) {
    free (d->extents[i].type_name);
    free (d->extents[i].filename);
  }
  free (d->extents);
  for (i = 0; i < d->nr_kv; i++) {
    free (d->kv[i].key);
    free (d->kv[i].value);
  }
  free (d->kv);
  memset (d, 0, sizeof *d);
}

const char *
vmdk_desc_get (const struct vmdk_desc *d, const char *key)
{
  const char *v = NULL;
  size_t i;

  for (i = 0; i < d->nr_kv; i++)
    if (strcmp (d->kv[i].key, key) == 0)
      v = d->kv[i].value;
  return v;
}

/* State shared by the line parsers. */
struct parse {
  const char *image;
  unsigned line;
  struct vmdk_desc *d;
  bool seen_version, seen_cid, seen_parent_cid;
};

static char *
dup_range (const char *p, size_t n)
{
  char *s = vd_malloc (n + 1);
  if (s) {
    memcpy (s, p, n);
    s[n] = 0;
  }
  return s;
}

/* A decimal number of at most 19 digits (so no overflow). */
static int
parse_dec (const char *p, size_t n, uint64_t *ret)
{
  uint64_t v = 0;
  size_t i;

  if (n == 0 || n > 19)
    return -1;
  for (i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    v = v * 10 + (uint64_t) (p[i] - '0');
  }
  *ret = v;
  return 0;
}

static int
parse_hex32 (const char *p, size_t n, uint32_t *ret)
{
  uint32_t v = 0;
  size_t i;

  if (n == 0 || n > 8)
    return -1;
  for (i = 0; i < n; i++) {
    char c = p[i];
    unsigned dgt;
    if (c >= '0' && c <= '9')
      dgt = c - '0';
    else if (c >= 'a' && c <= 'f')
      dgt = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      dgt = c - 'A' + 10;
    else
      return -1;
    v = v << 4 | dgt;
  }
  *ret = v;
  return 0;
}

static int
bad_line (struct parse *ps, const char *what, const char *p, size_t n)
{
  vd_set_error (EINVAL, _ ("%s: descriptor line %u: %s: '%.*s'"), ps->image,
                ps->line, what, (int) MIN (n, 80), p);
  return -1;
}

static const struct {
  const char *name;
  enum vmdk_ext_type type;
} ext_types[] = {
  { "FLAT", VMDK_EXT_FLAT },
  { "SPARSE", VMDK_EXT_SPARSE },
  { "ZERO", VMDK_EXT_ZERO },
  { "VMFS", VMDK_EXT_VMFS },
  { "VMFSSPARSE", VMDK_EXT_VMFSSPARSE },
  { "VMFSRDM", VMDK_EXT_VMFSRDM },
  { "VMFSRAW", VMDK_EXT_VMFSRAW },
  { "SESPARSE", VMDK_EXT_SESPARSE },
};

/* Next blank-separated word of [*p, end). */
static size_t
next_word (const char **p, const char *end)
{
  const char *s;

  while (*p < end && is_blank (**p))
    (*p)++;
  s = *p;
  while (*p < end && !is_blank (**p))
    (*p)++;
  return *p - s;
}

static int
parse_extent (struct parse *ps, const char *line, size_t n,
              enum vmdk_access access)
{
  struct vmdk_desc *d = ps->d;
  const char *p = line, *end = line + n, *w;
  struct vmdk_desc_extent x = { 0 }, *v;
  size_t wl, i;
  bool found = false;
  uint64_t total;

  x.access = access;
  next_word (&p, end); /* the access word, checked by the caller */
  wl = next_word (&p, end);
  w = p - wl;
  if (parse_dec (w, wl, &x.sectors) == -1)
    return bad_line (ps, _ ("the extent size is not a number of sectors"), line,
                     n);
  wl = next_word (&p, end);
  w = p - wl;
  for (i = 0; i < sizeof ext_types / sizeof ext_types[0]; i++) {
    if (strlen (ext_types[i].name) == wl
        && memcmp (ext_types[i].name, w, wl) == 0) {
      x.type = ext_types[i].type;
      found = true;
    }
  }
  if (!found)
    return bad_line (ps, _ ("unknown extent type"), line, n);
  if (x.type != VMDK_EXT_ZERO) {
    const char *q;

    while (p < end && is_blank (*p))
      p++;
    if (p == end || *p != '"')
      return bad_line (ps, _ ("the extent has no quoted file name"), line, n);
    p++;
    q = memchr (p, '"', end - p);
    if (!q)
      return bad_line (ps, _ ("the extent's file name has no closing quote"),
                       line, n);
    if (q == p)
      return bad_line (ps, _ ("the extent's file name is empty"), line, n);
    x.filename = dup_range (p, q - p);
    if (!x.filename)
      return -1;
    p = q + 1;
    if (p < end && !is_blank (*p)) {
      free (x.filename);
      return bad_line (ps, _ ("junk after the extent's file name"), line, n);
    }
  }
  wl = next_word (&p, end);
  w = p - wl;
  if (wl > 0) {
    if ((x.type != VMDK_EXT_FLAT && x.type != VMDK_EXT_VMFS)
        || parse_dec (w, wl, &x.offset) == -1) {
      free (x.filename);
      return bad_line (ps, _ ("unexpected field at the end of the extent"),
                       line, n);
    }
  }
  else if (x.type == VMDK_EXT_FLAT) {
    free (x.filename);
    return bad_line (ps, _ ("a FLAT extent needs an offset"), line, n);
  }
  if (next_word (&p, end) > 0) {
    free (x.filename);
    return bad_line (ps, _ ("junk at the end of the extent"), line, n);
  }
  if (x.sectors == 0) {
    /* Empty: qemu-img writes one for an image of size 0.  Adds nothing. */
    free (x.filename);
    return 0;
  }
  if (d->nr_extents >= VMDK_MAX_EXTENTS) {
    free (x.filename);
    vd_set_error (EINVAL, _ ("%s: the descriptor lists more than %d extents"),
                  ps->image, VMDK_MAX_EXTENTS);
    return -1;
  }
  /* The image size must stay representable in bytes. */
  if (vd_add_overflow (d->total_sectors, x.sectors, &total)
      || total > VD_MAX_IMAGE_SIZE / VMDK_SECTOR) {
    free (x.filename);
    return bad_line (ps,
                     _ ("the extents add up to more than the largest "
                        "image size"),
                     line, n);
  }
  for (i = 0; i < sizeof ext_types / sizeof ext_types[0]; i++)
    if (ext_types[i].type == x.type)
      x.type_name = vd_strdup (ext_types[i].name);
  if (!x.type_name) {
    free (x.filename);
    return -1;
  }
  v = vd_realloc (d->extents, (d->nr_extents + 1) * sizeof *v);
  if (!v) {
    free (x.filename);
    free (x.type_name);
    return -1;
  }
  d->extents = v;
  v[d->nr_extents++] = x;
  d->total_sectors = total;
  return 0;
}

static int
parse_kv (struct parse *ps, const char *line, size_t n, size_t line_pos)
{
  struct vmdk_desc *d = ps->d;
  const char *eq = memchr (line, '=', n);
  const char *k, *kend, *v, *vend;
  struct vmdk_desc_kv *kv;
  char *key, *value;
  size_t i, vpos;

  if (!eq)
    return bad_line (ps, _ ("neither a 'key = value' line nor an extent"), line,
                     n);
  k = line;
  kend = eq;
  while (kend > k && is_blank (kend[-1]))
    kend--;
  if (kend == k)
    return bad_line (ps, _ ("empty key"), line, n);
  for (i = 0; i < (size_t) (kend - k); i++)
    if (!is_key_char (k[i]))
      return bad_line (ps, _ ("bad character in the key"), line, n);
  v = eq + 1;
  vend = line + n;
  while (v < vend && is_blank (*v))
    v++;
  if (v < vend && *v == '"') {
    if (vend - v < 2 || vend[-1] != '"')
      return bad_line (ps, _ ("the value has no closing quote"), line, n);
    v++;
    vend--;
  }
  if (memchr (v, '"', vend - v))
    return bad_line (ps, _ ("stray quote in the value"), line, n);
  vpos = line_pos + (v - line);

  key = dup_range (k, kend - k);
  value = dup_range (v, vend - v);
  kv = vd_realloc (d->kv, (d->nr_kv + 1) * sizeof *kv);
  if (!key || !value || !kv) {
    free (key);
    free (value);
    if (kv)
      d->kv = kv;
    return -1;
  }
  d->kv = kv;
  kv[d->nr_kv].key = key;
  kv[d->nr_kv].value = value;
  d->nr_kv++;

  if (strcmp (key, "version") == 0) {
    uint64_t ver;
    if (ps->seen_version)
      return bad_line (ps, _ ("the version is given twice"), line, n);
    ps->seen_version = true;
    if (parse_dec (value, strlen (value), &ver) == -1 || ver < 1 || ver > 3)
      return bad_line (ps, _ ("unsupported descriptor version"), line, n);
    d->version = ver;
  }
  else if (strcmp (key, "CID") == 0) {
    if (ps->seen_cid)
      return bad_line (ps, _ ("the CID is given twice"), line, n);
    ps->seen_cid = true;
    if (parse_hex32 (value, strlen (value), &d->cid) == -1)
      return bad_line (ps, _ ("the CID is not a 32-bit hex number"), line, n);
    d->cid_pos = vpos;
    d->cid_len = strlen (value);
  }
  else if (strcmp (key, "parentCID") == 0) {
    if (ps->seen_parent_cid)
      return bad_line (ps, _ ("the parentCID is given twice"), line, n);
    ps->seen_parent_cid = true;
    if (parse_hex32 (value, strlen (value), &d->parent_cid) == -1)
      return bad_line (ps, _ ("the parentCID is not a 32-bit hex number"), line,
                       n);
  }
  else if (strcmp (key, "createType") == 0) {
    if (d->create_type)
      return bad_line (ps, _ ("the createType is given twice"), line, n);
    if (!*value)
      return bad_line (ps, _ ("the createType is empty"), line, n);
    if (!(d->create_type = vd_strdup (value)))
      return -1;
  }
  else if (strcmp (key, "parentFileNameHint") == 0) {
    if (d->parent_hint)
      return bad_line (ps, _ ("the parentFileNameHint is given twice"), line,
                       n);
    if (!*value)
      return bad_line (ps, _ ("the parentFileNameHint is empty"), line, n);
    if (!(d->parent_hint = vd_strdup (value)))
      return -1;
  }
  return 0;
}

static int
parse_line (struct parse *ps, const char *line, size_t n, size_t line_pos)
{
  static const struct {
    const char *word;
    enum vmdk_access access;
  } access[] = {
    { "RW", VMDK_ACCESS_RW },
    { "RDONLY", VMDK_ACCESS_RDONLY },
    { "NOACCESS", VMDK_ACCESS_NOACCESS },
  };
  size_t i;

  while (n > 0 && is_blank (*line)) {
    line++;
    line_pos++;
    n--;
  }
  while (n > 0 && is_blank (line[n - 1]))
    n--;
  if (n == 0 || line[0] == '#')
    return 0;
  for (i = 0; i < n; i++)
    if ((unsigned char) line[i] < 0x20 && line[i] != '\t')
      return bad_line (ps, _ ("control character in the line"), line, n);
  for (i = 0; i < sizeof access / sizeof access[0]; i++) {
    size_t wl = strlen (access[i].word);
    if (n > wl && memcmp (line, access[i].word, wl) == 0 && is_blank (line[wl]))
      return parse_extent (ps, line, n, access[i].access);
  }
  return parse_kv (ps, line, n, line_pos);
}

int
vmdk_desc_parse (const char *image, const char *text, size_t len,
                 struct vmdk_desc *d)
{
  struct parse ps = { .image = image, .d = d };
  size_t n, pos;

  memset (d, 0, sizeof *d);
  if (len > VMDK_MAX_DESC) {
    vd_set_error (EINVAL,
                  _ ("%s: the descriptor is %zu bytes, more than the limit "
                     "of %" PRIu64),
                  image, len, VMDK_MAX_DESC);
    return -1;
  }
  /* A descriptor ends at its first NUL (embedded descriptors are padded
   * with zeros, and qemu pads descriptor files it rewrites). */
  n = strnlen (text, len);
  for (pos = n; pos < len; pos++) {
    if (text[pos] != 0) {
      vd_set_error (EINVAL,
                    _ ("%s: the descriptor has data after a NUL byte (at "
                       "offset %zu)"),
                    image, pos);
      return -1;
    }
  }
  d->text = dup_range (text, n);
  if (!d->text)
    return -1;
  d->len = n;

  for (pos = 0, ps.line = 1; pos < n; ps.line++) {
    const char *nl = memchr (d->text + pos, '\n', n - pos);
    size_t end = nl ? (size_t) (nl - d->text) : n;
    size_t ll = end - pos;

    if (ll > 0 && d->text[pos + ll - 1] == '\r')
      ll--;
    if (parse_line (&ps, d->text + pos, ll, pos) == -1)
      return -1;
    pos = end + 1;
  }

  if (!ps.seen_version) {
    vd_set_error (EINVAL, _ ("%s: the descriptor has no version line"), image);
    return -1;
  }
  if (!ps.seen_cid) {
    vd_set_error (EINVAL, _ ("%s: the descriptor has no CID"), image);
    return -1;
  }
  if (!ps.seen_parent_cid) {
    vd_set_error (EINVAL, _ ("%s: the descriptor has no parentCID"), image);
    return -1;
  }
  if (!d->create_type) {
    vd_set_error (EINVAL, _ ("%s: the descriptor has no createType"), image);
    return -1;
  }
  return 0;
}

char *
vmdk_desc_with_cid (const struct vmdk_desc *d, uint32_t cid, size_t *len)
{
  char hex[16];
  size_t hl = (size_t) snprintf (hex, sizeof hex, "%08" PRIx32, cid);
  size_t n = d->len - d->cid_len + hl;
  char *s = vd_malloc (n + 1);

  if (!s)
    return NULL;
  memcpy (s, d->text, d->cid_pos);
  memcpy (s + d->cid_pos, hex, hl);
  memcpy (s + d->cid_pos + hl, d->text + d->cid_pos + d->cid_len,
          d->len - d->cid_pos - d->cid_len);
  s[n] = 0;
  *len = n;
  return s;
}
