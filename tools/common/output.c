/* Output rendering shared by the tools: JSON through jansson (ordered and
 * indented as qemu-img prints it where we stand in for qemu-img), and the
 * human "key: value" dump qemu uses for format-specific information.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "common.h"

/* qemu's QDict: 512 buckets by this hash, each bucket a list with the
 * newest entry first, iterated bucket by bucket. */
static unsigned
qdict_bucket (const char *name)
{
  unsigned value, i;

  for (value = 0x238F13AFu * (unsigned) strlen (name), i = 0; name[i]; i++)
    value = value + (((const unsigned char *) name)[i] << (i * 5 % 24));
  return (1103515243u * value + 12345u) % 512;
}

struct member {
  const char *key;
  json_t *val;
  unsigned bucket;
  size_t index;
};

static int
member_cmp (const void *a, const void *b)
{
  const struct member *x = a, *y = b;

  if (x->bucket != y->bucket)
    return x->bucket < y->bucket ? -1 : 1;
  /* Same bucket: the later insertion comes first. */
  return x->index > y->index ? -1 : 1;
}

void
json_qemu_order (json_t *j)
{
  if (json_is_array (j)) {
    size_t i;
    json_t *v;
    json_array_foreach (j, i, v) json_qemu_order (v);
  }
  else if (json_is_object (j)) {
    size_t n = json_object_size (j), i = 0;
    struct member *m;
    const char *key;
    json_t *val;

    if (n == 0)
      return;
    m = calloc (n, sizeof *m);
    if (!m)
      return;
    json_object_foreach (j, key, val)
    {
      m[i].key = strdup (key);
      m[i].val = json_incref (val);
      m[i].bucket = qdict_bucket (key);
      m[i].index = i;
      i++;
    }
    qsort (m, n, sizeof *m, member_cmp);
    json_object_clear (j);
    for (i = 0; i < n; i++) {
      json_qemu_order (m[i].val);
      json_object_set_new (j, m[i].key, m[i].val);
      free ((char *) m[i].key);
    }
    free (m);
  }
}

/* qemu's pretty printer: as jansson's with an indent of 4, except that
 * an empty list or dictionary still opens a line ("[\n    ]"). */
static int
dump_qemu (FILE *fp, json_t *j, int level)
{
  if (json_is_object (j) || json_is_array (j)) {
    bool obj = json_is_object (j);
    size_t i = 0;
    const char *key;
    json_t *v;

    fputs (obj ? "{" : "[", fp);
    if (obj) {
      json_object_foreach (j, key, v)
      {
        json_t *k = json_string (key);
        fprintf (fp, "%s\n%*s", i++ ? "," : "", (level + 1) * 4, "");
        if (!k || json_dumpf (k, fp, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) == -1)
          return -1;
        json_decref (k);
        fputs (": ", fp);
        if (dump_qemu (fp, v, level + 1) == -1)
          return -1;
      }
    }
    else {
      json_array_foreach (j, i, v)
      {
        fprintf (fp, "%s\n%*s", i ? "," : "", (level + 1) * 4, "");
        if (dump_qemu (fp, v, level + 1) == -1)
          return -1;
      }
    }
    fprintf (fp, "\n%*s%s", level * 4, "", obj ? "}" : "]");
    return 0;
  }
  return json_dumpf (j, fp, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
}

int
json_print_qemu (FILE *fp, json_t *j)
{
  if (dump_qemu (fp, j, 0) == -1)
    return -1;
  fputc ('\n', fp);
  return 0;
}

int
json_print (FILE *fp, json_t *j)
{
  if (json_dumpf (j, fp, JSON_INDENT (2) | JSON_PRESERVE_ORDER) == -1)
    return -1;
  fputc ('\n', fp);
  return 0;
}

json_t *
value_to_json (const struct vd_value *v)
{
  json_t *j = NULL;
  size_t i;

  switch (v->type) {
  case VD_VAL_STRING: return json_string (v->s);
  case VD_VAL_INT: return json_integer (v->i);
  case VD_VAL_BOOL: return json_boolean (v->b);
  case VD_VAL_LIST:
    j = json_array ();
    for (i = 0; i < v->n; i++)
      json_array_append_new (j, value_to_json (v->items[i]));
    return j;
  case VD_VAL_DICT:
    j = json_object ();
    for (i = 0; i < v->n; i++)
      json_object_set_new (j, v->items[i]->key, value_to_json (v->items[i]));
    return j;
  }
  return json_null ();
}

static void dump_value (FILE *fp, json_t *j, int indent);

static bool
is_composite (json_t *j)
{
  return json_is_object (j) || json_is_array (j);
}

static void
dump_scalar (FILE *fp, json_t *j)
{
  if (json_is_string (j))
    fputs (json_string_value (j), fp);
  else if (json_is_integer (j))
    fprintf (fp, "%" JSON_INTEGER_FORMAT, json_integer_value (j));
  else if (json_is_boolean (j))
    fputs (json_is_true (j) ? "true" : "false", fp);
  else if (json_is_real (j))
    fprintf (fp, "%g", json_real_value (j));
}

static void
dump_value (FILE *fp, json_t *j, int indent)
{
  if (json_is_object (j)) {
    const char *key;
    json_t *val;
    json_object_foreach (j, key, val)
    {
      const char *c;
      fprintf (fp, "%*s", indent * 4, "");
      for (c = key; *c; c++)
        fputc (*c == '-' ? ' ' : *c, fp);
      fputc (':', fp);
      fputc (is_composite (val) ? '\n' : ' ', fp);
      if (is_composite (val))
        dump_value (fp, val, indent + 1);
      else {
        dump_scalar (fp, val);
        fputc ('\n', fp);
      }
    }
  }
  else if (json_is_array (j)) {
    size_t i;
    json_t *val;
    json_array_foreach (j, i, val)
    {
      fprintf (fp, "%*s[%zu]:%c", indent * 4, "", i,
               is_composite (val) ? '\n' : ' ');
      if (is_composite (val))
        dump_value (fp, val, indent + 1);
      else {
        dump_scalar (fp, val);
        fputc ('\n', fp);
      }
    }
  }
  else {
    dump_scalar (fp, j);
    fputc ('\n', fp);
  }
}

void
json_dump_human (FILE *fp, json_t *j, int indent)
{
  dump_value (fp, j, indent);
}

const char *
human_size (uint64_t size, char *buf, size_t len)
{
  vd_size_to_str (size, buf, len);
  return buf;
}
