-- mod_invites_adhoc on the xmpp-invites core (XEP-0401 easy onboarding):
-- the contact invite command, the account invite command and the password
-- reset command. Who may do what is decided by the core's policy, with its
-- reason in every refusal; every result form carries FORM_TYPE.
local dataforms = require "util.dataforms";
local jid_split = require "util.jid".split;
local jid_prep = require "util.jid".prep;
local usermanager = require "core.usermanager";

local xi = module:require("xmpp_invites_loader");
local new_adhoc = module:require("adhoc").new;

-- Whether local users can invite other users to create an account on this server
local allow_user_invites = module:get_option_boolean("allow_user_invites", false);
-- Who can see and use the contact invite command.
local allow_contact_invites = module:get_option_boolean("allow_contact_invites", true);
local allow_user_invite_roles = module:get_option_array("allow_user_invites_by_roles", {});
local deny_user_invite_roles = module:get_option_array("deny_user_invites_by_roles", {});
-- Ask for a username (XEP-0401 0.6.0 form) before creating account invites;
-- by default the invite is created at once, as XEP-0401 recommends.
local ask_username = module:get_option_boolean("invites_adhoc_ask_username", false);

local invites;
if prosody.shutdown then -- not under prosodyctl
	invites = module:depends("invites");
end

-- Prosody 13 says who may do what with roles and permissions, which
-- admins can change (custom roles, add_permissions, remove_permissions).
-- There, as stock 13: the commands are gated by their adhoc:NODE
-- permission (prosody:admin's by default), whose holders the policy sees
-- as admins; and a contact invite allows registration when the requester
-- holds :invite-users, which allow_user_invites gives to
-- prosody:registered (else prosody:admin's alone). The policy takes that
-- permission in place of the admin check and allow_user_invites, after
-- the role lists below (deny_user_invites_by_roles still refuses).
local permissions = module.may ~= nil and module.default_permission ~= nil;
if permissions then
	module:default_permission(allow_user_invites and "prosody:registered" or "prosody:admin", ":invite-users");
end

local policy = xi.policy{
	preset = "invites_adhoc", host = module.host,
	allow_user_invites = allow_user_invites, allow_contact_invites = allow_contact_invites,
	allow_user_invites_by_roles = allow_user_invite_roles, deny_user_invites_by_roles = deny_user_invite_roles,
};

local shared = module:require("xmpp_invites_shared");
local who, refuse, result, refusal, fields = shared.who, shared.refuse, shared.result, shared.refusal, shared.fields;

module:depends("adhoc");

-- Who is offered each command (and may run it) is as in Prosody's own
-- module, so that clients list only commands that can succeed: the contact
-- invite for local users (admins only without allow_contact_invites), the
-- others for admins (of this host, wherever their account is). The policy
-- then decides in full, with its reason in every refusal.

-- The contact invite: for local users (and admins) as the policy says; an
-- account-and-contact invite (ibr=y) when they may invite new users.
module:provides("adhoc", new_adhoc("Create new contact invite", "urn:xmpp:invite#invite",
	function (_, data)
		local username = jid_split(data.from);
		local requester = who(data.from, data, "adhoc:urn:xmpp:invite#invite");
		if permissions then requester.may_invite_users = module:may(":invite-users", data); end
		local created_type, _, reason = policy:contact_invite(data.from, requester);
		if not created_type then
			return refuse(reason);
		end
		local invite, err = invites.create_contact(username, created_type == "account-and-contact", { source = data.from });
		if not invite then
			return refuse("Could not create the invite: "..tostring(err));
		end
		return result(invite);
	end, allow_contact_invites and "local_user" or "admin"));

local create_account_form = dataforms.new{
	title = "Create an account invite";
	{ name = "username", type = "text-single", label = "Username",
		desc = "The only username the invite registers (optional; not with the next field)" };
	{ name = "roster-subscription", type = "boolean", label = "Add the new account to my contacts" };
};

-- The account invite: admins by default. Answers at once unless
-- invites_adhoc_ask_username is set, in which case the 0.6.0 form comes first.
module:provides("adhoc", new_adhoc("Create new account invite", "urn:xmpp:invite#create-account",
	function (_, data, state)
		local refused = refusal(policy, "account", data, "urn:xmpp:invite#create-account");
		if refused then return refused; end
		if data.action == "cancel" then
			return { status = "canceled" };
		end
		local username, subscribe;
		-- A form sent with the first request is taken, as by Prosody's
		-- simple forms (util.adhoc), whether or not the form is asked for.
		if ask_username or data.form then
			if not state and not data.form then
				return { status = "executing", actions = { "complete", default = "complete" }, form = create_account_form }, "asked";
			end
			local submitted, err, message = xi.parse_create_account_submission(fields(data), false);
			if not submitted then
				return refuse(message or err);
			end
			username, subscribe = submitted.username, submitted.roster_subscription;
		end
		local invite, err;
		if subscribe then
			-- XEP-0401: with roster-subscription the new account becomes a
			-- contact of the requester, as through a contact invite. Such
			-- an invite names its inviter where a bound one names its
			-- username (Prosody's record has one JID): it cannot be both,
			-- and silently dropping the name would let it register any.
			if username then
				return refuse("An invite for a given username cannot also add the new account to your contacts: leave out one of the two");
			end
			-- The contact is the requester's account on this host: an admin
			-- of another server has none here (the same name here is
			-- someone else).
			local inviter, inviter_host = jid_split(data.from);
			if inviter_host ~= module.host or not inviter then
				return refuse("Only users of "..module.host.." can add the new account to their contacts");
			end
			invite, err = invites.create_contact(inviter, true, { source = data.from });
		else
			invite, err = invites.create_account(username, { source = data.from });
		end
		if not invite then
			return refuse("Could not create the invite: "..tostring(err));
		end
		return result(invite);
	end, "admin"));

local reset_form = dataforms.new{
	title = "Create password reset invite";
	{ name = "accountjid", type = "jid-single", label = "Account", required = true };
};

-- The password reset (Prosody 13's node): admins only.
module:provides("adhoc", new_adhoc("Create password reset invite", "xmpp:prosody.im/mod_invites_adhoc#password-reset",
	function (_, data, state)
		local refused = refusal(policy, "password-reset", data, "xmpp:prosody.im/mod_invites_adhoc#password-reset");
		if refused then return refused; end
		if data.action == "cancel" then
			return { status = "canceled" };
		end
		if not state and not data.form then
			return { status = "executing", actions = { "complete", default = "complete" }, form = reset_form }, "asked";
		end
		local account, err, message = xi.parse_password_reset_submission(fields(data));
		if not account then
			return refuse(message or err);
		end
		local username, host = jid_split(jid_prep(account));
		if host ~= module.host then
			return refuse("The account must be on "..module.host);
		end
		if not usermanager.user_exists(username, host) then
			return refuse("There is no account "..account);
		end
		local invite, cerr = invites.create_account_reset(username);
		if not invite then
			return refuse("Could not create the invite: "..tostring(cerr));
		end
		return result(invite);
	end, "admin"));
