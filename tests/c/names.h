/* The stable names the shared vectors use for the C enums. */
#ifndef XI_TESTS_NAMES_H
#define XI_TESTS_NAMES_H

#include <stdint.h>
#include <string.h>

#include <xmpp_invites.h>

/* The core's InviteType::as_str(). */
static inline const char *type_name(xi_invite_type t)
{
	switch (t) {
	case XI_INVITE_TYPE_ACCOUNT:
		return "account";
	case XI_INVITE_TYPE_PASSWORD_RESET:
		return "password-reset";
	case XI_INVITE_TYPE_CONTACT_ONLY:
		return "contact-only";
	case XI_INVITE_TYPE_ACCOUNT_AND_CONTACT:
		return "account-and-contact";
	case XI_INVITE_TYPE_GROUP:
		return "group";
	default:
		return "(not an xi_invite_type)";
	}
}

/* The core's InviteType::from_str(): "contact" is accepted as upstream's
 * name of contact-only. Returns UINT32_MAX for an unknown name. */
static inline uint32_t type_from_name(const char *name)
{
	static const struct {
		const char *name;
		uint32_t type;
	} names[] = {
		{"account", XI_INVITE_TYPE_ACCOUNT},
		{"password-reset", XI_INVITE_TYPE_PASSWORD_RESET},
		{"contact-only", XI_INVITE_TYPE_CONTACT_ONLY},
		{"contact", XI_INVITE_TYPE_CONTACT_ONLY},
		{"account-and-contact", XI_INVITE_TYPE_ACCOUNT_AND_CONTACT},
		{"group", XI_INVITE_TYPE_GROUP},
	};
	for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
		if (strcmp(names[i].name, name) == 0)
			return names[i].type;
	return UINT32_MAX;
}

/* The core's Reason::code(). */
static inline const char *reason_name(xi_reason r)
{
	switch (r) {
	case XI_REASON_OTHER_HOST:
		return "other-host";
	case XI_REASON_ADMIN:
		return "admin";
	case XI_REASON_ADMIN_ONLY:
		return "admin-only";
	case XI_REASON_ROLE_ALLOWED:
		return "role-allowed";
	case XI_REASON_ROLE_DENIED:
		return "role-denied";
	case XI_REASON_ALLOW_USER_INVITES:
		return "allow-user-invites";
	case XI_REASON_ALLOW_CONTACT_INVITES:
		return "allow-contact-invites";
	case XI_REASON_PERMISSION:
		return "permission";
	default:
		return "(not an xi_reason)";
	}
}

static inline const char *action_name(xi_invite_action a)
{
	switch (a) {
	case XI_INVITE_ACTION_REGISTER:
		return "register";
	case XI_INVITE_ACTION_ROSTER:
		return "roster";
	default:
		return "(not an xi_invite_action)";
	}
}

/* UINT32_MAX for an unknown name. */
static inline uint32_t action_from_name(const char *name)
{
	if (name && strcmp(name, "register") == 0)
		return XI_INVITE_ACTION_REGISTER;
	if (name && strcmp(name, "roster") == 0)
		return XI_INVITE_ACTION_ROSTER;
	return UINT32_MAX;
}

static inline const char *admission_name(xi_admission_kind k)
{
	switch (k) {
	case XI_ADMISSION_KIND_OPEN:
		return "open";
	case XI_ADMISSION_KIND_NEW_ACCOUNT:
		return "new-account";
	case XI_ADMISSION_KIND_PASSWORD_RESET:
		return "password-reset";
	default:
		return "(not an xi_admission_kind)";
	}
}

#endif /* XI_TESTS_NAMES_H */
