/*
 * sealing.c — from a decoded report to sealed items, and back for moderators.
 *
 * The content item is the JSON object {"text": ..., "contact": ...} (absent
 * members left out), so that fields can be added without a new format. The
 * associated data of every item names its kind and format version, so a
 * photo cannot be passed off as content nor an item of one kind as another.
 */
#include "sightline/sealing.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sightline/seal.h"

static const char *const item_ad[SL_SEALED_KIND_COUNT] = {
	"sightline content v1",
	"sightline photo v1",
	"sightline followup v1",
	"sightline note v1",
};

sl_err sl_recipients_load(sl_store *s, sl_recipients *out)
{
	memset(out, 0, sizeof(*out));
	sl_moderator *mods;
	size_t n;
	sl_err err = sl_store_list_moderators(s, false, &mods, &n);
	if (err)
		return err;
	if (n) {
		out->ids = calloc(n, sizeof(*out->ids));
		out->public_keys = calloc(n, sizeof(*out->public_keys));
		if (!out->ids || !out->public_keys) {
			free(mods);
			sl_recipients_free(out);
			return SL_ENOMEM;
		}
	}
	for (size_t i = 0; i < n; i++) {
		out->ids[i] = mods[i].id;
		memcpy(out->public_keys[i], mods[i].key.public_key, SL_MODKEY_PUBLIC_BYTES);
	}
	out->n = n;
	free(mods);
	return SL_OK;
}

void sl_recipients_free(sl_recipients *rc)
{
	if (!rc)
		return;
	free(rc->ids);
	free(rc->public_keys);
	memset(rc, 0, sizeof(*rc));
}

bool sl_report_has_sensitive(const sl_report *r, size_t n_photos)
{
	return r->text || r->contact || n_photos > 0;
}

/* Seals plain as one item of kind for rc; cipher and keys land in a. */
static sl_err seal_item(sl_sealed_kind kind, const void *plain, size_t len,
			const sl_recipients *rc, int64_t now, sl_arena *a, sl_sealed *item)
{
	memset(item, 0, sizeof(*item));
	if (rc->n == 0)
		return SL_ECLOSED;
	uint8_t *wrapped = sl_arena_alloc(a, rc->n * SL_WRAPPED_KEY_BYTES);
	int64_t *ids = sl_arena_alloc(a, rc->n * sizeof(*ids));
	if (!wrapped || !ids)
		return SL_ENOMEM;
	const char *ad = item_ad[kind];
	uint8_t *cipher = NULL;
	size_t cipher_len = 0;
	sl_err err = sl_seal_for(plain, len, ad, strlen(ad),
				 (const uint8_t(*)[SL_MODKEY_PUBLIC_BYTES])rc->public_keys,
				 rc->n, &cipher, &cipher_len, wrapped);
	if (err)
		return err;
	uint8_t *copy = sl_arena_alloc(a, cipher_len);
	if (copy)
		memcpy(copy, cipher, cipher_len);
	free(cipher);
	if (!copy)
		return SL_ENOMEM;
	memcpy(ids, rc->ids, rc->n * sizeof(*ids));
	item->kind = kind;
	item->created_at = now - now % 60;
	item->cipher = copy;
	item->cipher_len = cipher_len;
	item->n_keys = rc->n;
	item->moderator_ids = ids;
	item->wrapped = wrapped;
	return SL_OK;
}

/* Overwrites a string the report borrowed (it lives in a request's arena or
 * body) so the plaintext does not outlive the sealing. */
static void wipe(const char *s)
{
	if (s)
		sodium_memzero((char *)s, strlen(s));
}

sl_err sl_report_seal(sl_report *r, const sl_recipients *rc, const sl_photo *photos,
		      size_t n_photos, int64_t now, sl_arena *a)
{
	bool content = r->text || r->contact;
	size_t n_items = (content ? 1 : 0) + n_photos;
	if (n_items == 0)
		return SL_OK;
	if (rc->n == 0)
		return SL_ECLOSED;
	sl_sealed *items = sl_arena_alloc(a, (r->n_sealed + n_items) * sizeof(*items));
	if (!items)
		return SL_ENOMEM;
	if (r->n_sealed)
		memcpy(items, r->sealed, r->n_sealed * sizeof(*items));
	size_t k = r->n_sealed;
	sl_err err = SL_OK;
	if (content) {
		/* Nothing is wiped unless all of it made it into the item. */
		json_t *doc = json_object();
		if (!doc || (r->text && json_object_set_new(doc, "text", json_string(r->text))) ||
		    (r->contact &&
		     json_object_set_new(doc, "contact", json_string(r->contact)))) {
			json_decref(doc);
			return SL_EINVAL; /* out of memory, or text that is not UTF-8 */
		}
		char *plain = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
		if (!plain)
			return SL_ENOMEM;
		err = seal_item(SL_SEALED_CONTENT, plain, strlen(plain), rc, now, a, &items[k]);
		sodium_memzero(plain, strlen(plain));
		free(plain);
		if (err)
			return err;
		k++;
	}
	for (size_t i = 0; i < n_photos && !err; i++, k++)
		err = seal_item(SL_SEALED_PHOTO, photos[i].jpeg, photos[i].len, rc, now, a,
				&items[k]);
	if (err)
		return err;
	wipe(r->text);
	wipe(r->contact);
	r->text = NULL;
	r->contact = NULL;
	r->sealed = items;
	r->n_sealed = k;
	return SL_OK;
}

sl_err sl_followup_seal(const char *text, size_t len, const sl_recipients *rc,
			int64_t now, sl_arena *a, sl_sealed *item)
{
	return seal_item(SL_SEALED_FOLLOWUP, text, len, rc, now, a, item);
}

sl_err sl_note_seal(const char *text, size_t len, int64_t author_id,
		    const sl_recipients *rc, int64_t now, sl_arena *a, sl_sealed *item)
{
	sl_err err = seal_item(SL_SEALED_NOTE, text, len, rc, now, a, item);
	if (!err)
		item->author_id = author_id;
	return err;
}

sl_err sl_sealed_open(const sl_sealed *item, const sl_secret_key *sk, uint8_t **plain,
		      size_t *len)
{
	*plain = NULL;
	*len = 0;
	if ((unsigned)item->kind >= SL_SEALED_KIND_COUNT)
		return SL_EINVAL;
	if (item->n_keys == 0 || !item->wrapped)
		return SL_ENOTFOUND;
	sl_item_key *key = NULL;
	sl_err err = sl_seal_unwrap(item->wrapped, sk, &key);
	if (err)
		return err;
	const char *ad = item_ad[item->kind];
	err = sl_seal_open(key, item->cipher, item->cipher_len, ad, strlen(ad), plain, len);
	sl_item_key_free(key);
	return err;
}

sl_err sl_report_unseal_content(sl_report *r, const sl_secret_key *sk, sl_arena *a)
{
	for (size_t i = 0; i < r->n_sealed; i++) {
		if (r->sealed[i].kind != SL_SEALED_CONTENT)
			continue;
		uint8_t *plain;
		size_t len;
		sl_err err = sl_sealed_open(&r->sealed[i], sk, &plain, &len);
		if (err)
			return err;
		json_t *doc = json_loadb((const char *)plain, len, 0, NULL);
		sl_seal_plain_free(plain, len);
		if (!json_is_object(doc)) {
			json_decref(doc);
			return SL_ECRYPTO;
		}
		json_t *t = json_object_get(doc, "text"), *c = json_object_get(doc, "contact");
		r->text = json_is_string(t) ? sl_arena_strdup(a, json_string_value(t)) : NULL;
		r->contact =
			json_is_string(c) ? sl_arena_strdup(a, json_string_value(c)) : NULL;
		bool lost = (json_is_string(t) && !r->text) || (json_is_string(c) && !r->contact);
		json_decref(doc);
		return lost ? SL_ENOMEM : SL_OK;
	}
	return SL_ENOTFOUND;
}
