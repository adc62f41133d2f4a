/*
 * fakebot.h — a fake Telegram Bot API on a loopback port, for the bot's
 * integration tests, and the Update JSON Telegram sends to a webhook.
 *
 * The fake speaks the real Bot API's JSON (as documented at
 * core.telegram.org/bots/api): POST /bot<TOKEN>/<method> with a JSON body
 * answers {"ok":true,"result":...} for sendMessage (a Message with a fresh
 * message_id), answerCallbackQuery, deleteMessages, getFile (a File with
 * file_path, for the files a test registered) and setWebhook, and
 * {"ok":false,"error_code":...,"description":...} for a wrong token, an
 * unknown method or an unknown file; GET /file/bot<TOKEN>/<path> serves a
 * registered file. Every call is recorded with its parameters, so that a
 * test can wait for the bot's reply to a chat and read its text and
 * buttons. A method can be made to hang (until released), to show that a
 * Bot API that does not answer holds no one but the bot's workers.
 *
 * The update builders make what Telegram posts to a webhook for a private
 * chat, with the user's ids, names, username and language in the places
 * Telegram puts them — which is what the seizure test then looks for on
 * disk.
 */
#ifndef SIGHTLINE_TEST_FAKEBOT_H
#define SIGHTLINE_TEST_FAKEBOT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

typedef struct fakebot fakebot;

/* Starts the fake on 127.0.0.1, any free port, for token. Fails the test
 * when it cannot. */
fakebot *fakebot_start(const char *token);
void fakebot_stop(fakebot *fb);

/* "http://127.0.0.1:PORT": the --telegram-api-base to give the server. */
const char *fakebot_url(const fakebot *fb);

/* Serves data at file_path for file_id (copied). */
void fakebot_add_file(fakebot *fb, const char *file_id, const char *file_path,
		      const void *data, size_t len);

/* Calls of method (NULL: none) wait, answering nothing, until
 * fakebot_hang(fb, NULL) or 60 s. */
void fakebot_hang(fakebot *fb, const char *method);

/* Calls recorded so far; of method only (NULL: all). */
size_t fakebot_count(fakebot *fb, const char *method);

/* Waits up to ms for a call of method (NULL: any) whose chat_id is chat (0:
 * any), at or after index *from of the record; returns its parameters
 * (borrowed: valid until fakebot_stop) and sets *from past it, or NULL
 * after ms. */
json_t *fakebot_wait(fakebot *fb, const char *method, long long chat, size_t *from,
		     unsigned ms);

/* The n-th call recorded (borrowed), and its method. */
json_t *fakebot_call(fakebot *fb, size_t n, const char **method);

/* Makes a fresh directory (mkdtemp under $TMPDIR, outside any data
 * directory) holding token and secret as the files --telegram-token-file
 * and --telegram-secret-file read; their paths into token_file and
 * secret_file (size bytes each), the directory into dir. */
void fakebot_write_secrets(char *dir, size_t dir_size, const char *token,
			   const char *secret, char *token_file, char *secret_file,
			   size_t size);

/* Removes what fakebot_write_secrets made. */
void fakebot_remove_secrets(const char *dir);

/* ---- updates, as Telegram posts them ---- */

/* A Telegram user in a private chat (the chat's id is the user's). */
typedef struct tg_user {
	long long id;
	const char *first_name, *last_name, *username; /* NULL: absent */
	const char *language_code;		       /* NULL: absent */
	long long next_message;			       /* message_id of the next one */
} tg_user;

/* Each returns a malloc'd JSON text (caller frees) for update_id. */
char *fakebot_text(long long update_id, tg_user *u, const char *text);
char *fakebot_button(long long update_id, tg_user *u, long long message_id,
		     const char *data);
char *fakebot_location(long long update_id, tg_user *u, double lat, double lon,
		       double accuracy);
char *fakebot_venue(long long update_id, tg_user *u, double lat, double lon,
		    const char *title, const char *address);
char *fakebot_photo(long long update_id, tg_user *u, const char *file_id, size_t size,
		    const char *caption);
char *fakebot_document(long long update_id, tg_user *u, const char *file_id,
		       const char *file_name, const char *mime, size_t size);
char *fakebot_contact(long long update_id, tg_user *u, const char *phone);
char *fakebot_sticker(long long update_id, tg_user *u);
/* Any other update: {"update_id":N, KIND: OBJECT} with object a JSON text. */
char *fakebot_other(long long update_id, const char *kind, const char *object);

#endif
