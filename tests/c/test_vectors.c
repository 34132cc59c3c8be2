/* The shared vectors in tests/vectors/, checked against the C ABI. Each
 * part mirrors tests/vectors.rs, which checks the same files against the
 * Rust core: the C answers must be the same, byte for byte.
 *
 * Usage: test_vectors [VECTORS_DIR]   (default tests/vectors) */
#include <jansson.h>

#include "check.h"
#include "names.h"

static const char *vectors_dir = "tests/vectors";

static json_t *load_vectors(const char *name)
{
	char path[4096];
	json_error_t err;
	snprintf(path, sizeof path, "%s/%s", vectors_dir, name);
	json_t *v = json_load_file(path, 0, &err);
	if (!v) {
		fprintf(stderr, "cannot read %s: %s (line %d)\n", path, err.text, err.line);
		exit(2);
	}
	return v;
}

/* v[key] as a string; NULL when missing or not a string (JSON null). */
static const char *s(const json_t *v, const char *key)
{
	return json_string_value(json_object_get(v, key));
}

static bool is_true(const json_t *v, const char *key)
{
	return json_is_true(json_object_get(v, key));
}

/* v[key], an array of vector cases that must not be empty: a renamed key
 * would otherwise run nothing and pass. */
static json_t *cases_of(const json_t *v, const char *key)
{
	json_t *list = json_object_get(v, key);
	if (!CHECK(json_array_size(list) > 0))
		fprintf(stderr, "  no cases under \"%s\"\n", key);
	return list;
}

/* --- uris.json ------------------------------------------------------------ */

static void uri_build(void)
{
	json_t *v = load_vectors("uris.json");
	const char *token = s(v, "token");
	size_t i;
	json_t *c;
	json_array_foreach(cases_of(v, "build"), i, c)
	{
		set_context("uris.json build: %s", s(c, "name"));
		char *uri = NULL;
		uint32_t action = action_from_name(s(c, "action"));
		if (!CHECK_OK(xi_uri_build(s(c, "localpart"), s(c, "host"), action, token,
					   is_true(c, "ibr"), &uri)))
			continue;
		CHECK_STR(uri, s(c, "uri"));
		/* And back: the parse of what we build builds the same URI. */
		xi_parsed_uri *back = NULL;
		if (CHECK_OK(xi_uri_parse(uri, &back))) {
			xi_invite_action a = 99;
			bool ibr = false;
			char *again = NULL;
			CHECK_OK(xi_parsed_uri_action(back, &a, &ibr));
			if (CHECK_OK(xi_uri_build(xi_parsed_uri_localpart(back),
						  xi_parsed_uri_host(back), a,
						  xi_parsed_uri_token(back), ibr, &again)))
				CHECK_STR(again, s(c, "uri"));
			xi_string_free(again);
		}
		xi_parsed_uri_free(back);
		xi_string_free(uri);
	}
	json_array_foreach(cases_of(v, "build_errors"), i, c)
	{
		set_context("uris.json build_errors: %s", s(c, "name"));
		char *uri = (char *)"unwritten";
		CHECK_RESULT_NAME(xi_uri_build(s(c, "localpart"), s(c, "host"),
					       action_from_name(s(c, "action")), token,
					       is_true(c, "ibr"), &uri),
				  s(c, "error"));
		CHECK_STR(uri, "unwritten");
	}
	json_decref(v);
}

static void uri_parse(void)
{
	json_t *v = load_vectors("uris.json");
	size_t i;
	json_t *c;
	json_array_foreach(cases_of(v, "parse"), i, c)
	{
		const char *uri = s(c, "uri");
		set_context("uris.json parse: %s", uri);
		const json_t *want = json_object_get(c, "ok");
		xi_parsed_uri *got = NULL;
		xi_result r = xi_uri_parse(uri, &got);
		if (want && !json_is_null(want)) {
			if (!CHECK_RESULT(r, XI_RESULT_OK))
				continue;
			xi_invite_action a = 99;
			bool ibr = !is_true(want, "ibr");
			CHECK_STR(xi_parsed_uri_localpart(got), s(want, "localpart"));
			CHECK_STR(xi_parsed_uri_host(got), s(want, "host"));
			CHECK_OK(xi_parsed_uri_action(got, &a, &ibr));
			CHECK_STR(action_name(a), s(want, "action"));
			CHECK_STR(xi_parsed_uri_token(got), s(want, "token"));
			CHECK(ibr == is_true(want, "ibr"));
		} else {
			CHECK_RESULT_NAME(r, s(c, "error"));
			CHECK(got == NULL);
		}
		xi_parsed_uri_free(got);
	}
	json_decref(v);
}

/* --- templates.json -------------------------------------------------------- */

static void templates(void)
{
	json_t *v = load_vectors("templates.json");
	char *values = json_dumps(json_object_get(v, "values"), JSON_COMPACT);
	json_t *cases = json_object_get(v, "cases");
	CHECK(json_array_size(cases) > 20);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c)
	{
		set_context("templates.json: %s", s(c, "template"));
		char *out = NULL;
		if (CHECK_OK(xi_template_render(s(c, "template"), values, &out)))
			CHECK_STR(out, s(c, "output"));
		xi_string_free(out);
	}
	free(values);
	json_decref(v);
}

/* --- periods.json ---------------------------------------------------------- */

static void periods(void)
{
	json_t *v = load_vectors("periods.json");
	size_t i;
	json_t *c;
	json_array_foreach(cases_of(v, "cases"), i, c)
	{
		const char *input = s(c, "input");
		set_context("periods.json: \"%s\"", input);
		uint64_t seconds = 0xA5A5A5A5;
		bool never = false;
		xi_result r = xi_period_parse(input, &seconds, &never);
		if (s(c, "error")) {
			CHECK_RESULT_NAME(r, s(c, "error"));
			CHECK_INT(seconds, 0xA5A5A5A5);
		} else if (CHECK_RESULT(r, XI_RESULT_OK)) {
			if (never) {
				CHECK(is_true(c, "never"));
				CHECK_INT(seconds, 0);
			} else {
				const json_t *want = json_object_get(c, "seconds");
				CHECK(json_is_integer(want));
				CHECK(!is_true(c, "never"));
				CHECK_INT(seconds, json_integer_value(want));
			}
		}
	}
	json_decref(v);
}

/* --- policy.json ----------------------------------------------------------- */

/* A JSON list of strings as a C array (borrowed from the JSON). */
static size_t string_list(const json_t *list, const char **out, size_t max)
{
	size_t i, n = 0;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		if (n < max)
			out[n++] = json_string_value(item);
	}
	return n;
}

static void policy(void)
{
	json_t *v = load_vectors("policy.json");
	size_t i;
	json_t *c;
	json_array_foreach(cases_of(v, "cases"), i, c)
	{
		char *dump = json_dumps(c, JSON_COMPACT);
		set_context("policy.json: %s", dump);
		free(dump);
		const json_t *p = json_object_get(c, "policy");
		const char *preset_name = s(p, "preset");
		uint32_t preset = strcmp(preset_name, "invites_adhoc") == 0 ? XI_POLICY_PRESET_INVITES_ADHOC
				  : strcmp(preset_name, "easy_invite") == 0 ? XI_POLICY_PRESET_EASY_INVITE
									      : 99;
		xi_policy *policy = NULL;
		if (!CHECK_OK(xi_policy_new(preset, s(p, "host"), &policy)))
			continue;
		const json_t *b;
		if ((b = json_object_get(p, "allow_user_invites")) && json_is_boolean(b))
			CHECK_OK(xi_policy_set_allow_user_invites(policy, json_is_true(b)));
		if ((b = json_object_get(p, "allow_contact_invites")) && json_is_boolean(b))
			CHECK_OK(xi_policy_set_allow_contact_invites(policy, json_is_true(b)));
		/* The presets start with empty role lists: adding is setting. */
		const char *roles[16];
		size_t n = string_list(json_object_get(p, "allow_user_invites_by_roles"), roles, 16);
		for (size_t k = 0; k < n; k++)
			CHECK_OK(xi_policy_add_allowed_role(policy, roles[k]));
		n = string_list(json_object_get(p, "deny_user_invites_by_roles"), roles, 16);
		for (size_t k = 0; k < n; k++)
			CHECK_OK(xi_policy_add_denied_role(policy, roles[k]));

		const json_t *r = json_object_get(c, "requester");
		size_t n_roles = string_list(json_object_get(r, "roles"), roles, 16);
		const char *what = s(c, "type");
		xi_decision d;
		char *message = NULL;
		xi_result res;
		const json_t *may = json_object_get(r, "may_invite_users");
		if (may && strcmp(what, "contact-command") == 0)
			res = xi_policy_contact_invite_with_permission(
				policy, s(r, "jid"), is_true(r, "admin"), n_roles ? roles : NULL,
				n_roles, json_is_true(may), &d, &message);
		else if (strcmp(what, "contact-command") == 0)
			res = xi_policy_contact_invite(policy, s(r, "jid"), is_true(r, "admin"),
						       n_roles ? roles : NULL, n_roles, &d, &message);
		else
			res = xi_policy_decide(policy, s(r, "jid"), is_true(r, "admin"),
					       n_roles ? roles : NULL, n_roles, type_from_name(what), &d,
					       &message);
		if (CHECK_RESULT(res, XI_RESULT_OK)) {
			CHECK(d.allowed == is_true(c, "allowed"));
			CHECK_STR(reason_name(d.reason), s(c, "reason"));
			CHECK(message != NULL && message[0] != '\0');
			if (strcmp(what, "contact-command") == 0) {
				if (d.allowed)
					CHECK_STR(type_name(d.type), s(c, "creates"));
			} else {
				CHECK_INT(d.type, type_from_name(what));
			}
			/* Without out_message the decision is the same. */
			xi_decision d2;
			if (may && strcmp(what, "contact-command") == 0)
				res = xi_policy_contact_invite_with_permission(
					policy, s(r, "jid"), is_true(r, "admin"),
					n_roles ? roles : NULL, n_roles, json_is_true(may), &d2, NULL);
			else if (strcmp(what, "contact-command") == 0)
				res = xi_policy_contact_invite(policy, s(r, "jid"), is_true(r, "admin"),
							       n_roles ? roles : NULL, n_roles, &d2, NULL);
			else
				res = xi_policy_decide(policy, s(r, "jid"), is_true(r, "admin"),
						       n_roles ? roles : NULL, n_roles,
						       type_from_name(what), &d2, NULL);
			if (CHECK_RESULT(res, XI_RESULT_OK))
				CHECK(d2.allowed == d.allowed && d2.reason == d.reason &&
				      d2.type == d.type);
		}
		xi_string_free(message);
		xi_policy_free(policy);
	}
	json_decref(v);
}

/* --- validation.json ------------------------------------------------------- */

/* A storage change as tests/vectors.rs writes it (change_json). */
static json_t *change_json(const xi_change *c)
{
	json_t *j = json_object();
	switch (c->op) {
	case XI_CHANGE_OP_DELETE_RECORD:
		json_object_set_new(j, "op", json_string("delete-record"));
		json_object_set_new(j, "token", json_string(c->token));
		CHECK(c->user == NULL && c->sql_type == NULL && c->value == NULL);
		break;
	case XI_CHANGE_OP_DELETE_CONTACT_EXPIRY:
		json_object_set_new(j, "op", json_string("delete-contact"));
		json_object_set_new(j, "user", json_string(c->user));
		json_object_set_new(j, "token", json_string(c->token));
		CHECK(c->user != NULL && c->sql_type == NULL && c->value == NULL);
		break;
	case XI_CHANGE_OP_PUT_RECORD: {
		json_object_set_new(j, "op", json_string("put-record"));
		json_object_set_new(j, "token", json_string(c->token));
		CHECK(c->user == NULL);
		CHECK_STR(c->sql_type, "json");
		json_t *record = json_loads(c->value ? c->value : "", 0, NULL);
		CHECK(json_is_object(record));
		CHECK_STR(s(record, "token"), c->token);
		json_t *uses = json_object_get(record, "uses");
		json_object_set(j, "uses", uses ? uses : json_null());
		json_decref(record);
		break;
	}
	case XI_CHANGE_OP_PUT_CONTACT_EXPIRY: {
		json_object_set_new(j, "op", json_string("put-contact"));
		json_object_set_new(j, "user", json_string(c->user));
		json_object_set_new(j, "token", json_string(c->token));
		CHECK_STR(c->sql_type, "number");
		int64_t expires = 0;
		CHECK_OK(xi_contact_expiry_parse(c->value, &expires));
		json_object_set_new(j, "expires", json_integer(expires));
		break;
	}
	default:
		CHECK(!"an xi_change_op");
	}
	return j;
}

/* Every change of a list, as JSON (frees the list). */
static json_t *changes_json(xi_changes *list)
{
	json_t *all = json_array();
	size_t n = xi_changes_len(list);
	for (size_t k = 0; k < n; k++) {
		xi_change c;
		if (CHECK_OK(xi_changes_get(list, k, &c)))
			json_array_append_new(all, change_json(&c));
	}
	xi_change past;
	CHECK_RESULT(xi_changes_get(list, n, &past), XI_RESULT_INVALID_ARGUMENT);
	xi_changes_free(list);
	return all;
}

static bool strings_equal_list(const json_t *want, const char *(*get)(const xi_admission *, size_t),
			       size_t (*len)(const xi_admission *), const xi_admission *a)
{
	if (!json_is_array(want) || json_array_size(want) != len(a))
		return false;
	for (size_t k = 0; k < len(a); k++) {
		const char *w = json_string_value(json_array_get(want, k));
		const char *g = get(a, k);
		if (!w || !g || strcmp(w, g) != 0)
			return false;
	}
	return get(a, len(a)) == NULL;
}

static void check_gate(const xi_valid_invite *invite, bool invite_only, const json_t *attempt)
{
	const json_t *want = json_object_get(attempt, "expect");
	xi_admission *a = NULL;
	xi_result r = xi_registration_gate(invite, invite_only, s(attempt, "username"),
					   is_true(attempt, "account_exists"),
					   is_true(attempt, "reserved"), &a);
	if (s(want, "error")) {
		CHECK_RESULT_NAME(r, s(want, "error"));
		CHECK(a == NULL);
		return;
	}
	if (!CHECK_RESULT(r, XI_RESULT_OK))
		return;
	xi_admission_kind kind = 99;
	CHECK_OK(xi_admission_get_kind(a, &kind));
	CHECK_STR(admission_name(kind), s(want, "admission"));
	if (kind == XI_ADMISSION_KIND_PASSWORD_RESET) {
		CHECK_STR(xi_admission_username(a), s(want, "username"));
	} else if (kind == XI_ADMISSION_KIND_NEW_ACCOUNT) {
		CHECK_STR(xi_admission_username(a), s(want, "username"));
		CHECK_STR(xi_admission_inviter(a), s(want, "inviter"));
		/* No roles (null) and an empty list look the same in C: 0 roles. */
		const json_t *roles = json_object_get(want, "roles");
		if (json_is_null(roles))
			CHECK_INT(xi_admission_roles_len(a), 0);
		else
			CHECK(strings_equal_list(roles, xi_admission_role, xi_admission_roles_len, a));
		CHECK(strings_equal_list(json_object_get(want, "groups"), xi_admission_group,
					 xi_admission_groups_len, a));
	}
	if (kind != XI_ADMISSION_KIND_NEW_ACCOUNT) {
		CHECK_INT(xi_admission_roles_len(a), 0);
		CHECK_INT(xi_admission_groups_len(a), 0);
		CHECK(xi_admission_inviter(a) == NULL);
	}
	xi_admission_free(a);
}

static void validation_and_gate(void)
{
	json_t *v = load_vectors("validation.json");
	size_t i;
	json_t *c;
	json_array_foreach(cases_of(v, "cases"), i, c)
	{
		const char *name = s(c, "name");
		set_context("validation.json: %s", name);
		xi_record *record = NULL;
		const json_t *rj = json_object_get(c, "record");
		if (!json_is_null(rj)) {
			char *text = json_dumps(rj, JSON_COMPACT);
			CHECK_OK(xi_record_from_json(text, &record));
			free(text);
		}
		const json_t *ce = json_object_get(c, "contact_expires");
		int64_t contact_expires = json_is_integer(ce) ? json_integer_value(ce) : 0;
		const json_t *red = json_object_get(c, "redemption");
		const char *subscription_to =
		    json_is_string(red) && strcmp(json_string_value(red), "registration") == 0
			? NULL
			: s(red, "subscription");
		CHECK(json_is_string(red) || subscription_to != NULL);

		xi_valid_invite *valid = NULL;
		xi_result r = xi_validate(s(c, "presented"), record,
					  json_is_integer(ce) ? &contact_expires : NULL,
					  subscription_to, json_integer_value(json_object_get(c, "now")),
					  &valid);
		const json_t *want = json_object_get(c, "expect");
		const json_t *ok = json_object_get(want, "ok");
		if (ok && !json_is_null(ok)) {
			if (CHECK_RESULT(r, XI_RESULT_OK)) {
				xi_invite_type t = 99;
				CHECK_OK(xi_valid_invite_get_type(valid, &t));
				CHECK_STR(type_name(t), s(ok, "type"));
				CHECK_STR(xi_valid_invite_inviter(valid), s(ok, "inviter"));
				xi_changes *list = NULL;
				if (CHECK_OK(xi_valid_invite_use_changes(valid, &list))) {
					json_t *got = changes_json(list);
					json_t *expected = json_object_get(ok, "use_changes");
					if (!CHECK(json_equal(got, expected))) {
						char *g = json_dumps(got, JSON_COMPACT);
						char *w = json_dumps(expected, JSON_COMPACT);
						fprintf(stderr, "     got  %s\n     want %s\n", g, w);
						free(g);
						free(w);
					}
					json_decref(got);
				}
			}
		} else {
			CHECK_RESULT_NAME(r, s(want, "error"));
			CHECK(valid == NULL);
		}
		size_t k;
		json_t *attempt;
		json_array_foreach(json_object_get(c, "gate"), k, attempt)
		{
			set_context("validation.json: %s, gate %s", name, s(attempt, "username"));
			check_gate(valid, true, attempt);
		}
		json_array_foreach(json_object_get(c, "gate_without_invite"), k, attempt)
		{
			set_context("validation.json: %s, gate without invite %s", name,
				    s(attempt, "username"));
			check_gate(NULL, is_true(attempt, "invite_only"), attempt);
		}
		xi_valid_invite_free(valid);
		xi_record_free(record);
	}
	json_decref(v);
}

/* --- prosody_records.json -------------------------------------------------- */

/* tests/vectors.rs lua_equivalent: `{}` and `[]` are the same empty Lua
 * table; a false `allow_registration` is the same as none. New reference. */
static json_t *lua_equivalent(json_t *v)
{
	if (json_is_object(v)) {
		if (json_object_size(v) == 0)
			return json_array();
		json_t *out = json_object();
		const char *key;
		json_t *item;
		json_object_foreach(v, key, item)
		{
			if (strcmp(key, "allow_registration") == 0 && json_is_false(item))
				continue;
			json_object_set_new(out, key, lua_equivalent(item));
		}
		return out;
	}
	if (json_is_array(v)) {
		json_t *out = json_array();
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item)
		{
			json_array_append_new(out, lua_equivalent(item));
		}
		return out;
	}
	return json_deep_copy(v);
}

/* The username part of a record's JID (the core's jid_username), or NULL.
 * Into buf. */
static const char *jid_username(const char *jid, char *buf, size_t size)
{
	const char *at = jid ? strrchr(jid, '@') : NULL;
	if (!at || (size_t)(at - jid) >= size)
		return NULL;
	memcpy(buf, jid, (size_t)(at - jid));
	buf[at - jid] = '\0';
	return buf;
}

static void host_level_row(const json_t *row)
{
	const char *what = s(row, "what");
	const char *value = s(row, "value");
	CHECK_STR(s(row, "type"), "json");
	xi_record *record = NULL;
	if (!CHECK_OK(xi_record_from_json(value, &record)))
		return;
	CHECK_STR(xi_record_token(record), s(row, "key"));

	/* Written back, it is the same record to Lua. */
	char *again = NULL;
	if (CHECK_OK(xi_record_to_json(record, &again))) {
		json_t *original = json_loads(value, 0, NULL);
		json_t *written = json_loads(again, 0, NULL);
		json_t *a = lua_equivalent(written), *b = lua_equivalent(original);
		if (!CHECK(json_equal(a, b)))
			fprintf(stderr, "     wrote %s\n     read  %s\n", again, value);
		json_decref(a);
		json_decref(b);
		json_decref(original);
		json_decref(written);
	}
	xi_string_free(again);

	xi_invite_type expected = strstr(what, "--reset")	   ? XI_INVITE_TYPE_PASSWORD_RESET
				  : strstr(what, "create_group")   ? XI_INVITE_TYPE_GROUP
				  : strstr(what, "create_contact") ? XI_INVITE_TYPE_ACCOUNT_AND_CONTACT
								   : XI_INVITE_TYPE_ACCOUNT;
	xi_invite_type t = 99;
	CHECK_OK(xi_record_get_type(record, &t));
	CHECK_STR(type_name(t), type_name(expected));

	/* It validates at creation and at expiry, not a second later. */
	json_t *parsed = json_loads(value, 0, NULL);
	const json_t *cj = json_object_get(parsed, "created_at");
	CHECK(json_is_integer(cj));
	int64_t created = json_integer_value(cj);
	int64_t expires = 0;
	CHECK_OK(xi_record_expires(record, &expires));
	CHECK_INT(expires, json_integer_value(json_object_get(parsed, "expires")));
	json_decref(parsed);

	char user_buf[1024];
	const bool roster = t == XI_INVITE_TYPE_CONTACT_ONLY || t == XI_INVITE_TYPE_ACCOUNT_AND_CONTACT;
	const char *inviter = roster ? jid_username(xi_record_jid(record), user_buf, sizeof user_buf)
				     : NULL;
	const int64_t times[2] = {created, expires};
	for (int k = 0; k < 2; k++) {
		xi_valid_invite *valid = NULL;
		if (CHECK_OK(xi_validate(xi_record_token(record), record, NULL, NULL, times[k],
					 &valid)))
			CHECK_STR(xi_valid_invite_inviter(valid), inviter);
		xi_valid_invite_free(valid);
	}
	xi_valid_invite *late = NULL;
	CHECK_RESULT_NAME(xi_validate(xi_record_token(record), record, NULL, NULL, expires + 1,
				      &late),
			  "token-expired");
	CHECK(late == NULL);
	xi_record_free(record);
}

static void user_level_row(const json_t *row)
{
	const char *value = s(row, "value");
	const char *user = s(row, "user");
	CHECK_STR(s(row, "type"), "number");
	int64_t expires = 0;
	if (!CHECK_OK(xi_contact_expiry_parse(value, &expires)))
		return;
	char text[32];
	snprintf(text, sizeof text, "%" PRId64, expires);
	CHECK_STR(text, value);

	/* The contact-only invite that stock 0.12.3 cannot redeem for a
	 * subscription validates here. */
	xi_valid_invite *valid = NULL;
	if (CHECK_OK(xi_validate(s(row, "key"), NULL, &expires, user, expires, &valid))) {
		/* The inviter is the nodeprepped user: the open gate nodepreps. */
		xi_admission *open = NULL;
		if (CHECK_OK(xi_registration_gate(NULL, false, user, false, false, &open)))
			CHECK_STR(xi_valid_invite_inviter(valid), xi_admission_username(open));
		xi_admission_free(open);
	}
	xi_valid_invite_free(valid);
}

static void records_written_by_stock_prosody(void)
{
	json_t *v = load_vectors("prosody_records.json");
	const json_t *rows = json_object_get(v, "sql_rows");
	CHECK(json_array_size(rows) >= 20);
	size_t host_level = 0, user_level = 0, i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		set_context("prosody_records.json: %s (user \"%s\")", s(row, "what"), s(row, "user"));
		if (s(row, "user")[0] == '\0') {
			host_level++;
			host_level_row(row);
		} else {
			user_level++;
			user_level_row(row);
		}
	}
	set_context("prosody_records.json: row counts");
	CHECK(host_level > 10 && user_level >= 4);
	json_decref(v);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		vectors_dir = argv[1];
	uri_build();
	uri_parse();
	templates();
	periods();
	policy();
	validation_and_gate();
	records_written_by_stock_prosody();
	set_context("");
	return check_finish();
}
