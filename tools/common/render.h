/* Output rendering for the tools that print tables of records (vd-ls,
 * later vd-df, vd-inspect): one place that knows text columns, CSV
 * quoting and JSON.  A tool adds records; nothing reaches stdout until
 * output_write, so a tool that fails part-way prints nothing there.
 */
#ifndef VD_TOOLS_RENDER_H
#define VD_TOOLS_RENDER_H

#include <stdarg.h>
#include <stdio.h>

#include <jansson.h>

enum output_format {
  OUTPUT_TEXT, /* columns separated by one space, padded to a width */
  OUTPUT_CSV,  /* the same columns, RFC 4180 quoting, no padding */
  OUTPUT_JSON, /* an array of one object per record */
};

/* Which forms a column appears in (both unless said). */
enum {
  OUTPUT_TEXT_ONLY = 1 << 0,
  OUTPUT_CSV_ONLY = 1 << 1,
  OUTPUT_NO_QUOTE = 1 << 2, /* CSV: print as it is (virt-ls' padded ids) */
};

struct output;

/* A new, empty table.  NULL if out of memory.  Free with output_free. */
struct output *output_new (enum output_format fmt);
void output_free (struct output *o);
enum output_format output_format (const struct output *o);

/* Start a record (a text line, a CSV row, a JSON object). */
int output_record (struct output *o);
/* Add a column to the current record's text and CSV forms.  WIDTH pads
 * the text form: > 0 right-aligned, < 0 left-aligned, 0 not at all.
 * FLAGS: OUTPUT_TEXT_ONLY, OUTPUT_CSV_ONLY, OUTPUT_NO_QUOTE.  Ignored for
 * JSON. */
int output_col (struct output *o, unsigned flags, int width, const char *s);
int output_colf (struct output *o, unsigned flags, int width, const char *fmt,
                 ...) __attribute__ ((format (printf, 4, 5)));
/* Set a member of the current record's JSON object (V is stolen; NULL
 * means JSON null).  Ignored for text and CSV. */
int output_json (struct output *o, const char *key, json_t *v);
/* A line of free text, printed as it is in text form only. */
int output_text (struct output *o, const char *s);

/* Write everything to FP and flush it.  Returns 0, or -1 with errno set
 * if writing failed (a full disk, a closed pipe). */
int output_write (struct output *o, FILE *fp);

/* S quoted for a CSV field when it needs to be (it holds a comma, a quote,
 * a space, a tab or a line break, as virt-ls quotes): wrapped in double
 * quotes with each quote doubled.  Malloc'd; NULL if out of memory. */
char *csv_quote (const char *s);

#endif /* VD_TOOLS_RENDER_H */
