-- mod_easy_invite (deprecated upstream), kept working on the xmpp-invites
-- core for servers that still load it: a "New Invite" command for local
-- users, whose invites allow registration by default, and
-- `prosodyctl mod_easy_invite HOST generate`. Registration and
-- pre-approved subscriptions are mod_invites_register's. Load it instead of
-- mod_invites_adhoc, not with it: both answer urn:xmpp:invite#invite.
local jid_split = require "util.jid".split;

local xi = module:require("xmpp_invites_loader");
local shared = module:require("xmpp_invites_shared");

-- mod_easy_invite's defaults: local users' invites allow registration.
local allow_user_invites = module:get_option_boolean("allow_user_invites", true);

local policy = xi.policy{
	preset = "easy_invite", host = module.host,
	allow_user_invites = allow_user_invites,
	allow_user_invites_by_roles = module:get_option_array("allow_user_invites_by_roles", {}),
	deny_user_invites_by_roles = module:get_option_array("deny_user_invites_by_roles", {}),
};

local invites;
if prosody.process_type == "prosody" then
	invites = module:depends("invites");
	module:depends("invites_register");
	module:depends("adhoc");

	local new_adhoc = module:require("adhoc").new;
	module:provides("adhoc", new_adhoc("New Invite", "urn:xmpp:invite#invite", function (_, data)
		local created_type, _, reason = policy:contact_invite(data.from, shared.who(data.from));
		if not created_type then
			return shared.refuse(reason);
		end
		local username = jid_split(data.from);
		local invite, err = invites.create_contact(username, created_type == "account-and-contact", { source = data.from });
		if not invite then
			return shared.refuse("Could not create the invite: "..tostring(err));
		end
		return shared.result(invite);
	end, "local_user"));
end

--- prosodyctl mod_easy_invite HOST generate [--reset USER | --admin | --role ROLE]
function module.command(arg)
	local usage = "usage: prosodyctl mod_"..module.name.." example.net generate [--reset USERNAME | --admin | --role ROLE]";
	local host, command = arg[1], arg[2];
	if command ~= "generate" or not host then
		print(usage);
		return 2;
	end
	if not prosody.hosts[host] then
		print("Host "..tostring(host).." does not exist");
		return 1;
	end
	local sm = require "core.storagemanager";
	sm.initialize_host(host);
	module.host = host; --luacheck: ignore 122/module
	invites = module:depends("invites");

	local reset, role;
	local i = 3;
	while arg[i] do
		local value = arg[i];
		if value == "--reset" and arg[i + 1] then
			reset = xi.prep_username(arg[i + 1]);
			if not reset then
				print("Please supply a valid username to generate a reset link for");
				return 2;
			end
			i = i + 2;
		elseif value == "--admin" then
			role, i = "prosody:admin", i + 1;
		elseif value == "--role" and arg[i + 1] then
			role, i = arg[i + 1], i + 2;
		else
			print("unexpected argument: "..value);
			print(usage);
			return 2;
		end
	end
	local invite, err;
	if reset then
		if role then
			print("--reset cannot be combined with --admin or --role");
			return 2;
		end
		invite, err = invites.create_account_reset(reset);
	else
		-- The legacy set form, as mod_easy_invite always wrote it.
		invite, err = invites.create_account(nil, role and { roles = { [role] = true } } or nil);
	end
	return shared.print_created(invite, err);
end
