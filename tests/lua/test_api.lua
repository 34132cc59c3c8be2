-- Every function of the module: a worked call each, then a sweep of bad
-- input through every argument and option. Expected failures return nil,
-- code, message; wrong types raise a Lua error naming the argument; nothing
-- crashes and the interpreter keeps working.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local h = require "harness"
local xi = require "xmpp_invites"
local check, eq = h.check, h.eq

local NOW = 1795268421
local T = "Xb9sT2vR7qLm4KpZ8wYd1eFg"

-- Worked calls ------------------------------------------------------------------
check(type(xi.version) == "string", "version")
eq(xi.NEVER_EXPIRES, 253402300799, "NEVER_EXPIRES")
eq(#xi.generate_token(), 24, "default token")
eq(#xi.generate_token("alphanumeric"), 22, "alphanumeric token")
check(xi.generate_token("alphanumeric", 30):match("^[%w]+$") ~= nil, "alphanumeric alphabet")
eq(#xi.generate_token("base64url", 32), 43, "32-byte token")
check(xi.generate_token() ~= xi.generate_token(), "tokens differ")
eq(select(2, xi.generate_token("base64url", 4)), "unsupported-token-size", "small token refused")

-- The opt-in fork-safe generator (fork itself is tested from C and Rust:
-- plain Lua cannot fork).
eq(xi.selected_rng(), "os", "the OS generator by default")
check(not pcall(xi.select_rng, "chacha"), "unknown generator is a Lua error")
check(not pcall(xi.select_rng, 1), "generator name must be a string")
eq(xi.selected_rng(), "os", "a refused selection changes nothing")
eq(xi.select_rng("fork-safe"), true, "select_rng fork-safe")
eq(xi.selected_rng(), "fork-safe", "selected_rng fork-safe")
do
	local seen, n, bad = {}, 0, 0
	for _ = 1, 500 do
		for _, t in ipairs { xi.generate_token(), xi.create { type = "account", host = "example.com", now = NOW }.token } do
			if seen[t] then n = n + 1 end
			if xi.check_token(t) ~= true or #t ~= 24 then bad = bad + 1 end
			seen[t] = true
		end
	end
	eq(n, 0, "fork-safe tokens are all different")
	eq(bad, 0, "fork-safe tokens are well-formed")
	local inv = xi.create { type = "account", host = "example.com", now = NOW }
	check(xi.validate { token = inv.token, record = inv.record, now = NOW } ~= nil, "fork-safe invite validates")
	eq(#xi.generate_token("alphanumeric", 40), 40, "fork-safe alphanumeric token")
end
eq(xi.select_rng("os"), true, "select_rng os")
eq(xi.selected_rng(), "os", "back to the OS generator")
eq(xi.check_token(T), true, "check_token")
eq(select(2, xi.check_token("a+b/c=")), "token-bad-length", "check_token length")
eq(select(2, xi.check_token("")), "no-token", "check_token empty")
eq(xi.tokens_equal(T, T), true, "tokens_equal")
eq(xi.tokens_equal(T, T:sub(1, 23) .. "X"), false, "tokens_equal differs")
eq(xi.redact_token(T), "Xb9s…(24)", "redact_token")
eq(xi.parse_period("2 days"), 172800, "parse_period")
eq(xi.parse_period(3600), 3600, "parse_period number")
do
	local none, code = xi.parse_period(-1)
	check(none == nil and code == "invalid-period", "a negative period is refused, not never", none, code)
	none, code = xi.parse_period(-0.5)
	check(none == nil and code == "invalid-period", "a negative fraction is refused", none, code)
	none, code = xi.parse_period(0 / 0)
	check(none == nil and code == "invalid-period", "NaN is refused", none, code)
	none, code = xi.create{ type = "account", host = "example.com", ttl = -3600 }
	check(none == nil and code == "invalid-period", "create refuses a negative ttl", none, code)
end
eq(xi.parse_period(3600 * 1.1), 3960, "fractions of a second are dropped")
eq(xi.parse_period(math.huge), math.huge, "math.huge is never")
eq(xi.expiry("1 week", NOW), NOW + 604800, "expiry")
eq(xi.expiry(math.huge, NOW), xi.NEVER_EXPIRES, "expiry never")
eq(select(2, xi.expiry(1e300, NOW)), "period-overflow", "expiry overflow")
-- A time of creation XEP-0082 cannot write (years 0000 to 9999) is refused.
for _, now in ipairs { -62167219201, xi.NEVER_EXPIRES, math.maxinteger, math.mininteger } do
	local none, code = xi.create{ type = "account", host = "example.com", now = now }
	check(none == nil and code == "datetime-out-of-range", "create refuses now = " .. now, none, code)
end
eq(xi.create{ type = "account", host = "example.com", now = -62167219200, ttl = 0 }.expires,
	-62167219200, "the first second of year 0000 is a time of creation")
eq(xi.datetime(1795856400), "2026-11-28T09:00:00Z", "datetime")
eq(xi.parse_datetime("2026-11-28T09:00:00Z"), 1795856400, "parse_datetime")
eq(select(2, xi.parse_datetime("tomorrow")), "invalid-datetime", "parse_datetime error")
eq(xi.parse_datetime("9999-12-31T23:59:59-01:00"), xi.NEVER_EXPIRES + 3600, "parse_datetime past year 9999 in UTC")
eq(xi.prep_username("Romeo"), "romeo", "prep_username")
eq(select(2, xi.prep_username("a b")), "invalid-username", "prep_username error")
eq(xi.prep_host("MÜNCHEN.example"), "münchen.example", "prep_host")
eq(xi.host_to_ascii("münchen.example"), "xn--mnchen-3ya.example", "host_to_ascii")

-- Each kind, created, validated, admitted, spent.
local kinds = {
	{ type = "account", host = "example.com" },
	{ type = "account", host = "example.com", user = "juliet" },
	{ type = "password-reset", host = "example.com", user = "romeo" },
	{ type = "contact-only", host = "example.com", user = "romeo" },
	{ type = "account-and-contact", host = "example.com", user = "romeo", roles = { "prosody:member" } },
	{ type = "group", host = "example.com", groups = { "family" }, ttl = "2 days" },
}
for _, opts in ipairs(kinds) do
	opts.now = NOW
	opts.landing_page = "https://example.com/invite?{invite.token}"
	local inv, err, msg = xi.create(opts)
	check(inv, "create " .. opts.type, err, msg)
	if inv then
		eq(inv.type, opts.type, "type of " .. opts.type)
		eq(#inv.token, 24, "token of " .. opts.type)
		check(inv.uri:find(inv.token, 1, true), "uri carries the token")
		eq(xi.parse_uri(inv.uri).token, inv.token, "uri parses back")
		if opts.type ~= "password-reset" then
			eq(inv.landing_page, "https://example.com/invite?" .. inv.token, "landing of " .. opts.type)
		else
			eq(inv.landing_page, nil, "resets get no landing page by default")
		end
		local store = {}
		for _, c in ipairs(inv.changes) do
			store[(c.user or "") .. "/" .. c.key] = c.value
		end
		local record = store["/" .. inv.token]
		local contact = opts.user and store[opts.user .. "/" .. inv.token]
		if opts.type == "contact-only" then
			check(record == nil and contact == inv.expires, "contact-only stores only the user-level entry")
			eq(xi.record_pending(inv.record, NOW), false, "a contact-only record is no pending account invite")
			local v = assert(xi.validate{ token = inv.token, contact_expires = contact, inviter = "romeo", now = NOW })
			eq(v.for_subscription, true, "subscription")
			eq(#v:use_changes(), 2, "use removes both keys")
		else
			check(h.deep_equal(record, inv.record), "record stored for " .. opts.type)
			local v = assert(xi.validate{ token = inv.token, record = record, now = NOW + 1 })
			eq(v.type, opts.type, "validated type")
			local username = opts.user or "newbie"
			local adm, gerr, gmsg = xi.registration_gate{ invite = v, username = username, account_exists = opts.type == "password-reset" }
			check(adm, "gate " .. opts.type, gerr, gmsg)
			if adm then
				eq(adm.kind, opts.type == "password-reset" and "password-reset" or "new-account", "admission " .. opts.type)
			end
			local spend = v:use_changes()
			if opts.type == "group" then
				eq(#spend, 0, "a reusable group invite stays")
			else
				check(#spend >= 1 and spend[#spend].op == "delete-record", "spent " .. opts.type)
			end
			eq(xi.record_type(record), opts.type, "record_type")
			-- Pending exactly while its token validates, plain or hashed.
			local hashed = assert(xi.create{ type = opts.type, host = opts.host, user = opts.user,
				groups = opts.groups, ttl = opts.ttl, hash_at_rest = true, now = NOW })
			local hashed_record
			for _, c in ipairs(hashed.changes) do
				if c.user == nil then hashed_record = c.value end
			end
			check(hashed_record.token:find("^sha256:"), "hashed record " .. opts.type)
			for _, r in ipairs({ record, hashed_record }) do
				for _, now in ipairs({ NOW, inv.expires, inv.expires + 1 }) do
					eq(xi.record_pending(r, now), now <= inv.expires, "record_pending " .. opts.type .. " at " .. now)
				end
			end
			local hashed_token_ok = xi.validate{ token = hashed.token, record = hashed_record, now = NOW } ~= nil
			eq(xi.record_pending(hashed_record, NOW), hashed_token_ok, "record_pending agrees with validate")
			local used_up = {}
			for k, val in pairs(record) do used_up[k] = val end
			used_up.max_uses, used_up.uses = 2, 2
			eq(xi.record_pending(used_up, NOW), false, "a used-up record is not pending")
			used_up.uses = 1
			eq(xi.record_pending(used_up, NOW), true, "one use left")
			local back = xi.record_from_json(xi.record_to_json(record))
			check(h.deep_equal(back, record), "json round trip " .. opts.type)
			local form = xi.result_form(inv.uri, inv.landing_page, inv.expires)
			eq(form.fields[1].value, "urn:xmpp:invite#invitation", "FORM_TYPE first")
		end
	end
end

-- Roles in either form.
local set_form = assert(xi.create{ type = "account", host = "example.com", roles = { "prosody:admin" }, roles_form = "set", now = NOW })
check(h.deep_equal(set_form.record.additional_data.roles, { ["prosody:admin"] = true }), "legacy set form")
local list_form = assert(xi.create{ type = "account", host = "example.com", roles = { "a", "b" }, now = NOW })
check(h.deep_equal(list_form.record.additional_data.roles, { "a", "b" }), "list form")

local passed_through = assert(xi.create{ type = "account", host = "example.com", additional_data = { lang = "de", roles = { ["x"] = true } }, now = NOW })
check(h.deep_equal(passed_through.record.additional_data, { lang = "de", roles = { x = true } }), "additional_data passed through")
eq(select(2, xi.create{ type = "account", host = "example.com", additional_data = { roles = 5 } }), "invalid-record", "bad additional_data")

-- Tokens kept hashed at rest: nothing stored holds the token.
for _, kind in ipairs({ { type = "account" }, { type = "contact-only", user = "romeo" }, { type = "account-and-contact", user = "romeo" } }) do
	local inv = assert(xi.create{ type = kind.type, user = kind.user, host = "example.com", hash_at_rest = true, now = NOW })
	local key = xi.storage_key(inv.token, true)
	check(key:match("^sha256:") and #key == 50, "hashed key")
	eq(xi.storage_key(inv.token), inv.token, "plain key")
	local stored
	for _, c in ipairs(inv.changes) do
		eq(c.key, key, "stored under the hash: " .. kind.type)
		if c.op == "put-record" then stored = c.value end
		check(not (type(c.value) == "table" and xi.record_to_json(c.value):find(inv.token, 1, true)), "no token at rest")
	end
	check(stored and stored.uri == nil, "no URI at rest: " .. kind.type)
	local v = assert(xi.validate{ token = inv.token, record = stored, inviter = kind.user, now = NOW })
	for _, c in ipairs(v:use_changes()) do eq(c.key, key, "spent under the hash") end
	check(xi.validate{ token = key:sub(8), record = stored, inviter = kind.user, now = NOW } == nil, "the hash is no token")
end
eq(select(2, xi.storage_key("x")), "token-bad-length", "storage_key checks the shape")

-- Refusals with reasons.
local bound = assert(xi.create{ type = "account", host = "example.com", user = "juliet", now = NOW })
local v = assert(xi.validate{ token = bound.token, record = bound.record, now = NOW })
local adm, err, msg = xi.registration_gate{ invite = v, username = "mallory" }
check(adm == nil and err == "username-mismatch" and msg == "The chosen username is not valid with this invitation", "bound username enforced", err, msg)
adm, err, msg = xi.registration_gate{ username = "mallory" }
eq(msg, "Registration on this server is through invitation only", "invite-only text")
eq(select(2, xi.validate{ token = bound.token, record = bound.record, now = bound.expires + 1 }), "token-expired", "expired")
eq(select(2, xi.validate{ token = "", record = bound.record }), "no-token", "no token")
check(xi.reserved_by("Juliet", { bound.record }, NOW) ~= nil, "bound name reserved")
eq(xi.reserved_by("juliet", { bound.record }, NOW, bound.token), false, "not by its own invite")

-- Quotas.
local history = {
	{ inviter = "alice", type = "account-and-contact", created_at = 0, expires = NOW + 10, redeemed_by = "bob" },
	{ inviter = "alice", type = "account-and-contact", created_at = 0, expires = NOW + 10 },
}
eq(select(2, xi.check_quota{ quotas = { max_invites = 2 }, requester = "alice", type = "account-and-contact", history = history, now = NOW }), "max-invites", "quota cap")
eq(xi.check_quota{ quotas = { max_invites = 2 }, requester = "alice", is_admin = true, type = "account-and-contact", history = history, now = NOW }, true, "admins exempt")
eq(xi.check_quota{ quotas = "ejabberd", requester = "alice", type = "contact-only", history = history, now = NOW }, true, "ejabberd preset")
do -- a JID is no username: refused, not let past the cap
	local ok, code = xi.check_quota{ quotas = { max_invites = 2 }, requester = "alice@example.com", type = "account-and-contact", history = history, now = NOW }
	check(ok == nil and code == "invalid-username", "quota requester must be a username", ok, code)
end
do -- wrong fields inside quotas and history are errors that name them
	local function raises(opts, name)
		local ok, err = pcall(xi.check_quota, opts)
		check(not ok and tostring(err):find("'" .. name .. "'", 1, true), "check_quota names " .. name, err)
	end
	local base = { quotas = {}, requester = "alice", type = "account", now = NOW }
	local function with(k, v)
		local t = {}
		for bk, bv in pairs(base) do t[bk] = bv end
		t[k] = v
		return t
	end
	raises(with("quotas", { chain_depth = 1, chain_window = "abc" }), "opts.quotas.chain_window")
	raises(with("quotas", { chain_depth = 1, chain_window = -5 }), "opts.quotas.chain_window")
	raises(with("quotas", { max_invites = "abc" }), "opts.quotas.max_invites")
	raises(with("quotas", { max_invites = -1 }), "opts.quotas.max_invites")
	raises(with("history", { { type = true } }), "opts.history[1].type")
	raises(with("history", { { type = "account" }, { type = "account", created_at = "x" } }), "opts.history[2].created_at")
	-- A chain window is honoured: a chain one deep within it is refused, past it allowed.
	local chain = { { inviter = "bob", type = "account-and-contact", created_at = NOW - 100, expires = NOW + 10, redeemed_by = "alice" } }
	local quotas = { chain_depth = 1, chain_window = 50 }
	eq(xi.check_quota{ quotas = quotas, requester = "alice", type = "account", history = chain, now = NOW }, true, "chain older than the window")
	quotas.chain_window = 500
	check(xi.check_quota{ quotas = quotas, requester = "alice", type = "account", history = chain, now = NOW } == nil, "chain within the window")
end

-- Policy objects.
local p = xi.policy{ host = "example.com", allow_user_invites_by_roles = { "trusted" } }
eq(p.host, "example.com", "policy host")
eq(p:contact_invite("alice@example.com/phone", { roles = { "trusted" } }), "account-and-contact", "trusted role invites new users")
eq(select(2, p:decide("eve@evil.example", "contact-only")), "other-host", "other host")
eq(select(2, p:decide("eve@evil.example", "account")), "other-host", "other host, account")
eq(p:decide("root@other.example", "account", { admin = true }), true, "an admin of this host homed elsewhere")
eq(select(2, p:decide("root@other.example", "contact-only", { admin = true })), "other-host", "but no contact invites")
eq(p:may_invite_new_users("root@example.com", { admin = true }), true, "admins")
eq(select(2, p:contact_invite("root@example.com", { admin = true, may_invite_users = false })), "permission", "the host's permission over admin")

-- Landing links, fragments, forms.
eq(xi.landing_link("https://{host}/i/{invite.token}", "example.com", bound.record), "https://example.com/i/" .. bound.token, "landing_link")
local reset = assert(xi.create{ type = "password-reset", host = "example.com", user = "romeo", now = NOW })
eq(xi.landing_link("x", "example.com", reset.record), false, "unsupported type")
eq(xi.landing_link("x{invite.type}", "example.com", reset.record, { "password-reset" }), "xregister", "supports list")
eq(select(2, xi.landing_link("x", "example.com", reset.record, { "nope" })), "unknown-invite-type", "bad supports name")
eq(xi.fragment_link("https://i.example/", "xmpp:a%3Fb@example.com?roster;preauth=" .. T), "https://i.example/#a%3Fb@example.com?roster;preauth=" .. T, "fragment_link")
eq(xi.create_account_form(true).fields[1].required, true, "create-account form")
eq(xi.password_reset_form().fields[1].var, "accountjid", "reset form")
local sub = xi.parse_create_account_submission({ username = "Juliet", ["roster-subscription"] = "1" }, true)
check(sub.username == "juliet" and sub.roster_subscription == true, "submission")
eq(select(2, xi.parse_create_account_submission({}, true)), "missing-field", "missing username")
eq(xi.parse_password_reset_submission({ accountjid = { "Romeo@example.com" } }), "romeo@example.com", "reset submission")

-- Prosody 13 never-expiring invites -----------------------------------------------
-- With invite_expiry = "never", Prosody 13 stores os.time() + math.huge as
-- `expires` of the host-level record and as the inviter's user-level entry.
-- It reads as "never expires" and is written back as NEVER_EXPIRES (a number
-- Prosody 0.12 and 13 both compare, and JSON can hold), never as nil or inf.
-- -math.huge and NaN stay invalid.
do
	local FAR = xi.NEVER_EXPIRES
	local AT = "rOTQpK5Ayzgzmo0p-InC6j9q" -- an account invite
	local CT = "EcuaIHblxEcxf-A5duTy_3PC" -- a contact invite that allows registration
	-- Records in the shape of Prosody 13's create_invite.
	local function account(expires)
		return { type = "register", jid = "example.com", token = AT, allow_registration = true,
			additional_data = { roles = {}, groups = {} }, uri = "xmpp:example.com?register;preauth=" .. AT,
			created_at = NOW, expires = expires }
	end
	local function contact(expires)
		return { type = "roster", jid = "romeo@example.com", token = CT, allow_registration = true,
			uri = "xmpp:romeo@example.com?roster;preauth=" .. CT .. ";ibr=y", created_at = NOW, expires = expires }
	end
	local never = account(NOW + math.huge)
	eq(never.expires, math.huge, "os.time() + math.huge is math.huge")
	for _, now in ipairs({ NOW, NOW + 100 * 31556952, FAR }) do
		local v, err, msg = xi.validate{ token = AT, record = never, now = now }
		check(v, "math.huge never expires, now = " .. now, err, msg)
		if v then
			eq(v.type, "account", "math.huge: type")
			eq(v.expires, FAR, "math.huge: the validated invite expires never")
			eq(v.record.expires, FAR, "math.huge: its record says NEVER_EXPIRES, not nil")
		end
	end
	eq(xi.record_type(never), "account", "record_type reads math.huge")
	local json, jerr = xi.record_to_json(never)
	check(json and json:find('"expires":253402300799', 1, true), "written to JSON as NEVER_EXPIRES", json or jerr)
	local back = json and xi.record_from_json(json)
	eq(back and back.expires, FAR, "and read back")
	check(json and h.json.decode(json), "valid JSON for Prosody's SQL storage")
	eq(xi.landing_link("https://{host}/i/{invite.token}", "example.com", never), "https://example.com/i/" .. AT, "landing_link reads math.huge")
	local bound = account(math.huge)
	bound.jid = "juliet@example.com"
	local held = xi.reserved_by("juliet", { bound }, NOW)
	eq(held and held.expires, FAR, "a bound math.huge invite reserves its name")

	-- A roster invite: the host-level record and the user-level entry (a
	-- refused user-level entry used to raise, hence pcall).
	local ok, v, err = pcall(xi.validate, { token = CT, record = contact(math.huge), now = NOW })
	check(ok and v and v.inviter == "romeo" and v.expires == FAR, "math.huge roster record for registration", v, err)
	ok, v, err = pcall(xi.validate, { token = CT, record = contact(math.huge), contact_expires = math.huge, inviter = "romeo", now = NOW })
	check(ok and v and v.for_subscription and v.expires == FAR, "math.huge user-level entry for a subscription", v, err)
	ok, v, err = pcall(xi.validate, { token = CT, contact_expires = math.huge, inviter = "romeo", now = NOW })
	check(ok and v and v.type == "contact-only" and v.expires == FAR, "math.huge user-level entry alone", v, err)
	ok, v, err = pcall(xi.validate, { token = CT, record = contact(NOW + 10), contact_expires = math.huge, inviter = "romeo", now = NOW + 11 })
	check(ok and v, "the user-level entry decides a subscription", v, err)

	-- -inf and NaN are no expiry times.
	for name, bad in pairs({ ["-math.huge"] = -math.huge, ["0/0"] = 0 / 0 }) do
		local r = account(bad)
		local nv, code = xi.validate{ token = AT, record = r, now = NOW }
		check(nv == nil and code == "invalid-record", "record.expires = " .. name .. " is invalid", code)
		eq(select(2, xi.record_to_json(r)), "invalid-record", "record_to_json refuses expires = " .. name)
		eq(select(2, xi.record_type(r)), "invalid-record", "record_type refuses expires = " .. name)
		eq(select(2, xi.landing_link("x", "example.com", r)), "invalid-record", "landing_link refuses expires = " .. name)
		r = contact(bad)
		nv, code = xi.validate{ token = CT, record = r, now = NOW }
		check(nv == nil and code == "invalid-record", "roster record.expires = " .. name .. " is invalid", code)
		local raised, e = pcall(xi.validate, { token = CT, contact_expires = bad, inviter = "romeo", now = NOW })
		check(not raised and tostring(e):find("bad argument 'opts.contact_expires'", 1, true), "contact_expires = " .. name .. " is a bad argument", e)
	end
end

-- Bad input sweep ---------------------------------------------------------------
local big = string.rep("a", 1024 * 1024)
local bad_values = { false, true, 0, -1, 1.5, math.huge, {}, { 1, 2 }, { x = {} }, "", big, "\255\254\253", "a\0b", print }
local calls, errors, failures = 0, 0, 0
local function try(label, f, ...)
	calls = calls + 1
	local ok, a, b, c = pcall(f, ...)
	if ok then
		if a == nil then
			failures = failures + 1
			check(type(b) == "string" and #b > 0 and type(c) == "string", "nil, code, message from " .. label, b)
		end
	else
		errors = errors + 1
		-- Lua 5.1 and LuaJIT carry mlua's errors as userdata with __tostring.
		-- (mlua itself names a method's receiver `self`.)
		local text = tostring(a)
		check(text:find("bad argument '", 1, true) or text:find("bad argument `self`", 1, true), "error names the argument: " .. label, a)
	end
end
local names = {}
for name, f in pairs(xi) do
	if type(f) == "function" then names[#names + 1] = name end
end
table.sort(names)
check(#names >= 30, "all functions found")
for _, name in ipairs(names) do
	local f = xi[name]
	try(name .. "()", f)
	for pos = 1, 4 do
		for _, bad in ipairs(bad_values) do
			local args = { "example.com", "example.com", NOW, nil }
			args[pos] = bad
			try(name .. " arg " .. pos, f, args[1], args[2], args[3], args[4])
		end
	end
end
-- Every option of the option-table functions, with every bad value.
local option_functions = {
	create = { "type", "host", "user", "ttl", "additional_data", "reusable", "hash_at_rest", "roles", "roles_form", "groups", "source", "note", "max_uses", "token_format", "token_size", "landing_page", "landing_page_supports", "now" },
	validate = { "token", "record", "contact_expires", "inviter", "now" },
	registration_gate = { "invite", "invite_only", "username", "account_exists", "reserved" },
	check_quota = { "quotas", "requester", "is_admin", "type", "history", "now" },
	policy = { "preset", "host", "allow_user_invites", "allow_contact_invites", "allow_user_invites_by_roles", "deny_user_invites_by_roles" },
	build_uri = { "localpart", "host", "action", "token", "ibr" },
}
local good = {
	create = { type = "account", host = "example.com" },
	validate = { token = T, record = bound.record },
	registration_gate = { username = "romeo" },
	check_quota = { quotas = {}, requester = "alice", type = "account" },
	policy = { host = "example.com" },
	build_uri = { host = "example.com", action = "register", token = T },
}
for name, fields in pairs(option_functions) do
	for _, field in ipairs(fields) do
		for _, bad in ipairs(bad_values) do
			local opts = {}
			for k, val in pairs(good[name]) do opts[k] = val end
			opts[field] = bad
			try(name .. " opts." .. field, xi[name], opts)
		end
	end
end
-- Methods, with bad values too.
for _, bad in ipairs(bad_values) do
	try("policy:decide", p.decide, p, bad, "account")
	try("policy:decide type", p.decide, p, "a@example.com", bad)
	try("policy:contact_invite", p.contact_invite, p, "a@example.com", bad)
	try("policy:may_invite_new_users", p.may_invite_new_users, p, bad)
	for _, field in ipairs({ "admin", "roles", "may_invite_users" }) do
		try("policy:contact_invite who." .. field, p.contact_invite, p, "a@example.com", { [field] = bad })
	end
	try("use_changes", v.use_changes, bad)
end
-- A record table shaped wrong in every field.
for _, field in ipairs({ "type", "jid", "token", "allow_registration", "additional_data", "uri", "created_at", "expires", "reusable", "max_uses", "uses" }) do
	for _, bad in ipairs(bad_values) do
		local r = {}
		for k, val in pairs(bound.record) do r[k] = val end
		r[field] = bad
		try("record." .. field, xi.validate, { token = bound.token, record = r, now = NOW })
		try("record_to_json record." .. field, xi.record_to_json, r)
	end
end
-- A table that contains itself.
local loop = { type = "register", jid = "example.com", token = T }
loop.additional_data = loop
try("recursive record", xi.record_to_json, loop)
check(calls > 1000 and errors > 0 and failures > 0, "the sweep ran", calls, errors, failures)

-- The interpreter and the module still work.
collectgarbage()
local after = xi.create{ type = "account", host = "example.com" }
check(after and #after.token == 24, "module still works after the sweep")

-- Loaded a second time (package.loaded cleared), the module keeps treating
-- the invites validated before as its own, and each load takes the other's.
do
	local inv = assert(xi.create{ type = "account", host = "example.com", user = "juliet", now = NOW })
	local before = assert(xi.validate{ token = inv.token, record = inv.record, now = NOW })
	package.loaded.xmpp_invites = nil
	local again = require "xmpp_invites"
	check(again ~= xi, "a second load is a new module table")
	eq(before.token, inv.token, "reloaded: an earlier invite keeps its token")
	eq(before.type, "account", "reloaded: and its type")
	eq(before.bound_username, "juliet", "reloaded: and its bound username")
	check(type(before:use_changes()) == "table" and #before:use_changes() > 0, "reloaded: and use_changes")
	eq(select(2, again.registration_gate{ invite = before, username = "mallory" }), "username-mismatch", "the new load gates an earlier invite")
	check(again.registration_gate{ invite = before, username = "juliet" }, "and admits its bound name")
	local after = assert(again.validate{ token = inv.token, record = inv.record, now = NOW })
	check(xi.registration_gate{ invite = after, username = "juliet" }, "the first load admits an invite of the second")
	package.loaded.xmpp_invites = xi
end

-- The debug library can reach create's table of interned keys (an
-- upvalue; Lua 5.1 refuses getupvalue on C functions) and the registry.
-- Meddling there must neither crash nor raise from inside the module, nor
-- leak; create still answers in full.
do
	local function full(inv, what)
		check(type(inv) == "table" and #inv.token == 24 and inv.uri:find(inv.token, 1, true)
			and inv.expires == NOW + 604800 and inv.type == "account" and inv.record.token == inv.token
			and inv.changes[1].op == "put-record" and inv.changes[1].key == inv.token, what, inv)
		local keys = {}
		for k in pairs(inv) do keys[#keys + 1] = type(k) == "string" and k or ("<" .. type(k) .. ">") end
		table.sort(keys)
		eq(table.concat(keys, ","), "changes,expires,landing_page,record,token,type,uri", what .. ": keys")
	end
	local opts = { type = "account", host = "example.com", landing_page = "https://example.com/{invite.token}", now = NOW }
	local _, keys = debug.getupvalue(xi.create, 1)
	if type(keys) == "table" then
		local saved = {}
		for i, v in ipairs(keys) do saved[i] = v end
		keys[1] = 0 / 0; keys[3] = nil; keys[4] = {}; keys[5] = true
		full(xi.create(opts), "create with its keys table meddled with")
		for i = 1, #saved do keys[i] = saved[i] end
		debug.setupvalue(xi.create, 1, 12345)
		full(xi.create(opts), "create with a number for its keys table")
		debug.setupvalue(xi.create, 1, keys)
		full(xi.create(opts), "create with its keys table back")
	end
	local reg = debug.getregistry()
	local mt_key, mt
	for k, v in pairs(reg) do
		if type(v) == "table" and rawget(v, "__name") == "LuaValidInvite" then mt_key, mt = k, v end
	end
	check(mt_key ~= nil, "the validated invites' metatable is in the registry")
	if mt_key ~= nil then
		local inv = xi.create(opts)
		reg[mt_key] = 12345
		local valid = xi.validate{ token = inv.token, record = inv.record, now = NOW }
		check(type(valid) == "userdata" and not pcall(function () return valid.token end),
			"a validated invite without its metatable is an empty userdata", valid)
		check(not pcall(xi.registration_gate, { invite = valid, username = "juliet" }), "that nothing takes for an invite")
		reg[mt_key] = mt
		valid = xi.validate{ token = inv.token, record = inv.record, now = NOW }
		eq(valid.token, inv.token, "validate with the metatable back")
	end
end

h.summary()
