/*
 * bot.c — the Telegram bot's conversations (bot.h).
 *
 * Each shard is a small table of conversation slots, each slot one
 * sodium_malloc block: its keyed hash of the chat id (and which key made
 * it), how many reports the chat sent lately, and — while a conversation
 * goes on — the chat id, the answers so far and the cleaned photos. A
 * lookup hashes the chat id under the shard's current key, then its
 * previous one (and moves a match to the current key); the keys are
 * replaced every timeout_s, and a slot still under the key that is dropped
 * is freed with it. Conversations idle for timeout_s are ended by the
 * sweep before that can happen to them.
 *
 * A turn is one update: find or make the conversation, record the
 * message's id (to delete it at the end), act on it for the step it is
 * at, and ask the next question. Every question is one sendMessage with
 * an inline keyboard; every button press is answered
 * (answerCallbackQuery), with "this button no longer works" when it does
 * not belong to the step. Anything the informant typed is escaped before
 * it goes into a message (parse_mode HTML).
 */
#include "sightline/bot.h"

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake/bot_int.h"
#include "sightline/timefmt.h"

#define KEY_BYTES crypto_generichash_KEYBYTES
#define ID_BYTES 16
#define MSGS_MAX 100  /* deleteMessages takes at most 100 ids */
#define MSG_MAX 12288 /* bytes of one message we send (Telegram: 4096 characters) */
#define PIN_M 250.0   /* a point put on the map by hand, without its accuracy */

typedef enum step {
	ST_CATEGORY,
	ST_WHERE,
	ST_PLACE_UNKNOWN,
	ST_WHEN,
	ST_EQ_TYPE,
	ST_EQ_COUNT,
	ST_EQ_MORE,
	ST_PHOTOS,
	ST_CONFIRM,
	ST_NO_MODERATORS,
	ST_LANGUAGE,
} step;

typedef enum place_kind {
	PK_NONE,
	PK_COORDS,  /* typed coordinates */
	PK_TOWN,    /* a town of the gazetteer */
	PK_STATION, /* a station of the list */
	PK_PIN,	    /* a point on the map */
	PK_WRITTEN, /* a name kept as written */
} place_kind;

/* The part of a slot that exists only while a conversation goes on. */
typedef struct live {
	int64_t chat_id; /* 0: no conversation */
	int64_t last;	 /* its last message, Unix seconds */
	sl_lang lang;
	step step, back; /* back: where the language menu returns to */
	unsigned updates;
	bool has_category;
	sl_category category;
	place_kind place_kind;
	bool has_point;
	double lat, lon, unc;
	char place[SL_REPORT_MAX_SHORT + 1];   /* location.place, or "" */
	char shown[SL_REPORT_MAX_SHORT + 1];   /* the place as the bot names it */
	char pending[SL_REPORT_MAX_SHORT + 1]; /* a place not found, before "keep" */
	bool has_time;
	int64_t observed_at;
	size_t n_eq;
	sl_equipment eq[SL_BOT_EQUIPMENT];
	sl_equipment_type pending_type;
	size_t text_len;
	char text[SL_REPORT_MAX_TEXT + 1];
	size_t n_photos;
	uint8_t *photo[SL_BOT_PHOTOS]; /* cleaned JPEGs, malloc'd */
	size_t photo_len[SL_BOT_PHOTOS];
	size_t n_msgs;
	int64_t msgs[MSGS_MAX];
} live;

typedef struct conv {
	uint8_t id[ID_BYTES]; /* keyed hash of the chat id */
	uint32_t gen;	      /* of the key that made id */
	unsigned sent;	      /* reports sent under this key and the one before */
	live l;
} conv;

typedef struct shard {
	pthread_mutex_t lock;
	conv **slots;
	size_t cap;
	unsigned char *keys; /* sodium_malloc: the current key, then the previous */
	uint32_t gen;	     /* of the current key (>= 1) */
	int64_t keyed_at;    /* 0 until the first turn dates it */
	size_t n_live;
} shard;

struct sl_bot {
	sl_bot_config cfg;
	sl_bot_ops ops;
	shard *shards;
	unsigned char route_key[crypto_shorthash_KEYBYTES];
};

/* One update being answered. c is NULL for answers that need no
 * conversation (a stale button, /status, /help). */
typedef struct turn {
	sl_bot *b;
	shard *sh;
	conv *c;
	void *ud;
	int64_t now;
	int64_t chat;
	sl_lang lang;
} turn;

#define W(key) sl_bot_word(t->lang, key)

/* ---- slots ---- */

static void slot_free(conv *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->l.n_photos; i++) {
		sodium_memzero(c->l.photo[i], c->l.photo_len[i]);
		free(c->l.photo[i]);
	}
	sodium_free(c); /* wipes it */
}

/* Ends c's conversation: its photos freed, every answer and the chat id
 * wiped; only the hash and the count of reports stay. */
static void forget(shard *sh, conv *c)
{
	if (!c->l.chat_id)
		return;
	for (size_t i = 0; i < c->l.n_photos; i++) {
		sodium_memzero(c->l.photo[i], c->l.photo_len[i]);
		free(c->l.photo[i]);
	}
	sodium_memzero(&c->l, sizeof(c->l));
	sh->n_live--;
}

static void hash_id(const unsigned char *key, int64_t chat, uint8_t out[ID_BYTES])
{
	uint8_t in[8];
	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)((uint64_t)chat >> (8 * i));
	crypto_generichash(out, ID_BYTES, in, sizeof(in), key, KEY_BYTES);
	sodium_memzero(in, sizeof(in));
}

/* The slot of chat, moved to the current key when found under the
 * previous one; NULL when there is none. */
static conv *find(shard *sh, int64_t chat)
{
	uint8_t id[ID_BYTES];
	for (int k = 0; k < 2; k++) {
		uint32_t gen = sh->gen - (uint32_t)k;
		hash_id(sh->keys + (size_t)k * KEY_BYTES, chat, id);
		for (size_t i = 0; i < sh->cap; i++) {
			conv *c = sh->slots[i];
			if (!c || c->gen != gen ||
			    sodium_memcmp(c->id, id, ID_BYTES) != 0)
				continue;
			if (k == 1) {
				hash_id(sh->keys, chat, c->id);
				c->gen = sh->gen;
			}
			sodium_memzero(id, sizeof(id));
			return c;
		}
	}
	sodium_memzero(id, sizeof(id));
	return NULL;
}

/* A slot for a new chat: a free one, else one with no conversation (its
 * count of reports is lost); NULL when every slot has a conversation. */
static conv *make(shard *sh, int64_t chat)
{
	conv *c = NULL;
	for (size_t i = 0; i < sh->cap && !c; i++)
		if (!sh->slots[i]) {
			c = sodium_malloc(sizeof(conv));
			if (!c)
				return NULL;
			sh->slots[i] = c;
		}
	for (size_t i = 0; i < sh->cap && !c; i++)
		if (!sh->slots[i]->l.chat_id)
			c = sh->slots[i];
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	hash_id(sh->keys, chat, c->id);
	c->gen = sh->gen;
	return c;
}

/* A new key; slots under the one dropped go with it. */
static void rotate(shard *sh, int64_t now)
{
	for (size_t i = 0; i < sh->cap; i++) {
		conv *c = sh->slots[i];
		if (c && c->gen != sh->gen) {
			if (c->l.chat_id)
				sh->n_live--;
			slot_free(c);
			sh->slots[i] = NULL;
		}
	}
	memcpy(sh->keys + KEY_BYTES, sh->keys, KEY_BYTES);
	randombytes_buf(sh->keys, KEY_BYTES);
	sh->gen++;
	sh->keyed_at = now;
}

/* ---- messages out ---- */

typedef struct msg {
	size_t n;
	char s[MSG_MAX];
} msg;

static void put(msg *m, const char *s)
{
	size_t k = strlen(s);
	if (k > sizeof(m->s) - 1 - m->n)
		k = sizeof(m->s) - 1 - m->n;
	memcpy(m->s + m->n, s, k);
	m->n += k;
	m->s[m->n] = '\0';
}

__attribute__((format(printf, 2, 3))) static void putf(msg *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(m->s + m->n, sizeof(m->s) - m->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		m->n =
		    m->n + (size_t)k < sizeof(m->s) ? m->n + (size_t)k : sizeof(m->s) - 1;
}

/* Appends the n bytes at s escaped for parse_mode HTML. */
static void esc(msg *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *e = s[i] == '&'   ? "&amp;"
				: s[i] == '<' ? "&lt;"
				: s[i] == '>' ? "&gt;"
					      : NULL;
		if (e) {
			put(m, e);
		} else if (m->n + 1 < sizeof(m->s)) {
			m->s[m->n++] = s[i];
			m->s[m->n] = '\0';
		}
	}
}

/* A word with one %s, the argument escaped. */
static void put_word_s(msg *m, const char *word, const char *arg)
{
	const char *p = strstr(word, "%s");
	if (!p) {
		put(m, word);
		return;
	}
	msg tmp = {0};
	memcpy(tmp.s, word, (size_t)(p - word));
	tmp.n = (size_t)(p - word);
	tmp.s[tmp.n] = '\0';
	put(m, tmp.s);
	esc(m, arg, strlen(arg));
	put(m, p + 2);
}

static json_t *button(const char *text, const char *data)
{
	return json_pack("{s:s, s:s}", "text", text, "callback_data", data);
}

/* An inline keyboard of buttons, per_row to a row, plus extra rows. */
typedef struct keys {
	json_t *rows;
	json_t *row;
	unsigned per_row;
} keys;

static void keys_init(keys *k, unsigned per_row)
{
	k->rows = json_array();
	k->row = NULL;
	k->per_row = per_row;
}

static void keys_add(keys *k, const char *text, const char *data)
{
	if (!k->row || json_array_size(k->row) >= k->per_row) {
		k->row = json_array();
		json_array_append_new(k->rows, k->row);
	}
	json_array_append_new(k->row, button(text, data));
}

/* Ends the current row: the next button starts one. */
static void keys_break(keys *k)
{
	k->row = NULL;
}

static json_t *keys_done(keys *k)
{
	return json_pack("{s:o}", "inline_keyboard", k->rows);
}

static void record(turn *t, int64_t message_id)
{
	conv *c = t->c;
	if (c && c->l.chat_id && message_id > 0 && c->l.n_msgs < MSGS_MAX)
		c->l.msgs[c->l.n_msgs++] = message_id;
}

/* Sends text (with markup, taken, when not NULL) to the chat; the message
 * is deleted with the conversation. */
static void send(turn *t, const char *text, json_t *markup)
{
	json_t *p = json_pack("{s:I, s:s, s:s, s:{s:b}}", "chat_id", (json_int_t)t->chat,
			      "text", text, "parse_mode", "HTML", "link_preview_options",
			      "is_disabled", 1);
	if (p && markup)
		json_object_set_new(p, "reply_markup", markup);
	else
		json_decref(markup);
	json_t *res = NULL;
	if (p && t->b->ops.call(t->ud, "sendMessage", p, &res) == SL_OK)
		record(t,
		       (int64_t)json_integer_value(json_object_get(res, "message_id")));
	json_decref(res);
	json_decref(p);
}

static void send_msg(turn *t, msg *m, json_t *markup)
{
	send(t, m->s, markup);
	sodium_memzero(m, sizeof(*m)); /* it may quote the informant */
}

static void answer_button(turn *t, const char *callback_id, const char *text)
{
	json_t *p = json_pack("{s:s}", "callback_query_id", callback_id);
	if (p && text)
		json_object_set_new(p, "text", json_string(text));
	if (p)
		t->b->ops.call(t->ud, "answerCallbackQuery", p, NULL);
	json_decref(p);
}

/* Asks Telegram to delete the conversation's messages on both sides. */
static void delete_messages(turn *t)
{
	conv *c = t->c;
	if (!c || !c->l.n_msgs)
		return;
	json_t *ids = json_array();
	for (size_t i = 0; i < c->l.n_msgs; i++)
		json_array_append_new(ids, json_integer(c->l.msgs[i]));
	json_t *p =
	    json_pack("{s:I, s:o}", "chat_id", (json_int_t)t->chat, "message_ids", ids);
	if (p)
		t->b->ops.call(t->ud, "deleteMessages", p, NULL);
	json_decref(p);
}

/* Deletes the conversation's messages and forgets it; further messages
 * are sent without a conversation. */
static void finish(turn *t)
{
	delete_messages(t);
	forget(t->sh, t->c);
	t->c = NULL;
}

/* ---- what the bot says ---- */

static void distance(turn *t, double m, char *out, size_t size)
{
	if (m < 1000)
		snprintf(out, size, "±%.0f %s", m, W(BW_UNIT_M));
	else if (fmod(m, 1000) < 50 || m >= 10000)
		snprintf(out, size, "±%.0f %s", m / 1000, W(BW_UNIT_KM));
	else
		snprintf(out, size, "±%.1f %s", m / 1000, W(BW_UNIT_KM));
}

/* The place as the bot names it back ("Орша, ±4 км"), escaped into m. */
static void describe_place(turn *t, msg *m)
{
	const live *l = &t->c->l;
	char d[48], pt[64];
	distance(t, l->unc, d, sizeof(d));
	switch (l->place_kind) {
	case PK_TOWN:
		esc(m, l->shown, strlen(l->shown));
		putf(m, ", %s", d);
		break;
	case PK_STATION:
		put_word_s(m, W(BW_STATION), l->shown);
		putf(m, ", %s", d);
		break;
	case PK_COORDS:
	case PK_PIN:
		snprintf(pt, sizeof(pt), "%.5f, %.5f", l->lat, l->lon);
		put(m, pt);
		if (l->place[0]) {
			put(m, " (");
			esc(m, l->place, strlen(l->place));
			put(m, ")");
		}
		putf(m, ", %s", d);
		break;
	case PK_WRITTEN:
		put_word_s(m, W(BW_AS_WRITTEN), l->place);
		break;
	case PK_NONE:
		put(m, W(BW_NOT_GIVEN));
	}
}

static void describe_equipment(turn *t, msg *m, size_t from)
{
	const live *l = &t->c->l;
	if (from >= l->n_eq) {
		put(m, W(BW_NOT_GIVEN));
		return;
	}
	for (size_t i = from; i < l->n_eq; i++) {
		const sl_equipment *e = &l->eq[i];
		putf(m, "%s%s: %d", i > from ? "; " : "",
		     sl_lang_equipment(t->lang, e->type), (int)e->count);
		if (e->count_max)
			putf(m, "–%d", (int)e->count_max);
	}
}

static void summary(turn *t, msg *m)
{
	const live *l = &t->c->l;
	putf(m, "<b>%s</b>\n%s: ", W(BW_SUMMARY), W(BW_L_WHAT));
	put(m, sl_lang_category(t->lang, l->category));
	putf(m, "\n%s: ", W(BW_L_WHERE));
	describe_place(t, m);
	char when[SL_TIME_TEXT_MAX];
	sl_time_format_local(l->has_time ? l->observed_at : t->now, SL_LOCAL_UTC_OFFSET,
			     when);
	when[10] = ' ';
	putf(m, "\n%s: %s (%s)\n%s: ", W(BW_L_WHEN), when, W(BW_MINSK_TIME), W(BW_L_EQ));
	describe_equipment(t, m, 0);
	putf(m, "\n%s: %zu", W(BW_L_PHOTOS), l->n_photos);
	if (l->text_len) {
		putf(m, "\n%s: ", W(BW_L_TEXT));
		size_t n = l->text_len < 300 ? l->text_len : 300;
		while (n < l->text_len && n > 0 &&
		       ((unsigned char)l->text[n] & 0xc0) == 0x80)
			n--; /* not in the middle of a character */
		esc(m, l->text, n);
		if (n < l->text_len)
			put(m, "…");
	}
}

static const int when_minutes[] = {0, 15, 30, 60, 120, 180};
static const char *const counts[] = {"1", "2-5", "5-10", "10-20", "20-50", "50+"};

/* The current step's question: text (prefix, then the question, unless
 * replace) and its keyboard. */
static void ask_full(turn *t, const char *prefix, bool replace)
{
	live *l = &t->c->l;
	msg m = {0};
	if (prefix) {
		put(&m, prefix);
		if (!replace)
			put(&m, "\n\n");
	}
	keys k;
	keys_init(&k, 2);
	char data[64];
	switch (l->step) {
	case ST_CATEGORY:
		if (!replace)
			put(&m, W(BW_ASK_CATEGORY));
		for (int i = 0; i < SL_CAT_COUNT; i++) {
			snprintf(data, sizeof(data), "c:%s",
				 sl_category_name((sl_category)i));
			keys_add(&k, sl_lang_category(t->lang, (sl_category)i), data);
		}
		keys_break(&k);
		keys_add(&k, W(BW_LANGUAGE_BUTTON), "l:menu");
		break;
	case ST_WHERE:
		if (!replace) {
			put(&m, W(BW_ASK_WHERE));
			put(&m, "\n\n");
			put(&m, W(BW_WHERE_HINT));
		}
		break;
	case ST_PLACE_UNKNOWN:
		if (!replace)
			put_word_s(&m, W(BW_PLACE_UNKNOWN), l->pending);
		keys_add(&k, W(BW_KEEP), "k:keep");
		break;
	case ST_WHEN:
		if (!replace)
			put(&m, W(BW_ASK_WHEN));
		for (size_t i = 0; i < sizeof(when_minutes) / sizeof(when_minutes[0]);
		     i++) {
			snprintf(data, sizeof(data), "t:%d", when_minutes[i]);
			keys_add(&k, W((bw_key)(BW_WHEN_0 + i)), data);
		}
		break;
	case ST_EQ_TYPE:
		if (!replace)
			put(&m, W(BW_ASK_EQ));
		for (int i = 0; i < SL_EQ_COUNT; i++) {
			snprintf(data, sizeof(data), "e:%s",
				 sl_equipment_type_name((sl_equipment_type)i));
			keys_add(&k, sl_lang_equipment(t->lang, (sl_equipment_type)i),
				 data);
		}
		keys_break(&k);
		keys_add(&k, W(BW_EQ_NONE), "e:none");
		break;
	case ST_EQ_COUNT:
		if (!replace) {
			const char *label = sl_lang_equipment(t->lang, l->pending_type);
			putf(&m, W(BW_ASK_COUNT), label);
		}
		k.per_row = 3;
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
			snprintf(data, sizeof(data), "n:%s", counts[i]);
			keys_add(&k, counts[i], data);
		}
		break;
	case ST_EQ_MORE:
		if (!replace) {
			msg e = {0};
			describe_equipment(t, &e, l->n_eq ? l->n_eq - 1 : 0);
			putf(&m, W(BW_EQ_NOTED), e.s);
		}
		keys_add(&k, W(BW_MORE), "m:more");
		keys_add(&k, W(BW_NEXT), "m:next");
		break;
	case ST_PHOTOS:
		if (!replace)
			put(&m, W(BW_ASK_PHOTOS));
		keys_add(&k, W(BW_DONE), "p:done");
		break;
	case ST_CONFIRM:
		if (!replace)
			summary(t, &m);
		keys_add(&k, W(BW_SEND), "s:send");
		keys_add(&k, W(BW_CANCEL), "s:cancel");
		break;
	case ST_NO_MODERATORS:
		if (!replace)
			put(&m, W(BW_NO_MODERATORS));
		k.per_row = 1;
		keys_add(&k, W(BW_STRIP), "s:strip");
		keys_add(&k, W(BW_CANCEL), "s:cancel");
		break;
	case ST_LANGUAGE:
		if (!replace)
			put(&m, W(BW_ASK_LANGUAGE));
		for (int i = 0; i < SL_LANG_COUNT; i++) {
			snprintf(data, sizeof(data), "l:%s", sl_lang_tag((sl_lang)i));
			keys_add(&k, sl_lang_name((sl_lang)i), data);
		}
		break;
	}
	json_t *markup = json_array_size(k.rows) ? keys_done(&k) : NULL;
	if (!markup)
		json_decref(k.rows);
	send_msg(t, &m, markup);
}

static void ask(turn *t, const char *prefix)
{
	ask_full(t, prefix, false);
}

/* Says text with the current step's buttons, instead of its question. */
static void ask_with(turn *t, const char *text)
{
	ask_full(t, text, true);
}

static void go(turn *t, step s, const char *prefix)
{
	t->c->l.step = s;
	ask(t, prefix);
}

/* ---- answers ---- */

/* Copies at most size-1 bytes of s into out, not cutting a character. */
static void copy_text(char *out, size_t size, const char *s, size_t n)
{
	if (n > size - 1) {
		n = size - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

static void place_prefix(turn *t, msg *m)
{
	msg d = {0};
	describe_place(t, &d);
	putf(m, W(BW_PLACE_OK), d.s);
}

/* The place is known: on to when. */
static void place_done(turn *t)
{
	msg m = {0};
	place_prefix(t, &m);
	go(t, ST_WHEN, m.s);
	sodium_memzero(&m, sizeof(m));
}

static void place_text(turn *t, const char *text)
{
	live *l = &t->c->l;
	while (*text == ' ' || *text == '\n')
		text++;
	size_t n = strlen(text);
	while (n && (text[n - 1] == ' ' || text[n - 1] == '\n'))
		n--;
	if (n > SL_REPORT_MAX_SHORT) {
		ask_with(t, W(BW_PLACE_LONG));
		return;
	}
	char name[SL_REPORT_MAX_SHORT + 1];
	copy_text(name, sizeof(name), text, n);
	if (!*name) {
		ask(t, NULL);
		return;
	}
	sl_place p;
	sl_err e = sl_place_resolve(t->b->cfg.gazetteer, name, t->lang, &p);
	if (e == SL_EVALID) {
		ask_with(t, W(BW_PLACE_RANGE));
	} else if (e == SL_OK) {
		l->has_point = true;
		l->lat = p.lat, l->lon = p.lon, l->unc = p.uncertainty_m;
		l->place_kind = p.kind == SL_PLACE_TOWN	     ? PK_TOWN
				: p.kind == SL_PLACE_STATION ? PK_STATION
							     : PK_COORDS;
		snprintf(l->place, sizeof(l->place), "%s",
			 p.kind == SL_PLACE_COORDS ? "" : name);
		snprintf(l->shown, sizeof(l->shown), "%s", p.name ? p.name : "");
		place_done(t);
	} else {
		snprintf(l->pending, sizeof(l->pending), "%s", name);
		go(t, ST_PLACE_UNKNOWN, NULL);
	}
	sodium_memzero(name, sizeof(name));
}

static void point(turn *t, const sl_tg_update *u)
{
	live *l = &t->c->l;
	if (!(fabs(u->lat) <= 90 && fabs(u->lon) <= 180)) {
		ask_with(t, W(BW_PLACE_RANGE));
		return;
	}
	l->has_point = true;
	l->lat = u->lat, l->lon = u->lon;
	l->unc = u->accuracy_m > 0 ? u->accuracy_m : PIN_M;
	if (l->unc < 10)
		l->unc = 10;
	if (l->unc > SL_REPORT_MAX_UNCERTAINTY)
		l->unc = SL_REPORT_MAX_UNCERTAINTY;
	l->place_kind = PK_PIN;
	l->place[0] = '\0';
	if (u->kind == SL_TG_VENUE && u->text && sl_utf8_text_ok(u->text, u->text_len))
		copy_text(l->place, sizeof(l->place), u->text, u->text_len);
	place_done(t);
}

static void time_text(turn *t, const char *text)
{
	int64_t when;
	if (sl_time_parse_local(text, t->now, SL_LOCAL_UTC_OFFSET, &when) != SL_OK) {
		ask_with(t, W(BW_TIME_BAD));
		return;
	}
	if (when < SL_REPORT_MIN_TIME || when > t->now + SL_REPORT_FUTURE_SLACK) {
		ask_with(t, W(BW_TIME_RULE));
		return;
	}
	t->c->l.has_time = true;
	t->c->l.observed_at = when;
	go(t, ST_EQ_TYPE, NULL);
}

static void count_text(turn *t, const char *text)
{
	live *l = &t->c->l;
	int32_t lo, hi;
	if (!sl_count_parse(text, &lo, &hi)) {
		ask_with(t, W(BW_COUNT_BAD));
		return;
	}
	l->eq[l->n_eq++] =
	    (sl_equipment){.type = l->pending_type, .count = lo, .count_max = hi};
	if (l->n_eq == SL_BOT_EQUIPMENT) {
		go(t, ST_PHOTOS, W(BW_EQ_FULL));
		return;
	}
	go(t, ST_EQ_MORE, NULL);
}

/* Adds text to the report's free text; false when it is full. */
static bool add_text(turn *t, const char *text, size_t n)
{
	live *l = &t->c->l;
	while (n && (*text == ' ' || *text == '\n'))
		text++, n--;
	if (n == 0)
		return true;
	size_t sep = l->text_len ? 1 : 0;
	if (l->text_len + sep + n > SL_REPORT_MAX_TEXT)
		return false;
	if (sep)
		l->text[l->text_len++] = '\n';
	memcpy(l->text + l->text_len, text, n);
	l->text_len += n;
	l->text[l->text_len] = '\0';
	return true;
}

static void submit(turn *t, bool strip)
{
	live *l = &t->c->l;
	conv *c = t->c;
	if (strip) {
		sodium_memzero(l->text, sizeof(l->text));
		l->text_len = 0;
		for (size_t i = 0; i < l->n_photos; i++) {
			sodium_memzero(l->photo[i], l->photo_len[i]);
			free(l->photo[i]);
		}
		l->n_photos = 0;
	}
	if (c->sent >= t->b->cfg.max_reports) {
		ask_with(t, W(BW_TOO_MANY));
		return;
	}
	sl_report r;
	sl_report_init(&r, t->now);
	r.category = l->category;
	r.location.has_point = l->has_point;
	r.location.lat = l->lat, r.location.lon = l->lon;
	r.location.uncertainty_m = l->unc;
	r.location.place = l->place[0] ? l->place : NULL;
	r.observed_at = l->has_time ? l->observed_at : t->now - t->now % 60;
	r.n_equipment = l->n_eq;
	r.equipment = l->eq;
	r.text = l->text_len ? l->text : NULL;
	r.language = sl_lang_tag(t->lang);
	sl_problems why = {0};
	sl_photo photos[SL_BOT_PHOTOS];
	size_t bytes = 1u << 20;
	for (size_t i = 0; i < l->n_photos; i++) {
		photos[i] = (sl_photo){l->photo[i], l->photo_len[i]};
		bytes += 2 * l->photo_len[i] + 4096;
	}
	sl_arena *a = sl_arena_new(bytes);
	char receipt[SL_RECEIPT_TEXT_MAX] = "";
	sl_err e = !a ? SL_ENOMEM
		   : sl_report_validate(&r, t->now, &why) != SL_OK
		       ? SL_EVALID
		       : t->b->ops.submit(t->ud, &r, photos, l->n_photos, a, receipt);
	sl_arena_free(a);
	if (e == SL_ECLOSED && sl_report_has_sensitive(&r, l->n_photos)) {
		go(t, ST_NO_MODERATORS, NULL);
		return;
	}
	if (e != SL_OK) {
		ask_with(t, W(BW_UNAVAILABLE));
		return;
	}
	c->sent++;
	finish(t);
	msg m = {0};
	putf(&m, W(BW_SENT), receipt);
	sodium_memzero(receipt, sizeof(receipt));
	send_msg(t, &m, NULL);
}

static void cancel(turn *t)
{
	finish(t);
	send(t, W(BW_CANCELLED), NULL);
}

/* A new conversation in c (the old one's answers dropped). */
static void start(turn *t, const sl_tg_update *u)
{
	conv *c = t->c;
	if (!c->l.chat_id) {
		t->sh->n_live++;
		sl_lang l;
		t->lang = sl_lang_from_tag(u->lang, &l) ? l : SL_LANG_DEFAULT;
	} else {
		for (size_t i = 0; i < c->l.n_photos; i++) {
			sodium_memzero(c->l.photo[i], c->l.photo_len[i]);
			free(c->l.photo[i]);
		}
		size_t n_msgs = c->l.n_msgs;
		int64_t msgs[MSGS_MAX];
		memcpy(msgs, c->l.msgs, sizeof(msgs));
		sodium_memzero(&c->l, sizeof(c->l));
		memcpy(c->l.msgs, msgs, sizeof(msgs)); /* still to be deleted */
		c->l.n_msgs = n_msgs;
	}
	c->l.chat_id = t->chat;
	c->l.lang = t->lang;
	c->l.last = t->now;
	c->l.step = ST_CATEGORY;
}

/* A button: data is "x:value". True when it belongs to the current step. */
static bool pressed_valid(const live *l, const char *d)
{
	if (strlen(d) < 3 || d[1] != ':')
		return false;
	const char *v = d + 2;
	sl_category cat;
	sl_equipment_type type;
	sl_lang lang;
	int32_t lo, hi;
	switch (d[0]) {
	case 'l':
		return strcmp(v, "menu") == 0 ||
		       (l->step == ST_LANGUAGE && sl_lang_from_tag(v, &lang));
	case 'c':
		return l->step == ST_CATEGORY && sl_category_from_name(v, &cat);
	case 'k':
		return l->step == ST_PLACE_UNKNOWN && strcmp(v, "keep") == 0;
	case 't':
		for (size_t i = 0; i < sizeof(when_minutes) / sizeof(when_minutes[0]);
		     i++) {
			char w[16];
			snprintf(w, sizeof(w), "%d", when_minutes[i]);
			if (strcmp(v, w) == 0)
				return l->step == ST_WHEN;
		}
		return false;
	case 'e':
		return l->step == ST_EQ_TYPE &&
		       (strcmp(v, "none") == 0 || sl_equipment_type_from_name(v, &type));
	case 'n':
		return l->step == ST_EQ_COUNT && sl_count_parse(v, &lo, &hi);
	case 'm':
		return l->step == ST_EQ_MORE &&
		       (strcmp(v, "more") == 0 || strcmp(v, "next") == 0);
	case 'p':
		return l->step == ST_PHOTOS && strcmp(v, "done") == 0;
	case 's':
		return (l->step == ST_CONFIRM &&
			(strcmp(v, "send") == 0 || strcmp(v, "cancel") == 0)) ||
		       (l->step == ST_NO_MODERATORS &&
			(strcmp(v, "strip") == 0 || strcmp(v, "cancel") == 0));
	}
	return false;
}

static void press(turn *t, const char *d)
{
	live *l = &t->c->l;
	const char *v = d + 2;
	switch (d[0]) {
	case 'l':
		if (strcmp(v, "menu") == 0) {
			if (l->step != ST_LANGUAGE)
				l->back = l->step;
			go(t, ST_LANGUAGE, NULL);
		} else {
			sl_lang_from_tag(v, &t->lang);
			l->lang = t->lang;
			go(t, l->back, NULL);
		}
		break;
	case 'c':
		sl_category_from_name(v, &l->category);
		l->has_category = true;
		go(t, ST_WHERE, NULL);
		break;
	case 'k':
		l->has_point = false;
		l->place_kind = PK_WRITTEN;
		snprintf(l->place, sizeof(l->place), "%s", l->pending);
		l->pending[0] = '\0';
		place_done(t);
		break;
	case 't':
		l->has_time = true;
		l->observed_at = t->now - atoi(v) * 60;
		l->observed_at -= l->observed_at % 60;
		go(t, ST_EQ_TYPE, NULL);
		break;
	case 'e':
		if (strcmp(v, "none") == 0) {
			go(t, ST_PHOTOS, NULL);
		} else {
			sl_equipment_type_from_name(v, &l->pending_type);
			go(t, ST_EQ_COUNT, NULL);
		}
		break;
	case 'n':
		count_text(t, v);
		break;
	case 'm':
		go(t, strcmp(v, "more") == 0 ? ST_EQ_TYPE : ST_PHOTOS, NULL);
		break;
	case 'p':
		go(t, ST_CONFIRM, NULL);
		break;
	case 's':
		if (strcmp(v, "cancel") == 0)
			cancel(t);
		else
			submit(t, strcmp(v, "strip") == 0);
		break;
	}
}

static void text_answer(turn *t, const sl_tg_update *u)
{
	live *l = &t->c->l;
	const char *text = u->text;
	switch (l->step) {
	case ST_WHERE:
	case ST_PLACE_UNKNOWN:
		place_text(t, text);
		break;
	case ST_WHEN:
		time_text(t, text);
		break;
	case ST_EQ_COUNT:
		count_text(t, text);
		break;
	case ST_PHOTOS:
		ask_with(t, add_text(t, text, u->text_len) ? W(BW_TEXT_OK)
							   : W(BW_TEXT_FULL));
		break;
	case ST_CONFIRM:
		if (add_text(t, text, u->text_len))
			ask(t, NULL);
		else
			ask_with(t, W(BW_TEXT_FULL));
		break;
	default:
		ask_with(t, W(BW_USE_BUTTONS));
	}
}

static void photo(turn *t, const sl_tg_update *u)
{
	live *l = &t->c->l;
	if (l->n_photos == SL_BOT_PHOTOS) {
		ask(t, W(BW_PHOTO_MANY));
		return;
	}
	void *jpeg = NULL;
	size_t len = 0;
	sl_err e = t->b->ops.photo(t->ud, u->file_id, u->file_size, &jpeg, &len);
	if (e != SL_OK) {
		ask(t, W(e == SL_ETOOBIG ? BW_PHOTO_BIG
			 : e == SL_EIO	 ? BW_PHOTO_FETCH
					 : BW_PHOTO_BAD));
		return;
	}
	l->photo[l->n_photos] = jpeg;
	l->photo_len[l->n_photos++] = len;
	if (u->text && sl_utf8_text_ok(u->text, u->text_len))
		add_text(t, u->text, u->text_len);
	char said[128];
	snprintf(said, sizeof(said), W(BW_PHOTO_OK), (int)l->n_photos);
	if (l->step == ST_PHOTOS)
		ask_with(t, said);
	else
		ask(t, said);
}

/* "/start@bot args" into its command ("start") and its arguments. */
static bool command(const char *text, char cmd[16], const char **args)
{
	if (text[0] != '/')
		return false;
	size_t n = strcspn(text + 1, " @\n");
	if (n == 0 || n >= 16)
		return false;
	memcpy(cmd, text + 1, n);
	cmd[n] = '\0';
	const char *a = text + 1 + n;
	a += strcspn(a, " \n");
	while (*a == ' ' || *a == '\n')
		a++;
	*args = a;
	return true;
}

static void status(turn *t, const char *args)
{
	if (!*args) {
		send(t, W(BW_STATUS_USAGE), NULL);
		return;
	}
	sl_report_status st;
	sl_err e = t->b->ops.status(t->ud, args, &st);
	msg m = {0};
	if (e == SL_OK)
		putf(&m, W(BW_STATUS), sl_lang_status(t->lang, st));
	else
		put(&m, W(e == SL_EPARSE ? BW_STATUS_USAGE : BW_STATUS_UNKNOWN));
	send_msg(t, &m, NULL);
}

/* ---- turns ---- */

/* Answers without a conversation: what needs none, and buttons of one that
 * is over. True when u was answered here. */
static bool stateless(turn *t, const sl_tg_update *u, conv *c)
{
	bool live_conv = c && c->l.chat_id;
	char cmd[16];
	const char *args = "";
	if (u->kind == SL_TG_CALLBACK && !live_conv) {
		answer_button(t, u->callback_id, W(BW_EXPIRED));
		return true;
	}
	if (u->kind != SL_TG_TEXT || !command(u->text, cmd, &args))
		return false;
	if (strcmp(cmd, "status") == 0) {
		status(t, args);
		return true;
	}
	if (strcmp(cmd, "help") == 0) {
		send(t, W(BW_HELP), NULL);
		return true;
	}
	if (strcmp(cmd, "cancel") == 0 && !live_conv) {
		send(t, W(BW_CANCELLED), NULL);
		return true;
	}
	return false;
}

static void converse(turn *t, const sl_tg_update *u)
{
	conv *c = t->c;
	bool fresh = !c->l.chat_id;
	char cmd[16];
	const char *args;
	bool is_cmd = u->kind == SL_TG_TEXT && command(u->text, cmd, &args);
	if (fresh || (is_cmd && strcmp(cmd, "start") == 0)) {
		start(t, u);
		if (u->kind != SL_TG_CALLBACK)
			record(t, u->message_id);
		if (is_cmd && strcmp(cmd, "language") == 0) {
			c->l.back = ST_CATEGORY;
			go(t, ST_LANGUAGE, NULL);
		} else {
			ask(t, W(BW_HELLO));
		}
		return;
	}
	c->l.last = t->now;
	t->lang = c->l.lang;
	if (++c->l.updates > SL_BOT_UPDATES) {
		finish(t);
		send(t, W(BW_TOO_LONG), NULL);
		return;
	}
	if (u->kind != SL_TG_CALLBACK)
		record(t, u->message_id);
	if (is_cmd) {
		if (strcmp(cmd, "cancel") == 0) {
			cancel(t);
		} else if (strcmp(cmd, "language") == 0) {
			if (c->l.step != ST_LANGUAGE)
				c->l.back = c->l.step;
			go(t, ST_LANGUAGE, NULL);
		} else {
			ask_with(t, W(BW_USE_BUTTONS));
		}
		return;
	}
	switch (u->kind) {
	case SL_TG_CALLBACK: {
		const char *d = u->text ? u->text : "";
		bool ok = pressed_valid(&c->l, d);
		answer_button(t, u->callback_id, ok ? NULL : W(BW_STALE));
		if (ok)
			press(t, d);
		break;
	}
	case SL_TG_TEXT:
		if (!sl_utf8_text_ok(u->text, u->text_len))
			ask(t, W(BW_UNSUPPORTED));
		else
			text_answer(t, u);
		break;
	case SL_TG_LOCATION:
	case SL_TG_VENUE:
		if (c->l.step == ST_WHERE || c->l.step == ST_PLACE_UNKNOWN)
			point(t, u);
		else
			ask(t, W(BW_ANSWER_ABOVE));
		break;
	case SL_TG_PHOTO:
		photo(t, u);
		break;
	case SL_TG_CONTACT:
		ask(t, W(BW_CONTACT));
		break;
	case SL_TG_OTHER:
		ask(t, W(BW_UNSUPPORTED));
		break;
	}
}

void sl_bot_handle(sl_bot *b, const sl_tg_update *u, int64_t now, void *ud)
{
	if (!u->chat_id)
		return;
	shard *sh = &b->shards[sl_bot_shard(b, u->chat_id)];
	pthread_mutex_lock(&sh->lock);
	if (!sh->keyed_at)
		sh->keyed_at = now;
	turn t = {.b = b, .sh = sh, .ud = ud, .now = now, .chat = u->chat_id};
	sl_lang l;
	t.lang = sl_lang_from_tag(u->lang, &l) ? l : SL_LANG_DEFAULT;
	conv *c = find(sh, u->chat_id);
	if (c && c->l.chat_id)
		t.lang = c->l.lang;
	if (!stateless(&t, u, c)) {
		if (!c)
			c = make(sh, u->chat_id);
		if (!c) {
			if (u->kind == SL_TG_CALLBACK)
				answer_button(&t, u->callback_id,
					      sl_bot_word(t.lang, BW_BUSY));
			else
				send(&t, sl_bot_word(t.lang, BW_BUSY), NULL);
		} else {
			t.c = c;
			converse(&t, u);
		}
	}
	pthread_mutex_unlock(&sh->lock);
}

void sl_bot_sweep(sl_bot *b, unsigned i, int64_t now, void *ud)
{
	if (i >= b->cfg.shards)
		return;
	shard *sh = &b->shards[i];
	pthread_mutex_lock(&sh->lock);
	for (size_t k = 0; k < sh->cap; k++) {
		conv *c = sh->slots[k];
		if (!c || !c->l.chat_id || now - c->l.last < (int64_t)b->cfg.timeout_s)
			continue;
		turn t = {.b = b,
			  .sh = sh,
			  .c = c,
			  .ud = ud,
			  .now = now,
			  .chat = c->l.chat_id,
			  .lang = c->l.lang};
		finish(&t); /* abandoned: its messages go, nothing is said */
	}
	if (sh->keyed_at && now - sh->keyed_at >= (int64_t)b->cfg.timeout_s)
		rotate(sh, now);
	pthread_mutex_unlock(&sh->lock);
}

/* ---- the bot ---- */

unsigned sl_bot_shard(const sl_bot *b, int64_t chat_id)
{
	uint8_t in[8], h[crypto_shorthash_BYTES];
	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)((uint64_t)chat_id >> (8 * i));
	crypto_shorthash(h, in, sizeof(in), b->route_key);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | h[i];
	return (unsigned)(v % b->cfg.shards);
}

size_t sl_bot_live(sl_bot *b)
{
	size_t n = 0;
	for (unsigned i = 0; i < b->cfg.shards; i++) {
		pthread_mutex_lock(&b->shards[i].lock);
		n += b->shards[i].n_live;
		pthread_mutex_unlock(&b->shards[i].lock);
	}
	return n;
}

sl_err sl_bot_new(const sl_bot_config *cfg, const sl_bot_ops *ops, sl_bot **out)
{
	*out = NULL;
	if (!cfg || !ops || cfg->shards == 0 || cfg->max_conversations < cfg->shards ||
	    cfg->timeout_s == 0 || !ops->call || !ops->photo || !ops->submit ||
	    !ops->status)
		return SL_EINVAL;
	if (sodium_init() < 0)
		return SL_ECRYPTO;
	sl_bot *b = calloc(1, sizeof(*b));
	if (!b)
		return SL_ENOMEM;
	b->cfg = *cfg;
	b->ops = *ops;
	b->shards = calloc(cfg->shards, sizeof(shard));
	if (!b->shards) {
		free(b);
		return SL_ENOMEM;
	}
	randombytes_buf(b->route_key, sizeof(b->route_key));
	size_t per = (cfg->max_conversations + cfg->shards - 1) / cfg->shards;
	for (unsigned i = 0; i < cfg->shards; i++) {
		shard *sh = &b->shards[i];
		pthread_mutex_init(&sh->lock, NULL);
		sh->cap = per;
		sh->slots = calloc(per, sizeof(conv *));
		sh->keys = sodium_malloc(2 * KEY_BYTES);
		sh->gen = 1;
		if (!sh->slots || !sh->keys) {
			sl_bot_free(b);
			return SL_ENOMEM;
		}
		randombytes_buf(sh->keys, 2 * KEY_BYTES);
	}
	*out = b;
	return SL_OK;
}

void sl_bot_free(sl_bot *b)
{
	if (!b)
		return;
	for (unsigned i = 0; b->shards && i < b->cfg.shards; i++) {
		shard *sh = &b->shards[i];
		for (size_t k = 0; sh->slots && k < sh->cap; k++)
			slot_free(sh->slots[k]);
		free(sh->slots);
		sodium_free(sh->keys);
		pthread_mutex_destroy(&sh->lock);
	}
	free(b->shards);
	sodium_memzero(b, sizeof(*b));
	free(b);
}
