/*
 * html.h — HTML pages built in C, and the forms they post back.
 *
 * The moderator console (src/http/console.c) renders its pages on the
 * server. Everything on them that comes from a report, a moderator or the
 * store — text, place, model, destination, notes, reasons, names — goes in
 * through sl_html_text, which escapes it; markup is written only with
 * sl_html_raw and sl_html_rawf, whose arguments are the console's own
 * words and numbers. A page has a hard size cap: past it the builder stops
 * growing and says so (sl_html_failed), so no report, however long, can
 * make a page take more memory than the cap.
 *
 * The forms post application/x-www-form-urlencoded bodies;
 * sl_html_form_parse decodes one into fields.
 */
#ifndef SIGHTLINE_HTML_H
#define SIGHTLINE_HTML_H

#include <stdbool.h>
#include <stddef.h>

#include "sightline/arena.h"
#include "sightline/err.h"

/* The largest page built by default (sl_html_init's max may differ). */
#define SL_HTML_MAX ((size_t)4 << 20)

/* A page being built. Fields are private to html.c. */
typedef struct sl_html {
	char *buf;
	size_t len, size, max;
	bool failed; /* over max, or out of memory: the page is not usable */
} sl_html;

/* An empty page of at most max bytes. Nothing is allocated until written. */
void sl_html_init(sl_html *h, size_t max);

/* Frees what h holds (wiping it: a page may show unsealed text) and
 * leaves it empty. */
void sl_html_free(sl_html *h);

/* Appends markup as it is: the caller's own literal text, never a string
 * from a request, a report or the store. */
void sl_html_raw(sl_html *h, const char *markup);

/* Appends printf-formatted markup. The format and every argument are
 * trusted: numbers, fixed words; a string from outside goes through
 * sl_html_text instead. */
void sl_html_rawf(sl_html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s (NUL-terminated; NULL appends nothing) escaped for HTML text
 * and for a double- or single-quoted attribute value: & < > " ' become
 * entities. */
void sl_html_text(sl_html *h, const char *s);

/* The same for the n bytes at s. */
void sl_html_textn(sl_html *h, const char *s, size_t n);

/* Whether the page went past its cap or memory ran out: then it must not
 * be sent. */
bool sl_html_failed(const sl_html *h);

/* Hands the page over: a malloc'd NUL-terminated buffer (the caller frees
 * it, or gives it to sl_http_respond, which does) and its length in *len;
 * h is left empty. NULL, with h freed, when the page failed. */
char *sl_html_take(sl_html *h, size_t *len /* OUT */);

/* One field of a decoded form. value is NUL-terminated; len counts its
 * bytes, so a value holding "%00" has strlen(value) < len. */
typedef struct sl_form_field {
	const char *name;
	const char *value;
	size_t len;
} sl_form_field;

#define SL_FORM_FIELDS_MAX 32

/* A decoded form: its fields in the order sent. */
typedef struct sl_form {
	size_t n;
	sl_form_field fields[SL_FORM_FIELDS_MAX];
} sl_form;

/* Decodes the len bytes at body, an application/x-www-form-urlencoded
 * form ("a=1&b=x+y%21"), into out; names and values ('+' is a space, %XX
 * a byte) are copied into a. Empty pairs ("&&") are skipped. SL_EPARSE for
 * a broken %-escape, SL_ETOOBIG for more than SL_FORM_FIELDS_MAX fields,
 * SL_ENOMEM when a is full. The body is not kept. */
sl_err sl_html_form_parse(const char *body, size_t len, sl_arena *a,
			  sl_form *out /* OUT */);

/* The first field called name, or NULL. */
const sl_form_field *sl_html_form_get(const sl_form *f, const char *name);

#endif
