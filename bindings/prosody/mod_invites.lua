-- mod_invites, on the xmpp-invites core: a drop-in replacement for
-- Prosody's own (0.12 and 13.0 API). Tokens, records, expiry, URIs and
-- landing links come from the core; this file wires Prosody's storage,
-- events and commands. Every lookup reads the store (no cache), so invites
-- that prosodyctl writes while the server runs are seen at once.
local xi = module:require("xmpp_invites_loader");
local jid_split = require "util.jid".split;
local it = require "util.iterators";

local invite_expiry = module:get_option("invite_expiry", 86400 * 7);
local invites_page = module:get_option_string("invites_page");
local invites_page_supports = module:get_option_array("invites_page_supports");
-- Keep only a hash of each token in storage (stock Prosody cannot read such
-- invites; existing ones stay readable here).
local hash_tokens = module:get_option_boolean("invites_hash_tokens", false);

-- Prosody 0.12 applies additional_data.roles as a set; 13 as a list. Told
-- apart by what they have, not by the version string (a build from source
-- reports its revision): 13's usermanager has set_user_role.
local roles_form = require "core.usermanager".set_user_role and "list" or "set";

-- Opened on first use, so that prosodyctl commands (which set up the host
-- first) can use this module too.
local token_storage;
local function store()
	if not token_storage then
		token_storage = module:open_store("invite_token", "map");
	end
	return token_storage;
end

local function log_token(token)
	return xi.redact_token(token) or "(malformed)";
end

-- A host the core cannot serve (it follows RFC 7622: no "_", no IP
-- literals) fails to load, not on every invite.
if prosody.process_type == "prosody" then
	local host_ok, host_err, host_msg = xi.prep_host(module.host);
	if not host_ok then
		error("cannot serve "..module.host..": "..tostring(host_msg or host_err));
	end
end

-- As Prosody 13's get_option_period: false means never. Any other value
-- that is no period is refused with a message (a negative number too,
-- which Prosody 13 reads as never).
if invite_expiry == false then invite_expiry = "never"; end
local default_ttl, ttl_err, ttl_msg;
if type(invite_expiry) == "number" or type(invite_expiry) == "string" then
	default_ttl, ttl_err, ttl_msg = xi.parse_period(invite_expiry);
else
	ttl_msg = "expected a period (seconds, \"2 days\" or \"never\"), not a "..type(invite_expiry);
end
if not default_ttl then
	module:log("error", "invite_expiry: %s; using 1 week", ttl_msg or ttl_err);
	default_ttl = 86400 * 7;
end

-- How long after a token was presented its expiry is still judged as at
-- the presentation (XEP-0445 checks it then): time for a user to choose a
-- name and a password. Seconds or a period such as "10 min", 0 or more.
local presentation_grace = module:get_option("invite_presentation_grace", 600);
if type(presentation_grace) == "string" then
	presentation_grace = xi.parse_period(presentation_grace);
end
if type(presentation_grace) ~= "number" or presentation_grace ~= presentation_grace
	or presentation_grace < 0 or presentation_grace == math.huge then
	module:log("error", "invite_presentation_grace must be 0 or more seconds, or a period; using 600");
	presentation_grace = 600;
end

-- The period of an API caller's ttl argument (seconds, a period string, or
-- math.huge), or nil for the default; or nil, error, message.
local function ttl_of(ttl)
	if ttl == nil then return nil; end
	local seconds, err, msg = xi.parse_period(ttl);
	if not seconds then
		return nil, err, msg;
	end
	return seconds;
end

-- Creates and stores an invite; returns the record table (what Prosody's
-- create_* return), or nil, error.
local function create_invite(opts)
	opts.host = module.host;
	opts.hash_at_rest = hash_tokens;
	if opts.ttl == nil and opts.type ~= "password-reset" then
		opts.ttl = default_ttl;
	end
	local created, err, msg = xi.create(opts);
	if not created then
		module:log("warn", "Cannot create a %s invite: %s", opts.type, msg or err);
		return nil, err;
	end
	local invite = created.record;
	module:fire_event("invite-created", invite);
	-- What the core says to store. The put-record change holds this same
	-- table (with what invite-created handlers added to it), or, hashed at
	-- rest, a copy without the token.
	for _, change in ipairs(created.changes) do
		local ok, store_err = store():set(change.user, change.key, change.value);
		if not ok then
			module:log("warn", "Failed to store %s invite: %s", created.type, store_err);
			return nil, "internal-server-error";
		end
	end
	module:log("debug", "Created %s invite %s", created.type, log_token(invite.token));
	return invite;
end

-- Landing pages, as Prosody 13 renders them: after other modules (such as
-- mod_invites_page) had their say, only when invites_page is configured.
-- Where that module serves the pages it links the invites its page can
-- show, so the rest (contact-only ones) get no link of ours either unless
-- invites_page_supports names them.
if invites_page then
	local page_module = module:get_option_string("invites_page_module", "invites_page");
	local modulemanager = require "core.modulemanager";
	module:hook("invite-created", function (invite)
		if invite.landing_page then return; end
		if not invites_page_supports and modulemanager.is_loaded(module.host, page_module) then return; end
		local link, err, msg = xi.landing_link(invites_page, module.host, invite, invites_page_supports);
		if link then
			invite.landing_page = link;
		elseif link == nil then
			module:log("error", "invites_page: %s", msg or err);
		end
	end, -1);
end

-- The stored entry (user nil: the host-level record) of a presented token:
-- under its hash first when tokens are kept hashed, then under the token.
local function lookup(user, token)
	if hash_tokens then
		local hashed, err = store():get(user, xi.storage_key(token, true));
		if hashed ~= nil or err ~= nil then return hashed, err; end
	end
	return store():get(user, token);
end

-- Invitation to register an account, optionally bound to a username.
function create_account(account_username, additional_data, ttl) --luacheck: ignore 131/create_account
	local seconds, err = ttl_of(ttl);
	if err then return nil, err; end
	return create_invite{ type = "account", user = account_username, additional_data = additional_data, ttl = seconds };
end

-- Invitation to reset the password of an account (1 day by default).
-- Prosody's (username, ttl), and (username, additional_data, ttl).
function create_account_reset(account_username, additional_data, ttl) --luacheck: ignore 131/create_account_reset
	if ttl == nil and type(additional_data) ~= "table" then
		additional_data, ttl = nil, additional_data;
	end
	local seconds, err = ttl_of(ttl);
	if err then return nil, err; end
	return create_invite{ type = "password-reset", user = account_username, additional_data = additional_data, ttl = seconds };
end

-- Invitation to become a contact of a local user (and maybe register).
function create_contact(username, allow_registration, additional_data, ttl) --luacheck: ignore 131/create_contact
	local seconds, err = ttl_of(ttl);
	if err then return nil, err; end
	return create_invite{
		type = allow_registration and "account-and-contact" or "contact-only",
		user = username, additional_data = additional_data, ttl = seconds,
	};
end

-- Invitation to register an account and join groups. As Prosody's: with a
-- ttl it is reusable until it expires; without, single-use and valid for
-- invite_expiry.
function create_group(group_ids, additional_data, ttl) --luacheck: ignore 131/create_group
	local seconds, err = ttl_of(ttl);
	if err then return nil, err; end
	local data = {};
	for k, v in pairs(additional_data or {}) do data[k] = v; end
	local groups = data.groups or group_ids;
	data.groups = nil;
	return create_invite{
		type = "group", groups = groups, additional_data = data,
		ttl = seconds, reusable = seconds ~= nil,
	};
end

-- Iterates pending (unexpired, not used up) invites that allow
-- registration, as storage key and record: for invites kept hashed at rest
-- the key is the token's hash, and the record has no token or URI.
function pending_account_invites() --luacheck: ignore 131/pending_account_invites
	local now = os.time();
	-- The keyval view of the same store lists every host-level record.
	local all = module:open_store("invite_token"):get(nil) or {};
	return it.filter(function (_, invite)
		return type(invite) == "table" and xi.record_pending(invite, now) == true;
	end, pairs(all));
end

function get_account_invite_info(token) --luacheck: ignore 131/get_account_invite_info
	if not token then
		return nil, "no-token";
	end
	if not xi.check_token(token) then
		return nil, "token-invalid";
	end
	local record = lookup(nil, token);
	local valid, err = xi.validate{ token = token, record = record, now = os.time() };
	if not valid then
		return nil, (err == "token-expired" or err == "no-token") and err or "token-invalid";
	end
	local uri = valid.uri;
	if record.token ~= token or record.uri ~= uri then
		-- Kept hashed at rest, or stored by stock Prosody with its URI
		-- unescaped: the caller, who has the token, gets the record as it
		-- is handed out (a copy; storage keeps the hash, or stock's text).
		local copy = {};
		for k, v in pairs(record) do copy[k] = v; end
		copy.token, copy.uri = token, uri;
		return copy;
	end
	return record;
end

-- Deletes the invite stored under `token` (or its hash): the host-level
-- record and, for a contact invite, the inviter's entry too, so that the
-- token no longer pre-approves a subscription either (stock leaves that
-- entry). Returns true and how many records there were (0: nothing was
-- stored under the token), or nil, err.
function delete_account_invite(token) --luacheck: ignore 131/delete_account_invite
	if not token then
		return nil, "no-token";
	end
	local keys = { token };
	if hash_tokens and xi.check_token(token) then
		table.insert(keys, 1, xi.storage_key(token, true));
	end
	local found = 0;
	for _, key in ipairs(keys) do
		local record = store():get(nil, key);
		if record ~= nil then
			found = found + 1;
			local inviter = type(record) == "table" and record.type == "roster"
				and type(record.jid) == "string" and jid_split(record.jid);
			if inviter then
				local ok, err = store():set(inviter, key, nil);
				if not ok then return nil, err; end
			end
		end
		local ok, err = store():set(nil, key, nil);
		if not ok then return nil, err; end
	end
	return true, found;
end

local valid_invite_methods = {};
local valid_invite_mt = { __index = valid_invite_methods };

-- The invite as the store has it now, or nil, err (it may have been used
-- or deleted since): read again as it was got, for a registration, or for
-- a subscription to the local user it was got with. XEP-0445 checks the
-- expiry when the token is presented, so within invite_presentation_grace
-- of that, and while the stored expiry is the one presented, the expiry
-- is judged as then: a client that presented the token in time may
-- register after it expired. Later, or once an admin moved the expiry,
-- it is judged now.
function valid_invite_methods:reread()
	local username = not self.inviter and self.username or nil;
	local at = self.validated_at;
	if at and os.time() - at <= presentation_grace then
		local then_valid, err = get(self.token, username, at);
		if then_valid and then_valid.expires == self.expires then
			return then_valid;
		elseif not then_valid and err ~= "token-expired" then
			return nil, err; -- gone, used up or unreadable, then as now
		end
	end
	return get(self.token, username);
end

-- Spends the invite (after the registration or subscription succeeded):
-- nothing for a reusable invite, a use counted for a max_uses invite,
-- otherwise both storage keys deleted. Spent as the store has it now, read
-- again: another redemption may have counted a use since this one was
-- validated, and writing back the count validated then would lose it (or
-- bring back an invite another spent). Every change is tried, so that a
-- failing one does not leave the others undone; the first error is
-- returned.
function valid_invite_methods:use()
	local now_valid = self._valid;
	-- As stored, whatever its expiry (judged at the epoch): the use is
	-- counted on the record as it is now, so an expiry moved since (an
	-- admin's) stays where it was put.
	local current, why = get(self.token, not self.inviter and self.username or nil, 0);
	if current then
		now_valid = current._valid;
	elseif why ~= "token-expired" and why ~= "internal-server-error" then
		-- Gone or used up: someone else spent it; nothing is left to do.
		module:log("debug", "Invite %s already spent: %s", log_token(self.token), why);
		return true;
	end
	-- The store cannot be read now (or the record's expiry is before
	-- 1970): spent as it was validated.
	local result, first_err = true, nil;
	for _, change in ipairs(now_valid:use_changes()) do
		local ok, err = store():set(change.user, change.key, change.value);
		if not ok then
			module:log("error", "Failed to spend invite %s: %s", log_token(self.token), err);
			result, first_err = result and nil, first_err or "internal-server-error";
		end
	end
	return result, first_err;
end

-- Gets a validated invite (or nil, err). Call :use() on it once it has
-- been used. For a subscription, pass the local inviter's username. The
-- invite's expiry is judged at `now` (default: os.time()).
function get(token, username, now)
	if not token then
		return nil, "no-token";
	end
	-- Shape first: garbage never reaches storage.
	local shaped, shape_err = xi.check_token(token);
	if not shaped then
		module:log("debug", "Refused malformed token: %s", shape_err);
		return nil, shape_err == "no-token" and "no-token" or "token-invalid";
	end
	local record, read_err = lookup(nil, token);
	local contact_expires;
	if username and not read_err then
		contact_expires, read_err = lookup(username, token);
	end
	if read_err ~= nil then
		module:log("error", "Cannot read invite %s: %s", log_token(token), tostring(read_err));
		return nil, "internal-server-error";
	end
	now = now or os.time();
	local valid, err = xi.validate{
		token = token, record = record, contact_expires = contact_expires,
		inviter = username, now = now,
	};
	if not valid then
		module:log("debug", "Refused invite %s: %s", log_token(token), err);
		return nil, err == "token-expired" and err or "token-invalid";
	end
	local inviter = valid.inviter;
	return setmetatable({
		token = token;
		username = username or inviter;
		inviter = not username and inviter or nil;
		type = record and record.type or "roster";
		jid = record and record.jid or (inviter and inviter.."@"..module.host);
		-- RFC 5122's, also where stock Prosody stored it unescaped.
		uri = valid.uri or xi.build_uri{ localpart = inviter, host = module.host, action = "roster", token = token };
		additional_data = record and record.additional_data or nil;
		reusable = valid.reusable;
		expires = valid.expires;
		validated_at = now;
		_valid = valid;
	}, valid_invite_mt);
end

function use(token) --luacheck: ignore 131/use
	local invite = get(token);
	return invite and invite:use();
end

-- For the other modules of this suite.
module:provides("invites_core", { xi = xi });

-- How the admin shell describes an invite of `host` (the shell's
-- functions are shared by every host, so the host is passed in).
local function describe(record, host)
	local t = xi.record_type(record) or "?";
	local username = record.jid and record.jid:match("^(.*)@");
	if t == "password-reset" then
		return "Password reset for "..record.jid;
	elseif t == "account-and-contact" then
		return "Invitation to register and become a contact of "..record.jid;
	elseif username then
		return ("Invitation to register on %s with username '%s'"):format(host, username);
	end
	return "Invitation to register on "..host;
end

-- An expiry for people: a date, or "never" (Prosody 13 stores math.huge).
local function when(expires)
	if type(expires) ~= "number" then return "unknown"; end
	if expires >= xi.NEVER_EXPIRES then return "never"; end
	return xi.datetime(expires) or "unknown";
end

-- Roles as the running Prosody applies them: 0.12 a set, 13 a list whose
-- first is the primary role.
local function roles_data(roles)
	if roles_form ~= "set" then return roles; end
	local set = {};
	for _, role in ipairs(roles) do set[role] = true; end
	return set;
end

--- Admin shell commands, in both shells. Prosody 0.12's reads functions
-- from a shared table: invite:create_account("example.com"). Prosody 13's
-- takes commands as items, with flags from the command line too:
-- prosodyctl shell invite create_account example.com --admin --expires-after 1d
-- (ours declares every flag it reads: stock 13.0.1 refuses its own --admin).
do
	local get_module = require "core.modulemanager".get_module;
	local function invites_of(host)
		if type(host) ~= "string" then return nil, "Supply the host, or a JID on it"; end
		local mod = get_module(host, "invites");
		if not mod then return nil, "mod_invites not loaded on "..tostring(host); end
		return mod;
	end

	-- true and the seconds of a period argument (nil: the default), or
	-- nil, why.
	local function period(value)
		local seconds, err, msg = ttl_of(value);
		if err then return nil, "Unable to parse duration: "..tostring(msg or err); end
		return true, seconds;
	end

	-- The commands, shared by both shells (the shell's functions are
	-- shared by every host, so the host comes from the arguments).
	local commands = {};

	function commands.create_account(user_jid, ttl, roles, groups)
		local username, host = jid_split(user_jid);
		local mod, err = invites_of(host);
		if not mod then return nil, err; end
		local data;
		if (roles and #roles > 0) or (groups and #groups > 0) then
			data = {
				roles = roles and #roles > 0 and roles_data(roles) or nil,
				groups = groups and #groups > 0 and groups or nil,
			};
		end
		local invite, cerr = mod.create_account(username, data, ttl);
		if not invite then return nil, cerr; end
		return true, invite.landing_page or invite.uri;
	end

	function commands.create_contact(user_jid, allow_registration, ttl)
		local username, host = jid_split(user_jid);
		local mod, err = invites_of(host);
		if not mod then return nil, err; end
		if not username then return nil, "Supply the JID of the account you want the recipient to become a contact of"; end
		local invite, cerr = mod.create_contact(username, allow_registration, nil, ttl);
		if not invite then return nil, cerr; end
		return true, invite.landing_page or invite.uri;
	end

	-- The invite, not a message: each shell words it its own way.
	function commands.create_reset(user_jid, ttl)
		local username, host = jid_split(user_jid);
		local mod, err = invites_of(host);
		if not mod then return nil, err; end
		if not username then return nil, "Supply the JID of the account you want to generate a password reset for"; end
		return mod.create_account_reset(username, ttl);
	end

	function commands.show(host, token)
		local mod, err = invites_of(host);
		if not mod then return nil, err; end
		local record, gerr = mod.get_account_invite_info(token);
		if not record then return nil, gerr; end
		local lines = {
			describe(record, host),
			"Created: "..(record.created_at and xi.datetime(record.created_at) or "unknown"),
			"Expires: "..when(record.expires),
			"XMPP URI: "..(record.uri or "(none)"),
		};
		if record.landing_page then lines[#lines+1] = "Web link: "..record.landing_page; end
		local data = record.additional_data or {};
		if data.note then lines[#lines+1] = "Comment: "..data.note; end
		return true, table.concat(lines, "\n");
	end

	function commands.list(host)
		local mod, err = invites_of(host);
		if not mod then return nil, err; end
		local n, lines = 0, {};
		for token, record in mod.pending_account_invites() do
			n = n + 1;
			lines[n] = ("%s  %s  expires %s"):format(token, describe(record, host), when(record.expires));
		end
		table.sort(lines);
		lines[#lines+1] = ("%d pending invites"):format(n);
		return true, table.concat(lines, "\n");
	end

	function commands.delete(host, token)
		local mod, err = invites_of(host);
		if not mod then return nil, err; end
		-- A pending invite's token, any well-formed token, or the key that
		-- invite:list shows for an invite kept hashed at rest.
		if not mod.get_account_invite_info(token) and not xi.check_token(token or "")
		and not (type(token) == "string" and token:match("^sha256:[%w_-]+$")) then
			return nil, "token-invalid";
		end
		local ok, found = mod.delete_account_invite(token);
		if not ok then return nil, found; end
		if found == 0 then
			return nil, "No invitation is stored under that token (a contact-only invite is kept under its inviter's account; it expires on its own)";
		end
		return true, "Invitation deleted";
	end

	-- luacheck: ignore 212/self
	if roles_form == "set" then
		local console_env = module:shared("/*/admin_shell/env");
		console_env.invite = console_env.invite or {};
		local invite_env = console_env.invite;

		function invite_env:create_account(user_jid, ttl)
			return commands.create_account(user_jid, ttl);
		end
		function invite_env:create_contact(user_jid, allow_registration, ttl)
			return commands.create_contact(user_jid, allow_registration, ttl);
		end
		function invite_env:create_reset(user_jid, ttl)
			local invite, err = commands.create_reset(user_jid, ttl);
			if not invite then return nil, err; end
			return true, (invite.landing_page or invite.uri).." (valid until "..when(invite.expires)..")";
		end
		function invite_env:show(host, token) return commands.show(host, token); end
		function invite_env:list(host) return commands.list(host); end
		function invite_env:delete(host, token) return commands.delete(host, token); end
	else
		-- A yes/no flag: --flag, --no-flag, or --flag=yes|no|true|false.
		local function yes_no(value, flag)
			if value == nil or type(value) == "boolean" then return true, value; end
			local v = tostring(value):lower();
			if v == "yes" or v == "true" or v == "1" then return true, true; end
			if v == "no" or v == "false" or v == "0" then return true, false; end
			return nil, ("--%s takes yes or no, not %q"):format(flag, tostring(value));
		end
		local function item(name, desc, args, flags, handler)
			module:add_item("shell-command", {
				section = "invite";
				section_desc = "Create and manage invitations";
				name = name;
				desc = desc;
				args = args;
				host_selector = args[1].name;
				flags = flags;
				handler = handler;
			});
		end
		local user_jid_arg = { { name = "user_jid", type = "string" } };
		local host_token_args = { { name = "host", type = "string" }, { name = "token", type = "string" } };

		-- Each create command also takes 0.12's arguments, for scripts
		-- written for its shell: invite:create_account("example.com", ttl).
		item("create_account",
			"Create an invitation to make an account on this server with the specified JID (supply only a hostname to allow any username)",
			user_jid_arg, {
				array_params = { role = true, group = true };
				value_params = { expires_after = true };
				kv_params = { admin = true };
			}, function (self, user_jid, opts)
				if type(opts) ~= "table" then return commands.create_account(user_jid, opts); end
				local ok, ttl = period(opts.expires_after);
				if not ok then return nil, ttl; end
				local admin_ok, admin = yes_no(opts.admin, "admin");
				if not admin_ok then return nil, admin; end
				local roles = {};
				if admin then roles[1] = "prosody:admin"; end
				for _, role in ipairs(opts.role or {}) do
					if role ~= "prosody:admin" or not admin then roles[#roles+1] = role; end
				end
				return commands.create_account(user_jid, ttl, roles, opts.group);
			end);
		item("create_contact", "Create an invitation to become contacts with the specified user",
			user_jid_arg, {
				value_params = { expires_after = true };
				kv_params = { allow_registration = true };
			}, function (self, user_jid, opts, ttl)
				if type(opts) ~= "table" then return commands.create_contact(user_jid, opts, ttl); end
				local ok, seconds = period(opts.expires_after);
				if not ok then return nil, seconds; end
				local allow_ok, allow = yes_no(opts.allow_registration, "allow-registration");
				if not allow_ok then return nil, allow; end
				return commands.create_contact(user_jid, allow, seconds);
			end);
		item("create_reset", "Create a password reset link for the specified user",
			user_jid_arg, {
				value_params = { expires_after = true };
			}, function (self, user_jid, opts)
				local ttl = opts;
				if type(opts) == "table" then
					local ok, seconds = period(opts.expires_after);
					if not ok then return nil, seconds; end
					ttl = seconds;
				end
				local invite, err = commands.create_reset(user_jid, ttl);
				if not invite then return nil, err; end
				-- As stock 13: the link on its own line, then the result.
				self.session.print(invite.landing_page or invite.uri);
				return true, ("Password reset link for %s valid until %s"):format(user_jid, when(invite.expires));
			end);
		item("show", "Show details of an account invitation token", host_token_args, nil,
			function (self, host, token) return commands.show(host, token); end);
		item("delete", "Delete/revoke an invitation token", host_token_args, nil,
			function (self, host, token) return commands.delete(host, token); end);
		item("list", "List pending invitations which allow account registration",
			{ { name = "host", type = "string" } }, nil,
			function (self, host) return commands.list(host); end);
	end
end

--- prosodyctl mod_invites generate HOST [--reset USER | --admin | --role R | --group G... | --expires-after P]
function module.command(arg)
	local usage = "usage: prosodyctl mod_"..module.name.." generate DOMAIN [--reset USERNAME | --admin | --role ROLE | --group GROUPID... | --expires-after PERIOD]";
	if #arg < 2 or arg[1] ~= "generate" then
		print(usage);
		return 2;
	end
	table.remove(arg, 1);

	local sm = require "core.storagemanager";
	local mm = require "core.modulemanager";

	local host = table.remove(arg, 1);
	if not prosody.hosts[host] then
		print("Host "..tostring(host).." does not exist");
		return 1;
	end
	sm.initialize_host(host);
	module.host = host; --luacheck: ignore 122/module
	token_storage = nil;

	local invites = module:depends("invites");
	local invites_page_module = module:get_option_string("invites_page_module", "invites_page");
	if mm.get_modules_for_host(host):contains(invites_page_module) then
		module:depends(invites_page_module);
	end

	local allow_reset, roles, ttl;
	local groups = {};
	while #arg > 0 do
		local value = table.remove(arg, 1);
		if value == "--help" then
			print(usage);
			print();
			print("    --reset USERNAME       a password reset link for USERNAME (valid 1 day)");
			print("    --admin                the new account is an admin (= --role prosody:admin)");
			print("    --role ROLE            grant ROLE to the new account");
			print("    --group GROUPID        add the new account to the group (repeatable)");
			print("    --expires-after PERIOD how long the invite is valid (e.g. \"2 days\", \"12h\", \"never\")");
			return 0;
		elseif value == "--reset" then
			local username = arg[1] and xi.prep_username(arg[1]);
			table.remove(arg, 1);
			if not username then
				print("Please supply a valid username to generate a reset link for");
				return 2;
			end
			allow_reset = username;
		elseif value == "--admin" then
			roles = { "prosody:admin" };
		elseif value == "--role" then
			local rolename = table.remove(arg, 1);
			if not rolename then
				print("Please supply a role name");
				return 2;
			end
			roles = { rolename };
		elseif value == "--group" or value == "-g" then
			local groupid = table.remove(arg, 1);
			if not groupid then
				print("Please supply a group ID");
				return 2;
			end
			table.insert(groups, groupid);
		elseif value == "--expires-after" then
			local period = table.remove(arg, 1);
			local seconds, _, msg = xi.parse_period(period or "");
			if not seconds then
				print("Invalid --expires-after: "..tostring(msg));
				return 2;
			end
			ttl = seconds;
		else
			print("unexpected argument: "..value);
			print(usage);
			return 2;
		end
	end

	local invite, err;
	if allow_reset then
		if roles or #groups > 0 then
			print("--reset cannot be combined with --admin, --role or --group");
			return 2;
		end
		invite, err = invites.create_account_reset(allow_reset, ttl);
	else
		local data = { groups = #groups > 0 and groups or nil };
		if roles then
			data.roles = roles_data(roles);
		end
		invite, err = invites.create_account(nil, data, ttl);
	end
	return module:require("xmpp_invites_shared").print_created(invite, err);
end
