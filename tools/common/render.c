/* Output rendering of record tables: text columns, CSV, JSON (render.h).
 * Text and CSV are spooled in a memory stream, JSON in a jansson array;
 * output_write prints the lot at the end.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "render.h"

struct output {
  enum output_format fmt;
  FILE *mem; /* text and CSV */
  char *buf;
  size_t len;
  json_t *array; /* JSON */
  json_t *cur;   /* the current record's object (borrowed from array) */
  bool in_record;
  size_t ncols; /* columns so far in the current record */
  bool failed;  /* an allocation or a write to mem failed */
};

struct output *
output_new (enum output_format fmt)
{
  struct output *o = calloc (1, sizeof *o);

  if (!o)
    return NULL;
  o->fmt = fmt;
  if (fmt == OUTPUT_JSON) {
    o->array = json_array ();
    if (!o->array) {
      free (o);
      return NULL;
    }
  }
  else {
    o->mem = open_memstream (&o->buf, &o->len);
    if (!o->mem) {
      free (o);
      return NULL;
    }
  }
  return o;
}

void
output_free (struct output *o)
{
  if (!o)
    return;
  if (o->mem)
    fclose (o->mem);
  free (o->buf);
  json_decref (o->array);
  free (o);
}

enum output_format
output_format (const struct output *o)
{
  return o->fmt;
}

static void
end_record (struct output *o)
{
  if (!o->in_record)
    return;
  if (o->mem && fputc ('\n', o->mem) == EOF)
    o->failed = true;
  o->in_record = false;
  o->cur = NULL;
}

int
output_record (struct output *o)
{
  end_record (o);
  o->in_record = true;
  o->ncols = 0;
  if (o->fmt == OUTPUT_JSON) {
    o->cur = json_object ();
    if (!o->cur || json_array_append_new (o->array, o->cur) == -1) {
      o->failed = true;
      o->cur = NULL;
      return -1;
    }
  }
  return o->failed ? -1 : 0;
}

char *
csv_quote (const char *s)
{
  size_t n = strlen (s), extra = 0, i;
  char *r, *p;

  if (!strpbrk (s, ",\" \t\r\n"))
    return strdup (s);
  for (i = 0; i < n; i++)
    if (s[i] == '"')
      extra++;
  r = malloc (n + extra + 3);
  if (!r)
    return NULL;
  p = r;
  *p++ = '"';
  for (i = 0; i < n; i++) {
    if (s[i] == '"')
      *p++ = '"';
    *p++ = s[i];
  }
  *p++ = '"';
  *p = '\0';
  return r;
}

int
output_col (struct output *o, unsigned flags, int width, const char *s)
{
  int r;

  if (o->fmt == OUTPUT_JSON || !o->in_record)
    return o->in_record ? 0 : -1;
  if ((flags & OUTPUT_TEXT_ONLY) && o->fmt != OUTPUT_TEXT)
    return 0;
  if ((flags & OUTPUT_CSV_ONLY) && o->fmt != OUTPUT_CSV)
    return 0;
  if (o->fmt == OUTPUT_TEXT)
    r = fprintf (o->mem, "%s%*s", o->ncols ? " " : "", width, s);
  else if (flags & OUTPUT_NO_QUOTE)
    r = fprintf (o->mem, "%s%s", o->ncols ? "," : "", s);
  else {
    char *q = csv_quote (s);
    r = q ? fprintf (o->mem, "%s%s", o->ncols ? "," : "", q) : -1;
    free (q);
  }
  o->ncols++;
  if (r < 0) {
    o->failed = true;
    return -1;
  }
  return 0;
}

int
output_colf (struct output *o, unsigned flags, int width, const char *fmt, ...)
{
  va_list ap;
  char *s;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&s, fmt, ap);
  va_end (ap);
  if (r < 0) {
    o->failed = true;
    return -1;
  }
  r = output_col (o, flags, width, s);
  free (s);
  return r;
}

int
output_json (struct output *o, const char *key, json_t *v)
{
  if (o->fmt != OUTPUT_JSON) {
    json_decref (v);
    return 0;
  }
  if (!o->cur) {
    json_decref (v);
    return -1;
  }
  if (json_object_set_new (o->cur, key, v ? v : json_null ()) == -1) {
    o->failed = true;
    return -1;
  }
  return 0;
}

int
output_text (struct output *o, const char *s)
{
  end_record (o);
  if (o->fmt != OUTPUT_TEXT)
    return 0;
  if (fputs (s, o->mem) == EOF) {
    o->failed = true;
    return -1;
  }
  return 0;
}

int
output_write (struct output *o, FILE *fp)
{
  end_record (o);
  if (o->failed) {
    errno = ENOMEM;
    return -1;
  }
  if (o->fmt == OUTPUT_JSON) {
    if (json_print (fp, o->array) == -1)
      return -1;
  }
  else {
    if (fflush (o->mem) == EOF)
      return -1;
    if (o->len && fwrite (o->buf, 1, o->len, fp) != o->len)
      return -1;
  }
  if (fflush (fp) == EOF || ferror (fp))
    return -1;
  return 0;
}
