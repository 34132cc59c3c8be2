/* The C ABI end to end: each invite kind from builder to spent token with
 * deterministic random bytes, the OS randomness path, quotas, reserved
 * usernames, landing and fragment links, the ad-hoc forms, tokens,
 * date-times, result names and the version. */
#include <jansson.h>
#include <sys/auxv.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <threads.h>
#include <unistd.h>

#include "check.h"
#include "names.h"

#ifndef XI_EXPECTED_VERSION
#error "build with -DXI_EXPECTED_VERSION=\"$(pkg-config --modversion xmpp_invites)\""
#endif

#define NOW INT64_C(1795268421) /* 2026-11-21T13:40:21Z */
#define WEEK INT64_C(604800)
#define DAY INT64_C(86400)
/* The token of the bytes 0, 1, ..., 17 (Prosody's 18 bytes, base64url). */
#define T0 "AAECAwQFBgcICQoLDA0ODxAR"

static uint8_t counting[256]; /* 0, 1, 2, ... 255 */

/* --- helpers --------------------------------------------------------------- */

static xi_invite *create(const xi_new_invite *b, int64_t now)
{
	xi_invite *inv = NULL;
	CHECK_OK(xi_new_invite_create(b, now, counting, 18, &inv));
	return inv;
}

static char *record_json(const xi_invite *inv)
{
	char *json = NULL;
	CHECK_OK(xi_invite_record_json(inv, &json));
	return json;
}

/* The one-line form of a change list, for exact comparisons:
 * "op user token sql_type value|..." with "-" for NULL. Frees the list. */
static char *describe_changes(xi_changes *list)
{
	static const char *ops[] = {"put-record", "put-contact", "delete-record",
				    "delete-contact"};
	size_t cap = 4096, len = 0;
	char *out = calloc(1, cap);
	for (size_t k = 0; k < xi_changes_len(list); k++) {
		xi_change c;
		if (!CHECK_OK(xi_changes_get(list, k, &c)))
			break;
		len += (size_t)snprintf(out + len, cap - len, "%s%s %s %s %s %s", k ? "|" : "",
					c.op <= 3 ? ops[c.op] : "?", c.user ? c.user : "-",
					c.token ? c.token : "-", c.sql_type ? c.sql_type : "-",
					c.value ? c.value : "-");
		if (len >= cap)
			break;
	}
	xi_changes_free(list);
	return out;
}

static char *storage_changes(const xi_invite *inv)
{
	xi_changes *list = NULL;
	CHECK_OK(xi_invite_storage_changes(inv, &list));
	return describe_changes(list);
}

static char *use_changes(const xi_valid_invite *v)
{
	xi_changes *list = NULL;
	CHECK_OK(xi_valid_invite_use_changes(v, &list));
	return describe_changes(list);
}

/* What a host would load by token: the record a put-record stored. */
static xi_record *stored_record(const xi_invite *inv)
{
	xi_changes *list = NULL;
	xi_record *r = NULL;
	xi_change c;
	CHECK_OK(xi_invite_storage_changes(inv, &list));
	if (CHECK_OK(xi_changes_get(list, 0, &c)) && CHECK_INT(c.op, XI_CHANGE_OP_PUT_RECORD))
		CHECK_OK(xi_record_from_json(c.value, &r));
	xi_changes_free(list);
	return r;
}

static xi_valid_invite *validate_registration(const char *token, const xi_record *r, int64_t now)
{
	xi_valid_invite *v = NULL;
	CHECK_OK(xi_validate(token, r, NULL, NULL, now, &v));
	return v;
}

static xi_admission *admit(const xi_valid_invite *v, const char *username, bool exists,
			   xi_admission_kind want_kind)
{
	xi_admission *a = NULL;
	xi_admission_kind kind = 99;
	if (CHECK_OK(xi_registration_gate(v, true, username, exists, false, &a))) {
		CHECK_OK(xi_admission_get_kind(a, &kind));
		CHECK_STR(admission_name(kind), admission_name(want_kind));
	}
	return a;
}

static void refuse(const xi_valid_invite *v, bool invite_only, const char *username, bool exists,
		   bool reserved, xi_result want, const char *text)
{
	xi_admission *a = NULL;
	CHECK_RESULT(xi_registration_gate(v, invite_only, username, exists, reserved, &a), want);
	CHECK(a == NULL);
	if (text)
		CHECK_STR(xi_last_error_message(), text);
}

/* --- each invite kind ------------------------------------------------------ */

static void account_any_username(void)
{
	set_context("account invite, any username");
	xi_new_invite *b = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", NULL, &b));
	xi_invite *inv = create(b, NOW);
	CHECK_STR(xi_invite_token(inv), T0);
	CHECK_STR(xi_invite_uri(inv), "xmpp:example.com?register;preauth=" T0);
	CHECK_INT(xi_invite_expires(inv), NOW + WEEK);
	CHECK(xi_invite_landing_page(inv) == NULL);
	xi_invite_type t = 99;
	CHECK_OK(xi_invite_get_type(inv, &t));
	CHECK_INT(t, XI_INVITE_TYPE_ACCOUNT);
	const char *json = "{\"type\":\"register\",\"jid\":\"example.com\",\"token\":\"" T0
			   "\",\"allow_registration\":true,\"uri\":\"xmpp:example.com?register;"
			   "preauth=" T0 "\",\"created_at\":1795268421,\"expires\":1795873221}";
	char *got = record_json(inv);
	CHECK_STR(got, json);
	xi_string_free(got);
	/* What to store: the record, host-level, as JSON. */
	got = storage_changes(inv);
	char want[1024];
	snprintf(want, sizeof want, "put-record - %s json %s", T0, json);
	CHECK_STR(got, want);
	free(got);

	/* The builder makes as many invites as wanted: other bytes, another
	 * token. */
	xi_invite *second = NULL;
	CHECK_OK(xi_new_invite_create(b, NOW, counting + 100, 18, &second));
	CHECK_STR(xi_invite_token(second), "ZGVmZ2hpamtsbW5vcHFyc3R1");
	xi_invite_free(second);

	/* Later: the client presents the token; the host loads the record. */
	xi_record *r = stored_record(inv);
	CHECK_STR(xi_record_token(r), T0);
	CHECK_STR(xi_record_jid(r), "example.com");
	CHECK_STR(xi_record_uri(r), "xmpp:example.com?register;preauth=" T0);
	int64_t expires = 0;
	CHECK_OK(xi_record_expires(r, &expires));
	CHECK_INT(expires, NOW + WEEK);
	CHECK_OK(xi_record_get_type(r, &t));
	CHECK_INT(t, XI_INVITE_TYPE_ACCOUNT);
	char *back = NULL;
	CHECK_OK(xi_record_to_json(r, &back));
	CHECK_STR(back, json);
	xi_string_free(back);

	xi_valid_invite *v = validate_registration(T0, r, NOW + 60);
	CHECK_OK(xi_valid_invite_get_type(v, &t));
	CHECK_INT(t, XI_INVITE_TYPE_ACCOUNT);
	CHECK(xi_valid_invite_inviter(v) == NULL);
	CHECK(xi_valid_invite_bound_username(v) == NULL);
	CHECK(xi_valid_invite_reset_username(v) == NULL);
	CHECK_INT(xi_valid_invite_expires(v), NOW + WEEK);

	xi_admission *a = admit(v, "Juliet", false, XI_ADMISSION_KIND_NEW_ACCOUNT);
	CHECK_STR(xi_admission_username(a), "juliet");
	CHECK(xi_admission_inviter(a) == NULL);
	CHECK_INT(xi_admission_roles_len(a), 0);
	CHECK_INT(xi_admission_groups_len(a), 0);
	CHECK(xi_admission_role(a, 0) == NULL);
	CHECK(xi_admission_group(a, 0) == NULL);
	xi_admission_free(a);
	refuse(v, true, "juliet", true, false, XI_RESULT_ACCOUNT_EXISTS,
	       "The requested username already exists.");
	refuse(v, true, "juliet", false, true, XI_RESULT_USERNAME_RESERVED, "Username is reserved");
	refuse(v, true, "a b", false, false, XI_RESULT_INVALID_USERNAME,
	       "The requested username is invalid.");

	got = use_changes(v);
	CHECK_STR(got, "delete-record - " T0 " - -");
	free(got);

	/* Expiry: equal to now is valid, a second later is not. */
	xi_valid_invite *late = NULL;
	xi_valid_invite_free(validate_registration(T0, r, NOW + WEEK));
	CHECK_RESULT(xi_validate(T0, r, NULL, NULL, NOW + WEEK + 1, &late), XI_RESULT_TOKEN_EXPIRED);
	CHECK(late == NULL);
	/* Another token, or none stored. */
	CHECK_RESULT(xi_validate("ZGVmZ2hpamtsbW5vcHFyc3R1", r, NULL, NULL, NOW, &late),
		     XI_RESULT_TOKEN_INVALID);
	CHECK_RESULT(xi_validate(T0, NULL, NULL, NULL, NOW, &late), XI_RESULT_TOKEN_INVALID);
	/* An account invite is no subscription invite. */
	CHECK_RESULT(xi_validate(T0, r, NULL, "juliet", NOW, &late), XI_RESULT_TOKEN_INVALID);
	CHECK(late == NULL);

	xi_valid_invite_free(v);
	xi_record_free(r);
	xi_invite_free(inv);
	xi_new_invite_free(b);
}

static void account_bound(void)
{
	set_context("account invite bound to Romeo");
	xi_new_invite *b = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", "Romeo", &b));
	xi_invite *inv = create(b, NOW);
	CHECK_STR(xi_invite_uri(inv), "xmpp:romeo@example.com?register;preauth=" T0);
	xi_record *r = stored_record(inv);
	CHECK_STR(xi_record_jid(r), "romeo@example.com");
	xi_valid_invite *v = validate_registration(T0, r, NOW);
	CHECK_STR(xi_valid_invite_bound_username(v), "romeo");
	refuse(v, true, "juliet", false, false, XI_RESULT_USERNAME_MISMATCH,
	       "The chosen username is not valid with this invitation");
	xi_admission *a = admit(v, "ROMEO", false, XI_ADMISSION_KIND_NEW_ACCOUNT);
	CHECK_STR(xi_admission_username(a), "romeo");
	xi_admission_free(a);
	/* Its own reservation does not stop it. */
	CHECK_OK(xi_registration_gate(v, true, "romeo", false, true, &a));
	xi_admission_free(a);

	/* The pending invite reserves "romeo" for everyone else. */
	const xi_record *records[] = {r};
	bool reserved = false;
	CHECK_OK(xi_username_reserved("Romeo", records, 1, NOW, NULL, &reserved));
	CHECK(reserved);
	CHECK_OK(xi_username_reserved("romeo", records, 1, NOW, T0, &reserved));
	CHECK(!reserved);
	CHECK_OK(xi_username_reserved("juliet", records, 1, NOW, NULL, &reserved));
	CHECK(!reserved);
	CHECK_OK(xi_username_reserved("romeo", records, 1, NOW + WEEK + 1, NULL, &reserved));
	CHECK(!reserved);
	CHECK_OK(xi_username_reserved("romeo", NULL, 0, NOW, NULL, &reserved));
	CHECK(!reserved);
	CHECK_OK(xi_username_reserved("a b", records, 1, NOW, NULL, &reserved));
	CHECK(!reserved);

	char *got = use_changes(v);
	CHECK_STR(got, "delete-record - " T0 " - -");
	free(got);
	xi_valid_invite_free(v);
	xi_record_free(r);
	xi_invite_free(inv);

	/* Usernames and hosts are checked when the invite is created. */
	xi_new_invite *bad = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", "a b", &bad));
	CHECK_RESULT(xi_new_invite_create(bad, NOW, counting, 18, &inv), XI_RESULT_INVALID_USERNAME);
	xi_new_invite_free(bad);
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "", NULL, &bad));
	CHECK_RESULT(xi_new_invite_create(bad, NOW, counting, 18, &inv), XI_RESULT_EMPTY_HOST);
	xi_new_invite_free(bad);
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "exa mple.com", NULL, &bad));
	CHECK_RESULT(xi_new_invite_create(bad, NOW, counting, 18, &inv), XI_RESULT_INVALID_HOST);
	xi_new_invite_free(bad);
	xi_new_invite_free(b);
}

static void password_reset(void)
{
	set_context("password reset invite for romeo");
	xi_new_invite *b = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_PASSWORD_RESET, "example.com", "romeo", &b));
	xi_invite *inv = create(b, NOW);
	CHECK_STR(xi_invite_uri(inv), "xmpp:romeo@example.com?register;preauth=" T0);
	CHECK_INT(xi_invite_expires(inv), NOW + DAY);
	char *got = record_json(inv);
	CHECK_STR(got, "{\"type\":\"register\",\"jid\":\"romeo@example.com\",\"token\":\"" T0
		       "\",\"allow_registration\":true,\"additional_data\":{\"allow_reset\":"
		       "\"romeo\"},\"uri\":\"xmpp:romeo@example.com?register;preauth=" T0
		       "\",\"created_at\":1795268421,\"expires\":1795354821}");
	xi_string_free(got);
	xi_record *r = stored_record(inv);
	xi_invite_type t = 99;
	CHECK_OK(xi_record_get_type(r, &t));
	CHECK_INT(t, XI_INVITE_TYPE_PASSWORD_RESET);
	/* A reset invite reserves nothing: the account exists. */
	const xi_record *records[] = {r};
	bool reserved = true;
	CHECK_OK(xi_username_reserved("romeo", records, 1, NOW, NULL, &reserved));
	CHECK(!reserved);

	xi_valid_invite *v = validate_registration(T0, r, NOW);
	CHECK_OK(xi_valid_invite_get_type(v, &t));
	CHECK_INT(t, XI_INVITE_TYPE_PASSWORD_RESET);
	CHECK_STR(xi_valid_invite_reset_username(v), "romeo");
	xi_admission *a = admit(v, "romeo", true, XI_ADMISSION_KIND_PASSWORD_RESET);
	CHECK_STR(xi_admission_username(a), "romeo");
	xi_admission_free(a);
	refuse(v, true, "romeo", false, false, XI_RESULT_RESET_WITHOUT_ACCOUNT, NULL);
	refuse(v, true, "mallory", true, false, XI_RESULT_RESET_USERNAME_MISMATCH,
	       "Incorrect username for password reset");
	got = use_changes(v);
	CHECK_STR(got, "delete-record - " T0 " - -");
	free(got);
	xi_valid_invite_free(v);
	xi_record_free(r);
	xi_invite_free(inv);

	/* A reset carries no roles, no groups and is single-use. */
	CHECK_OK(xi_new_invite_add_role(b, "prosody:admin"));
	CHECK_RESULT(xi_new_invite_create(b, NOW, counting, 18, &inv), XI_RESULT_CONFLICTING_OPTIONS);
	xi_new_invite_free(b);
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_PASSWORD_RESET, "example.com", "romeo", &b));
	CHECK_OK(xi_new_invite_set_max_uses(b, 2));
	CHECK_RESULT(xi_new_invite_create(b, NOW, counting, 18, &inv), XI_RESULT_CONFLICTING_OPTIONS);
	xi_new_invite_free(b);
	/* It needs the account's name. */
	b = NULL;
	CHECK_RESULT(xi_new_invite_new(XI_INVITE_TYPE_PASSWORD_RESET, "example.com", NULL, &b),
		     XI_RESULT_NULL_ARGUMENT);
	CHECK(b == NULL);
}

static void contact_only(void)
{
	set_context("contact-only invite from juliet");
	xi_new_invite *b = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_CONTACT_ONLY, "example.com", "juliet", &b));
	xi_invite *inv = create(b, NOW);
	CHECK_STR(xi_invite_uri(inv), "xmpp:juliet@example.com?roster;preauth=" T0);
	xi_invite_type t = 99;
	CHECK_OK(xi_invite_get_type(inv, &t));
	CHECK_INT(t, XI_INVITE_TYPE_CONTACT_ONLY);
	/* Only the inviter's user-level expiry is stored. */
	char *got = storage_changes(inv);
	CHECK_STR(got, "put-contact juliet " T0 " number 1795873221");
	free(got);

	int64_t expires = 0;
	CHECK_OK(xi_contact_expiry_parse("1795873221", &expires));
	CHECK_INT(expires, NOW + WEEK);
	xi_valid_invite *v = NULL;
	CHECK_OK(xi_validate(T0, NULL, &expires, "juliet", NOW, &v));
	CHECK_OK(xi_valid_invite_get_type(v, &t));
	CHECK_INT(t, XI_INVITE_TYPE_CONTACT_ONLY);
	CHECK_STR(xi_valid_invite_inviter(v), "juliet");
	got = use_changes(v);
	CHECK_STR(got, "delete-contact juliet " T0 " - -|delete-record - " T0 " - -");
	free(got);
	/* A subscription invite is not for registration. */
	refuse(v, true, "romeo", false, false, XI_RESULT_NOT_FOR_REGISTRATION, NULL);
	xi_valid_invite_free(v);

	xi_valid_invite *none = NULL;
	CHECK_RESULT(xi_validate(T0, NULL, &expires, NULL, NOW, &none), XI_RESULT_TOKEN_INVALID);
	CHECK_RESULT(xi_validate(T0, NULL, &expires, "juliet", NOW + WEEK + 1, &none),
		     XI_RESULT_TOKEN_EXPIRED);
	CHECK(none == NULL);
	xi_invite_free(inv);

	/* max_uses needs registration. */
	CHECK_OK(xi_new_invite_set_max_uses(b, 3));
	CHECK_RESULT(xi_new_invite_create(b, NOW, counting, 18, &inv), XI_RESULT_CONFLICTING_OPTIONS);
	xi_new_invite_free(b);
}

static void account_and_contact(void)
{
	set_context("account-and-contact invite from juliet");
	xi_new_invite *b = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT_AND_CONTACT, "example.com", "Juliet", &b));
	xi_invite *inv = create(b, NOW);
	CHECK_STR(xi_invite_uri(inv), "xmpp:juliet@example.com?roster;preauth=" T0 ";ibr=y");
	const char *json = "{\"type\":\"roster\",\"jid\":\"juliet@example.com\",\"token\":\"" T0
			   "\",\"allow_registration\":true,\"uri\":\"xmpp:juliet@example.com?roster;"
			   "preauth=" T0 ";ibr=y\",\"created_at\":1795268421,\"expires\":1795873221}";
	char *got = storage_changes(inv);
	char want[1024];
	snprintf(want, sizeof want, "put-record - %s json %s|put-contact juliet %s number 1795873221",
		 T0, json, T0);
	CHECK_STR(got, want);
	free(got);

	/* Redeemed by registering: a new account that becomes juliet's contact. */
	xi_record *r = stored_record(inv);
	xi_valid_invite *v = validate_registration(T0, r, NOW);
	xi_invite_type t = 99;
	CHECK_OK(xi_valid_invite_get_type(v, &t));
	CHECK_INT(t, XI_INVITE_TYPE_ACCOUNT_AND_CONTACT);
	CHECK_STR(xi_valid_invite_inviter(v), "juliet");
	xi_admission *a = admit(v, "romeo", false, XI_ADMISSION_KIND_NEW_ACCOUNT);
	CHECK_STR(xi_admission_username(a), "romeo");
	CHECK_STR(xi_admission_inviter(a), "juliet");
	xi_admission_free(a);
	got = use_changes(v);
	CHECK_STR(got, "delete-contact juliet " T0 " - -|delete-record - " T0 " - -");
	free(got);
	xi_valid_invite_free(v);

	/* Or by an existing account subscribing. */
	int64_t expires = NOW + WEEK;
	CHECK_OK(xi_validate(T0, r, &expires, "juliet", NOW, &v));
	refuse(v, true, "romeo", false, false, XI_RESULT_NOT_FOR_REGISTRATION, NULL);
	xi_valid_invite_free(v);
	v = NULL;
	CHECK_RESULT(xi_validate(T0, r, NULL, "romeo", NOW, &v), XI_RESULT_WRONG_INVITER);
	CHECK(v == NULL);
	xi_record_free(r);
	xi_invite_free(inv);
	xi_new_invite_free(b);
}

static void group(void)
{
	set_context("group invite");
	xi_new_invite *b = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_GROUP, "example.com", NULL, &b));
	xi_invite *inv = NULL;
	CHECK_RESULT(xi_new_invite_create(b, NOW, counting, 18, &inv), XI_RESULT_CONFLICTING_OPTIONS);
	CHECK(inv == NULL);
	CHECK_OK(xi_new_invite_add_group(b, "g1"));
	CHECK_OK(xi_new_invite_add_group(b, "g 2"));
	CHECK_OK(xi_new_invite_add_role(b, "prosody:member"));
	CHECK_OK(xi_new_invite_add_role(b, "custom:helper"));
	CHECK_OK(xi_new_invite_set_ttl(b, 3600, false));
	inv = create(b, NOW);
	xi_invite_type t = 99;
	CHECK_OK(xi_invite_get_type(inv, &t));
	CHECK_INT(t, XI_INVITE_TYPE_GROUP);
	CHECK_INT(xi_invite_expires(inv), NOW + 3600);
	char *got = record_json(inv);
	CHECK_STR(got, "{\"type\":\"register\",\"jid\":\"example.com\",\"token\":\"" T0
		       "\",\"allow_registration\":true,\"additional_data\":{\"roles\":["
		       "\"prosody:member\",\"custom:helper\"],\"groups\":[\"g1\",\"g 2\"]},"
		       "\"uri\":\"xmpp:example.com?register;preauth=" T0
		       "\",\"created_at\":1795268421,\"expires\":1795272021,\"reusable\":true}");
	xi_string_free(got);
	xi_record *r = stored_record(inv);
	xi_valid_invite *v = validate_registration(T0, r, NOW);
	CHECK_OK(xi_valid_invite_get_type(v, &t));
	CHECK_INT(t, XI_INVITE_TYPE_GROUP);
	xi_admission *a = admit(v, "romeo", false, XI_ADMISSION_KIND_NEW_ACCOUNT);
	CHECK_INT(xi_admission_roles_len(a), 2);
	CHECK_STR(xi_admission_role(a, 0), "prosody:member");
	CHECK_STR(xi_admission_role(a, 1), "custom:helper");
	CHECK(xi_admission_role(a, 2) == NULL);
	CHECK(xi_admission_role(a, SIZE_MAX) == NULL);
	CHECK_INT(xi_admission_groups_len(a), 2);
	CHECK_STR(xi_admission_group(a, 0), "g1");
	CHECK_STR(xi_admission_group(a, 1), "g 2");
	CHECK(xi_admission_group(a, 2) == NULL);
	xi_admission_free(a);
	/* Reusable until it expires: using it changes nothing. */
	got = use_changes(v);
	CHECK_STR(got, "");
	free(got);
	xi_valid_invite_free(v);
	xi_record_free(r);
	xi_invite_free(inv);
	xi_new_invite_free(b);

	/* Without a TTL it is single-use. */
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_GROUP, "example.com", NULL, &b));
	CHECK_OK(xi_new_invite_add_group(b, "family"));
	inv = create(b, NOW);
	r = stored_record(inv);
	v = validate_registration(T0, r, NOW);
	got = use_changes(v);
	CHECK_STR(got, "delete-record - " T0 " - -");
	free(got);
	xi_valid_invite_free(v);
	xi_record_free(r);
	xi_invite_free(inv);
	xi_new_invite_free(b);
}

static void multi_use(void)
{
	set_context("account invite with max_uses 3");
	xi_new_invite *b = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", NULL, &b));
	CHECK_OK(xi_new_invite_set_max_uses(b, 3));
	xi_invite *inv = create(b, NOW);
	xi_record *r = stored_record(inv);
	/* Each use stores the record with its count, the last deletes it. */
	for (int use = 1; use <= 3; use++) {
		xi_valid_invite *v = validate_registration(T0, r, NOW);
		xi_changes *list = NULL;
		xi_change c;
		CHECK_OK(xi_valid_invite_use_changes(v, &list));
		CHECK_INT(xi_changes_len(list), 1);
		CHECK_OK(xi_changes_get(list, 0, &c));
		if (use < 3) {
			CHECK_INT(c.op, XI_CHANGE_OP_PUT_RECORD);
			CHECK_STR(c.sql_type, "json");
			json_t *j = json_loads(c.value, 0, NULL);
			CHECK_INT(json_integer_value(json_object_get(j, "uses")), use);
			CHECK_INT(json_integer_value(json_object_get(j, "max_uses")), 3);
			json_decref(j);
			xi_record_free(r);
			r = NULL;
			CHECK_OK(xi_record_from_json(c.value, &r));
		} else {
			CHECK_INT(c.op, XI_CHANGE_OP_DELETE_RECORD);
		}
		xi_changes_free(list);
		xi_valid_invite_free(v);
	}
	xi_record_free(r);
	r = NULL;
	CHECK_OK(xi_record_from_json("{\"type\":\"register\",\"jid\":\"example.com\",\"token\":\"" T0
				     "\",\"allow_registration\":true,\"uri\":\"\",\"expires\":"
				     "1795873221,\"max_uses\":3,\"uses\":3}",
				     &r));
	xi_valid_invite *v = NULL;
	CHECK_RESULT(xi_validate(T0, r, NULL, NULL, NOW, &v), XI_RESULT_TOKEN_USED_UP);
	CHECK(v == NULL);
	xi_record_free(r);
	xi_invite_free(inv);

	CHECK_OK(xi_new_invite_set_max_uses(b, 0));
	inv = NULL;
	CHECK_RESULT(xi_new_invite_create(b, NOW, counting, 18, &inv), XI_RESULT_ZERO_USES);
	CHECK(inv == NULL);
	xi_new_invite_free(b);
}

static void ttl_source_note_format(void)
{
	set_context("ttl, source, note, token format");
	xi_new_invite *b = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", NULL, &b));
	CHECK_OK(xi_new_invite_set_ttl(b, 0, true));
	CHECK_OK(xi_new_invite_set_source(b, "admin@example.com"));
	CHECK_OK(xi_new_invite_set_note(b, "for <Bob> & co"));
	xi_invite *inv = create(b, NOW);
	CHECK_INT(xi_invite_expires(inv), XI_NEVER_EXPIRES);
	char *got = record_json(inv);
	CHECK_STR(got, "{\"type\":\"register\",\"jid\":\"example.com\",\"token\":\"" T0
		       "\",\"allow_registration\":true,\"additional_data\":{\"source\":"
		       "\"admin@example.com\",\"note\":\"for <Bob> & co\"},\"uri\":\"xmpp:example.com?"
		       "register;preauth=" T0 "\",\"created_at\":1795268421,\"expires\":253402300799}");
	xi_string_free(got);
	xi_invite_free(inv);

	/* NULL clears them again; a TTL of 0 expires at creation. */
	CHECK_OK(xi_new_invite_set_source(b, NULL));
	CHECK_OK(xi_new_invite_set_note(b, NULL));
	CHECK_OK(xi_new_invite_set_ttl(b, 0, false));
	inv = create(b, NOW);
	CHECK_INT(xi_invite_expires(inv), NOW);
	got = record_json(inv);
	CHECK(strstr(got, "additional_data") == NULL);
	xi_string_free(got);
	xi_invite_free(inv);

	/* An expiry past the representable range. */
	CHECK_OK(xi_new_invite_set_ttl(b, UINT64_MAX, false));
	inv = NULL;
	CHECK_RESULT(xi_new_invite_create(b, NOW, counting, 18, &inv), XI_RESULT_PERIOD_OVERFLOW);
	CHECK_OK(xi_new_invite_set_ttl(b, 60, false));
	CHECK_RESULT(xi_new_invite_create(b, XI_NEVER_EXPIRES - 59, counting, 18, &inv),
		     XI_RESULT_PERIOD_OVERFLOW);
	CHECK(inv == NULL);
	/* A time of creation past the range is refused as such. */
	CHECK_RESULT(xi_new_invite_create(b, INT64_MAX, counting, 18, &inv),
		     XI_RESULT_DATETIME_OUT_OF_RANGE);
	CHECK(inv == NULL);

	/* Alphanumeric tokens (XEP-0401): bytes below 248, modulo 62. */
	CHECK_OK(xi_new_invite_set_token_format(b, XI_TOKEN_FORMAT_ALPHANUMERIC, 0));
	CHECK_OK(xi_new_invite_create(b, NOW, counting, 64, &inv));
	CHECK_STR(xi_invite_token(inv), "ABCDEFGHIJKLMNOPQRSTUV");
	xi_invite_free(inv);
	inv = NULL;
	CHECK_RESULT(xi_new_invite_create(b, NOW, counting, 63, &inv), XI_RESULT_RNG_FAILURE);
	CHECK(inv == NULL);
	/* Base64url of 12 bytes: 16 characters, the shortest accepted. */
	CHECK_OK(xi_new_invite_set_token_format(b, XI_TOKEN_FORMAT_BASE64URL, 12));
	CHECK_OK(xi_new_invite_create(b, NOW, counting, 12, &inv));
	CHECK_STR(xi_invite_token(inv), "AAECAwQFBgcICQoL");
	xi_invite_free(inv);
	inv = NULL;
	CHECK_OK(xi_new_invite_set_token_format(b, XI_TOKEN_FORMAT_BASE64URL, 11));
	CHECK_RESULT(xi_new_invite_create(b, NOW, counting, 18, &inv),
		     XI_RESULT_UNSUPPORTED_TOKEN_SIZE);
	CHECK(inv == NULL);
	xi_new_invite_free(b);
}

/* One builder, many invites: each setter called between two creates
 * changes the next invite and nothing else (the builder keeps its settings
 * built, with the host prepared, until a setter changes them); a setter
 * that fails changes nothing; threads may create from one builder at
 * once. */
static char *create_json(const xi_new_invite *b)
{
	xi_invite *inv = create(b, NOW);
	char *json = inv ? record_json(inv) : NULL;
	xi_invite_free(inv);
	return json;
}

/* `next` has `has`, and `prev` had not. Frees prev, returns next. */
static char *changed(char *prev, char *next, const char *has)
{
	CHECK(next != NULL && strstr(next, has) != NULL);
	CHECK(prev != NULL && strstr(prev, has) == NULL);
	if (next == NULL || strstr(next, has) == NULL)
		fprintf(stderr, "  wanted %s in %s\n", has, next ? next : "(null)");
	xi_string_free(prev);
	return next;
}

struct shared_builder {
	const xi_new_invite *b;
	int64_t expires[64];
};

static int create_from_shared(void *arg)
{
	struct shared_builder *s = arg;
	for (size_t i = 0; i < 64; i++) {
		xi_invite *inv = NULL;
		if (xi_new_invite_create(s->b, NOW, NULL, 0, &inv) != XI_RESULT_OK)
			return 1;
		s->expires[i] = xi_invite_expires(inv);
		xi_invite_free(inv);
	}
	return 0;
}

static void builder_reused(void)
{
	set_context("a builder reused across setters");
	xi_new_invite *b = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", NULL, &b));
	char *json = create_json(b);
	char *again = create_json(b);
	CHECK_STR(again, json);
	xi_string_free(again);

	CHECK_OK(xi_new_invite_set_ttl(b, (uint64_t)DAY, false));
	json = changed(json, create_json(b), "\"expires\":1795354821");
	CHECK_OK(xi_new_invite_add_role(b, "prosody:member"));
	json = changed(json, create_json(b), "\"roles\":[\"prosody:member\"]");
	CHECK_OK(xi_new_invite_set_legacy_roles(b, true));
	json = changed(json, create_json(b), "\"roles\":{\"prosody:member\":true}");
	CHECK_OK(xi_new_invite_add_group(b, "friends"));
	json = changed(json, create_json(b), "\"groups\":[\"friends\"]");
	CHECK_OK(xi_new_invite_set_source(b, "admin@example.com"));
	json = changed(json, create_json(b), "\"source\":\"admin@example.com\"");
	CHECK_OK(xi_new_invite_set_note(b, "hello"));
	json = changed(json, create_json(b), "\"note\":\"hello\"");
	CHECK_OK(xi_new_invite_set_max_uses(b, 3));
	json = changed(json, create_json(b), "\"max_uses\":3");
	CHECK_OK(xi_new_invite_set_reusable(b, true));
	json = changed(json, create_json(b), "\"reusable\":true");
	CHECK_OK(xi_new_invite_set_landing_page(b, "https://example.com/i/{invite.token}", NULL, 0));
	json = changed(json, create_json(b), "\"landing_page\":\"https://example.com/i/" T0 "\"");

	/* A setter that fails leaves the builder as it was. */
	CHECK_RESULT(xi_new_invite_set_note(b, "\xff"), XI_RESULT_INVALID_UTF8);
	CHECK_RESULT(xi_new_invite_set_token_format(b, 99, 0), XI_RESULT_INVALID_ENUM);
	again = create_json(b);
	CHECK_STR(again, json);
	xi_string_free(again);

	CHECK_OK(xi_new_invite_set_token_format(b, XI_TOKEN_FORMAT_BASE64URL, 12));
	xi_invite *inv = NULL;
	CHECK_OK(xi_new_invite_create(b, NOW, counting, 12, &inv));
	CHECK_STR(xi_invite_token(inv), "AAECAwQFBgcICQoL");
	xi_invite_free(inv);
	CHECK_OK(xi_new_invite_set_hash_at_rest(b, true));
	inv = NULL;
	CHECK_OK(xi_new_invite_create(b, NOW, counting, 12, &inv));
	char *stored = storage_changes(inv);
	CHECK(strstr(stored, "sha256:") != NULL && strstr(stored, "AAECAwQFBgcICQoL") == NULL);
	free(stored);
	xi_invite_free(inv);
	xi_string_free(json);
	xi_new_invite_free(b);

	set_context("threads creating from one builder");
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", NULL, &b));
	CHECK_OK(xi_new_invite_set_ttl(b, (uint64_t)DAY, false));
	struct shared_builder runs[4];
	thrd_t t[4];
	for (size_t i = 0; i < 4; i++) {
		runs[i].b = b;
		CHECK(thrd_create(&t[i], create_from_shared, &runs[i]) == thrd_success);
	}
	for (size_t i = 0; i < 4; i++) {
		int rc = -1;
		CHECK(thrd_join(t[i], &rc) == thrd_success);
		CHECK_INT(rc, 0);
		for (size_t k = 0; k < 64; k++)
			CHECK_INT(runs[i].expires[k], NOW + DAY);
	}
	xi_new_invite_free(b);
}

/* --- randomness ------------------------------------------------------------ */

static void randomness(void)
{
	set_context("tokens from supplied bytes and from the OS");
	char *tok = NULL;
	CHECK_OK(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, counting, 18, &tok));
	CHECK_STR(tok, T0);
	xi_string_free(tok);
	/* Extra bytes are fine; too few are not. */
	CHECK_OK(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, counting, 256, &tok));
	CHECK_STR(tok, T0);
	xi_string_free(tok);
	tok = NULL;
	CHECK_RESULT(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, counting, 17, &tok),
		     XI_RESULT_RNG_FAILURE);
	CHECK(tok == NULL);
	CHECK_OK(xi_token_generate(XI_TOKEN_FORMAT_ALPHANUMERIC, 0, counting, 64, &tok));
	CHECK_STR(tok, "ABCDEFGHIJKLMNOPQRSTUV");
	xi_string_free(tok);
	/* 96 bytes make the longest base64url token, 128 characters. */
	CHECK_OK(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 96, counting, 96, &tok));
	CHECK_INT(strlen(tok), 128);
	CHECK_OK(xi_token_check(tok));
	xi_string_free(tok);
	tok = NULL;
	CHECK_RESULT(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 97, counting, 97, &tok),
		     XI_RESULT_UNSUPPORTED_TOKEN_SIZE);
	CHECK_RESULT(xi_token_generate(XI_TOKEN_FORMAT_ALPHANUMERIC, 129, counting, 256, &tok),
		     XI_RESULT_UNSUPPORTED_TOKEN_SIZE);
	CHECK_RESULT(xi_token_generate(XI_TOKEN_FORMAT_ALPHANUMERIC, 15, counting, 256, &tok),
		     XI_RESULT_UNSUPPORTED_TOKEN_SIZE);
	CHECK(tok == NULL);

	/* From the OS: the right shape, and different every time. */
	char *a = NULL, *b = NULL;
	CHECK_OK(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, NULL, 0, &a));
	CHECK_OK(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, NULL, 0, &b));
	CHECK(a && b && strlen(a) == 24 && strlen(b) == 24 && strcmp(a, b) != 0);
	CHECK_OK(xi_token_check(a));
	xi_string_free(a);
	xi_string_free(b);
	CHECK_OK(xi_token_generate(XI_TOKEN_FORMAT_ALPHANUMERIC, 40, NULL, 0, &a));
	CHECK(a && strlen(a) == 40 && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						  "0123456789") == 40);
	xi_string_free(a);

	xi_new_invite *nb = NULL;
	xi_invite *i1 = NULL, *i2 = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", NULL, &nb));
	CHECK_OK(xi_new_invite_create(nb, NOW, NULL, 0, &i1));
	CHECK_OK(xi_new_invite_create(nb, NOW, NULL, 0, &i2));
	CHECK(strlen(xi_invite_token(i1)) == 24 && strcmp(xi_invite_token(i1), xi_invite_token(i2)));
	CHECK_OK(xi_token_check(xi_invite_token(i1)));
	char uri[128];
	snprintf(uri, sizeof uri, "xmpp:example.com?register;preauth=%s", xi_invite_token(i1));
	CHECK_STR(xi_invite_uri(i1), uri);
	xi_invite_free(i1);
	xi_invite_free(i2);
	i1 = NULL;
	/* NULL bytes with a length is a mistake, not "use the OS". */
	CHECK_RESULT(xi_new_invite_create(nb, NOW, NULL, 18, &i1), XI_RESULT_NULL_ARGUMENT);
	CHECK(i1 == NULL);
	xi_new_invite_free(nb);
}

/* --- the opt-in fork-safe generator --------------------------------------- */

/* A token made from the default source (no bytes supplied). */
static char *fresh_token(void)
{
	char *t = NULL;
	CHECK_OK(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, NULL, 0, &t));
	return t;
}

/* Where the vDSO's getrandom must serve XI_RNG_OS: x86_64 Linux 6.11+
 * with the vDSO in the process (valgrind takes it away: then the system
 * call must serve). */
static void os_backend(void)
{
	set_context("xi_rng_os_backend: the vDSO where the kernel has it");
	struct utsname u;
	int major = 0, minor = 0;
	CHECK(uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2);
	int new_kernel = major > 6 || (major == 6 && minor >= 11);
	int has_vdso = getauxval(AT_SYSINFO_EHDR) != 0;
	xi_rng_backend backend = xi_rng_os_backend();
	if (!has_vdso)
		CHECK_INT(backend, XI_RNG_BACKEND_SYSCALL);
	else if (new_kernel && strcmp(u.machine, "x86_64") == 0)
		CHECK_INT(backend, XI_RNG_BACKEND_VDSO);
	else
		CHECK(backend == XI_RNG_BACKEND_VDSO || backend == XI_RNG_BACKEND_SYSCALL);
	/* Asked again, the thread answers the same. */
	CHECK_INT(xi_rng_os_backend(), backend);
	/* Tokens from the default source, whichever serves. */
	char *a = fresh_token(), *b = fresh_token();
	CHECK(a != NULL && b != NULL && strcmp(a, b) != 0);
	xi_string_free(a);
	xi_string_free(b);
}

static void fork_safe_rng(void)
{
	set_context("xi_rng_select: the fork-safe userspace generator");
	CHECK_INT(xi_rng_selected(), XI_RNG_OS);
	CHECK_RESULT(xi_rng_select(2), XI_RESULT_INVALID_ENUM);
	CHECK_INT(xi_rng_selected(), XI_RNG_OS);
	/* This test runs on Linux >= 4.14, where it must be available. */
	CHECK_OK(xi_rng_select(XI_RNG_FORK_SAFE));
	CHECK_INT(xi_rng_selected(), XI_RNG_FORK_SAFE);

	/* 2,000 tokens and invites: well-formed and all different. */
	enum { N = 1000 };
	static char seen[2 * N][32];
	xi_new_invite *nb = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", NULL, &nb));
	for (int i = 0; i < N; i++) {
		char *t = fresh_token();
		snprintf(seen[i], sizeof seen[i], "%s", t ? t : "");
		xi_string_free(t);
		xi_invite *inv = NULL;
		CHECK_OK(xi_new_invite_create(nb, NOW, NULL, 0, &inv));
		snprintf(seen[N + i], sizeof seen[N + i], "%s", inv ? xi_invite_token(inv) : "");
		xi_invite_free(inv);
	}
	xi_new_invite_free(nb);
	int bad = 0, dup = 0;
	for (int i = 0; i < 2 * N; i++) {
		if (strlen(seen[i]) != 24 || xi_token_check(seen[i]) != XI_RESULT_OK)
			bad++;
		for (int j = 0; j < i; j++)
			if (strcmp(seen[i], seen[j]) == 0)
				dup++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(dup, 0);

	/* After fork, parent and child draw from different streams: the child's
	 * first token is neither the parent's next one nor any later one. */
	for (int round = 0; round < 10; round++) {
		int fds[2];
		CHECK(pipe(fds) == 0);
		pid_t pid = fork();
		if (pid == 0) {
			close(fds[0]);
			char *t = NULL;
			char buf[3 * 25] = "";
			for (int k = 0; k < 3; k++) {
				t = NULL;
				if (xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, NULL, 0, &t) != XI_RESULT_OK)
					_exit(2);
				memcpy(buf + 25 * k, t, 24);
				buf[25 * k + 24] = '\n';
				xi_string_free(t);
			}
			_exit(write(fds[1], buf, sizeof buf) == (ssize_t)sizeof buf ? 0 : 3);
		}
		CHECK(pid > 0);
		close(fds[1]);
		char *mine[3];
		for (int k = 0; k < 3; k++)
			mine[k] = fresh_token();
		char theirs[3 * 25] = "";
		ssize_t got = read(fds[0], theirs, sizeof theirs);
		close(fds[0]);
		int status = -1;
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		CHECK_INT(got, (ssize_t)sizeof theirs);
		int same = 0;
		for (int k = 0; k < 3; k++)
			for (int m = 0; m < 3; m++)
				if (mine[k] && strncmp(mine[k], theirs + 25 * m, 24) == 0)
					same++;
		CHECK_INT(same, 0);
		for (int k = 0; k < 3; k++)
			xi_string_free(mine[k]);
	}

	CHECK_OK(xi_rng_select(XI_RNG_OS));
	CHECK_INT(xi_rng_selected(), XI_RNG_OS);
	char *t = fresh_token();
	CHECK(t && strlen(t) == 24);
	xi_string_free(t);
}

/* --- quotas ---------------------------------------------------------------- */

static void quotas(void)
{
	set_context("quotas");
	xi_issued_invite history[] = {
	    /* root (an admin) brought in alice 100 s ago; alice brought in bob. */
	    {"root", XI_INVITE_TYPE_ACCOUNT, NOW - 100, NOW + WEEK, "alice"},
	    {"alice", XI_INVITE_TYPE_ACCOUNT, NOW - 50, NOW + WEEK, "bob"},
	    {"alice", XI_INVITE_TYPE_ACCOUNT, NOW - 40, NOW + WEEK, NULL},
	    /* An unused contact-only invite counts for nothing. */
	    {"alice", XI_INVITE_TYPE_CONTACT_ONLY, NOW - 30, NOW + WEEK, NULL},
	    /* An expired unused one neither. */
	    {"alice", XI_INVITE_TYPE_ACCOUNT, NOW - 2 * WEEK, NOW - WEEK, NULL},
	    {NULL, XI_INVITE_TYPE_GROUP, NOW - 10, NOW + WEEK, NULL},
	};
	const size_t n = sizeof history / sizeof history[0];
	xi_quotas none = {0, 0, 0, 0};
	CHECK_OK(xi_quota_check(&none, "alice", false, XI_INVITE_TYPE_ACCOUNT, history, n, NOW));
	CHECK_OK(xi_quota_check(&none, "alice", false, XI_INVITE_TYPE_ACCOUNT, NULL, 0, NOW));

	xi_quotas cap = {2, 0, 0, 0};
	CHECK_RESULT(xi_quota_check(&cap, "alice", false, XI_INVITE_TYPE_ACCOUNT, history, n, NOW),
		     XI_RESULT_MAX_INVITES);
	CHECK_STR(xi_last_error_message(), "Maximum number of invites reached");
	CHECK_RESULT(xi_quota_check(&cap, "Alice", false, XI_INVITE_TYPE_GROUP, history, n, NOW),
		     XI_RESULT_MAX_INVITES);
	/* Admins and contact-only invites are exempt. */
	CHECK_OK(xi_quota_check(&cap, "alice", true, XI_INVITE_TYPE_ACCOUNT, history, n, NOW));
	CHECK_OK(xi_quota_check(&cap, "alice", false, XI_INVITE_TYPE_CONTACT_ONLY, history, n, NOW));
	CHECK_OK(xi_quota_check(&cap, "bob", false, XI_INVITE_TYPE_ACCOUNT, history, n, NOW));
	xi_quotas cap3 = {3, 0, 0, 0};
	CHECK_OK(xi_quota_check(&cap3, "alice", false, XI_INVITE_TYPE_ACCOUNT, history, n, NOW));

	/* The tree under root holds 4: root's invite of alice and alice's
	 * three account invites (bob's, the pending and the expired one); the
	 * unused contact-only invite is not part of it. */
	xi_quotas tree4 = {0, 4, 0, 0};
	CHECK_RESULT(xi_quota_check(&tree4, "bob", false, XI_INVITE_TYPE_ACCOUNT, history, n, NOW),
		     XI_RESULT_INVITE_TREE_FULL);
	xi_quotas tree5 = {0, 5, 0, 0};
	CHECK_OK(xi_quota_check(&tree5, "bob", false, XI_INVITE_TYPE_ACCOUNT, history, n, NOW));

	/* Chains: bob came in 50 s ago through alice's invite. */
	xi_quotas chain = {0, 0, 1, 300};
	CHECK_RESULT(xi_quota_check(&chain, "bob", false, XI_INVITE_TYPE_ACCOUNT, history, n, NOW),
		     XI_RESULT_CHAIN_TOO_FAST);
	CHECK_STR(xi_last_error_message(),
		  "Invitations are being passed on too quickly; try again in 250 seconds");
	CHECK_OK(xi_quota_check(&chain, "bob", false, XI_INVITE_TYPE_ACCOUNT, history, n, NOW + 250));
	CHECK_OK(xi_quota_check(&chain, "bob", false, XI_INVITE_TYPE_CONTACT_ONLY, history, n, NOW));
	/* Two generations up: root's invite of alice, 100 s ago. */
	xi_quotas chain2 = {0, 0, 2, 300};
	CHECK_RESULT(xi_quota_check(&chain2, "bob", false, XI_INVITE_TYPE_ACCOUNT, history, n, NOW),
		     XI_RESULT_CHAIN_TOO_FAST);
	CHECK_STR(xi_last_error_message(),
		  "Invitations are being passed on too quickly; try again in 200 seconds");
	xi_quotas chain3 = {0, 0, 3, 300};
	CHECK_OK(xi_quota_check(&chain3, "bob", false, XI_INVITE_TYPE_ACCOUNT, history, n, NOW));
	/* A requester that is no local username is refused, not let past the
	 * limits as one with no history. */
	CHECK_RESULT(xi_quota_check(&cap, "a b", false, XI_INVITE_TYPE_ACCOUNT, history, n, NOW),
		     XI_RESULT_INVALID_USERNAME);
	CHECK_RESULT(xi_quota_check(&cap, "alice@example.com", false, XI_INVITE_TYPE_ACCOUNT, history,
				    n, NOW),
		     XI_RESULT_INVALID_USERNAME);
}

/* --- landing pages and fragment links -------------------------------------- */

static void landing_links(void)
{
	set_context("landing links");
	const char *tpl = "https://{host}/i/{invite.token}?{invite.uri|noscheme!}";
	xi_new_invite *b = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "münchen.example", NULL, &b));
	CHECK_OK(xi_new_invite_set_landing_page(b, tpl, NULL, 0));
	xi_invite *inv = create(b, NOW);
	const char *want = "https://m%c3%bcnchen.example/i/" T0
			   "?xn--mnchen-3ya.example?register;preauth=" T0;
	CHECK_STR(xi_invite_landing_page(inv), want);
	char *json = record_json(inv);
	json_t *j = json_loads(json, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(j, "landing_page")), want);
	json_decref(j);
	xi_string_free(json);
	/* The same link from the stored record. */
	xi_record *r = stored_record(inv);
	char *link = NULL;
	CHECK_OK(xi_landing_link(tpl, NULL, 0, "münchen.example", r, &link));
	CHECK_STR(link, want);
	xi_string_free(link);
	/* A filter that leaves account invites out: no link (NULL, OK). */
	const char *contact_only[] = {"contact-only"};
	link = (char *)"unwritten";
	CHECK_OK(xi_landing_link(tpl, contact_only, 1, "münchen.example", r, &link));
	CHECK(link == NULL);
	/* An empty list (not NULL) names no type: no link either. */
	link = (char *)"unwritten";
	CHECK_OK(xi_landing_link(tpl, contact_only, 0, "münchen.example", r, &link));
	CHECK(link == NULL);
	xi_record_free(r);
	xi_invite_free(inv);
	xi_new_invite_free(b);

	/* Password resets never get a page; "contact" is upstream's name of
	 * contact-only. */
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_PASSWORD_RESET, "example.com", "romeo", &b));
	CHECK_OK(xi_new_invite_set_landing_page(b, tpl, NULL, 0));
	inv = create(b, NOW);
	CHECK(xi_invite_landing_page(inv) == NULL);
	xi_invite_free(inv);
	xi_new_invite_free(b);
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_CONTACT_ONLY, "example.com", "juliet", &b));
	const char *upstream[] = {"account", "contact"};
	CHECK_OK(xi_new_invite_set_landing_page(b, "https://{host}/c/{invite.token}", upstream, 2));
	inv = create(b, NOW);
	CHECK_STR(xi_invite_landing_page(inv), "https://example.com/c/" T0);
	xi_invite_free(inv);
	const char *account_only[] = {"account"};
	CHECK_OK(xi_new_invite_set_landing_page(b, "https://{host}/c/{invite.token}", account_only, 1));
	inv = create(b, NOW);
	CHECK(xi_invite_landing_page(inv) == NULL);
	xi_invite_free(inv);
	const char *typo[] = {"acount"};
	CHECK_RESULT(xi_new_invite_set_landing_page(b, tpl, typo, 1), XI_RESULT_UNKNOWN_INVITE_TYPE);
	xi_new_invite_free(b);

	set_context("fragment links");
	char *out = NULL;
	CHECK_OK(xi_fragment_link("https://example.com/i/",
				  "xmpp:a%3Fb@example.com?roster;preauth=" T0 ";ibr=y", &out));
	CHECK_STR(out, "https://example.com/i/#a%3Fb@example.com?roster;preauth=" T0 ";ibr=y");
	xi_string_free(out);
	CHECK_OK(xi_fragment_link("https://example.com/i/#old",
				  "xmpp:jürgen@münchen.example?register;preauth=" T0, &out));
	CHECK_STR(out, "https://example.com/i/#j%C3%BCrgen@xn--mnchen-3ya.example?register;preauth=" T0);
	xi_string_free(out);
	out = NULL;
	CHECK_RESULT(xi_fragment_link("https://example.com/i/", "https://example.com/", &out),
		     XI_RESULT_NOT_XMPP);
	CHECK(out == NULL);
}

/* --- ad-hoc forms ---------------------------------------------------------- */

static void result_form(void)
{
	set_context("result form");
	char *out = NULL;
	const char *uri = "xmpp:example.com?register;preauth=" T0;
	CHECK_OK(xi_result_form_json(uri, NULL, NOW + WEEK, &out));
	CHECK_STR(out, "{\"fields\":[{\"label\":null,\"required\":false,\"type\":\"hidden\","
		       "\"value\":\"urn:xmpp:invite#invitation\",\"var\":\"FORM_TYPE\"},"
		       "{\"label\":\"Invite URI\",\"required\":false,\"type\":\"text-single\","
		       "\"value\":\"xmpp:example.com?register;preauth=" T0 "\",\"var\":\"uri\"},"
		       "{\"label\":\"Invite valid until\",\"required\":false,\"type\":"
		       "\"text-single\",\"value\":\"2026-11-28T13:40:21Z\",\"var\":\"expire\"}],"
		       "\"title\":\"Your invite has been created\",\"type\":\"result\"}");
	xi_string_free(out);

	CHECK_OK(xi_result_form_json(uri, "https://example.com/i/" T0, XI_NEVER_EXPIRES, &out));
	json_t *form = json_loads(out, 0, NULL);
	xi_string_free(out);
	CHECK_STR(json_string_value(json_object_get(form, "type")), "result");
	json_t *fields = json_object_get(form, "fields");
	const char *vars[8] = {0};
	size_t i;
	json_t *f;
	json_array_foreach(fields, i, f)
	{
		if (i < 8)
			vars[i] = json_string_value(json_object_get(f, "var"));
	}
	/* FORM_TYPE first; a never-expiring invite has no expire field. */
	CHECK_INT(json_array_size(fields), 3);
	CHECK_STR(vars[0], "FORM_TYPE");
	CHECK_STR(vars[1], "landing-url");
	CHECK_STR(vars[2], "uri");
	CHECK_STR(json_string_value(json_object_get(json_array_get(fields, 1), "value")),
		  "https://example.com/i/" T0);
	json_decref(form);

	out = NULL;
	CHECK_RESULT(xi_result_form_json(uri, NULL, INT64_MIN, &out), XI_RESULT_DATETIME_OUT_OF_RANGE);
	CHECK(out == NULL);
}

static void create_account_submission(void)
{
	set_context("create-account submission");
	const char *vars[] = {"username", "roster-subscription"};
	const char *values[] = {" Romeo ", "true"};
	char *user = NULL;
	bool sub = false;
	CHECK_OK(xi_create_account_submission(vars, values, 2, true, &user, &sub));
	CHECK_STR(user, "romeo");
	CHECK(sub);
	xi_string_free(user);

	user = (char *)"unwritten";
	sub = true;
	CHECK_OK(xi_create_account_submission(NULL, NULL, 0, false, &user, &sub));
	CHECK(user == NULL);
	CHECK(!sub);

	const char *v0[] = {"", "0"};
	CHECK_OK(xi_create_account_submission(vars, v0, 2, false, &user, &sub));
	CHECK(user == NULL);
	CHECK(!sub);

	user = (char *)"unwritten";
	CHECK_RESULT(xi_create_account_submission(NULL, NULL, 0, true, &user, &sub),
		     XI_RESULT_MISSING_FIELD);
	const char *dup_vars[] = {"username", "username"};
	const char *dup_values[] = {"a", "b"};
	CHECK_RESULT(xi_create_account_submission(dup_vars, dup_values, 2, false, &user, &sub),
		     XI_RESULT_DUPLICATE_FIELD);
	const char *yes[] = {"romeo", "yes"};
	CHECK_RESULT(xi_create_account_submission(vars, yes, 2, false, &user, &sub),
		     XI_RESULT_NOT_BOOLEAN);
	const char *bad_user[] = {"a b", "1"};
	CHECK_RESULT(xi_create_account_submission(vars, bad_user, 2, false, &user, &sub),
		     XI_RESULT_INVALID_USERNAME);
	CHECK_STR(user, "unwritten");
}

/* --- tokens, date-times, periods, names, version --------------------------- */

static void tokens(void)
{
	set_context("token check, equal, redact");
	CHECK_OK(xi_token_check(T0));
	CHECK_RESULT(xi_token_check(""), XI_RESULT_NO_TOKEN);
	CHECK_RESULT(xi_token_check("AAECAwQFBgcICQo"), XI_RESULT_TOKEN_BAD_LENGTH);
	CHECK_OK(xi_token_check("AAECAwQFBgcICQoL"));
	char long_token[130];
	memset(long_token, 'A', 129);
	long_token[129] = '\0';
	CHECK_RESULT(xi_token_check(long_token), XI_RESULT_TOKEN_BAD_LENGTH);
	long_token[128] = '\0';
	CHECK_OK(xi_token_check(long_token));
	CHECK_RESULT(xi_token_check("AAECAwQFBgcICQoLDA0ODxA+"), XI_RESULT_TOKEN_BAD_ALPHABET);
	CHECK_RESULT(xi_token_check("AAECAwQFBgcICQoLDA0ODxA/"), XI_RESULT_TOKEN_BAD_ALPHABET);
	CHECK_RESULT(xi_token_check("AAECAwQFBgcICQoLDA0ODxA="), XI_RESULT_TOKEN_BAD_ALPHABET);

	bool eq = false;
	CHECK_OK(xi_token_equal(T0, T0, &eq));
	CHECK(eq);
	CHECK_OK(xi_token_equal(T0, "AAECAwQFBgcICQoLDA0ODxAS", &eq));
	CHECK(!eq);
	CHECK_OK(xi_token_equal(T0, "AAECAwQFBgcICQoLDA0ODxA", &eq));
	CHECK(!eq);
	/* A malformed token equals nothing, not even itself. */
	eq = true;
	CHECK_OK(xi_token_equal("short", "short", &eq));
	CHECK(!eq);

	char *label = NULL;
	CHECK_OK(xi_token_redact(T0, &label));
	CHECK_STR(label, "AAEC\xE2\x80\xA6(24)");
	xi_string_free(label);
	label = NULL;
	CHECK_RESULT(xi_token_redact("short", &label), XI_RESULT_TOKEN_BAD_LENGTH);
	CHECK(label == NULL);
}

static void datetimes_and_periods(void)
{
	set_context("date-times");
	static const struct {
		int64_t seconds;
		const char *text;
	} cases[] = {
	    {0, "1970-01-01T00:00:00Z"},
	    {NOW, "2026-11-21T13:40:21Z"},
	    {NOW + WEEK, "2026-11-28T13:40:21Z"},
	    {INT64_C(-62167219200), "0000-01-01T00:00:00Z"},
	    {XI_NEVER_EXPIRES, "9999-12-31T23:59:59Z"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = NULL;
		int64_t back = -1;
		if (CHECK_OK(xi_datetime_format(cases[i].seconds, &text)))
			CHECK_STR(text, cases[i].text);
		xi_string_free(text);
		CHECK_OK(xi_datetime_parse(cases[i].text, &back));
		CHECK_INT(back, cases[i].seconds);
	}
	int64_t t = 0;
	/* An offset past year 9999 in UTC: the instant, not a panic. */
	CHECK_OK(xi_datetime_parse("9999-12-31T23:59:59-01:00", &t));
	CHECK(t == XI_NEVER_EXPIRES + 3600);
	CHECK_OK(xi_datetime_parse("2026-11-21T14:40:21+01:00", &t));
	CHECK_INT(t, NOW);
	CHECK_OK(xi_datetime_parse("2026-11-21T13:40:21.999Z", &t));
	CHECK_INT(t, NOW);
	char *text = NULL;
	CHECK_RESULT(xi_datetime_format(XI_NEVER_EXPIRES + 1, &text), XI_RESULT_DATETIME_OUT_OF_RANGE);
	CHECK_RESULT(xi_datetime_format(INT64_MAX, &text), XI_RESULT_DATETIME_OUT_OF_RANGE);
	CHECK_RESULT(xi_datetime_format(INT64_MIN, &text), XI_RESULT_DATETIME_OUT_OF_RANGE);
	CHECK(text == NULL);
	t = 42;
	CHECK_RESULT(xi_datetime_parse("2026-11-21 13:40:21Z", &t), XI_RESULT_INVALID_DATETIME);
	CHECK_RESULT(xi_datetime_parse("2026-11-21T13:40:21z", &t), XI_RESULT_INVALID_DATETIME);
	CHECK_RESULT(xi_datetime_parse("2026-11-21", &t), XI_RESULT_INVALID_DATETIME);
	CHECK_RESULT(xi_datetime_parse("", &t), XI_RESULT_INVALID_DATETIME);
	CHECK_INT(t, 42);

	set_context("period expiry");
	int64_t e = 0;
	CHECK_OK(xi_period_expiry(3600, false, NOW, &e));
	CHECK_INT(e, NOW + 3600);
	CHECK_OK(xi_period_expiry(3600, true, NOW, &e));
	CHECK_INT(e, XI_NEVER_EXPIRES);
	CHECK_OK(xi_period_expiry(0, false, NOW, &e));
	CHECK_INT(e, NOW);
	e = 7;
	CHECK_RESULT(xi_period_expiry(UINT64_MAX, false, NOW, &e), XI_RESULT_PERIOD_OVERFLOW);
	CHECK_RESULT(xi_period_expiry((uint64_t)INT64_MAX, false, 1, &e), XI_RESULT_PERIOD_OVERFLOW);
	CHECK_INT(e, 7);
	uint64_t secs = 1;
	bool never = true;
	CHECK_OK(xi_period_parse("2 days", &secs, &never));
	CHECK(secs == 172800 && !never);
	CHECK_OK(xi_period_parse("never", &secs, &never));
	CHECK(secs == 0 && never);
}

static void result_names(void)
{
	set_context("result names");
	static const struct {
		xi_result code;
		const char *name;
	} all[] = {
	    {XI_RESULT_OK, "ok"},
	    {XI_RESULT_NULL_ARGUMENT, "null-argument"},
	    {XI_RESULT_INVALID_UTF8, "invalid-utf8"},
	    {XI_RESULT_INVALID_ENUM, "invalid-enum"},
	    {XI_RESULT_PANIC, "panic"},
	    {XI_RESULT_INTERIOR_NUL, "interior-nul"},
	    {XI_RESULT_INVALID_ARGUMENT, "invalid-argument"},
	    {XI_RESULT_EMPTY_USERNAME, "empty-username"},
	    {XI_RESULT_INVALID_USERNAME, "invalid-username"},
	    {XI_RESULT_EMPTY_HOST, "empty-host"},
	    {XI_RESULT_INVALID_HOST, "invalid-host"},
	    {XI_RESULT_JID_TOO_LONG, "jid-too-long"},
	    {XI_RESULT_JID_HAS_RESOURCE, "jid-has-resource"},
	    {XI_RESULT_NOT_XMPP, "not-xmpp"},
	    {XI_RESULT_AUTHORITY_FORM, "authority-form"},
	    {XI_RESULT_MALFORMED_URI, "malformed-uri"},
	    {XI_RESULT_NOT_AN_INVITE, "not-an-invite"},
	    {XI_RESULT_MISSING_TOKEN, "missing-token"},
	    {XI_RESULT_DUPLICATE_KEY, "duplicate-key"},
	    {XI_RESULT_ROSTER_WITHOUT_USER, "roster-without-user"},
	    {XI_RESULT_URI_HAS_RESOURCE, "uri-has-resource"},
	    {XI_RESULT_URI_TOO_LONG, "uri-too-long"},
	    {XI_RESULT_NO_TOKEN, "no-token"},
	    {XI_RESULT_TOKEN_BAD_LENGTH, "token-bad-length"},
	    {XI_RESULT_TOKEN_BAD_ALPHABET, "token-bad-alphabet"},
	    {XI_RESULT_UNSUPPORTED_TOKEN_SIZE, "unsupported-token-size"},
	    {XI_RESULT_RNG_FAILURE, "rng-failure"},
	    {XI_RESULT_RNG_UNSUPPORTED, "rng-unsupported"},
	    {XI_RESULT_EMPTY_PERIOD, "empty-period"},
	    {XI_RESULT_AMBIGUOUS_PERIOD, "ambiguous-period"},
	    {XI_RESULT_UNKNOWN_UNIT, "unknown-unit"},
	    {XI_RESULT_INVALID_PERIOD, "invalid-period"},
	    {XI_RESULT_PERIOD_OVERFLOW, "period-overflow"},
	    {XI_RESULT_DATETIME_OUT_OF_RANGE, "datetime-out-of-range"},
	    {XI_RESULT_INVALID_DATETIME, "invalid-datetime"},
	    {XI_RESULT_TOKEN_INVALID, "token-invalid"},
	    {XI_RESULT_TOKEN_EXPIRED, "token-expired"},
	    {XI_RESULT_TOKEN_USED_UP, "token-used-up"},
	    {XI_RESULT_WRONG_INVITER, "wrong-inviter"},
	    {XI_RESULT_NOT_FOR_REGISTRATION, "not-for-registration"},
	    {XI_RESULT_INVITE_ONLY, "invite-only"},
	    {XI_RESULT_USERNAME_MISMATCH, "username-mismatch"},
	    {XI_RESULT_RESET_USERNAME_MISMATCH, "reset-username-mismatch"},
	    {XI_RESULT_RESET_WITHOUT_ACCOUNT, "reset-without-account"},
	    {XI_RESULT_ACCOUNT_EXISTS, "account-exists"},
	    {XI_RESULT_USERNAME_RESERVED, "username-reserved"},
	    {XI_RESULT_ZERO_USES, "zero-uses"},
	    {XI_RESULT_CONFLICTING_OPTIONS, "conflicting-options"},
	    {XI_RESULT_MAX_INVITES, "max-invites"},
	    {XI_RESULT_INVITE_TREE_FULL, "invite-tree-full"},
	    {XI_RESULT_CHAIN_TOO_FAST, "chain-too-fast"},
	    {XI_RESULT_MISSING_FIELD, "missing-field"},
	    {XI_RESULT_DUPLICATE_FIELD, "duplicate-field"},
	    {XI_RESULT_NOT_BOOLEAN, "not-boolean"},
	    {XI_RESULT_TEMPLATE_TOO_DEEP, "template-too-deep"},
	    {XI_RESULT_TEMPLATE_TOO_LARGE, "template-too-large"},
	    {XI_RESULT_TEMPLATE_TOO_COMPLEX, "template-too-complex"},
	    {XI_RESULT_INVALID_RECORD, "invalid-record"},
	    {XI_RESULT_UNKNOWN_INVITE_TYPE, "unknown-invite-type"},
	};
	const size_t n = sizeof all / sizeof all[0];
	for (size_t i = 0; i < n; i++)
		CHECK_STR(xi_result_name(all[i].code), all[i].name);
	/* Every other number in the ranges is "unknown". */
	size_t named = 0;
	for (uint32_t code = 0; code < 1000; code++)
		if (strcmp(xi_result_name(code), "unknown") != 0)
			named++;
	CHECK_INT(named, n);
	CHECK_STR(xi_result_name(UINT32_MAX), "unknown");
	/* A success leaves an empty message; a failure a message. */
	CHECK_RESULT(xi_token_check(""), XI_RESULT_NO_TOKEN);
	CHECK(strlen(xi_last_error_message()) > 0);
	CHECK_OK(xi_token_check(T0));
	CHECK_STR(xi_last_error_message(), "");
}

/* The last error message belongs to the thread that failed. */
static int fail_in_thread(void *arg)
{
	(void)arg;
	if (xi_token_check("short") != XI_RESULT_TOKEN_BAD_LENGTH)
		return 1;
	char *label = NULL;
	if (xi_token_redact(T0, &label) != XI_RESULT_OK) /* a success: empty */
		return 2;
	xi_string_free(label);
	if (strcmp(xi_last_error_message(), "") != 0)
		return 3;
	return xi_token_check("") == XI_RESULT_NO_TOKEN &&
			   strcmp(xi_last_error_message(), "no-token") == 0
		   ? 0
		   : 4;
}

static void threads(void)
{
	set_context("the last error message is per thread");
	CHECK_RESULT(xi_token_check("AAECAwQFBgcICQoLDA0ODxA+"), XI_RESULT_TOKEN_BAD_ALPHABET);
	char before[256];
	snprintf(before, sizeof before, "%s", xi_last_error_message());
	thrd_t t;
	int rc = -1;
	CHECK(thrd_create(&t, fail_in_thread, NULL) == thrd_success && thrd_join(t, &rc) == thrd_success);
	CHECK_INT(rc, 0);
	CHECK_STR(xi_last_error_message(), before);
}

static void version(void)
{
	set_context("version");
	CHECK_STR(xi_version(), XI_EXPECTED_VERSION);
	/* The header's version is the library's. */
	char header[64];
	snprintf(header, sizeof header, "%d.%d.%d", XI_VERSION_MAJOR, XI_VERSION_MINOR,
		 XI_VERSION_PATCH);
	CHECK_STR(header, xi_version());
}

/* --- policy beyond the vectors --------------------------------------------- */

/* The name an account lookup must use: what the gate compares. */
static void prepped_usernames(void)
{
	set_context("xi_prep_username");
	const char *cases[][2] = {{"Romeo", "romeo"}, {"JÜRGEN", "jürgen"}, {"juliet", "juliet"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out = NULL;
		if (CHECK_OK(xi_prep_username(cases[i][0], &out)))
			CHECK_STR(out, cases[i][1]);
		xi_string_free(out);
	}
	char *out = NULL;
	CHECK_RESULT(xi_prep_username("romeo@example.com", &out), XI_RESULT_INVALID_USERNAME);
	CHECK(out == NULL);
}

static void policy_messages(void)
{
	set_context("policy explanations");
	xi_policy *p = NULL;
	CHECK_OK(xi_policy_new(XI_POLICY_PRESET_INVITES_ADHOC, "example.com", &p));
	xi_decision d;
	char *msg = NULL;
	CHECK_OK(xi_policy_decide(p, "alice@example.com", false, NULL, 0, XI_INVITE_TYPE_GROUP, &d,
				  &msg));
	CHECK(!d.allowed);
	CHECK_INT(d.reason, XI_REASON_ADMIN_ONLY);
	CHECK_STR(msg, "only admins may create group invites");
	xi_string_free(msg);
	CHECK_OK(xi_policy_decide(p, "eve@evil.example", false, NULL, 0, XI_INVITE_TYPE_ACCOUNT, &d,
				  &msg));
	CHECK(!d.allowed);
	CHECK_STR(msg, "This command is only available to users of example.com");
	xi_string_free(msg);
	/* An admin of the host homed elsewhere: account invites, no contact ones. */
	CHECK_OK(xi_policy_decide(p, "root@other.example", true, NULL, 0, XI_INVITE_TYPE_ACCOUNT, &d,
				  &msg));
	CHECK(d.allowed);
	CHECK_INT(d.reason, XI_REASON_ADMIN);
	xi_string_free(msg);
	CHECK_OK(xi_policy_decide(p, "root@other.example", true, NULL, 0,
				  XI_INVITE_TYPE_CONTACT_ONLY, &d, &msg));
	CHECK(!d.allowed);
	CHECK_INT(d.reason, XI_REASON_OTHER_HOST);
	xi_string_free(msg);
	const char *roles[] = {"trusted"};
	CHECK_OK(xi_policy_add_allowed_role(p, "trusted"));
	CHECK_OK(xi_policy_contact_invite(p, "alice@example.com/phone", false, roles, 1, &d, &msg));
	CHECK(d.allowed);
	CHECK_INT(d.type, XI_INVITE_TYPE_ACCOUNT_AND_CONTACT);
	CHECK_INT(d.reason, XI_REASON_ROLE_ALLOWED);
	CHECK_STR(msg, "role trusted is in allow_user_invites_by_roles");
	xi_string_free(msg);
	/* The host's own permission (Prosody 13's :invite-users) decides in
	   place of the admin flag, after the role lists. */
	const char *admin_roles[] = {"prosody:admin"};
	CHECK_OK(xi_policy_contact_invite_with_permission(p, "root@example.com", true, admin_roles, 1,
							  false, &d, &msg));
	CHECK(d.allowed);
	CHECK_INT(d.type, XI_INVITE_TYPE_CONTACT_ONLY);
	CHECK_INT(d.reason, XI_REASON_PERMISSION);
	CHECK_STR(msg, "the host does not grant the permission to invite new users");
	xi_string_free(msg);
	CHECK_OK(xi_policy_contact_invite_with_permission(p, "alice@example.com", false, NULL, 0, true,
							  &d, NULL));
	CHECK(d.allowed);
	CHECK_INT(d.type, XI_INVITE_TYPE_ACCOUNT_AND_CONTACT);
	CHECK_INT(d.reason, XI_REASON_PERMISSION);
	CHECK_OK(xi_policy_contact_invite_with_permission(p, "alice@example.com", false, roles, 1,
							  false, &d, NULL));
	CHECK_INT(d.type, XI_INVITE_TYPE_ACCOUNT_AND_CONTACT);
	CHECK_INT(d.reason, XI_REASON_ROLE_ALLOWED);
	xi_policy_free(p);
	p = NULL;
	CHECK_RESULT(xi_policy_new(XI_POLICY_PRESET_EASY_INVITE, "exa mple.com", &p),
		     XI_RESULT_INVALID_HOST);
	CHECK(p == NULL);
}

static char sentinel_vi;
#define SENT_VI ((xi_valid_invite *)(void *)&sentinel_vi)

/* Reusable invites and roles in Prosody 0.12's set form. */
static void reusable_and_legacy_roles(void)
{
	set_context("reusable account invite");
	xi_new_invite *b = NULL;
	xi_invite *inv = NULL;
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT, "example.com", NULL, &b));
	CHECK_OK(xi_new_invite_set_reusable(b, true));
	CHECK_OK(xi_new_invite_add_role(b, "custom:role"));
	CHECK_OK(xi_new_invite_add_role(b, "prosody:admin"));
	CHECK_OK(xi_new_invite_set_legacy_roles(b, true));
	CHECK_OK(xi_new_invite_create(b, NOW, counting, 18, &inv));
	char *got = record_json(inv);
	CHECK(strstr(got, "\"roles\":{\"custom:role\":true,\"prosody:admin\":true}") != NULL);
	CHECK(strstr(got, "\"reusable\":true") != NULL);
	xi_string_free(got);
	xi_record *r = stored_record(inv);
	xi_valid_invite *v = validate_registration(T0, r, NOW);
	/* A reusable invite stays. */
	got = use_changes(v);
	CHECK_STR(got, "");
	free(got);
	/* The primary role comes first, whatever the set's order. */
	xi_admission *a = admit(v, "romeo", false, XI_ADMISSION_KIND_NEW_ACCOUNT);
	CHECK_INT(xi_admission_roles_len(a), 2);
	CHECK_STR(xi_admission_role(a, 0), "prosody:admin");
	CHECK_STR(xi_admission_role(a, 1), "custom:role");
	xi_admission_free(a);
	xi_valid_invite_free(v);
	xi_record_free(r);
	xi_invite_free(inv);
	/* Back to the list form: the order given. */
	CHECK_OK(xi_new_invite_set_legacy_roles(b, false));
	CHECK_OK(xi_new_invite_create(b, NOW, counting, 18, &inv));
	got = record_json(inv);
	CHECK(strstr(got, "\"roles\":[\"custom:role\",\"prosody:admin\"]") != NULL);
	xi_string_free(got);
	xi_invite_free(inv);
	xi_new_invite_free(b);

	set_context("reusable password reset is refused");
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_PASSWORD_RESET, "example.com", "romeo", &b));
	CHECK_OK(xi_new_invite_set_reusable(b, true));
	inv = NULL;
	CHECK_RESULT(xi_new_invite_create(b, NOW, counting, 18, &inv), XI_RESULT_CONFLICTING_OPTIONS);
	CHECK(inv == NULL);
	xi_new_invite_free(b);

	set_context("a contact invite kept hashed at rest");
	CHECK_OK(xi_new_invite_new(XI_INVITE_TYPE_ACCOUNT_AND_CONTACT, "example.com", "juliet", &b));
	CHECK_OK(xi_new_invite_set_hash_at_rest(b, true));
	CHECK_OK(xi_new_invite_create(b, NOW, counting, 18, &inv));
	char *key = NULL;
	CHECK_OK(xi_storage_key(T0, true, &key));
	CHECK(strncmp(key, "sha256:", 7) == 0 && strlen(key) == 50);
	xi_changes *changes = NULL;
	char *stored_json = NULL;
	CHECK_OK(xi_invite_record_json(inv, &stored_json)); /* what is stored: no token */
	CHECK(strstr(stored_json, key) != NULL && strstr(stored_json, T0) == NULL);
	xi_string_free(stored_json);
	CHECK_OK(xi_invite_storage_changes(inv, &changes));
	CHECK_INT(xi_changes_len(changes), 2);
	for (size_t i = 0; i < xi_changes_len(changes); i++) {
		xi_change c;
		CHECK_OK(xi_changes_get(changes, i, &c));
		CHECK_STR(c.token, key);
		CHECK(strstr(c.value, T0) == NULL); /* no token at rest */
	}
	xi_change put;
	CHECK_OK(xi_changes_get(changes, 0, &put));
	xi_record *hashed = NULL;
	CHECK_OK(xi_record_from_json(put.value, &hashed));
	CHECK_STR(xi_record_token(hashed), key);
	xi_valid_invite *hv = NULL;
	CHECK_OK(xi_validate(T0, hashed, NULL, "juliet", NOW, &hv));
	got = use_changes(hv);
	CHECK(strstr(got, key) != NULL && strstr(got, T0 " ") == NULL);
	free(got);
	xi_valid_invite_free(hv);
	/* The hash itself is no token. */
	hv = SENT_VI;
	CHECK_RESULT(xi_validate(key + 7, hashed, NULL, "juliet", NOW, &hv), XI_RESULT_TOKEN_INVALID);
	xi_record_free(hashed);
	xi_changes_free(changes);
	xi_string_free(key);
	xi_invite_free(inv);
	xi_new_invite_free(b);

	set_context("a group invite names no user");
	b = NULL;
	CHECK_RESULT(xi_new_invite_new(XI_INVITE_TYPE_GROUP, "example.com", "romeo", &b),
		     XI_RESULT_INVALID_ARGUMENT);
	CHECK(b == NULL);
}

/* --- calls while the process or a thread is being torn down ----------------- */

/* A call from a thread-specific-data destructor, which runs after the
 * thread's Rust thread-locals are gone: an error code, not an abort. */
static _Atomic xi_result in_destructor = XI_RESULT_OK;
/* Prosody 0.12 on Lua 5.4 with invite_expiry = 1000/3 stores a float
 * expiry (util.json writes tostring of it). Read with the fraction dropped,
 * the invite is valid to the same second as in Prosody, whose check is
 * os.time() > expires. */
static void fractional_expiry(void)
{
	set_context("fractional expiry");
	xi_record *r = NULL;
	CHECK_OK(xi_record_from_json("{\"type\":\"register\",\"jid\":\"example.com\",\"token\":\"" T0
				     "\",\"allow_registration\":true,\"created_at\":1795268421,"
				     "\"expires\":1795268754.3333}",
				     &r));
	int64_t expires = 0;
	CHECK_OK(xi_record_expires(r, &expires));
	CHECK_INT(expires, 1795268754);
	xi_valid_invite *v = validate_registration(T0, r, 1795268754);
	xi_valid_invite_free(v);
	xi_valid_invite *late = NULL;
	CHECK_RESULT(xi_validate(T0, r, NULL, NULL, 1795268755, &late), XI_RESULT_TOKEN_EXPIRED);
	CHECK(late == NULL);
	xi_record_free(r);
}

static void call_in_destructor(void *unused)
{
	(void)unused;
	in_destructor = xi_token_check("!");
}

static int thread_with_destructor(void *key)
{
	/* Calls in once first, so the library's thread-locals exist. */
	CHECK(xi_token_check("!") != XI_RESULT_OK);
	CHECK(tss_set(*(tss_t *)key, key) == thrd_success);
	return 0;
}

/* The same from an atexit handler, after main's thread-locals are gone:
 * any exit status but 0 fails the suite. */
static void call_at_exit(void)
{
	xi_result r = xi_token_check("!");
	if (r == XI_RESULT_OK || r == XI_RESULT_PANIC)
		_exit(3);
}

static void calls_during_teardown(void)
{
	set_context("calls during teardown");
	tss_t key;
	CHECK(tss_create(&key, call_in_destructor) == thrd_success);
	thrd_t t;
	CHECK(thrd_create(&t, thread_with_destructor, &key) == thrd_success);
	int rc = -1;
	CHECK(thrd_join(t, &rc) == thrd_success);
	CHECK_INT(rc, 0);
	CHECK(in_destructor != XI_RESULT_OK && in_destructor != XI_RESULT_PANIC);
	tss_delete(key);
	CHECK(atexit(call_at_exit) == 0);
}

/* Stock Prosody stores the URI it concatenated without escaping; the
 * validated invite gives RFC 5122's, the record the stored text. */
static void stock_unescaped_uris(void)
{
	set_context("stock records' unescaped URIs");
	static const struct {
		const char *type, *jid, *stored, *want;
	} cases[] = {
		{ "register", "a?b@example.com", "xmpp:a?b@example.com?register;preauth=" T0,
		  "xmpp:a%3Fb@example.com?register;preauth=" T0 },
		{ "roster", "j\u00fcrgen@example.com", "xmpp:j\u00fcrgen@example.com?roster;preauth=" T0 ";ibr=y",
		  "xmpp:j%C3%BCrgen@example.com?roster;preauth=" T0 ";ibr=y" },
		{ "roster", "100%@m\u00fcnchen.example", "xmpp:100%@m\u00fcnchen.example?roster;preauth=" T0 ";ibr=y",
		  "xmpp:100%25@xn--mnchen-3ya.example?roster;preauth=" T0 ";ibr=y" },
		{ "register", "example.com", "xmpp:example.com?register;preauth=" T0,
		  "xmpp:example.com?register;preauth=" T0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char json[512];
		snprintf(json, sizeof json,
			 "{\"type\":\"%s\",\"jid\":\"%s\",\"token\":\"" T0 "\",\"allow_registration\":true,"
			 "\"uri\":\"%s\",\"created_at\":1795268421,\"expires\":1795873221}",
			 cases[i].type, cases[i].jid, cases[i].stored);
		xi_record *r = NULL;
		if (!CHECK_OK(xi_record_from_json(json, &r)))
			continue;
		xi_valid_invite *v = validate_registration(T0, r, NOW);
		const char *uri = xi_valid_invite_uri(v);
		CHECK_STR(uri, cases[i].want);
		CHECK(xi_valid_invite_uri(v) == uri); /* written once, then borrowed */
		/* The record keeps stock's text. */
		CHECK_STR(xi_record_uri(r), cases[i].stored);
		xi_valid_invite_free(v);
		xi_record_free(r);
	}
	/* A contact invite validated by the inviter's entry alone has no
	 * record to take a URI from. */
	int64_t until = 1795873221;
	xi_valid_invite *v = NULL;
	CHECK_OK(xi_validate(T0, NULL, &until, "juliet", NOW, &v));
	CHECK(xi_valid_invite_uri(v) == NULL);
	xi_valid_invite_free(v);
}

int main(void)
{
	for (size_t i = 0; i < sizeof counting; i++)
		counting[i] = (uint8_t)i;
	account_any_username();
	account_bound();
	password_reset();
	contact_only();
	account_and_contact();
	group();
	multi_use();
	ttl_source_note_format();
	builder_reused();
	randomness();
	os_backend();
	fork_safe_rng();
	quotas();
	landing_links();
	result_form();
	create_account_submission();
	tokens();
	datetimes_and_periods();
	result_names();
	threads();
	version();
	policy_messages();
	prepped_usernames();
	reusable_and_legacy_roles();
	fractional_expiry();
	stock_unescaped_uris();
	calls_during_teardown();
	set_context("");
	return check_finish();
}
