/* A minimal server-side invite flow with the xmpp-invites C ABI:
 *
 *   1. an admin creates an account invite for "juliet" and the server stores
 *      what the library says to store;
 *   2. later a client presents the token (XEP-0445 <preauth/>): the server
 *      loads the record by token and validates it;
 *   3. the client registers a username: the registration gate decides;
 *   4. once the account exists, the server applies the "use" changes, which
 *      spend the token.
 *
 * Build (see README.md):
 *   cc -std=c11 example.c $(pkg-config --cflags --libs xmpp_invites) -o example
 *
 * Rules of the API that a server author needs:
 *   - Fallible calls return an xi_result; XI_RESULT_OK is 0. On failure,
 *     xi_last_error_message() explains (for the registration gate it is the
 *     text to send to the user). It is per thread and valid until the next
 *     call into the library on that thread: copy it if you keep it.
 *   - Out-parameters are written only on success.
 *   - `char *` results are yours: free them with xi_string_free(). `const
 *     char *` results are borrowed from the handle they came from. Every
 *     handle has its _free; all of them accept NULL.
 *   - The library has no clock and no storage: pass `now` (Unix seconds)
 *     and apply the storage changes it returns to your own database. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xmpp_invites.h>

/* --- the server's storage ---------------------------------------------------
 * Prosody keeps invites in a map store, "invite_token": host-level rows
 * (user NULL; SQL user '') hold the record as JSON, keyed by token; a
 * contact invite also has a user-level row (user = the inviter) holding its
 * expiry as a number. Here it is an array; a real server uses its database
 * (one row per (user, key), value and its SQL type). */
#define MAX_ROWS 16
struct row {
	bool used;
	char *user; /* NULL: host-level */
	char *key;  /* the token */
	char *type; /* "json" or "number" */
	char *value;
};
static struct row invite_token[MAX_ROWS];

static char *dup_or_null(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static bool same_user(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static struct row *store_find(const char *user, const char *key)
{
	for (int i = 0; i < MAX_ROWS; i++)
		if (invite_token[i].used && same_user(invite_token[i].user, user) &&
		    strcmp(invite_token[i].key, key) == 0)
			return &invite_token[i];
	return NULL;
}

static void row_clear(struct row *r)
{
	free(r->user);
	free(r->key);
	free(r->type);
	free(r->value);
	memset(r, 0, sizeof *r);
}

/* Applies a list of storage changes and frees it. A real server applies
 * them in one transaction; the "use" changes should also be conditional on
 * the record still being what was validated (compare-and-swap), so that
 * one single-use token cannot register two accounts at once. */
static bool store_apply(xi_changes *changes)
{
	bool ok = true;
	for (size_t i = 0; ok && i < xi_changes_len(changes); i++) {
		xi_change c;
		if (xi_changes_get(changes, i, &c) != XI_RESULT_OK) {
			ok = false;
			break;
		}
		struct row *r = store_find(c.user, c.token);
		switch (c.op) {
		case XI_CHANGE_OP_PUT_RECORD:
		case XI_CHANGE_OP_PUT_CONTACT_EXPIRY:
			for (int k = 0; !r && k < MAX_ROWS; k++)
				if (!invite_token[k].used)
					r = &invite_token[k];
			if (!r) {
				ok = false;
				break;
			}
			row_clear(r);
			*r = (struct row){true, dup_or_null(c.user), dup_or_null(c.token),
					  dup_or_null(c.sql_type), dup_or_null(c.value)};
			printf("  store: put    user=%s key=%s type=%s value=%s\n",
			       c.user ? c.user : "(host)", c.token, c.sql_type, c.value);
			break;
		case XI_CHANGE_OP_DELETE_RECORD:
		case XI_CHANGE_OP_DELETE_CONTACT_EXPIRY:
			if (r)
				row_clear(r);
			printf("  store: delete user=%s key=%s\n", c.user ? c.user : "(host)",
			       c.token);
			break;
		}
	}
	xi_changes_free(changes);
	return ok;
}

/* The server's accounts. */
static const char *accounts[] = {"romeo", "admin"};
static bool account_exists(const char *username)
{
	for (size_t i = 0; i < sizeof accounts / sizeof accounts[0]; i++)
		if (strcmp(accounts[i], username) == 0)
			return true;
	return false;
}

/* Prints a failed call's result name and message; returns false. */
static bool failed(const char *what, xi_result r)
{
	fprintf(stderr, "%s: %s: %s\n", what, xi_result_name(r), xi_last_error_message());
	return false;
}

/* --- 1. creating an invite ---------------------------------------------------- */

/* The admin command: an account invite bound to `username`. Returns the URI
 * to hand out (free with xi_string_free), or NULL. */
static char *create_invite(const char *host, const char *username, int64_t now)
{
	xi_new_invite *b = NULL;
	xi_invite *invite = NULL;
	xi_changes *changes = NULL;
	char *uri = NULL;
	xi_result r;
	/* The builder: kind, host, bound user (NULL for "any username"). */
	if ((r = xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, host, username, &b)) != XI_RESULT_OK) {
		failed("xi_new_invite_new", r);
		goto out;
	}
	/* Options: how long it is valid, who made it, a landing page
	 * (Prosody's invites_page template; NULL supports = the default
	 * invites_page_supports). */
	if ((r = xi_new_invite_set_ttl(b, 7 * 24 * 3600, false)) != XI_RESULT_OK ||
	    (r = xi_new_invite_set_source(b, "admin@example.com")) != XI_RESULT_OK ||
	    (r = xi_new_invite_set_landing_page(b, "https://{host}/invite?{invite.token}", NULL,
						0)) != XI_RESULT_OK) {
		failed("configuring the invite", r);
		goto out;
	}
	/* random NULL: the token comes from the operating system's CSPRNG. */
	if ((r = xi_new_invite_create(b, now, NULL, 0, &invite)) != XI_RESULT_OK) {
		failed("xi_new_invite_create", r);
		goto out;
	}
	/* Store it before handing it out. */
	if ((r = xi_invite_storage_changes(invite, &changes)) != XI_RESULT_OK) {
		failed("xi_invite_storage_changes", r);
		goto out;
	}
	if (!store_apply(changes))
		goto out;
	/* Logs should not carry whole tokens (this demo prints them to show
	 * what is stored): xi_token_redact gives a label. */
	char *label = NULL;
	if (xi_token_redact(xi_invite_token(invite), &label) == XI_RESULT_OK)
		printf("  created invite %s for %s@%s\n", label, username ? username : "(any user)",
		       host);
	xi_string_free(label);
	printf("  landing page: %s\n", xi_invite_landing_page(invite));
	/* The borrowed URI dies with the invite: copy it for the caller. */
	size_t n = strlen(xi_invite_uri(invite)) + 1;
	if ((uri = malloc(n)))
		memcpy(uri, xi_invite_uri(invite), n);
out:
	xi_invite_free(invite);
	xi_new_invite_free(b);
	return uri;
}

/* --- 2-4. redeeming it ------------------------------------------------------------ */

/* A client presents `token` and asks to register `username`. Returns the
 * result; on XI_RESULT_OK the account was created and the token spent. */
static xi_result register_with_invite(const char *token, const char *username, int64_t now)
{
	xi_record *record = NULL;
	xi_valid_invite *valid = NULL;
	xi_admission *admission = NULL;
	xi_changes *use = NULL;
	xi_result r;

	/* Check the token's shape before touching the database. */
	if ((r = xi_token_check(token)) != XI_RESULT_OK)
		goto out;
	/* Load the host-level record stored under the token, if any. */
	struct row *row = store_find(NULL, token);
	if (row && (r = xi_record_from_json(row->value, &record)) != XI_RESULT_OK)
		goto out;
	/* Validate: expired, unknown, used up? (record NULL: nothing stored.)
	 * contact_expires would be the inviter's user-level number for a
	 * subscription; subscription_to NULL means "for registration". */
	if ((r = xi_validate(token, record, NULL, NULL, now, &valid)) != XI_RESULT_OK)
		goto out;

	/* The gate: is this username allowed with this invite? A server also
	 * asks whether another pending invite reserves the name. */
	const xi_record *pending[MAX_ROWS];
	size_t n_pending = 0;
	xi_record *loaded[MAX_ROWS];
	for (int i = 0; i < MAX_ROWS; i++)
		if (invite_token[i].used && invite_token[i].user == NULL &&
		    xi_record_from_json(invite_token[i].value, &loaded[n_pending]) == XI_RESULT_OK) {
			pending[n_pending] = loaded[n_pending];
			n_pending++;
		}
	bool reserved = false;
	r = xi_username_reserved(username, pending, n_pending, now, token, &reserved);
	for (size_t i = 0; i < n_pending; i++)
		xi_record_free(loaded[i]);
	if (r != XI_RESULT_OK)
		goto out;
	/* Ask about the account the request stands for: "Romeo" is romeo. */
	char *account = NULL;
	if ((r = xi_prep_username(username, &account)) != XI_RESULT_OK)
		goto out;
	bool exists = account_exists(account);
	xi_string_free(account);
	r = xi_registration_gate(valid, true /* registration_invite_only */, username, exists,
				 reserved, &admission);
	if (r != XI_RESULT_OK)
		goto out; /* xi_last_error_message() is the text for the user */

	xi_admission_kind kind;
	if ((r = xi_admission_get_kind(admission, &kind)) != XI_RESULT_OK)
		goto out;
	if (kind == XI_ADMISSION_KIND_NEW_ACCOUNT) {
		/* Create the account under the normalised name, then grant the
		 * roles, join the groups and befriend the inviter, if any. */
		printf("  account %s created (roles %zu, groups %zu, inviter %s)\n",
		       xi_admission_username(admission), xi_admission_roles_len(admission),
		       xi_admission_groups_len(admission),
		       xi_admission_inviter(admission) ? xi_admission_inviter(admission) : "none");
	}
	/* Only now, with the account created, spend the invite. */
	if ((r = xi_valid_invite_use_changes(valid, &use)) != XI_RESULT_OK)
		goto out;
	if (!store_apply(use))
		r = XI_RESULT_INVALID_ARGUMENT;
out:
	xi_admission_free(admission);
	xi_valid_invite_free(valid);
	xi_record_free(record);
	return r;
}

int main(void)
{
	const int64_t now = (int64_t)time(NULL);
	bool ok = true;
	printf("xmpp-invites %s\n", xi_version());

	printf("1. the admin creates an invite\n");
	char *uri = create_invite("example.com", "juliet", now);
	if (!uri)
		return EXIT_FAILURE;
	printf("  invite URI: %s\n", uri);

	/* The client got the URI; it takes the token from it. */
	xi_parsed_uri *parsed = NULL;
	xi_result r = xi_uri_parse(uri, &parsed);
	if (r != XI_RESULT_OK) {
		failed("xi_uri_parse", r);
		free(uri);
		return EXIT_FAILURE;
	}
	const char *token = xi_parsed_uri_token(parsed);

	printf("2. an hour later a client presents the token and asks for \"mallory\"\n");
	r = register_with_invite(token, "mallory", now + 3600);
	printf("  refused: %s (%s)\n", xi_result_name(r), xi_last_error_message());
	ok = ok && r == XI_RESULT_USERNAME_MISMATCH;

	printf("3. then for \"Juliet\"\n");
	r = register_with_invite(token, "Juliet", now + 3600);
	printf("  %s\n", r == XI_RESULT_OK ? "registered" : xi_last_error_message());
	ok = ok && r == XI_RESULT_OK;

	printf("4. the token is spent: presenting it again\n");
	r = register_with_invite(token, "juliet", now + 7200);
	printf("  refused: %s (%s)\n", xi_result_name(r), xi_last_error_message());
	ok = ok && r == XI_RESULT_TOKEN_INVALID;

	xi_parsed_uri_free(parsed);
	free(uri);

	printf("5. an invite for any username; a client asks for \"Romeo\"\n");
	uri = create_invite("example.com", NULL, now);
	if (!uri || xi_uri_parse(uri, &parsed) != XI_RESULT_OK)
		return EXIT_FAILURE;
	r = register_with_invite(xi_parsed_uri_token(parsed), "Romeo", now + 60);
	printf("  refused: %s (%s)\n", xi_result_name(r), xi_last_error_message());
	ok = ok && r == XI_RESULT_ACCOUNT_EXISTS; /* romeo has an account */
	xi_parsed_uri_free(parsed);
	free(uri);

	for (int i = 0; i < MAX_ROWS; i++)
		row_clear(&invite_token[i]);
	printf("%s\n", ok ? "example: ok" : "example: FAILED");
	return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
