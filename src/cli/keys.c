/*
 * keys.c — the commands around sealed material: moderators and their keys,
 * opening a report, sharing, retention, and the photo cleaner.
 *
 *   sightline moderator add NAME --role admin|moderator
 *   sightline moderator list | remove NAME
 *   sightline moderator share NAME --since DATE --admin ADMIN
 *   sightline unseal --moderator NAME [--photos DIR] REPORT_ID
 *   sightline purge [--retention-days N]
 *   sightline media-clean IN OUT
 *
 * Passphrases come from the terminal (echo off) or --passphrase-file, never
 * from the command line, where `ps` and shell history would keep them.
 *
 * Every command that changes who can read what, or reads sealed material,
 * records itself in the audit log (docs/AUDIT.md). The log is opened before
 * the action, so that a log that cannot be written stops it; a failed append
 * after the action makes the command fail. unseal records itself before it
 * shows or writes any plaintext, and shows nothing when it cannot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "sightline/media.h"
#include "sightline/modkey.h"
#include "sightline/report_json.h"
#include "sightline/seal.h"
#include "sightline/sealing.h"
#include "sightline/timefmt.h"

/* Reads the passphrase of who and unlocks their key; 0 or 2 after saying
 * why. The passphrase is wiped before this returns. */
static int unlock(const options *o, const sl_moderator *m, sl_secret_key **sk)
{
	char prompt[128];
	snprintf(prompt, sizeof(prompt), "passphrase for %s: ", m->name);
	char *pass = NULL;
	size_t len = 0;
	sl_err e = sl_passphrase_read(prompt, o->passphrase_file, false, &pass, &len);
	if (e != SL_OK)
		return fail("cannot read the passphrase: %s (use --passphrase-file in "
			    "scripts)", sl_strerror(e));
	e = sl_modkey_unlock(&m->key, pass, len, sk);
	sl_passphrase_free(pass, len);
	if (e == SL_ECRYPTO)
		return fail("wrong passphrase for %s", m->name);
	if (e != SL_OK)
		return fail("cannot unlock the key of %s: %s", m->name, sl_strerror(e));
	return 0;
}

/* An audit entry's detail: json_pack(fmt, ...) as compact text. malloc'd
 * (caller frees); NULL when out of memory, which audit_append then refuses
 * rather than recording an entry without its detail. */
static char *detail_json(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *v = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(v);
	return text;
}

/* Records action on subject; 0, or 2 after saying it could not. */
static int record(sl_audit *audit, const char *actor, const char *action,
		  const char *subject, char *detail /* freed here */, bool want_detail)
{
	int rc = want_detail && !detail
		     ? fail("cannot record %s of %s in the audit log: out of memory",
			    action, subject)
		     : audit_append(audit, actor, action, subject, detail);
	free(detail);
	return rc;
}

/* Opens the store and the audit log of o->data; 0, or 2 after saying why
 * (and then neither is open). */
static int open_both(const options *o, sl_store **store, sl_audit **audit)
{
	int rc = open_store(o, store);
	if (rc)
		return rc;
	if ((rc = open_audit(o, *store, audit)))
		sl_store_close(*store);
	return rc;
}

static void close_both(sl_store *store, sl_audit *audit)
{
	sl_audit_close(audit);
	sl_store_close(store);
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= SL_MODERATOR_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789._-") == n;
}

int cmd_moderator_add(options *o, int argc, char **argv)
{
	if (argc != 1)
		return fail("moderator add: give exactly one NAME");
	const char *name = argv[0];
	if (!name_ok(name))
		return fail("moderator add: \"%s\" is not a name (1-64 of a-z A-Z 0-9 . _ -)",
			    name);
	sl_role role;
	if (!o->role || strcmp(o->role, "moderator") == 0)
		role = SL_ROLE_MODERATOR;
	else if (strcmp(o->role, "admin") == 0)
		role = SL_ROLE_ADMIN;
	else
		return fail("moderator add: --role \"%s\" is not admin or moderator", o->role);
	sl_store *store;
	sl_audit *audit;
	int rc = open_both(o, &store, &audit);
	if (rc)
		return rc;
	sl_moderator m = {.role = role, .created_at = sl_time_now()};
	snprintf(m.name, sizeof(m.name), "%s", name);
	if (sl_store_get_moderator(store, name, &m) == SL_OK) {
		close_both(store, audit);
		return fail("moderator add: %s exists already", name);
	}
	m.role = role;
	m.created_at = sl_time_now();
	char prompt[128];
	snprintf(prompt, sizeof(prompt), "new passphrase for %s (8 bytes at least): ", name);
	char *pass = NULL;
	size_t len = 0;
	sl_err e = sl_passphrase_read(prompt, o->passphrase_file, true, &pass, &len);
	char recovery[SL_RECOVERY_TEXT_MAX];
	if (e == SL_OK)
		e = sl_modkey_create(pass, len, &m.key, recovery);
	sl_passphrase_free(pass, len);
	if (e == SL_OK)
		e = sl_store_add_moderator(store, &m);
	char subject[16 + SL_MODERATOR_NAME_MAX];
	snprintf(subject, sizeof(subject), "moderator:%s", m.name);
	if (e == SL_OK)
		rc = record(audit, "cli", "moderator_add", subject,
			    detail_json("{s:s}", "role",
					m.role == SL_ROLE_ADMIN ? "admin" : "moderator"),
			    true);
	close_both(store, audit);
	if (e == SL_EVALID)
		return fail("moderator add: the passphrase must be 8 to 1024 bytes, and the "
			    "name unused");
	if (e != SL_OK)
		return fail("moderator add: %s", sl_strerror(e));
	printf("added %s %s (id %" PRId64 ")\n", m.role == SL_ROLE_ADMIN ? "admin" : "moderator",
	       m.name, m.id);
	printf("recovery key, shown once — keep it offline, it opens everything "
	       "%s can:\n  %s\n",
	       m.name, recovery);
	printf("%s can open reports from now on; older ones only after an admin runs\n"
	       "  sightline moderator share %s --since DATE --admin ADMIN\n",
	       m.name, m.name);
	sodium_memzero(recovery, sizeof(recovery));
	/* Added but not recorded: the recovery key had to be shown anyway (it
	 * exists nowhere else), and the failure is said above; exit non-zero. */
	return rc;
}

int cmd_moderator_list(options *o, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return fail("moderator list: takes no arguments");
	sl_store *store;
	int rc = open_store(o, &store);
	if (rc)
		return rc;
	sl_moderator *list;
	size_t n;
	sl_err e = sl_store_list_moderators(store, true, &list, &n);
	sl_store_close(store);
	if (e != SL_OK)
		return fail("moderator list: %s", sl_strerror(e));
	printf("%-4s %-24s %-10s %-21s %s\n", "id", "name", "role", "added", "removed");
	for (size_t i = 0; i < n; i++) {
		char added[SL_TIME_TEXT_MAX], removed[SL_TIME_TEXT_MAX] = "-";
		sl_time_format(list[i].created_at, added);
		if (list[i].removed_at)
			sl_time_format(list[i].removed_at, removed);
		printf("%-4" PRId64 " %-24s %-10s %-21s %s\n", list[i].id, list[i].name,
		       list[i].role == SL_ROLE_ADMIN ? "admin" : "moderator", added, removed);
	}
	free(list);
	return 0;
}

int cmd_moderator_remove(options *o, int argc, char **argv)
{
	if (argc != 1)
		return fail("moderator remove: give exactly one NAME");
	sl_store *store;
	sl_audit *audit;
	int rc = open_both(o, &store, &audit);
	if (rc)
		return rc;
	sl_err e = sl_store_remove_moderator(store, argv[0], sl_time_now());
	char subject[16 + SL_MODERATOR_NAME_MAX];
	snprintf(subject, sizeof(subject), "moderator:%s", argv[0]);
	if (e == SL_OK)
		rc = record(audit, "cli", "moderator_remove", subject, NULL, false);
	close_both(store, audit);
	if (e == SL_ENOTFOUND)
		return fail("moderator remove: no active moderator %s", argv[0]);
	if (e != SL_OK)
		return fail("moderator remove: %s", sl_strerror(e));
	if (rc)
		return rc;
	printf("removed %s: their keys to sealed items are deleted, and nothing new is "
	       "sealed to them\n",
	       argv[0]);
	return 0;
}

/* DATE as YYYY-MM-DD (midnight UTC) or RFC 3339. */
static bool parse_since(const char *s, int64_t *out)
{
	char buf[40];
	if (strlen(s) == 10) {
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
		s = buf;
	}
	return sl_time_parse(s, out) == SL_OK;
}

int cmd_moderator_share(options *o, int argc, char **argv)
{
	if (argc != 1)
		return fail("moderator share: give exactly one NAME");
	if (!o->admin)
		return fail("moderator share: --admin ADMIN is required (whose key opens "
			    "the items)");
	int64_t since;
	if (!o->since || !parse_since(o->since, &since))
		return fail("moderator share: --since DATE is required (YYYY-MM-DD or RFC "
			    "3339)");
	sl_store *store;
	sl_audit *audit;
	int rc = open_both(o, &store, &audit);
	if (rc)
		return rc;
	sl_moderator admin, target;
	sl_secret_key *sk = NULL;
	size_t n = 0, shared = 0;
	int64_t *ids = NULL;
	uint8_t *wrapped = NULL, *rewrapped = NULL;
	if (sl_store_get_moderator(store, o->admin, &admin) != SL_OK) {
		rc = fail("moderator share: no active moderator %s", o->admin);
	} else if (admin.role != SL_ROLE_ADMIN) {
		rc = fail("moderator share: %s is not an admin", o->admin);
	} else if (sl_store_get_moderator(store, argv[0], &target) != SL_OK) {
		rc = fail("moderator share: no active moderator %s", argv[0]);
	} else if ((rc = unlock(o, &admin, &sk)) == 0) {
		sl_err e = sl_store_keys_since(store, since, admin.id, &n, &ids, &wrapped);
		if (e == SL_OK && n)
			e = (rewrapped = malloc(n * SL_WRAPPED_KEY_BYTES)) ? SL_OK : SL_ENOMEM;
		/* Each item key: opened with the admin's secret, sealed again to
		 * the target's public key; the item itself is not touched. */
		for (size_t i = 0; i < n && e == SL_OK; i++) {
			sl_item_key *k = NULL;
			e = sl_seal_unwrap(wrapped + i * SL_WRAPPED_KEY_BYTES, sk, &k);
			if (e == SL_OK)
				e = sl_seal_wrap(k, target.key.public_key,
						 rewrapped + shared++ * SL_WRAPPED_KEY_BYTES);
			sl_item_key_free(k);
		}
		if (e == SL_OK)
			e = sl_store_add_keys(store, target.id, shared, ids, rewrapped);
		char subject[16 + SL_MODERATOR_NAME_MAX];
		snprintf(subject, sizeof(subject), "moderator:%s", target.name);
		if (e != SL_OK)
			rc = fail("moderator share: %s", sl_strerror(e));
		else if ((rc = record(audit, admin.name, "moderator_share", subject,
				      detail_json("{s:s, s:s, s:I}", "since", o->since,
						  "admin", admin.name, "items",
						  (json_int_t)shared),
				      true)) == 0)
			printf("shared %zu sealed items since %s with %s\n", shared, o->since,
			       target.name);
	}
	sl_secret_key_free(sk);
	free(ids);
	free(wrapped);
	free(rewrapped);
	close_both(store, audit);
	return rc;
}

/* Where photo n of report id goes: DIR/report-ID-photo-N.jpg. */
static void photo_path(const char *dir, int64_t id, size_t n, char *path, size_t size)
{
	snprintf(path, size, "%s/report-%" PRId64 "-photo-%zu.jpg", dir, id, n);
}

/* Writes a photo to path, private to the user. */
static int write_photo(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wx");
	if (!f)
		return fail("unseal: cannot write %s: %s", path, strerror(errno));
	chmod(path, 0600);
	bool ok = fwrite(p, 1, len, f) == len;
	ok = fclose(f) == 0 && ok;
	return ok ? 0 : fail("unseal: cannot write %s", path);
}

int cmd_unseal(options *o, int argc, char **argv)
{
	char *end = NULL;
	long long id = argc == 1 ? strtoll(argv[0], &end, 10) : 0;
	if (argc != 1 || !end || *end || id <= 0)
		return fail("unseal: give one REPORT_ID (a number)");
	if (!o->moderator)
		return fail("unseal: --moderator NAME is required");
	sl_store *store;
	sl_audit *audit;
	int rc = open_both(o, &store, &audit);
	if (rc)
		return rc;
	sl_moderator m;
	sl_secret_key *sk = NULL;
	sl_arena *a = sl_arena_new((size_t)512 << 20);
	sl_report r;
	json_t *doc = NULL;
	if (!a) {
		rc = fail("unseal: out of memory");
	} else if (sl_store_get_moderator(store, o->moderator, &m) != SL_OK) {
		rc = fail("unseal: no active moderator %s", o->moderator);
	} else if ((rc = unlock(o, &m, &sk)) != 0) {
		/* said */
	} else {
		sl_err e = sl_store_get_report(store, id, m.id, a, &r);
		if (e == SL_ENOTFOUND)
			rc = fail("unseal: no report %lld", id);
		else if (e != SL_OK)
			rc = fail("unseal: %s", sl_strerror(e));
	}

	/* Everything is opened into memory first, then the unseal is recorded,
	 * and only then does any plaintext leave this process (standard output,
	 * photo files): an unseal that is not in the log shows nothing. */
	bool ready = rc == 0;
	size_t locked = 0, opened = 0, n_photos = 0;
	uint8_t **photo = NULL; /* the plaintext of each photo opened */
	size_t *photo_len = NULL;
	json_t *followups = NULL, *photos = NULL, *notes = NULL; /* borrowed from doc */
	if (ready) {
		sl_err ce = sl_report_unseal_content(&r, sk, a);
		if (ce == SL_OK)
			opened++;
		else if (ce != SL_ENOTFOUND)
			rc = fail("unseal: report %lld: its text does not open: %s", id,
				  sl_strerror(ce));
		doc = sl_report_to_json(&r, SL_JSON_SERVER_FIELDS);
		if (doc) {
			followups = json_array();
			photos = json_array();
			notes = json_array();
			json_object_set_new(doc, "followups", followups);
			json_object_set_new(doc, "photos", photos);
			json_object_set_new(doc, "notes", notes);
		}
		photo = calloc(r.n_sealed + 1, sizeof(*photo));
		photo_len = calloc(r.n_sealed + 1, sizeof(*photo_len));
		if (!doc || !followups || !photos || !notes || !photo || !photo_len) {
			rc = fail("unseal: out of memory");
			ready = false;
		}
	}
	for (size_t i = 0; ready && i < r.n_sealed; i++) {
		const sl_sealed *it = &r.sealed[i];
		if (it->kind == SL_SEALED_CONTENT) {
			if (it->n_keys == 0)
				locked++;
			continue;
		}
		uint8_t *plain;
		size_t len;
		if (sl_sealed_open(it, sk, &plain, &len) != SL_OK) {
			locked++;
			continue;
		}
		opened++;
		if (it->kind == SL_SEALED_FOLLOWUP || it->kind == SL_SEALED_NOTE) {
			char when[SL_TIME_TEXT_MAX];
			sl_time_format(it->created_at, when);
			if (it->kind == SL_SEALED_FOLLOWUP)
				json_array_append_new(followups,
						      json_pack("{s:s, s:s%}", "received_at", when,
								"text", (char *)plain, len));
			else
				json_array_append_new(notes,
						      json_pack("{s:I, s:s, s:s%}", "author_id",
								(json_int_t)it->author_id, "at",
								when, "text", (char *)plain, len));
			sl_seal_plain_free(plain, len);
		} else if (it->kind == SL_SEALED_PHOTO) {
			char path[4096] = "";
			if (o->photos)
				photo_path(o->photos, r.id, n_photos, path, sizeof(path));
			json_array_append_new(photos,
					      json_pack("{s:I, s:s}", "bytes", (json_int_t)len,
							"file", path[0] ? path : "(use --photos DIR)"));
			photo[n_photos] = plain;
			photo_len[n_photos++] = len;
		} else {
			sl_seal_plain_free(plain, len);
		}
	}
	if (ready) {
		char subject[32];
		snprintf(subject, sizeof(subject), "report:%lld", id);
		int arc = record(audit, m.name, "unseal", subject,
				 detail_json("{s:I}", "items_opened", (json_int_t)opened),
				 true);
		if (arc) {
			rc = arc;
			ready = false;
		}
	}
	if (ready) {
		for (size_t k = 0; k < n_photos && o->photos; k++) {
			char path[4096];
			photo_path(o->photos, r.id, k, path, sizeof(path));
			if (write_photo(path, photo[k], photo_len[k]))
				rc = 2;
		}
		json_object_set_new(doc, "sealed_items_not_for_you", json_integer((json_int_t)locked));
		json_dumpf(doc, stdout,
			   JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
		putchar('\n');
		if (r.n_sealed && locked == r.n_sealed)
			fprintf(stderr, "sightline: none of this report's sealed items was "
					"sealed to %s (sealed before they joined?)\n",
				m.name);
	}
	for (size_t k = 0; k < n_photos; k++)
		sl_seal_plain_free(photo[k], photo_len[k]);
	free(photo);
	free(photo_len);
	json_decref(doc);
	sl_secret_key_free(sk);
	sl_arena_free(a);
	close_both(store, audit);
	return rc;
}

int cmd_purge(options *o, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return fail("purge: takes no arguments");
	unsigned days = o->server.retention_days;
	/* For serve, 0 means "keep for ever"; here it would mean "now". Only
	 * --all purges everything, so a config file's 0 never does. */
	if (o->all)
		days = 0;
	else if (days == 0)
		return fail("purge: retention is off (--retention-days 0); nothing purged. "
			    "Use --all to purge every sealed item now");
	sl_store *store;
	sl_audit *audit;
	int rc = open_both(o, &store, &audit);
	if (rc)
		return rc;
	int64_t n = 0;
	int64_t before = o->all ? INT64_MAX : sl_time_now() - (int64_t)days * 86400;
	sl_err e = sl_store_purge_sealed(store, before, &n);
	if (e == SL_OK)
		rc = record(
		    audit, "cli", "purge", "sealed",
		    o->all ? detail_json("{s:I, s:b}", "items", (json_int_t)n, "all", 1)
			   : detail_json("{s:I, s:b, s:I}", "items", (json_int_t)n, "all",
					 0, "retention_days", (json_int_t)days),
		    true);
	close_both(store, audit);
	if (e != SL_OK)
		return fail("purge: %s", sl_strerror(e));
	if (rc)
		return rc;
	if (o->all)
		printf("purged %" PRId64 " sealed items (all)\n", n);
	else
		printf("purged %" PRId64 " sealed items older than %u days\n", n, days);
	return 0;
}

int cmd_media_clean(options *o, int argc, char **argv)
{
	(void)o;
	if (argc != 2)
		return fail("media-clean: give IN and OUT");
	if (sl_media_init() != SL_OK)
		return fail("media-clean: cannot start libvips");
	char why[SL_MEDIA_WHY_MAX] = "";
	sl_err e = sl_media_clean_file(argv[0], argv[1], why, sizeof(why));
	if (e != SL_OK)
		return fail("media-clean: %s: %s", argv[0], why[0] ? why : sl_strerror(e));
	return 0;
}
