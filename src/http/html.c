/*
 * html.c — the page builder and form decoder of html.h.
 *
 * A page is one growing buffer with a cap. It grows by copying into a new
 * buffer and wiping the old one (sl_grow_wiped) rather than by realloc,
 * which would leave the old bytes (unsealed text, on a report's page) in
 * freed memory.
 */
#include "sightline/html.h"

#include "sightline/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define FIRST_SIZE 16384

void sl_html_init(sl_html *h, size_t max)
{
	memset(h, 0, sizeof(*h));
	h->max = max;
}

void sl_html_free(sl_html *h)
{
	if (h->buf) {
		sodium_memzero(h->buf, h->size);
		free(h->buf);
	}
	size_t max = h->max;
	sl_html_init(h, max);
}

/* Room for n more bytes and a NUL; false (and the page failed) when that
 * would pass the cap or memory is out. */
static bool room(sl_html *h, size_t n)
{
	if (h->failed)
		return false;
	if (n > h->max || h->len > h->max - n) {
		h->failed = true;
		return false;
	}
	if (!sl_grow_wiped(&h->buf, &h->size, h->len, h->len + n + 1, FIRST_SIZE,
			   h->max + 1)) {
		h->failed = true;
		return false;
	}
	return true;
}

static void append(sl_html *h, const char *s, size_t n)
{
	if (!room(h, n))
		return;
	memcpy(h->buf + h->len, s, n);
	h->len += n;
	h->buf[h->len] = '\0';
}

void sl_html_raw(sl_html *h, const char *markup)
{
	append(h, markup, strlen(markup));
}

void sl_html_rawf(sl_html *h, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		h->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		append(h, small, (size_t)n);
		return;
	}
	if (!room(h, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(h->buf + h->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	h->len += (size_t)n;
}

void sl_html_textn(sl_html *h, const char *s, size_t n)
{
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		const char *ent;
		switch (s[i]) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\'':
			ent = "&#39;";
			break;
		default:
			continue;
		}
		append(h, s + from, i - from);
		append(h, ent, strlen(ent));
		from = i + 1;
	}
	append(h, s + from, n - from);
}

void sl_html_text(sl_html *h, const char *s)
{
	if (s)
		sl_html_textn(h, s, strlen(s));
}

bool sl_html_failed(const sl_html *h)
{
	return h->failed;
}

char *sl_html_take(sl_html *h, size_t *len)
{
	if (h->failed || !room(h, 0)) {
		sl_html_free(h);
		*len = 0;
		return NULL;
	}
	char *out = h->buf;
	out[h->len] = '\0'; /* an empty page has had nothing written yet */
	*len = h->len;
	h->buf = NULL;
	sl_html_free(h);
	return out;
}

/* ---- forms ---- */

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the n bytes at s ('+' a space, %XX a byte) into a. */
static char *decode(const char *s, size_t n, sl_arena *a, size_t *out_len, sl_err *e)
{
	char *d = sl_arena_alloc(a, n + 1);
	if (!d) {
		*e = SL_ENOMEM;
		return NULL;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			d[k++] = ' ';
		} else if (s[i] == '%') {
			int hi = i + 2 < n ? hex(s[i + 1]) : -1;
			int lo = i + 2 < n ? hex(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				*e = SL_EPARSE;
				return NULL;
			}
			d[k++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			d[k++] = s[i];
		}
	}
	d[k] = '\0';
	*out_len = k;
	return d;
}

sl_err sl_html_form_parse(const char *body, size_t len, sl_arena *a, sl_form *out)
{
	memset(out, 0, sizeof(*out));
	size_t i = 0;
	while (i < len) {
		const char *pair = body + i;
		const char *amp = memchr(pair, '&', len - i);
		size_t n = amp ? (size_t)(amp - pair) : len - i;
		i += n + 1;
		if (n == 0)
			continue;
		if (out->n == SL_FORM_FIELDS_MAX)
			return SL_ETOOBIG;
		const char *eq = memchr(pair, '=', n);
		size_t nn = eq ? (size_t)(eq - pair) : n;
		sl_err e = SL_OK;
		size_t name_len, value_len = 0;
		sl_form_field *f = &out->fields[out->n];
		f->name = decode(pair, nn, a, &name_len, &e);
		f->value = f->name ? (eq ? decode(eq + 1, n - nn - 1, a, &value_len, &e)
					 : sl_arena_strdup(a, ""))
				   : NULL;
		if (!f->name || !f->value)
			return e != SL_OK ? e : SL_ENOMEM;
		f->len = value_len;
		out->n++;
	}
	return SL_OK;
}

const sl_form_field *sl_html_form_get(const sl_form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return &f->fields[i];
	return NULL;
}
