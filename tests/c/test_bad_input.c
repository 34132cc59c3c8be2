/* Bad input for every exported function: NULL for each pointer, invalid
 * UTF-8 in each string, empty and very long (1 MiB) strings, out-of-range
 * enum numbers, indexes past the end, too few random bytes. Each call must
 * answer with the right result code and a message, write no out-parameter
 * when it fails (they are pre-filled with sentinels and checked), and leak
 * nothing (the sanitizer and valgrind runs check that). Freeing NULL is
 * fine for every _free.
 *
 * tests/c/run.sh checks that every function the header declares is named
 * in this file. */
#include <pthread.h>

#include "check.h"

#define NOW INT64_C(1795268421)
#define T0 "AAECAwQFBgcICQoLDA0ODxAR"
#define BAD "caf\xC3(\xFF\xFE"       /* not UTF-8 */
#define I64_SENT INT64_C(0x5A5A5A5A5A5A5A5A)
#define U32_SENT UINT32_C(0xA5A5A5A5)

static char sentinel_byte;
#define SENT ((void *)&sentinel_byte)

/* A bool out-parameter whose bytes can be compared without reading a bool
 * that holds no bool value. */
typedef union {
	bool b;
	unsigned char raw[sizeof(bool)];
} bool_slot;
static const unsigned char bool_pattern[sizeof(bool)] = {0xA5};
static void bool_fill(bool_slot *s)
{
	memcpy(s->raw, bool_pattern, sizeof s->raw);
}
static bool bool_untouched(const bool_slot *s)
{
	return memcmp(s->raw, bool_pattern, sizeof s->raw) == 0;
}

static uint8_t counting[256];
static char *long_text;    /* 1 MiB of 'a' */
static char *long_bad;     /* 1 MiB of 'a', then an invalid byte */
static char *long_digits;  /* 1 MiB of '7' */
static const char *empty = "";

/* A failure: the code (with a message, see check_result) and nothing
 * written. */
#define FAILS(call, code, untouched)                                                               \
	do {                                                                                       \
		CHECK_RESULT(call, code);                                                          \
		CHECK(untouched);                                                                  \
	} while (0)

/* --- fixtures: one live object of each handle type -------------------------- */

static xi_new_invite *builder;
static xi_invite *invite;
static xi_record *record;
static xi_valid_invite *valid;
static xi_admission *admission;
static xi_changes *changes;
static xi_parsed_uri *parsed;
static xi_policy *policy;

static void fixtures_new(void)
{
	set_context("fixtures");
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT_AND_CONTACT, "example.com", "juliet",
				   &builder));
	CHECK_OK(xi_new_invite_create(builder, NOW, counting, 18, &invite));
	char *json = NULL;
	CHECK_OK(xi_invite_record_json(invite, &json));
	CHECK_OK(xi_record_from_json(json, &record));
	xi_string_free(json);
	CHECK_OK(xi_validate(T0, record, NULL, NULL, NOW, &valid));
	CHECK_OK(xi_registration_gate(valid, true, "romeo", false, false, &admission));
	CHECK_OK(xi_valid_invite_use_changes(valid, &changes));
	CHECK_OK(xi_uri_parse(xi_invite_uri(invite), &parsed));
	CHECK_OK(xi_policy_new(XI_POLICY_PRESET_INVITES_ADHOC, "example.com", &policy));
}

static void fixtures_free(void)
{
	xi_new_invite_free(builder);
	xi_invite_free(invite);
	xi_record_free(record);
	xi_valid_invite_free(valid);
	xi_admission_free(admission);
	xi_changes_free(changes);
	xi_parsed_uri_free(parsed);
	xi_policy_free(policy);
}

/* --- freeing NULL ----------------------------------------------------------- */

static void frees(void)
{
	set_context("every _free takes NULL");
	xi_admission_free(NULL);
	xi_changes_free(NULL);
	xi_invite_free(NULL);
	xi_new_invite_free(NULL);
	xi_parsed_uri_free(NULL);
	xi_policy_free(NULL);
	xi_record_free(NULL);
	xi_string_free(NULL);
	xi_valid_invite_free(NULL);
	CHECK(true);
}

/* --- static answers --------------------------------------------------------- */

static void statics(void)
{
	set_context("xi_result_name, xi_version, xi_last_error_message");
	CHECK_STR(xi_result_name(7), "unknown");
	CHECK_STR(xi_result_name(99), "unknown");
	CHECK_STR(xi_result_name(UINT32_MAX), "unknown");
	CHECK(xi_version() != NULL && xi_version()[0] != '\0');
	CHECK(xi_last_error_message() != NULL);
}

/* --- accessors: NULL handles and indexes past the end ----------------------- */

static void accessors(void)
{
	set_context("accessors of NULL handles");
	CHECK(xi_admission_username(NULL) == NULL);
	CHECK(xi_admission_inviter(NULL) == NULL);
	CHECK_INT(xi_admission_roles_len(NULL), 0);
	CHECK(xi_admission_role(NULL, 0) == NULL);
	CHECK_INT(xi_admission_groups_len(NULL), 0);
	CHECK(xi_admission_group(NULL, 0) == NULL);
	CHECK_INT(xi_changes_len(NULL), 0);
	CHECK(xi_invite_token(NULL) == NULL);
	CHECK(xi_invite_uri(NULL) == NULL);
	CHECK(xi_invite_landing_page(NULL) == NULL);
	CHECK_INT(xi_invite_expires(NULL), 0);
	CHECK(xi_parsed_uri_host(NULL) == NULL);
	CHECK(xi_parsed_uri_localpart(NULL) == NULL);
	CHECK(xi_parsed_uri_token(NULL) == NULL);
	CHECK(xi_record_jid(NULL) == NULL);
	CHECK(xi_record_token(NULL) == NULL);
	CHECK(xi_record_uri(NULL) == NULL);
	CHECK(xi_valid_invite_bound_username(NULL) == NULL);
	CHECK(xi_valid_invite_inviter(NULL) == NULL);
	CHECK(xi_valid_invite_uri(NULL) == NULL);
	CHECK(xi_valid_invite_reset_username(NULL) == NULL);
	CHECK_INT(xi_valid_invite_expires(NULL), 0);

	set_context("indexes past the end");
	CHECK_INT(xi_admission_roles_len(admission), 0);
	CHECK(xi_admission_role(admission, 0) == NULL);
	CHECK(xi_admission_role(admission, SIZE_MAX) == NULL);
	CHECK_INT(xi_admission_groups_len(admission), 0);
	CHECK(xi_admission_group(admission, 0) == NULL);
	CHECK(xi_admission_group(admission, SIZE_MAX) == NULL);

	xi_change c, pattern;
	memset(&pattern, 0xA5, sizeof pattern);
	const size_t n = xi_changes_len(changes);
	CHECK_INT(n, 2);
	memcpy(&c, &pattern, sizeof c);
	FAILS(xi_changes_get(changes, n, &c), XI_RESULT_INVALID_ARGUMENT,
	      memcmp(&c, &pattern, sizeof c) == 0);
	FAILS(xi_changes_get(changes, SIZE_MAX, &c), XI_RESULT_INVALID_ARGUMENT,
	      memcmp(&c, &pattern, sizeof c) == 0);
	FAILS(xi_changes_get(NULL, 0, &c), XI_RESULT_NULL_ARGUMENT,
	      memcmp(&c, &pattern, sizeof c) == 0);
	CHECK_RESULT(xi_changes_get(changes, 0, NULL), XI_RESULT_NULL_ARGUMENT);
	CHECK_OK(xi_changes_get(changes, n - 1, &c));
}

/* --- handle getters with out-parameters ------------------------------------- */

static void getters(void)
{
	set_context("getters with out-parameters");
	xi_invite_type t = U32_SENT;
	FAILS(xi_invite_get_type(NULL, &t), XI_RESULT_NULL_ARGUMENT, t == U32_SENT);
	CHECK_RESULT(xi_invite_get_type(invite, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_record_get_type(NULL, &t), XI_RESULT_NULL_ARGUMENT, t == U32_SENT);
	CHECK_RESULT(xi_record_get_type(record, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_valid_invite_get_type(NULL, &t), XI_RESULT_NULL_ARGUMENT, t == U32_SENT);
	CHECK_RESULT(xi_valid_invite_get_type(valid, NULL), XI_RESULT_NULL_ARGUMENT);

	xi_admission_kind k = U32_SENT;
	FAILS(xi_admission_get_kind(NULL, &k), XI_RESULT_NULL_ARGUMENT, k == U32_SENT);
	CHECK_RESULT(xi_admission_get_kind(admission, NULL), XI_RESULT_NULL_ARGUMENT);

	int64_t e = I64_SENT;
	FAILS(xi_record_expires(NULL, &e), XI_RESULT_NULL_ARGUMENT, e == I64_SENT);
	CHECK_RESULT(xi_record_expires(record, NULL), XI_RESULT_NULL_ARGUMENT);

	char *s = SENT;
	FAILS(xi_invite_record_json(NULL, &s), XI_RESULT_NULL_ARGUMENT, s == SENT);
	CHECK_RESULT(xi_invite_record_json(invite, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_record_to_json(NULL, &s), XI_RESULT_NULL_ARGUMENT, s == SENT);
	CHECK_RESULT(xi_record_to_json(record, NULL), XI_RESULT_NULL_ARGUMENT);

	xi_changes *list = SENT;
	FAILS(xi_invite_storage_changes(NULL, &list), XI_RESULT_NULL_ARGUMENT, list == SENT);
	CHECK_RESULT(xi_invite_storage_changes(invite, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_valid_invite_use_changes(NULL, &list), XI_RESULT_NULL_ARGUMENT, list == SENT);
	CHECK_RESULT(xi_valid_invite_use_changes(valid, NULL), XI_RESULT_NULL_ARGUMENT);

	xi_invite_action a = U32_SENT;
	bool_slot ibr;
	bool_fill(&ibr);
	FAILS(xi_parsed_uri_action(NULL, &a, &ibr.b), XI_RESULT_NULL_ARGUMENT,
	      a == U32_SENT && bool_untouched(&ibr));
	FAILS(xi_parsed_uri_action(parsed, NULL, &ibr.b), XI_RESULT_NULL_ARGUMENT,
	      bool_untouched(&ibr));
	FAILS(xi_parsed_uri_action(parsed, &a, NULL), XI_RESULT_NULL_ARGUMENT, a == U32_SENT);
}

/* --- the invite builder ----------------------------------------------------- */

static void builder_functions(void)
{
	set_context("xi_new_invite_new");
	xi_new_invite *b = SENT;
	FAILS(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, NULL, NULL, &b), XI_RESULT_NULL_ARGUMENT,
	      b == SENT);
	CHECK_RESULT(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", NULL, NULL),
		     XI_RESULT_NULL_ARGUMENT);
	/* The kinds that name a user need one. */
	FAILS(xi_new_invite_new(XI_INVITE_TYPE_CONTACT_ONLY, "example.com", NULL, &b),
	      XI_RESULT_NULL_ARGUMENT, b == SENT);
	FAILS(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT_AND_CONTACT, "example.com", NULL, &b),
	      XI_RESULT_NULL_ARGUMENT, b == SENT);
	FAILS(xi_new_invite_new(5, "example.com", NULL, &b), XI_RESULT_INVALID_ENUM, b == SENT);
	FAILS(xi_new_invite_new(UINT32_MAX, "example.com", NULL, &b), XI_RESULT_INVALID_ENUM,
	      b == SENT);
	FAILS(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, BAD, NULL, &b), XI_RESULT_INVALID_UTF8,
	      b == SENT);
	FAILS(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", BAD, &b),
	      XI_RESULT_INVALID_UTF8, b == SENT);
	FAILS(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, long_bad, NULL, &b), XI_RESULT_INVALID_UTF8,
	      b == SENT);

	/* Hosts and users are checked when the invite is created. */
	set_context("xi_new_invite_create with empty and long hosts and users");
	static const struct {
		uint32_t type;
		const char *host, *user;
		xi_result want;
	} cases[] = {
	    {XI_INVITE_TYPE_ACCOUNT, "", NULL, XI_RESULT_EMPTY_HOST},
	    {XI_INVITE_TYPE_ACCOUNT, "example.com", "", XI_RESULT_EMPTY_USERNAME},
	    {XI_INVITE_TYPE_PASSWORD_RESET, "example.com", "", XI_RESULT_EMPTY_USERNAME},
	    {XI_INVITE_TYPE_CONTACT_ONLY, "example.com", "", XI_RESULT_EMPTY_USERNAME},
	    {XI_INVITE_TYPE_GROUP, "", NULL, XI_RESULT_CONFLICTING_OPTIONS},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		xi_invite *inv = SENT;
		b = NULL;
		CHECK_OK(xi_new_invite_new(cases[i].type, cases[i].host, cases[i].user, &b));
		FAILS(xi_new_invite_create(b, NOW, counting, 18, &inv), cases[i].want, inv == SENT);
		xi_new_invite_free(b);
	}
	xi_invite *inv = SENT;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, long_text, NULL, &b));
	FAILS(xi_new_invite_create(b, NOW, counting, 18, &inv), XI_RESULT_JID_TOO_LONG, inv == SENT);
	xi_new_invite_free(b);
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", long_text, &b));
	FAILS(xi_new_invite_create(b, NOW, counting, 18, &inv), XI_RESULT_JID_TOO_LONG, inv == SENT);
	xi_new_invite_free(b);

	set_context("xi_new_invite_create");
	FAILS(xi_new_invite_create(NULL, NOW, counting, 18, &inv), XI_RESULT_NULL_ARGUMENT,
	      inv == SENT);
	CHECK_RESULT(xi_new_invite_create(builder, NOW, counting, 18, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_new_invite_create(builder, NOW, NULL, 18, &inv), XI_RESULT_NULL_ARGUMENT,
	      inv == SENT);
	FAILS(xi_new_invite_create(builder, NOW, counting, 17, &inv), XI_RESULT_RNG_FAILURE,
	      inv == SENT);
	FAILS(xi_new_invite_create(builder, NOW, counting, 0, &inv), XI_RESULT_RNG_FAILURE,
	      inv == SENT);
	/* A time of creation outside XEP-0082's years 0000 to 9999. */
	FAILS(xi_new_invite_create(builder, INT64_MAX, counting, 18, &inv),
	      XI_RESULT_DATETIME_OUT_OF_RANGE, inv == SENT);
	FAILS(xi_new_invite_create(builder, INT64_MIN, counting, 18, &inv),
	      XI_RESULT_DATETIME_OUT_OF_RANGE, inv == SENT);
	FAILS(xi_new_invite_create(builder, -62167219201, counting, 18, &inv),
	      XI_RESULT_DATETIME_OUT_OF_RANGE, inv == SENT);
	FAILS(xi_new_invite_create(builder, XI_NEVER_EXPIRES, counting, 18, &inv),
	      XI_RESULT_DATETIME_OUT_OF_RANGE, inv == SENT);
	/* A week from a second before the end is past it. */
	FAILS(xi_new_invite_create(builder, XI_NEVER_EXPIRES - 1, counting, 18, &inv),
	      XI_RESULT_PERIOD_OVERFLOW, inv == SENT);

	set_context("xi_storage_key");
	{
		char *key = SENT;
		FAILS(xi_storage_key(NULL, true, &key), XI_RESULT_NULL_ARGUMENT, key == SENT);
		FAILS(xi_storage_key("short", true, &key), XI_RESULT_TOKEN_BAD_LENGTH, key == SENT);
		FAILS(xi_storage_key(BAD, false, &key), XI_RESULT_INVALID_UTF8, key == SENT);
		CHECK_RESULT(xi_storage_key(T0, true, NULL), XI_RESULT_NULL_ARGUMENT);
	}

	set_context("xi_new_invite_set_* and _add_*");
	CHECK_RESULT(xi_new_invite_set_ttl(NULL, 60, false), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_set_max_uses(NULL, 2), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_set_reusable(NULL, true), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_set_hash_at_rest(NULL, true), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_set_legacy_roles(NULL, true), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_set_token_format(NULL, XI_TOKEN_FORMAT_BASE64URL, 0),
		     XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_set_source(NULL, "x"), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_set_note(NULL, "x"), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_add_role(NULL, "x"), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_add_group(NULL, "x"), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_set_landing_page(NULL, "x", NULL, 0), XI_RESULT_NULL_ARGUMENT);

	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", NULL, &b));
	CHECK_RESULT(xi_new_invite_add_role(b, NULL), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_add_group(b, NULL), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_set_landing_page(b, NULL, NULL, 0), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_set_landing_page(b, "x", NULL, 1), XI_RESULT_NULL_ARGUMENT);
	const char *null_item[] = {"account", NULL};
	CHECK_RESULT(xi_new_invite_set_landing_page(b, "x", null_item, 2), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_new_invite_add_role(b, BAD), XI_RESULT_INVALID_UTF8);
	CHECK_RESULT(xi_new_invite_add_group(b, BAD), XI_RESULT_INVALID_UTF8);
	CHECK_RESULT(xi_new_invite_set_source(b, BAD), XI_RESULT_INVALID_UTF8);
	CHECK_RESULT(xi_new_invite_set_note(b, long_bad), XI_RESULT_INVALID_UTF8);
	CHECK_RESULT(xi_new_invite_set_landing_page(b, BAD, NULL, 0), XI_RESULT_INVALID_UTF8);
	const char *bad_item[] = {"account", BAD};
	CHECK_RESULT(xi_new_invite_set_landing_page(b, "x", bad_item, 2), XI_RESULT_INVALID_UTF8);
	const char *unknown[] = {""};
	CHECK_RESULT(xi_new_invite_set_landing_page(b, "x", unknown, 1),
		     XI_RESULT_UNKNOWN_INVITE_TYPE);
	CHECK_RESULT(xi_new_invite_set_token_format(b, 2, 0), XI_RESULT_INVALID_ENUM);
	CHECK_RESULT(xi_new_invite_set_token_format(b, UINT32_MAX, 18), XI_RESULT_INVALID_ENUM);
	/* After all those failures the builder still makes the plain invite. */
	CHECK_OK(xi_new_invite_create(b, NOW, counting, 18, &inv));
	CHECK_STR(xi_invite_uri(inv), "xmpp:example.com?register;preauth=" T0);
	xi_invite_free(inv);

	/* Empty and long values: stored as given and written into the record. */
	CHECK_OK(xi_new_invite_set_note(b, ""));
	CHECK_OK(xi_new_invite_set_source(b, long_text));
	CHECK_OK(xi_new_invite_add_role(b, ""));
	CHECK_OK(xi_new_invite_add_group(b, ""));
	CHECK_OK(xi_new_invite_add_group(b, long_text));
	CHECK_OK(xi_new_invite_set_landing_page(b, "", NULL, 0));
	CHECK_OK(xi_new_invite_create(b, NOW, counting, 18, &inv));
	CHECK_STR(xi_invite_landing_page(inv), "");
	char *json = NULL;
	CHECK_OK(xi_invite_record_json(inv, &json));
	CHECK(json && strlen(json) > 2 * (1u << 20));
	xi_string_free(json);
	xi_invite_free(inv);
	/* A landing page template whose output is too large. */
	CHECK_OK(xi_new_invite_set_landing_page(b, "{invite.additional_data.source!}{host}", NULL, 0));
	inv = SENT;
	FAILS(xi_new_invite_create(b, NOW, counting, 18, &inv), XI_RESULT_TEMPLATE_TOO_LARGE,
	      inv == SENT);
	/* Token sizes out of range. */
	CHECK_OK(xi_new_invite_set_landing_page(b, "x", NULL, 0));
	CHECK_OK(xi_new_invite_set_token_format(b, XI_TOKEN_FORMAT_BASE64URL, SIZE_MAX));
	FAILS(xi_new_invite_create(b, NOW, counting, 18, &inv), XI_RESULT_UNSUPPORTED_TOKEN_SIZE,
	      inv == SENT);
	CHECK_OK(xi_new_invite_set_token_format(b, XI_TOKEN_FORMAT_ALPHANUMERIC, SIZE_MAX));
	FAILS(xi_new_invite_create(b, NOW, counting, 18, &inv), XI_RESULT_UNSUPPORTED_TOKEN_SIZE,
	      inv == SENT);
	xi_new_invite_free(b);
}

/* --- records ---------------------------------------------------------------- */

static void records(void)
{
	set_context("xi_record_from_json");
	xi_record *r = SENT;
	FAILS(xi_record_from_json(NULL, &r), XI_RESULT_NULL_ARGUMENT, r == SENT);
	CHECK_RESULT(xi_record_from_json("{}", NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_record_from_json(BAD, &r), XI_RESULT_INVALID_UTF8, r == SENT);
	FAILS(xi_record_from_json(long_bad, &r), XI_RESULT_INVALID_UTF8, r == SENT);
	FAILS(xi_record_from_json(empty, &r), XI_RESULT_INVALID_RECORD, r == SENT);
	FAILS(xi_record_from_json(long_text, &r), XI_RESULT_INVALID_RECORD, r == SENT);
	static const char *const invalid[] = {
	    "{}",
	    "null",
	    "[]",
	    "{\"type\":\"register\"}",
	    "{\"type\":\"join\",\"jid\":\"example.com\",\"token\":\"" T0 "\"}",
	    "{\"type\":\"register\",\"jid\":\"example.com\",\"token\":\"" T0 "\",\"max_uses\":2.5}",
	    "{\"type\":\"register\",\"jid\":\"example.com\",\"token\":\"" T0 "\",\"expires\":1e300}",
	    "{\"type\":\"register\",\"jid\":\"example.com\",\"token\":\"" T0 "\",\"expires\":-1e300}",
	    "{\"type\":\"register\",\"jid\":\"example.com\",\"token\":\"" T0 "\",\"uses\":-1}",
	    "{\"type\":\"register\",\"jid\":\"example.com\",\"token\":\"" T0
	    "\",\"additional_data\":{\"roles\":{\"a\":1}}}",
	    "{\"type\":\"register\",\"jid\":\"example.com\",\"token\":\"" T0 "\"} trailing",
	};
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		set_context("xi_record_from_json(%s)", invalid[i]);
		FAILS(xi_record_from_json(invalid[i], &r), XI_RESULT_INVALID_RECORD, r == SENT);
	}
	/* Nesting deeper than the JSON reader's limit is an error, not a stack
	 * overflow. */
	set_context("xi_record_from_json of deeply nested JSON");
	const size_t depth = 100000;
	char *deep = malloc(2 * depth + 64);
	size_t len = (size_t)sprintf(deep, "{\"type\":\"register\",\"x\":");
	memset(deep + len, '[', depth);
	memset(deep + len + depth, ']', depth);
	strcpy(deep + len + 2 * depth, "}");
	FAILS(xi_record_from_json(deep, &r), XI_RESULT_INVALID_RECORD, r == SENT);
	free(deep);
	/* A NUL inside a JSON string cannot be handed out as a C string. */
	set_context("xi_record_from_json with \\u0000");
	FAILS(xi_record_from_json("{\"type\":\"register\",\"jid\":\"example.com\",\"token\":"
				  "\"AAEC\\u0000\",\"uri\":\"\"}",
				  &r),
	      XI_RESULT_INTERIOR_NUL, r == SENT);

	set_context("xi_contact_expiry_parse");
	int64_t e = I64_SENT;
	FAILS(xi_contact_expiry_parse(NULL, &e), XI_RESULT_NULL_ARGUMENT, e == I64_SENT);
	CHECK_RESULT(xi_contact_expiry_parse("1", NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_contact_expiry_parse(BAD, &e), XI_RESULT_INVALID_UTF8, e == I64_SENT);
	FAILS(xi_contact_expiry_parse(empty, &e), XI_RESULT_INVALID_RECORD, e == I64_SENT);
	FAILS(xi_contact_expiry_parse(long_text, &e), XI_RESULT_INVALID_RECORD, e == I64_SENT);
	FAILS(xi_contact_expiry_parse(long_digits, &e), XI_RESULT_INVALID_RECORD, e == I64_SENT);
	FAILS(xi_contact_expiry_parse("1e300", &e), XI_RESULT_INVALID_RECORD, e == I64_SENT);
	FAILS(xi_contact_expiry_parse("9223372036854775807.0", &e), XI_RESULT_INVALID_RECORD,
	      e == I64_SENT);
	FAILS(xi_contact_expiry_parse("\"1\"", &e), XI_RESULT_INVALID_RECORD, e == I64_SENT);
	FAILS(xi_contact_expiry_parse("9223372036854775808", &e), XI_RESULT_INVALID_RECORD,
	      e == I64_SENT);
	CHECK_OK(xi_contact_expiry_parse(" 1795873222.0 ", &e));
	CHECK_INT(e, 1795873222);
	/* What Prosody on Lua 5.4 stores with invite_expiry = 1000/3: the
	 * fraction of a second is dropped. */
	CHECK_OK(xi_contact_expiry_parse("1795268754.3333", &e));
	CHECK_INT(e, 1795268754);
}

/* --- validation and the gate ------------------------------------------------ */

static void validation(void)
{
	set_context("xi_validate");
	xi_valid_invite *v = SENT;
	FAILS(xi_validate(NULL, record, NULL, NULL, NOW, &v), XI_RESULT_NULL_ARGUMENT, v == SENT);
	CHECK_RESULT(xi_validate(T0, record, NULL, NULL, NOW, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_validate(BAD, record, NULL, NULL, NOW, &v), XI_RESULT_INVALID_UTF8, v == SENT);
	FAILS(xi_validate(T0, record, NULL, BAD, NOW, &v), XI_RESULT_INVALID_UTF8, v == SENT);
	FAILS(xi_validate(empty, record, NULL, NULL, NOW, &v), XI_RESULT_NO_TOKEN, v == SENT);
	FAILS(xi_validate(long_text, record, NULL, NULL, NOW, &v), XI_RESULT_TOKEN_BAD_LENGTH,
	      v == SENT);
	FAILS(xi_validate(long_bad, record, NULL, NULL, NOW, &v), XI_RESULT_INVALID_UTF8, v == SENT);
	int64_t expires = NOW + 60;
	/* A subscription to a name that is no username finds no invite. */
	FAILS(xi_validate(T0, record, &expires, "", NOW, &v), XI_RESULT_TOKEN_INVALID, v == SENT);
	FAILS(xi_validate(T0, record, &expires, long_text, NOW, &v), XI_RESULT_TOKEN_INVALID,
	      v == SENT);
	FAILS(xi_validate(T0, NULL, NULL, NULL, INT64_MAX, &v), XI_RESULT_TOKEN_INVALID, v == SENT);
	FAILS(xi_validate(T0, record, NULL, NULL, INT64_MAX, &v), XI_RESULT_TOKEN_EXPIRED, v == SENT);

	set_context("xi_registration_gate");
	xi_admission *a = SENT;
	FAILS(xi_registration_gate(valid, true, NULL, false, false, &a), XI_RESULT_NULL_ARGUMENT,
	      a == SENT);
	CHECK_RESULT(xi_registration_gate(valid, true, "romeo", false, false, NULL),
		     XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_registration_gate(valid, true, BAD, false, false, &a), XI_RESULT_INVALID_UTF8,
	      a == SENT);
	FAILS(xi_registration_gate(NULL, false, long_bad, false, false, &a), XI_RESULT_INVALID_UTF8,
	      a == SENT);
	FAILS(xi_registration_gate(valid, true, empty, false, false, &a), XI_RESULT_INVALID_USERNAME,
	      a == SENT);
	FAILS(xi_registration_gate(NULL, false, empty, false, false, &a), XI_RESULT_INVALID_USERNAME,
	      a == SENT);
	FAILS(xi_registration_gate(valid, true, long_text, false, false, &a),
	      XI_RESULT_INVALID_USERNAME, a == SENT);

	set_context("xi_prep_username");
	char *prepped = SENT;
	FAILS(xi_prep_username(NULL, &prepped), XI_RESULT_NULL_ARGUMENT, prepped == SENT);
	CHECK_RESULT(xi_prep_username("romeo", NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_prep_username(BAD, &prepped), XI_RESULT_INVALID_UTF8, prepped == SENT);
	FAILS(xi_prep_username(empty, &prepped), XI_RESULT_INVALID_USERNAME, prepped == SENT);
	FAILS(xi_prep_username(long_text, &prepped), XI_RESULT_INVALID_USERNAME, prepped == SENT);
	FAILS(xi_prep_username("a b", &prepped), XI_RESULT_INVALID_USERNAME, prepped == SENT);

	set_context("xi_username_reserved");
	bool_slot out;
	bool_fill(&out);
	const xi_record *one[] = {record};
	const xi_record *with_null[] = {record, NULL};
	FAILS(xi_username_reserved(NULL, one, 1, NOW, NULL, &out.b), XI_RESULT_NULL_ARGUMENT,
	      bool_untouched(&out));
	CHECK_RESULT(xi_username_reserved("romeo", one, 1, NOW, NULL, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_username_reserved("romeo", NULL, 1, NOW, NULL, &out.b), XI_RESULT_NULL_ARGUMENT,
	      bool_untouched(&out));
	FAILS(xi_username_reserved("romeo", with_null, 2, NOW, NULL, &out.b),
	      XI_RESULT_NULL_ARGUMENT, bool_untouched(&out));
	FAILS(xi_username_reserved(BAD, one, 1, NOW, NULL, &out.b), XI_RESULT_INVALID_UTF8,
	      bool_untouched(&out));
	FAILS(xi_username_reserved("romeo", one, 1, NOW, BAD, &out.b), XI_RESULT_INVALID_UTF8,
	      bool_untouched(&out));
	FAILS(xi_username_reserved(long_bad, one, 1, NOW, NULL, &out.b), XI_RESULT_INVALID_UTF8,
	      bool_untouched(&out));
	bool reserved = true;
	CHECK_OK(xi_username_reserved("", one, 1, NOW, "", &reserved));
	CHECK(!reserved);
	reserved = true;
	CHECK_OK(xi_username_reserved(long_text, one, 1, NOW, long_text, &reserved));
	CHECK(!reserved);

	set_context("xi_quota_check");
	xi_quotas q = {1, 1, 1, 300};
	xi_issued_invite h[] = {{"alice", XI_INVITE_TYPE_ACCOUNT, NOW, NOW + 60, NULL}};
	CHECK_RESULT(xi_quota_check(NULL, "alice", false, XI_INVITE_TYPE_ACCOUNT, h, 1, NOW),
		     XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_quota_check(&q, NULL, false, XI_INVITE_TYPE_ACCOUNT, h, 1, NOW),
		     XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_quota_check(&q, "alice", false, XI_INVITE_TYPE_ACCOUNT, NULL, 1, NOW),
		     XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_quota_check(&q, "alice", false, 5, h, 1, NOW), XI_RESULT_INVALID_ENUM);
	/* A negative chain window would turn the chain check off unasked. */
	xi_quotas negative_window = {0, 0, 1, -5};
	CHECK_RESULT(xi_quota_check(&negative_window, "alice", false, XI_INVITE_TYPE_ACCOUNT, h, 1, NOW),
		     XI_RESULT_INVALID_ARGUMENT);
	xi_quotas no_chain = {0, 0, 0, -5}; /* the window of a chain check that is off */
	CHECK_OK(xi_quota_check(&no_chain, "alice", false, XI_INVITE_TYPE_ACCOUNT, h, 1, NOW));
	/* A JID or an empty name is no username: refused, not let past every
	 * limit. */
	CHECK_RESULT(xi_quota_check(&q, "alice", false, XI_INVITE_TYPE_ACCOUNT, h, 1, NOW),
		     XI_RESULT_MAX_INVITES);
	CHECK_RESULT(xi_quota_check(&q, "alice@example.com", false, XI_INVITE_TYPE_ACCOUNT, h, 1, NOW),
		     XI_RESULT_INVALID_USERNAME);
	CHECK_RESULT(xi_quota_check(&q, "", true, XI_INVITE_TYPE_ACCOUNT, h, 1, NOW),
		     XI_RESULT_INVALID_USERNAME);
	CHECK_RESULT(xi_quota_check(&q, BAD, false, XI_INVITE_TYPE_ACCOUNT, h, 1, NOW),
		     XI_RESULT_INVALID_UTF8);
	CHECK_RESULT(xi_quota_check(&q, long_bad, false, XI_INVITE_TYPE_ACCOUNT, h, 1, NOW),
		     XI_RESULT_INVALID_UTF8);
	xi_issued_invite bad_type[] = {{"alice", UINT32_MAX, NOW, NOW, NULL}};
	CHECK_RESULT(xi_quota_check(&q, "alice", false, XI_INVITE_TYPE_ACCOUNT, bad_type, 1, NOW),
		     XI_RESULT_INVALID_ENUM);
	xi_issued_invite bad_inviter[] = {{BAD, XI_INVITE_TYPE_ACCOUNT, NOW, NOW, NULL}};
	CHECK_RESULT(xi_quota_check(&q, "alice", false, XI_INVITE_TYPE_ACCOUNT, bad_inviter, 1, NOW),
		     XI_RESULT_INVALID_UTF8);
	xi_issued_invite bad_redeemed[] = {{"alice", XI_INVITE_TYPE_ACCOUNT, NOW, NOW, BAD}};
	CHECK_RESULT(xi_quota_check(&q, "alice", false, XI_INVITE_TYPE_ACCOUNT, bad_redeemed, 1, NOW),
		     XI_RESULT_INVALID_UTF8);
	/* Names that are no usernames are refused; extreme numbers in the
	 * history: no overflow. */
	CHECK_RESULT(xi_quota_check(&q, long_text, false, XI_INVITE_TYPE_ACCOUNT, h, 1, NOW),
		     XI_RESULT_INVALID_USERNAME);
	xi_issued_invite odd[] = {{"", XI_INVITE_TYPE_ACCOUNT, INT64_MIN, INT64_MAX, long_text},
				  {long_text, XI_INVITE_TYPE_GROUP, INT64_MAX, INT64_MIN, ""}};
	xi_quotas extreme = {UINT32_MAX, UINT32_MAX, UINT32_MAX, INT64_MAX};
	CHECK_OK(xi_quota_check(&extreme, "alice", false, XI_INVITE_TYPE_ACCOUNT, odd, 2, INT64_MIN));
	xi_quotas negative = {0, 0, 1, INT64_MIN};
	xi_issued_invite chain[] = {{"alice", XI_INVITE_TYPE_ACCOUNT, INT64_MIN, NOW, "bob"}};
	CHECK_RESULT(xi_quota_check(&negative, "bob", false, XI_INVITE_TYPE_ACCOUNT, chain, 1, INT64_MAX),
		     XI_RESULT_INVALID_ARGUMENT);
	/* The oldest invite seen from the latest clock: no overflow. */
	xi_quotas widest = {0, 0, 1, INT64_MAX};
	CHECK_OK(xi_quota_check(&widest, "bob", false, XI_INVITE_TYPE_ACCOUNT, chain, 1, INT64_MAX));
	/* A clock far before the invite: too fast. (The "try again in N
	 * seconds" of this message overflows in the core: reported.) */
	xi_quotas usual = {0, 0, 1, 300};
	xi_issued_invite recent[] = {{"alice", XI_INVITE_TYPE_ACCOUNT, 0, NOW, "bob"}};
	CHECK_RESULT(xi_quota_check(&usual, "bob", false, XI_INVITE_TYPE_ACCOUNT, recent, 1, INT64_MIN),
		     XI_RESULT_CHAIN_TOO_FAST);
}

/* --- URIs, landing links, templates ------------------------------------------ */

static void uris(void)
{
	set_context("xi_uri_build");
	char *s = SENT;
	FAILS(xi_uri_build("romeo", NULL, XI_INVITE_ACTION_REGISTER, T0, false, &s),
	      XI_RESULT_NULL_ARGUMENT, s == SENT);
	FAILS(xi_uri_build("romeo", "example.com", XI_INVITE_ACTION_REGISTER, NULL, false, &s),
	      XI_RESULT_NULL_ARGUMENT, s == SENT);
	CHECK_RESULT(xi_uri_build("romeo", "example.com", XI_INVITE_ACTION_REGISTER, T0, false, NULL),
		     XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_uri_build("romeo", "example.com", 2, T0, false, &s), XI_RESULT_INVALID_ENUM,
	      s == SENT);
	FAILS(xi_uri_build("romeo", "example.com", UINT32_MAX, T0, false, &s),
	      XI_RESULT_INVALID_ENUM, s == SENT);
	FAILS(xi_uri_build(BAD, "example.com", XI_INVITE_ACTION_REGISTER, T0, false, &s),
	      XI_RESULT_INVALID_UTF8, s == SENT);
	FAILS(xi_uri_build("romeo", BAD, XI_INVITE_ACTION_REGISTER, T0, false, &s),
	      XI_RESULT_INVALID_UTF8, s == SENT);
	FAILS(xi_uri_build("romeo", "example.com", XI_INVITE_ACTION_REGISTER, BAD, false, &s),
	      XI_RESULT_INVALID_UTF8, s == SENT);
	FAILS(xi_uri_build("", "example.com", XI_INVITE_ACTION_REGISTER, T0, false, &s),
	      XI_RESULT_EMPTY_USERNAME, s == SENT);
	FAILS(xi_uri_build("romeo", "", XI_INVITE_ACTION_REGISTER, T0, false, &s),
	      XI_RESULT_EMPTY_HOST, s == SENT);
	FAILS(xi_uri_build("romeo", "example.com", XI_INVITE_ACTION_REGISTER, "", false, &s),
	      XI_RESULT_NO_TOKEN, s == SENT);
	FAILS(xi_uri_build(long_text, "example.com", XI_INVITE_ACTION_REGISTER, T0, false, &s),
	      XI_RESULT_JID_TOO_LONG, s == SENT);
	FAILS(xi_uri_build("romeo", long_text, XI_INVITE_ACTION_REGISTER, T0, false, &s),
	      XI_RESULT_JID_TOO_LONG, s == SENT);
	FAILS(xi_uri_build("romeo", "example.com", XI_INVITE_ACTION_REGISTER, long_text, false, &s),
	      XI_RESULT_TOKEN_BAD_LENGTH, s == SENT);

	set_context("xi_uri_parse");
	xi_parsed_uri *u = SENT;
	FAILS(xi_uri_parse(NULL, &u), XI_RESULT_NULL_ARGUMENT, u == SENT);
	CHECK_RESULT(xi_uri_parse(xi_invite_uri(invite), NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_uri_parse(BAD, &u), XI_RESULT_INVALID_UTF8, u == SENT);
	FAILS(xi_uri_parse(long_bad, &u), XI_RESULT_INVALID_UTF8, u == SENT);
	FAILS(xi_uri_parse(empty, &u), XI_RESULT_NOT_XMPP, u == SENT);
	FAILS(xi_uri_parse(long_text, &u), XI_RESULT_URI_TOO_LONG, u == SENT);
	/* Percent-encoded bytes that decode to no UTF-8, or to a NUL. */
	FAILS(xi_uri_parse("xmpp:a%FF@example.com?register;preauth=" T0, &u),
	      XI_RESULT_MALFORMED_URI, u == SENT);
	FAILS(xi_uri_parse("xmpp:a%00b@example.com?register;preauth=" T0, &u),
	      XI_RESULT_INVALID_USERNAME, u == SENT);

	set_context("xi_fragment_link");
	const char *uri = xi_invite_uri(invite);
	FAILS(xi_fragment_link(NULL, uri, &s), XI_RESULT_NULL_ARGUMENT, s == SENT);
	FAILS(xi_fragment_link("https://x/", NULL, &s), XI_RESULT_NULL_ARGUMENT, s == SENT);
	CHECK_RESULT(xi_fragment_link("https://x/", uri, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_fragment_link(BAD, uri, &s), XI_RESULT_INVALID_UTF8, s == SENT);
	FAILS(xi_fragment_link("https://x/", BAD, &s), XI_RESULT_INVALID_UTF8, s == SENT);
	FAILS(xi_fragment_link("https://x/", empty, &s), XI_RESULT_NOT_XMPP, s == SENT);
	FAILS(xi_fragment_link("https://x/", long_text, &s), XI_RESULT_URI_TOO_LONG, s == SENT);
	CHECK_OK(xi_fragment_link("", uri, &s));
	CHECK_STR(s, "#juliet@example.com?roster;preauth=" T0 ";ibr=y");
	xi_string_free(s);
	CHECK_OK(xi_fragment_link(long_text, uri, &s));
	CHECK(s && strlen(s) == strlen(long_text) + strlen(uri) - strlen("xmpp:") + 1);
	xi_string_free(s);

	set_context("xi_landing_link");
	const char *tpl = "https://{host}/{invite.token}";
	s = SENT;
	FAILS(xi_landing_link(NULL, NULL, 0, "example.com", record, &s), XI_RESULT_NULL_ARGUMENT,
	      s == SENT);
	FAILS(xi_landing_link(tpl, NULL, 1, "example.com", record, &s), XI_RESULT_NULL_ARGUMENT,
	      s == SENT);
	const char *null_item[] = {NULL};
	FAILS(xi_landing_link(tpl, null_item, 1, "example.com", record, &s),
	      XI_RESULT_NULL_ARGUMENT, s == SENT);
	FAILS(xi_landing_link(tpl, NULL, 0, NULL, record, &s), XI_RESULT_NULL_ARGUMENT, s == SENT);
	FAILS(xi_landing_link(tpl, NULL, 0, "example.com", NULL, &s), XI_RESULT_NULL_ARGUMENT,
	      s == SENT);
	CHECK_RESULT(xi_landing_link(tpl, NULL, 0, "example.com", record, NULL),
		     XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_landing_link(BAD, NULL, 0, "example.com", record, &s), XI_RESULT_INVALID_UTF8,
	      s == SENT);
	const char *bad_item[] = {BAD};
	FAILS(xi_landing_link(tpl, bad_item, 1, "example.com", record, &s), XI_RESULT_INVALID_UTF8,
	      s == SENT);
	FAILS(xi_landing_link(tpl, NULL, 0, BAD, record, &s), XI_RESULT_INVALID_UTF8, s == SENT);
	const char *unknown[] = {"everything"};
	FAILS(xi_landing_link(tpl, unknown, 1, "example.com", record, &s),
	      XI_RESULT_UNKNOWN_INVITE_TYPE, s == SENT);
	CHECK_OK(xi_landing_link("", NULL, 0, "", record, &s));
	CHECK_STR(s, "");
	xi_string_free(s);
	CHECK_OK(xi_landing_link(long_text, NULL, 0, long_text, record, &s));
	CHECK(s && strlen(s) == (1u << 20));
	xi_string_free(s);
	s = SENT;
	FAILS(xi_landing_link("{host}{host}", NULL, 0, long_text, record, &s),
	      XI_RESULT_TEMPLATE_TOO_LARGE, s == SENT);

	set_context("xi_template_render");
	FAILS(xi_template_render(NULL, "{}", &s), XI_RESULT_NULL_ARGUMENT, s == SENT);
	FAILS(xi_template_render("x", NULL, &s), XI_RESULT_NULL_ARGUMENT, s == SENT);
	CHECK_RESULT(xi_template_render("x", "{}", NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_template_render(BAD, "{}", &s), XI_RESULT_INVALID_UTF8, s == SENT);
	FAILS(xi_template_render("x", BAD, &s), XI_RESULT_INVALID_UTF8, s == SENT);
	FAILS(xi_template_render(long_bad, "{}", &s), XI_RESULT_INVALID_UTF8, s == SENT);
	FAILS(xi_template_render("x", empty, &s), XI_RESULT_INVALID_ARGUMENT, s == SENT);
	FAILS(xi_template_render("x", long_text, &s), XI_RESULT_INVALID_ARGUMENT, s == SENT);
	FAILS(xi_template_render("x", "{\"a\":", &s), XI_RESULT_INVALID_ARGUMENT, s == SENT);
	FAILS(xi_template_render("{x}", "[1]", &s), XI_RESULT_INVALID_ARGUMENT, s == SENT);
	FAILS(xi_template_render("{x}", "5", &s), XI_RESULT_INVALID_ARGUMENT, s == SENT);
	FAILS(xi_template_render("{x}", "null", &s), XI_RESULT_INVALID_ARGUMENT, s == SENT);
	CHECK_OK(xi_template_render("", "{}", &s));
	CHECK_STR(s, "");
	xi_string_free(s);
	/* Exactly 1 MiB renders; one byte more is too large. */
	CHECK_OK(xi_template_render(long_text, "{}", &s));
	CHECK(s && strlen(s) == (1u << 20));
	xi_string_free(s);
	s = SENT;
	char *over = malloc((1u << 20) + 8);
	memcpy(over, long_text, 1u << 20);
	strcpy(over + (1u << 20), "{x}");
	FAILS(xi_template_render(over, "{\"x\":1}", &s), XI_RESULT_TEMPLATE_TOO_LARGE, s == SENT);
	free(over);
	/* Nesting: 32 levels render, 33 are too deep. */
	char nested[512] = "";
	for (int i = 0; i < 33; i++)
		strcat(nested, "{y&");
	strcat(nested, "x");
	for (int i = 0; i < 33; i++)
		strcat(nested, "}");
	FAILS(xi_template_render(nested, "{\"y\":true}", &s), XI_RESULT_TEMPLATE_TOO_DEEP, s == SENT);
	/* Sixteen nested loops with empty bodies: no text, all work. */
	FAILS(xi_template_render("{l#{l#{l#{l#{l#{l#{l#{l#{l#{l#{l#{l#{l#{l#{l#{l#}}}}}}}}}}}}}}}}",
				 "{\"l\":[1,2,3,4,5,6,7,8]}", &s),
	      XI_RESULT_TEMPLATE_TOO_COMPLEX, s == SENT);
	CHECK_OK(xi_template_render(nested + 3, "{\"y\":true}", &s));
	xi_string_free(s);
	s = SENT;
	/* Values nested past the JSON reader's limit. */
	char *deep = malloc(200010);
	size_t n = (size_t)sprintf(deep, "{\"v\":");
	memset(deep + n, '[', 100000);
	memset(deep + n + 100000, ']', 100000);
	strcpy(deep + n + 200000, "}");
	FAILS(xi_template_render("{v}", deep, &s), XI_RESULT_INVALID_ARGUMENT, s == SENT);
	free(deep);
	/* A value holding a NUL cannot come out as a C string. */
	FAILS(xi_template_render("{x!}", "{\"x\":\"a\\u0000b\"}", &s), XI_RESULT_INTERIOR_NUL,
	      s == SENT);
}

/* --- policy ----------------------------------------------------------------- */

static void policies(void)
{
	set_context("xi_policy_new");
	xi_policy *p = SENT;
	FAILS(xi_policy_new(XI_POLICY_PRESET_INVITES_ADHOC, NULL, &p), XI_RESULT_NULL_ARGUMENT,
	      p == SENT);
	CHECK_RESULT(xi_policy_new(XI_POLICY_PRESET_INVITES_ADHOC, "example.com", NULL),
		     XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_policy_new(2, "example.com", &p), XI_RESULT_INVALID_ENUM, p == SENT);
	FAILS(xi_policy_new(UINT32_MAX, "example.com", &p), XI_RESULT_INVALID_ENUM, p == SENT);
	FAILS(xi_policy_new(XI_POLICY_PRESET_EASY_INVITE, BAD, &p), XI_RESULT_INVALID_UTF8,
	      p == SENT);
	FAILS(xi_policy_new(XI_POLICY_PRESET_EASY_INVITE, empty, &p), XI_RESULT_EMPTY_HOST,
	      p == SENT);
	FAILS(xi_policy_new(XI_POLICY_PRESET_EASY_INVITE, long_text, &p), XI_RESULT_JID_TOO_LONG,
	      p == SENT);
	FAILS(xi_policy_new(XI_POLICY_PRESET_EASY_INVITE, long_bad, &p), XI_RESULT_INVALID_UTF8,
	      p == SENT);

	set_context("xi_policy_set_* and _add_*");
	CHECK_RESULT(xi_policy_set_allow_user_invites(NULL, true), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_policy_set_allow_contact_invites(NULL, true), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_policy_add_allowed_role(NULL, "x"), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_policy_add_denied_role(NULL, "x"), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_policy_add_allowed_role(policy, NULL), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_policy_add_denied_role(policy, NULL), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_policy_add_allowed_role(policy, BAD), XI_RESULT_INVALID_UTF8);
	CHECK_RESULT(xi_policy_add_denied_role(policy, long_bad), XI_RESULT_INVALID_UTF8);
	CHECK_OK(xi_policy_add_allowed_role(policy, ""));
	CHECK_OK(xi_policy_add_denied_role(policy, long_text));

	set_context("xi_policy_decide");
	xi_decision d, pattern;
	memset(&pattern, 0xA5, sizeof pattern);
	memcpy(&d, &pattern, sizeof d);
	char *msg = SENT;
	const char *roles[] = {"member"};
	const char *null_role[] = {"member", NULL};
	const char *bad_role[] = {BAD};
#define D_UNTOUCHED (memcmp(&d, &pattern, sizeof d) == 0 && msg == SENT)
	FAILS(xi_policy_decide(NULL, "a@example.com", false, roles, 1, 0, &d, &msg),
	      XI_RESULT_NULL_ARGUMENT, D_UNTOUCHED);
	FAILS(xi_policy_decide(policy, NULL, false, roles, 1, 0, &d, &msg), XI_RESULT_NULL_ARGUMENT,
	      D_UNTOUCHED);
	FAILS(xi_policy_decide(policy, "a@example.com", false, NULL, 1, 0, &d, &msg),
	      XI_RESULT_NULL_ARGUMENT, D_UNTOUCHED);
	FAILS(xi_policy_decide(policy, "a@example.com", false, null_role, 2, 0, &d, &msg),
	      XI_RESULT_NULL_ARGUMENT, D_UNTOUCHED);
	FAILS(xi_policy_decide(policy, "a@example.com", false, roles, 1, 0, NULL, &msg),
	      XI_RESULT_NULL_ARGUMENT, msg == SENT);
	FAILS(xi_policy_decide(policy, "a@example.com", false, roles, 1, 5, &d, &msg),
	      XI_RESULT_INVALID_ENUM, D_UNTOUCHED);
	FAILS(xi_policy_decide(policy, "a@example.com", false, roles, 1, UINT32_MAX, &d, &msg),
	      XI_RESULT_INVALID_ENUM, D_UNTOUCHED);
	FAILS(xi_policy_decide(policy, BAD, false, roles, 1, 0, &d, &msg), XI_RESULT_INVALID_UTF8,
	      D_UNTOUCHED);
	FAILS(xi_policy_decide(policy, "a@example.com", false, bad_role, 1, 0, &d, &msg),
	      XI_RESULT_INVALID_UTF8, D_UNTOUCHED);
	FAILS(xi_policy_decide(policy, empty, false, NULL, 0, 0, &d, &msg), XI_RESULT_EMPTY_HOST,
	      D_UNTOUCHED);
	FAILS(xi_policy_decide(policy, long_text, false, NULL, 0, 0, &d, &msg),
	      XI_RESULT_JID_TOO_LONG, D_UNTOUCHED);
	FAILS(xi_policy_decide(policy, long_bad, false, NULL, 0, 0, &d, &msg),
	      XI_RESULT_INVALID_UTF8, D_UNTOUCHED);
	/* Roles that are empty or huge are just roles. */
	const char *odd_roles[] = {"", long_text};
	CHECK_OK(xi_policy_decide(policy, "a@example.com", false, odd_roles, 2,
				  XI_INVITE_TYPE_ACCOUNT_AND_CONTACT, &d, NULL));
	CHECK(d.allowed);
	CHECK_INT(d.reason, XI_REASON_ROLE_ALLOWED);

	set_context("xi_policy_contact_invite");
	memcpy(&d, &pattern, sizeof d);
	msg = SENT;
	FAILS(xi_policy_contact_invite(NULL, "a@example.com", false, roles, 1, &d, &msg),
	      XI_RESULT_NULL_ARGUMENT, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite(policy, NULL, false, roles, 1, &d, &msg),
	      XI_RESULT_NULL_ARGUMENT, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite(policy, "a@example.com", false, NULL, 1, &d, &msg),
	      XI_RESULT_NULL_ARGUMENT, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite(policy, "a@example.com", false, null_role, 2, &d, &msg),
	      XI_RESULT_NULL_ARGUMENT, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite(policy, "a@example.com", false, roles, 1, NULL, &msg),
	      XI_RESULT_NULL_ARGUMENT, msg == SENT);
	FAILS(xi_policy_contact_invite(policy, BAD, false, roles, 1, &d, &msg),
	      XI_RESULT_INVALID_UTF8, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite(policy, "a@example.com", false, bad_role, 1, &d, &msg),
	      XI_RESULT_INVALID_UTF8, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite(policy, empty, false, NULL, 0, &d, &msg),
	      XI_RESULT_EMPTY_HOST, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite(policy, long_text, false, NULL, 0, &d, &msg),
	      XI_RESULT_JID_TOO_LONG, D_UNTOUCHED);

	set_context("xi_policy_contact_invite_with_permission");
	memcpy(&d, &pattern, sizeof d);
	msg = SENT;
	FAILS(xi_policy_contact_invite_with_permission(NULL, "a@example.com", false, roles, 1, true,
						       &d, &msg),
	      XI_RESULT_NULL_ARGUMENT, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite_with_permission(policy, NULL, false, roles, 1, true, &d, &msg),
	      XI_RESULT_NULL_ARGUMENT, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite_with_permission(policy, "a@example.com", false, NULL, 1, true,
						       &d, &msg),
	      XI_RESULT_NULL_ARGUMENT, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite_with_permission(policy, "a@example.com", false, null_role, 2,
						       true, &d, &msg),
	      XI_RESULT_NULL_ARGUMENT, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite_with_permission(policy, "a@example.com", false, roles, 1, true,
						       NULL, &msg),
	      XI_RESULT_NULL_ARGUMENT, msg == SENT);
	FAILS(xi_policy_contact_invite_with_permission(policy, BAD, false, roles, 1, true, &d, &msg),
	      XI_RESULT_INVALID_UTF8, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite_with_permission(policy, "a@example.com", false, bad_role, 1,
						       true, &d, &msg),
	      XI_RESULT_INVALID_UTF8, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite_with_permission(policy, empty, false, NULL, 0, true, &d, &msg),
	      XI_RESULT_EMPTY_HOST, D_UNTOUCHED);
	FAILS(xi_policy_contact_invite_with_permission(policy, long_text, false, NULL, 0, true, &d,
						       &msg),
	      XI_RESULT_JID_TOO_LONG, D_UNTOUCHED);
#undef D_UNTOUCHED
}

/* --- tokens ------------------------------------------------------------------ */

static void tokens(void)
{
	set_context("xi_token_check");
	CHECK_RESULT(xi_token_check(NULL), XI_RESULT_NULL_ARGUMENT);
	CHECK_RESULT(xi_token_check(BAD), XI_RESULT_INVALID_UTF8);
	CHECK_RESULT(xi_token_check(empty), XI_RESULT_NO_TOKEN);
	CHECK_RESULT(xi_token_check(long_text), XI_RESULT_TOKEN_BAD_LENGTH);
	CHECK_RESULT(xi_token_check(long_bad), XI_RESULT_INVALID_UTF8);
	/* 24 bytes, but "é" is no token character. */
	CHECK_RESULT(xi_token_check("AAECAwQFBgcICQoLDA0OD\xC3\xA9"), XI_RESULT_TOKEN_BAD_ALPHABET);

	set_context("xi_token_equal");
	bool_slot eq;
	bool_fill(&eq);
	FAILS(xi_token_equal(NULL, T0, &eq.b), XI_RESULT_NULL_ARGUMENT, bool_untouched(&eq));
	FAILS(xi_token_equal(T0, NULL, &eq.b), XI_RESULT_NULL_ARGUMENT, bool_untouched(&eq));
	CHECK_RESULT(xi_token_equal(T0, T0, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_token_equal(BAD, T0, &eq.b), XI_RESULT_INVALID_UTF8, bool_untouched(&eq));
	FAILS(xi_token_equal(T0, BAD, &eq.b), XI_RESULT_INVALID_UTF8, bool_untouched(&eq));
	FAILS(xi_token_equal(T0, long_bad, &eq.b), XI_RESULT_INVALID_UTF8, bool_untouched(&eq));
	bool same = true;
	CHECK_OK(xi_token_equal(empty, empty, &same));
	CHECK(!same);
	same = true;
	CHECK_OK(xi_token_equal(T0, empty, &same));
	CHECK(!same);
	same = true;
	CHECK_OK(xi_token_equal(long_text, long_text, &same));
	CHECK(!same);
	same = true;
	CHECK_OK(xi_token_equal(T0, long_text, &same));
	CHECK(!same);

	set_context("xi_token_redact");
	char *s = SENT;
	FAILS(xi_token_redact(NULL, &s), XI_RESULT_NULL_ARGUMENT, s == SENT);
	CHECK_RESULT(xi_token_redact(T0, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_token_redact(BAD, &s), XI_RESULT_INVALID_UTF8, s == SENT);
	FAILS(xi_token_redact(empty, &s), XI_RESULT_NO_TOKEN, s == SENT);
	FAILS(xi_token_redact(long_text, &s), XI_RESULT_TOKEN_BAD_LENGTH, s == SENT);

	set_context("xi_token_generate");
	FAILS(xi_token_generate(2, 0, counting, 18, &s), XI_RESULT_INVALID_ENUM, s == SENT);
	FAILS(xi_token_generate(UINT32_MAX, 0, NULL, 0, &s), XI_RESULT_INVALID_ENUM, s == SENT);
	/* An unknown generator leaves the choice as it was, with a message. */
	FAILS(xi_rng_select(2), XI_RESULT_INVALID_ENUM, xi_rng_selected() == XI_RNG_OS);
	CHECK(strstr(xi_last_error_message(), "xi_rng") != NULL);
	FAILS(xi_rng_select(UINT32_MAX), XI_RESULT_INVALID_ENUM, xi_rng_selected() == XI_RNG_OS);
	/* It takes nothing; it answers one of its two values, refusals or not. */
	CHECK(xi_rng_os_backend() == XI_RNG_BACKEND_VDSO || xi_rng_os_backend() == XI_RNG_BACKEND_SYSCALL);
	CHECK_RESULT(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, counting, 18, NULL),
		     XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, NULL, 18, &s), XI_RESULT_NULL_ARGUMENT,
	      s == SENT);
	FAILS(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, counting, 17, &s),
	      XI_RESULT_RNG_FAILURE, s == SENT);
	FAILS(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, counting, 0, &s), XI_RESULT_RNG_FAILURE,
	      s == SENT);
	FAILS(xi_token_generate(XI_TOKEN_FORMAT_ALPHANUMERIC, 0, counting, 63, &s),
	      XI_RESULT_RNG_FAILURE, s == SENT);
	/* All bytes >= 248 are rejected by the alphanumeric sampler: it asks
	 * for more than there are. */
	uint8_t high[256];
	memset(high, 0xFF, sizeof high);
	FAILS(xi_token_generate(XI_TOKEN_FORMAT_ALPHANUMERIC, 0, high, sizeof high, &s),
	      XI_RESULT_RNG_FAILURE, s == SENT);
	FAILS(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, SIZE_MAX, counting, 18, &s),
	      XI_RESULT_UNSUPPORTED_TOKEN_SIZE, s == SENT);
	FAILS(xi_token_generate(XI_TOKEN_FORMAT_ALPHANUMERIC, SIZE_MAX, NULL, 0, &s),
	      XI_RESULT_UNSUPPORTED_TOKEN_SIZE, s == SENT);
	FAILS(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 11, counting, 18, &s),
	      XI_RESULT_UNSUPPORTED_TOKEN_SIZE, s == SENT);
}

/* --- periods and date-times ---------------------------------------------------- */

static void times(void)
{
	set_context("xi_period_parse");
	uint64_t secs = (uint64_t)I64_SENT;
	bool_slot never;
	bool_fill(&never);
#define P_UNTOUCHED (secs == (uint64_t)I64_SENT && bool_untouched(&never))
	FAILS(xi_period_parse(NULL, &secs, &never.b), XI_RESULT_NULL_ARGUMENT, P_UNTOUCHED);
	FAILS(xi_period_parse("1 day", NULL, &never.b), XI_RESULT_NULL_ARGUMENT,
	      bool_untouched(&never));
	FAILS(xi_period_parse("1 day", &secs, NULL), XI_RESULT_NULL_ARGUMENT,
	      secs == (uint64_t)I64_SENT);
	FAILS(xi_period_parse(BAD, &secs, &never.b), XI_RESULT_INVALID_UTF8, P_UNTOUCHED);
	FAILS(xi_period_parse(long_bad, &secs, &never.b), XI_RESULT_INVALID_UTF8, P_UNTOUCHED);
	FAILS(xi_period_parse(empty, &secs, &never.b), XI_RESULT_EMPTY_PERIOD, P_UNTOUCHED);
	FAILS(xi_period_parse(long_text, &secs, &never.b), XI_RESULT_INVALID_PERIOD, P_UNTOUCHED);
	FAILS(xi_period_parse(long_digits, &secs, &never.b), XI_RESULT_PERIOD_OVERFLOW, P_UNTOUCHED);
#undef P_UNTOUCHED

	set_context("xi_period_expiry");
	int64_t e = I64_SENT;
	CHECK_RESULT(xi_period_expiry(60, false, NOW, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_period_expiry(UINT64_MAX, false, NOW, &e), XI_RESULT_PERIOD_OVERFLOW,
	      e == I64_SENT);
	FAILS(xi_period_expiry(1, false, INT64_MAX, &e), XI_RESULT_PERIOD_OVERFLOW, e == I64_SENT);
	CHECK_OK(xi_period_expiry(0, false, INT64_MIN, &e));
	CHECK_INT(e, INT64_MIN);

	set_context("xi_datetime_format and xi_datetime_parse");
	char *s = SENT;
	CHECK_RESULT(xi_datetime_format(0, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_datetime_format(INT64_MIN, &s), XI_RESULT_DATETIME_OUT_OF_RANGE, s == SENT);
	FAILS(xi_datetime_format(INT64_MAX, &s), XI_RESULT_DATETIME_OUT_OF_RANGE, s == SENT);
	e = I64_SENT;
	FAILS(xi_datetime_parse(NULL, &e), XI_RESULT_NULL_ARGUMENT, e == I64_SENT);
	CHECK_RESULT(xi_datetime_parse("1970-01-01T00:00:00Z", NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_datetime_parse(BAD, &e), XI_RESULT_INVALID_UTF8, e == I64_SENT);
	FAILS(xi_datetime_parse(empty, &e), XI_RESULT_INVALID_DATETIME, e == I64_SENT);
	FAILS(xi_datetime_parse(long_text, &e), XI_RESULT_INVALID_DATETIME, e == I64_SENT);
	FAILS(xi_datetime_parse("1970-01-01T00:00:00\xC3\x9A", &e), XI_RESULT_INVALID_DATETIME,
	      e == I64_SENT);
}

/* --- ad-hoc forms -------------------------------------------------------------- */

static void forms(void)
{
	set_context("xi_result_form_json");
	const char *uri = xi_invite_uri(invite);
	char *s = SENT;
	FAILS(xi_result_form_json(NULL, NULL, NOW, &s), XI_RESULT_NULL_ARGUMENT, s == SENT);
	CHECK_RESULT(xi_result_form_json(uri, NULL, NOW, NULL), XI_RESULT_NULL_ARGUMENT);
	FAILS(xi_result_form_json(BAD, NULL, NOW, &s), XI_RESULT_INVALID_UTF8, s == SENT);
	FAILS(xi_result_form_json(uri, BAD, NOW, &s), XI_RESULT_INVALID_UTF8, s == SENT);
	FAILS(xi_result_form_json(uri, NULL, INT64_MIN, &s), XI_RESULT_DATETIME_OUT_OF_RANGE,
	      s == SENT);
	/* The form carries what it is given; it is JSON-escaped. */
	CHECK_OK(xi_result_form_json(empty, "\"\\", NOW, &s));
	CHECK(s && strstr(s, "\"value\":\"\\\"\\\\\"") != NULL);
	xi_string_free(s);
	CHECK_OK(xi_result_form_json(long_text, long_text, NOW, &s));
	CHECK(s && strlen(s) > 2 * (1u << 20));
	xi_string_free(s);

	set_context("xi_create_account_submission");
	const char *vars[] = {"username", "roster-subscription"};
	const char *values[] = {"romeo", "1"};
	const char *null_item[] = {"username", NULL};
	const char *bad_item[] = {"username", BAD};
	bool_slot sub;
	bool_fill(&sub);
	s = SENT;
#define F_UNTOUCHED (s == SENT && bool_untouched(&sub))
	FAILS(xi_create_account_submission(NULL, values, 2, false, &s, &sub.b),
	      XI_RESULT_NULL_ARGUMENT, F_UNTOUCHED);
	FAILS(xi_create_account_submission(vars, NULL, 2, false, &s, &sub.b),
	      XI_RESULT_NULL_ARGUMENT, F_UNTOUCHED);
	FAILS(xi_create_account_submission(null_item, values, 2, false, &s, &sub.b),
	      XI_RESULT_NULL_ARGUMENT, F_UNTOUCHED);
	FAILS(xi_create_account_submission(vars, null_item, 2, false, &s, &sub.b),
	      XI_RESULT_NULL_ARGUMENT, F_UNTOUCHED);
	FAILS(xi_create_account_submission(vars, values, 2, false, NULL, &sub.b),
	      XI_RESULT_NULL_ARGUMENT, bool_untouched(&sub));
	FAILS(xi_create_account_submission(vars, values, 2, false, &s, NULL),
	      XI_RESULT_NULL_ARGUMENT, s == SENT);
	FAILS(xi_create_account_submission(bad_item, values, 2, false, &s, &sub.b),
	      XI_RESULT_INVALID_UTF8, F_UNTOUCHED);
	FAILS(xi_create_account_submission(vars, bad_item, 2, false, &s, &sub.b),
	      XI_RESULT_INVALID_UTF8, F_UNTOUCHED);
	const char *long_values[] = {long_text, "0"};
	FAILS(xi_create_account_submission(vars, long_values, 2, false, &s, &sub.b),
	      XI_RESULT_JID_TOO_LONG, F_UNTOUCHED);
	const char *long_bool[] = {"romeo", long_text};
	FAILS(xi_create_account_submission(vars, long_bool, 2, false, &s, &sub.b),
	      XI_RESULT_NOT_BOOLEAN, F_UNTOUCHED);
#undef F_UNTOUCHED
	/* Unknown and empty field names are ignored. */
	const char *odd_vars[] = {"", long_text};
	bool subscribe = true;
	CHECK_OK(xi_create_account_submission(odd_vars, values, 2, false, &s, &subscribe));
	CHECK(s == NULL && !subscribe);
}

/* --- the last error message is per thread and survives accessors ---------------- */

/* Counts that no array can have (over PTRDIFF_MAX bytes): refused before
 * anything is read, since even making a slice of them is undefined. */
static void huge_lengths(void)
{
	set_context("lengths larger than any array");
	const char *one_text[] = {"username"};
	const size_t too_many[] = {SIZE_MAX, SIZE_MAX / sizeof(void *), (size_t)PTRDIFF_MAX + 1};
	for (size_t i = 0; i < sizeof too_many / sizeof too_many[0]; i++) {
		const size_t n = too_many[i];
		char *s = SENT;
		bool_slot b;
		bool_fill(&b);
		FAILS(xi_create_account_submission(one_text, one_text, n, false, &s, &b.b),
		      XI_RESULT_INVALID_ARGUMENT, s == SENT && bool_untouched(&b));
		const xi_record *one[] = {record};
		FAILS(xi_username_reserved("romeo", one, n, NOW, NULL, &b.b), XI_RESULT_INVALID_ARGUMENT,
		      bool_untouched(&b));
		xi_quotas q = {1, 1, 1, 300};
		xi_issued_invite h[] = {{"alice", XI_INVITE_TYPE_ACCOUNT, NOW, NOW + 60, NULL}};
		CHECK_RESULT(xi_quota_check(&q, "alice", false, XI_INVITE_TYPE_ACCOUNT, h, n, NOW),
			     XI_RESULT_INVALID_ARGUMENT);
		xi_invite *inv = SENT;
		if (n > (size_t)PTRDIFF_MAX) { /* bytes: only counts past PTRDIFF_MAX */
			FAILS(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, counting, n, &s),
			      XI_RESULT_INVALID_ARGUMENT, s == SENT);
			FAILS(xi_new_invite_create(builder, NOW, counting, n, &inv),
			      XI_RESULT_INVALID_ARGUMENT, inv == SENT);
		}
	}
}

/* A failing call made late in a thread's or the process's life. */
struct late_failure {
	xi_result result;
	char message[256];
};

static void fail_now(struct late_failure *f)
{
	char *token = NULL;
	f->result = xi_token_generate(7, 0, NULL, 0, &token);
	snprintf(f->message, sizeof f->message, "%s", xi_last_error_message());
}

static void *fail_in_thread(void *arg)
{
	fail_now(arg);
	return NULL;
}

static pthread_key_t late_key;

static void fail_in_destructor(void *arg)
{
	fail_now(arg);
}

/* Fails at its exit, from the destructor of thread-specific data, which
 * glibc runs after the thread's Rust thread-locals are destroyed. */
static void *fail_at_thread_exit(void *arg)
{
	if (pthread_key_create(&late_key, fail_in_destructor) == 0)
		pthread_setspecific(late_key, arg);
	/* Some Rust storage of this thread exists, as in a real caller. */
	(void)xi_token_check("");
	return NULL;
}

static void fail_at_exit(void)
{
	struct late_failure f = { 0 };
	fail_now(&f);
	if (f.result != XI_RESULT_INVALID_ENUM || strcmp(f.message, "invalid-enum") != 0) {
		fprintf(stderr, "FAIL: in an atexit handler: %s with message \"%s\"\n",
			xi_result_name(f.result), f.message);
		_Exit(1);
	}
}

static void messages(void)
{
	set_context("xi_last_error_message");
	CHECK_RESULT(xi_token_check(""), XI_RESULT_NO_TOKEN);
	const char *first = xi_last_error_message();
	CHECK(first != NULL && first[0] != '\0');
	/* Accessors and static answers leave it alone. */
	(void)xi_invite_token(NULL);
	(void)xi_result_name(XI_RESULT_OK);
	(void)xi_version();
	CHECK_STR(xi_last_error_message(), "no-token");
	CHECK_OK(xi_token_check(T0));
	CHECK_STR(xi_last_error_message(), "");

	/* Per thread: another thread's failure is not this thread's. */
	CHECK_RESULT(xi_token_check(""), XI_RESULT_NO_TOKEN);
	pthread_t t;
	struct late_failure other = { 0 };
	CHECK(pthread_create(&t, NULL, fail_in_thread, &other) == 0 && pthread_join(t, NULL) == 0);
	CHECK_STR(xi_result_name(other.result), "invalid-enum");
	CHECK_STR(other.message, "7 is not an xi_token_format");
	CHECK_STR(xi_last_error_message(), "no-token");

	/* In a pthread_key destructor, after the thread's Rust storage is gone:
	 * the message is the result's name, not empty. */
	set_context("xi_last_error_message in a thread-specific data destructor");
	struct late_failure late = { 0 };
	CHECK(pthread_create(&t, NULL, fail_at_thread_exit, &late) == 0 && pthread_join(t, NULL) == 0);
	CHECK_STR(xi_result_name(late.result), "invalid-enum");
	CHECK_STR(late.message, "invalid-enum");
	pthread_key_delete(late_key);

	/* In an atexit handler: checked after check_finish, failing by _exit. */
	atexit(fail_at_exit);
}

int main(void)
{
	for (size_t i = 0; i < sizeof counting; i++)
		counting[i] = (uint8_t)i;
	const size_t mib = 1u << 20;
	long_text = malloc(mib + 1);
	long_bad = malloc(mib + 2);
	long_digits = malloc(mib + 1);
	memset(long_text, 'a', mib);
	long_text[mib] = '\0';
	memcpy(long_bad, long_text, mib);
	long_bad[mib] = '\xFF';
	long_bad[mib + 1] = '\0';
	memset(long_digits, '7', mib);
	long_digits[mib] = '\0';

	fixtures_new();
	frees();
	statics();
	accessors();
	getters();
	builder_functions();
	records();
	validation();
	uris();
	policies();
	tokens();
	times();
	forms();
	huge_lengths();
	messages();
	fixtures_free();

	free(long_text);
	free(long_bad);
	free(long_digits);
	set_context("");
	return check_finish();
}
