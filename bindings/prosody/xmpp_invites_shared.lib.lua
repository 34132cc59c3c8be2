-- What the modules of this folder share: for the ad-hoc commands, the
-- requester as the core's policy sees them, refusals, submitted fields and
-- the XEP-0401 result form; for the prosodyctl commands, the report of a
-- created invite.
local dataforms = require "util.dataforms";
local usermanager = require "core.usermanager";

local xi = module:require("xmpp_invites_loader");

-- The roles that make an admin in Prosody 13, as its (deprecated)
-- is_admin() counts them: when no permission is asked (see who).
local admin_roles = { ["prosody:admin"] = true, ["prosody:operator"] = true };

-- The requester as the core's policy sees them: admin or not, and roles.
-- Under Prosody 13, with the command's `context` and the `permission`
-- that stands for "admin" there, Prosody decides (module:may: the
-- requester's role, the roles it inherits, add_permissions), as stock 13
-- does; without them, or under 0.12, admin is what the roles say.
local function who(from, context, permission)
	local roles, is_admin = {}, false;
	if usermanager.get_roles then -- 0.12: a set of roles
		is_admin = usermanager.is_admin(from, module.host) and true or false;
		for role in pairs(usermanager.get_roles(from, module.host) or {}) do
			roles[#roles + 1] = role;
		end
	elseif usermanager.get_jid_role then -- 13: one role; is_admin() is deprecated
		local role = usermanager.get_jid_role(from, module.host);
		if role then roles[1] = role.name; end
		if context and permission and module.may then
			is_admin = module:may(permission, context) and true or false;
		else
			is_admin = role and admin_roles[role.name] or false;
		end
	end
	return { admin = is_admin, roles = roles };
end

local function refuse(message)
	return { status = "completed", error = { message = message } };
end

-- The result form built from the core's description: FORM_TYPE first.
local function result(invite)
	local form = xi.result_form(invite.uri, invite.landing_page, invite.expires);
	local layout, values = { title = form.title }, {};
	for i, f in ipairs(form.fields) do
		layout[i] = { name = f.var, type = f.type, label = f.label, value = f.type == "hidden" and f.value or nil };
		if f.type ~= "hidden" then values[f.var] = f.value; end
	end
	return { status = "completed", result = { layout = dataforms.new(layout), values = values } };
end

-- The policy's verdict on `data.from` creating an invite of `invite_type`
-- with the ad-hoc command `node` (whose permission, under Prosody 13, is
-- what "admin" means): a refusal to return, or nil to go on.
local function refusal(policy, invite_type, data, node)
	local allowed, _, reason = policy:decide(data.from, invite_type, who(data.from, data, "adhoc:"..node));
	if not allowed then
		return refuse(reason);
	end
end

-- The submitted form's fields as { var = value }.
local function fields(data)
	local values = {};
	if data.form then
		for field in data.form:childtags("field") do
			values[field.attr.var] = field:get_child_text("value");
		end
	end
	return values;
end

-- prosodyctl: prints the invite's link and returns the exit code.
local function print_created(invite, err)
	if not invite then
		print("Could not create the invite: "..tostring(err));
		return 1;
	end
	print(invite.landing_page or invite.uri);
	return 0;
end

return {
	who = who, refuse = refuse, result = result, refusal = refusal,
	fields = fields, print_created = print_created,
};
