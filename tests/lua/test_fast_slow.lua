-- create, validate, datetime, check_token, redact_token, build_uri and landing_link have a fast path
-- on the raw Lua C API and hand anything unusual to the mlua
-- implementation (the slow path). This suite
-- runs the same cases in this process and in a child started with
-- XMPP_INVITES_LUA_SLOW_PATH=1 (every call on the slow path) and compares
-- what came out: values, nil/code/message, error texts with tracebacks.
-- In-process, it also checks that tables built by both paths iterate
-- their keys in the same order (same sizes, same insertion order).
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local h = require "harness"
local xi = require "xmpp_invites"
local check, eq = h.check, h.eq

local NOW = 1795268421
local HOST = "example.com"

-- Child mode, with XMPP_INVITES_LUA_FAST_ONLY=1: the calls of
-- bindings/prosody/*.lua per invite, in their shapes, each on the fast path
-- (a call it hands on raises), then one it hands on.
if arg[1] == "--fast-only" then
	local made = {}
	for _, data in ipairs({ false, {}, { source = "romeo@example.com" }, { groups = { "g" }, roles = { "prosody:admin" } }, { roles = { ["prosody:admin"] = true } } }) do
		for _, t in ipairs({ "account", "password-reset", "contact-only", "account-and-contact" }) do
			-- (A reset with roles is refused, which the slow path says.)
			if not (t == "password-reset" and data and data.roles) then
				local user = t ~= "account" and "romeo" or nil
				made[#made + 1] = xi.create{ type = t, user = user, additional_data = data or nil, ttl = 3600, host = HOST, hash_at_rest = false }
			end
		end
	end
	made[#made + 1] = xi.create{ type = "group", groups = { "g" }, additional_data = {}, ttl = 3600, reusable = true, host = HOST, hash_at_rest = true }
	for _, inv in ipairs(made) do
		for _, supports in ipairs({ false, { "account", "contact-only", "password-reset" } }) do
			assert(xi.landing_link("https://{host}/invite?{invite.token}", HOST, inv.record, supports or nil) ~= nil)
		end
		assert(xi.check_token(inv.token) == true)
		assert(xi.redact_token(inv.token))
		for _, change in ipairs(inv.changes) do
			if change.op == "put-record" then
				assert(xi.validate{ token = inv.token, record = change.value, contact_expires = nil, inviter = nil, now = os.time() })
			elseif change.op == "put-contact-expiry" then
				assert(xi.validate{ token = inv.token, record = nil, contact_expires = change.value, inviter = change.user, now = os.time() })
			end
		end
		assert(xi.datetime(inv.expires))
	end
	print("fast: " .. #made)
	print(select(2, pcall(xi.create, { type = "account", host = HOST, token_format = "alphanumeric" })))
	os.exit(0)
end

-- Canonical text of a value: sorted keys, tokens and addresses replaced.
local tokens = {}
local function scrub(s)
	-- A token after a percent-encoded "=" is still a token.
	s = s:gsub("%%3[dD]", "%%3D ")
	s = s:gsub("sha256:[%w_%-]+", tokens):gsub("[%w_%-]+", tokens)
	return (s:gsub("0x%x+", "0xADDR"))
end
local function canon(v, seen)
	seen = seen or {}
	local t = type(v)
	if t == "string" then return ("%q"):format(scrub(v)) end
	if t == "number" then
		if v == math.huge then return "inf" end
		if v == math.floor(v) and v > -2^53 and v < 2^53 then return ("%d"):format(v) end
		return ("%.17g"):format(v)
	end
	if t ~= "table" then return t == "userdata" and "userdata" or tostring(v) end
	if seen[v] then return "<cycle>" end
	seen[v] = true
	local keys = {}
	for k in pairs(v) do keys[#keys + 1] = k end
	table.sort(keys, function(a, b)
		if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
		return type(a) < type(b)
	end)
	local parts = {}
	for _, k in ipairs(keys) do parts[#parts + 1] = canon(k, seen) .. "=" .. canon(v[k], seen) end
	seen[v] = nil
	return "{" .. table.concat(parts, ",") .. "}"
end

local function remember(inv)
	if type(inv) == "table" and type(inv.token) == "string" then
		local n = 0
		for _ in pairs(tokens) do n = n + 1 end
		tokens[inv.token] = "<T" .. n .. ">"
		tokens[xi.storage_key(inv.token, true)] = "<H" .. n .. ">"
	end
end

-- A validated invite, as text: every field and its use_changes.
local function valid_text(v)
	local fields = {}
	for _, f in ipairs({ "token", "type", "inviter", "bound_username", "reset_username", "expires",
		"reusable", "for_subscription", "additional_data", "record", "nosuch" }) do
		fields[#fields + 1] = f .. "=" .. canon(v[f])
	end
	fields[#fields + 1] = "use_changes=" .. canon(v:use_changes())
	fields[#fields + 1] = "tostring=" .. scrub(tostring(v))
	return "valid{" .. table.concat(fields, ";") .. "}"
end

local function outcome(f, ...)
	local r = (function(...) return { n = select("#", ...), ... } end)(pcall(f, ...))
	if not r[1] then return "error " .. scrub(tostring(r[2])) end
	local parts = {}
	for i = 2, r.n do
		local v = r[i]
		remember(v)
		parts[#parts + 1] = type(v) == "userdata" and valid_text(v) or canon(v)
	end
	return table.concat(parts, " | ")
end

-- The cases --------------------------------------------------------------------
local lines = {}
local function case(label, f, ...)
	lines[#lines + 1] = (label .. " => " .. outcome(f, ...)):gsub("\n", "\\n")
end

local T = "Xb9sT2vR7qLm4KpZ8wYd1eFg"
tokens[T] = "<T>"
local big = string.rep("a", 4096)
local bad_values = { false, true, 0, -1, 1.5, 2^63, math.huge, -math.huge, {}, { 1, 2 }, { x = {} }, "", "x", big, "\255\254", "a\0b", print }

-- create: each option present and absent, good and bad.
local base_create = {
	{ type = "account", host = HOST },
	{ type = "account", host = HOST, user = "juliet" },
	{ type = "password-reset", host = HOST, user = "romeo" },
	{ type = "contact-only", host = HOST, user = "romeo" },
	{ type = "account-and-contact", host = HOST, user = "romeo" },
	{ type = "group", host = HOST, groups = { "family", "friends" } },
}
local extras = {
	{},
	{ ttl = 3600 }, { ttl = "2 days" }, { ttl = "1m" }, { ttl = math.huge }, { ttl = -1 }, { ttl = 1e300 }, { ttl = 3600.0 }, { ttl = 3600.5 },
	{ landing_page = "https://example.com/invite?{invite.token}" },
	{ landing_page = "https://{host}/{invite.type}/{invite.token}", landing_page_supports = { "account" } },
	{ landing_page_supports = 5 },
	{ reusable = true }, { reusable = false }, { hash_at_rest = true }, { hash_at_rest = false },
	{ source = "romeo@example.com", note = "for Juliet" },
	{ max_uses = 5 }, { max_uses = 0 }, { max_uses = -1 }, { max_uses = 2^32 },
	{ roles = { "prosody:member" } }, { roles = { "a", "b" }, roles_form = "list" }, { roles = { "prosody:admin" }, roles_form = "set" },
	{ roles = {}, roles_form = 5 }, { roles = { "a" }, roles_form = "bag" }, { roles = { 1 } }, { roles = { "a", nil, "b" } },
	{ groups = { "g1" } }, { groups = {} }, { groups = "g" },
	{ additional_data = { lang = "de" } }, { additional_data = { roles = { x = true } }, roles = { "y" } },
	-- What the Prosody modules pass (generate's, the ad-hoc commands', the
	-- shells'), then every shape near them.
	{ additional_data = {} }, { additional_data = { source = "romeo@example.com" } },
	{ additional_data = { groups = { "g1", "g2" }, roles = { "prosody:admin" } } },
	{ additional_data = { roles = { ["prosody:admin"] = true, ["prosody:member"] = true } } },
	{ additional_data = { source = "a", note = "n", allow_reset = "romeo", roles = { "x" }, groups = { "g" } }, source = "b", note = "m", roles = { "y" }, groups = { "h" } },
	{ additional_data = { roles = {} } }, { additional_data = { roles = { [2] = "b", [1] = "a" } } }, { additional_data = { roles = { [3] = "c" } } },
	{ additional_data = { roles = { "a", nil, "b" } } }, { additional_data = { roles = { x = true, y = false } } }, { additional_data = { roles = { x = false } } },
	{ additional_data = { roles = { x = 1 } } }, { additional_data = { roles = { "a", x = true } } }, { additional_data = { roles = { ["\255"] = true } } },
	{ additional_data = { roles = { "\255" } } }, { additional_data = { groups = {} } }, { additional_data = { groups = { g = true } } },
	{ additional_data = { groups = { "g", [3] = "h" } } }, { additional_data = { groups = "g" } }, { additional_data = { source = 5 } },
	{ additional_data = { [1] = "x" } }, { additional_data = { source = "s", lang = "de" } }, { additional_data = "x" },
	{ additional_data = { roles = "prosody:admin" } }, { additional_data = { roles = 5 } }, { additional_data = { groups = 5 } },
	{ additional_data = setmetatable({}, { __index = { source = "s" } }) },
	{ token_format = "alphanumeric" }, { token_format = "base64url", token_size = 24 }, { token_size = 0 },
	{ user = "Juliet" }, { user = "a b" }, { host = "MÜNCHEN.example" }, { host = "bad host" },
	{ now = 1 }, { now = NOW + 0.0 }, { now = 0.5 },
	{ [1] = "ignored", [true] = "ignored", unknown = "ignored" },
}
for bi, base in ipairs(base_create) do
	for ei, extra in ipairs(extras) do
		local opts = { now = NOW }
		for k, v in pairs(base) do opts[k] = v end
		for k, v in pairs(extra) do opts[k] = v end
		case(("create %d/%d"):format(bi, ei), xi.create, opts)
	end
end
for _, field in ipairs({ "type", "host", "user", "ttl", "additional_data", "reusable", "hash_at_rest", "roles", "roles_form", "groups", "source", "note", "max_uses", "token_format", "token_size", "landing_page", "landing_page_supports", "now" }) do
	for i, bad in ipairs(bad_values) do
		local opts = { type = "account-and-contact", host = HOST, user = "romeo", now = NOW }
		opts[field] = bad
		case(("create bad %s %d"):format(field, i), xi.create, opts)
	end
end
case("create no args", xi.create)
case("create nil", xi.create, nil)
case("create string", xi.create, "x")
case("create extra args", xi.create, { type = "account", host = HOST, now = NOW }, 1, 2, 3)
case("create opts with a metatable", xi.create, setmetatable({ type = "account", now = NOW }, { __index = { host = HOST } }))

-- The fast path keeps the landing page it compiled last: another template
-- must replace it, and the first one give its own links again.
for _, template in ipairs({ "https://a.example/{invite.token}", "https://b.example/?t={invite.token}&h={host}",
	"https://a.example/{invite.token}" }) do
	local inv = assert(xi.create{ type = "account", host = HOST, landing_page = template, now = NOW })
	local want = template:gsub("{invite.token}", inv.token):gsub("{host}", HOST)
	eq(inv.landing_page, want, "landing link from " .. template)
	eq(inv.record.landing_page, want, "record's landing link from " .. template)
end

-- validate: records of every kind, then broken in every field.
local made = {}
for _, base in ipairs(base_create) do
	local opts = { now = NOW, landing_page = "https://example.com/i/{invite.token}", source = "s", note = "n", roles = { "r" } }
	for k, v in pairs(base) do opts[k] = v end
	local inv = xi.create(opts)
	if inv then
		made[#made + 1] = inv
		remember(inv)
	end
end
check(#made >= 5, "invites of each kind made")
made[#made + 1] = assert(xi.create{ type = "account", host = HOST, roles = { "admin" }, roles_form = "set", max_uses = 3, now = NOW })
remember(made[#made])
made[#made + 1] = assert(xi.create{ type = "account", host = HOST, additional_data = { lang = "de" }, now = NOW })
remember(made[#made])
made[#made + 1] = assert(xi.create{ type = "account-and-contact", host = HOST, user = "romeo", hash_at_rest = true, now = NOW })
remember(made[#made])

local function copy(t)
	local c = {}
	for k, v in pairs(t) do c[k] = v end
	return c
end
for i, inv in ipairs(made) do
	local rec = inv.changes[1] and inv.changes[1].op == "put-record" and inv.changes[1].value or inv.record
	local contact
	for _, c in ipairs(inv.changes) do
		if c.op == "put-contact-expiry" then contact = c.value end
	end
	for _, when in ipairs({ NOW, NOW + 1, inv.expires, inv.expires + 1 }) do
		case(("validate %d reg %d"):format(i, when - NOW), xi.validate, { token = inv.token, record = rec, now = when })
		case(("validate %d sub %d"):format(i, when - NOW), xi.validate, { token = inv.token, record = rec, contact_expires = contact, inviter = "romeo", now = when })
		case(("validate %d contact %d"):format(i, when - NOW), xi.validate, { token = inv.token, contact_expires = contact or inv.expires, inviter = "Romeo", now = when })
	end
	case(("validate %d other token"):format(i), xi.validate, { token = T, record = rec, now = NOW })
	case(("validate %d wrong inviter"):format(i), xi.validate, { token = inv.token, record = rec, inviter = "juliet", now = NOW })
	case(("validate %d record with a metatable"):format(i), xi.validate, { token = inv.token, record = setmetatable(copy(rec), { __index = { expires = 1 } }), now = NOW })
	local partial = copy(rec)
	partial.expires = nil
	case(("validate %d record without expires, via a metatable"):format(i), xi.validate, { token = inv.token, record = setmetatable(partial, { __index = { expires = NOW + 5 } }), now = NOW })
	local huge = copy(rec)
	for n = 1, 5000 do huge[n] = n end
	case(("validate %d huge record"):format(i), xi.validate, { token = inv.token, record = huge, now = NOW })
	local extra = copy(rec)
	extra.custom = { a = 1 }
	case(("validate %d record with an unknown key"):format(i), xi.validate, { token = inv.token, record = extra, now = NOW })
	case(("validate %d opts with a metatable"):format(i), xi.validate, setmetatable({ record = rec, now = NOW }, { __index = { token = inv.token } }))
end
local bound = made[2]
local base_record = bound.record
for _, field in ipairs({ "type", "jid", "token", "allow_registration", "additional_data", "uri", "created_at", "expires", "reusable", "landing_page", "max_uses", "uses" }) do
	for i, bad in ipairs(bad_values) do
		local r = copy(base_record)
		r[field] = bad
		case(("validate record.%s bad %d"):format(field, i), xi.validate, { token = bound.token, record = r, now = NOW })
	end
	local r = copy(base_record)
	r[field] = nil
	case(("validate record.%s absent"):format(field), xi.validate, { token = bound.token, record = r, now = NOW })
end
for i, ad in ipairs({
	{}, { roles = {} }, { roles = { "a", "b" } }, { roles = { [2] = "b", [1] = "a" } }, { roles = { [3] = "c" } }, { roles = { x = true, y = false } },
	{ roles = { x = false } }, { roles = { x = 1 } }, { roles = { [1.5] = "a" } }, { roles = { "a", x = true } }, { groups = {} }, { groups = { "g" } },
	{ groups = "g" }, { groups = { g = true } }, { source = "s", note = "n", allow_reset = "romeo" }, { source = 5 }, { lang = "de" }, { [1] = "x" },
	{ roles = { ["\255"] = true } },
}) do
	local r = copy(base_record)
	r.additional_data = ad
	case(("validate additional_data %d"):format(i), xi.validate, { token = bound.token, record = r, now = NOW })
end
for _, field in ipairs({ "token", "record", "contact_expires", "inviter", "now" }) do
	for i, bad in ipairs(bad_values) do
		local opts = { token = bound.token, record = base_record, now = NOW }
		opts[field] = bad
		case(("validate bad %s %d"):format(field, i), xi.validate, opts)
	end
end
case("validate integer token", xi.validate, { token = 123456789012345678, record = base_record, now = NOW })
case("validate no args", xi.validate)
case("validate number", xi.validate, 5)
case("validate extra args", xi.validate, { token = bound.token, record = base_record, now = NOW }, "x", {})
case("validate float now", xi.validate, { token = bound.token, record = base_record, now = NOW + 0.0 })
case("validate float expires", xi.validate, { token = bound.token, record = (function() local r = copy(base_record); r.expires = r.expires + 0.0; return r end)(), now = NOW })

-- build_uri: good and bad fields, and every failure.
local base_uri = { host = HOST, action = "register", token = T }
for _, extra in ipairs({
	{}, { action = "roster", localpart = "juliet" }, { localpart = "Juliet" }, { localpart = "a?b&c;d" }, { localpart = "" },
	{ localpart = "a b" }, { ibr = true }, { ibr = false }, { ibr = "y" }, { action = "roster", ibr = true },
	{ action = "x" }, { action = "Register" }, { host = "MÜNCHEN.example" }, { host = "bad host" }, { host = "" },
	{ host = "[::1]" }, { token = "short" }, { token = T .. "!" }, { token = string.rep("A", 200) }, { token = 123456789012345678 },
	{ localpart = 5 }, { [1] = "ignored", unknown = "ignored" },
}) do
	local opts = copy(base_uri)
	for k, v in pairs(extra) do opts[k] = v end
	case(("build_uri %s"):format(canon(extra)), xi.build_uri, opts)
end
for _, field in ipairs({ "host", "action", "token", "localpart", "ibr" }) do
	for i, bad in ipairs(bad_values) do
		local opts = copy(base_uri)
		opts[field] = bad
		case(("build_uri bad %s %d"):format(field, i), xi.build_uri, opts)
	end
	local opts = copy(base_uri)
	opts[field] = nil
	case(("build_uri no %s"):format(field), xi.build_uri, opts)
end
case("build_uri no args", xi.build_uri)
case("build_uri string", xi.build_uri, "x")
case("build_uri extra args", xi.build_uri, base_uri, 1, 2)
case("build_uri opts with a metatable", xi.build_uri, setmetatable({ action = "register", token = T }, { __index = { host = HOST } }))

-- check_token and redact_token: tokens of every shape, and what is no token.
for i, t in ipairs({ T, "AAAAAAAAAAAAAAAAAAAAAAAA", "Xb9sT2vR7qLm4KpZ8wYd1eF", "Xb9sT2vR7qLm4KpZ8wYd1eFg=", "Xb9sT2vR7qLm4KpZ8wYd1e+/",
	"Xb9sT2vR7qLm4KpZ8wYd1eFgXb9sT2vR7qLm4KpZ8wYd1eFg", string.rep("a", 512), string.rep("a", 513), "é" .. string.rep("a", 22), "Xb9sT2vR7qLm 4KpZ8wYd1eFg" }) do
	case(("check_token %d"):format(i), xi.check_token, t)
	case(("redact_token %d"):format(i), xi.redact_token, t)
end
for i, bad in ipairs(bad_values) do
	case(("check_token bad %d"):format(i), xi.check_token, bad)
	case(("redact_token bad %d"):format(i), xi.redact_token, bad)
end
for _, f in ipairs({ "check_token", "redact_token" }) do
	case(f .. " no args", xi[f])
	case(f .. " extra args", xi[f], T, 1)
	case(f .. " nil", xi[f], nil)
end

-- landing_link: every kind of record, templates of every form, bad input.
local templates = {
	"https://example.com/invite?{invite.token}", "https://{host}/{invite.type}/{invite.token}", "{invite.uri}", "#{invite.uri|noscheme}",
	"{invite.jid}|{invite.expires}|{invite.created_at}", "x{nosuch}y", "{invite.token|nosuch}", "{invite.additional_data.source}",
	"{invite.allow_registration}", "", "no blocks", "{invite.token",
}
for i, inv in ipairs(made) do
	for j, template in ipairs(templates) do
		case(("landing_link %d/%d"):format(i, j), xi.landing_link, template, HOST, inv.record)
	end
	case(("landing_link %d other host"):format(i), xi.landing_link, templates[2], "MÜNCHEN.example", inv.record)
	case(("landing_link %d with supports"):format(i), xi.landing_link, templates[1], HOST, inv.record, { "password-reset" })
	local extra = copy(inv.record)
	extra.custom = { a = 1 }
	case(("landing_link %d record with an unknown key"):format(i), xi.landing_link, templates[1], HOST, extra)
end
for _, field in ipairs({ "type", "jid", "token", "uri", "expires", "landing_page" }) do
	for i, bad in ipairs(bad_values) do
		local r = copy(base_record)
		r[field] = bad
		case(("landing_link record.%s bad %d"):format(field, i), xi.landing_link, templates[2], HOST, r)
	end
end
for i, bad in ipairs(bad_values) do
	case(("landing_link bad template %d"):format(i), xi.landing_link, bad, HOST, base_record)
	case(("landing_link bad host %d"):format(i), xi.landing_link, templates[2], bad, base_record)
	case(("landing_link bad record %d"):format(i), xi.landing_link, templates[2], HOST, bad)
end
-- invites_page_supports as Prosody modules pass it: every list the slow
-- path reads (aliases, duplicates, empty, a hole ends it, keys that are no
-- list) and those it refuses (an unknown name, a value that is no string).
local supports_lists = {
	{ "account" }, { "contact" }, { "group" }, { "account-and-contact", "contact-only" }, { "password-reset", "account", "password-reset" },
	{}, { "account", nil, "password-reset" }, { account = true, "contact-only" }, { "nosuch" }, { "account", 1 }, { "account", true },
	{ "Account" }, { "\255" }, { [2] = "account" },
}
for i, inv in ipairs(made) do
	for j, supports in ipairs(supports_lists) do
		case(("landing_link %d supports %d"):format(i, j), xi.landing_link, templates[2], HOST, inv.record, supports)
	end
end
case("landing_link no args", xi.landing_link)
case("landing_link nil supports", xi.landing_link, templates[1], HOST, base_record, nil)
case("landing_link supports not a table", xi.landing_link, templates[1], HOST, base_record, "account")
case("landing_link supports with a metatable", xi.landing_link, templates[1], HOST, base_record, setmetatable({}, { __index = { "password-reset" } }))
case("landing_link extra args", xi.landing_link, templates[1], HOST, base_record, nil, 1)
case("landing_link huge template", xi.landing_link, string.rep("{invite.uri} ", 5000), HOST, base_record)

-- Prosody 13's "never": math.huge as the record's expiry and as the
-- inviter's user-level entry reads as never expiring (NEVER_EXPIRES) on both
-- paths; -math.huge and NaN stay invalid on both.
local function made_of(t)
	for _, inv in ipairs(made) do
		if inv.type == t then return inv end
	end
end
for i, e in ipairs({ math.huge, -math.huge, 0 / 0 }) do
	for _, t in ipairs({ "account", "account-and-contact", "contact-only", "group" }) do
		local inv = made_of(t)
		local r = copy(inv.record)
		r.expires = e
		case(("validate %s expires %d"):format(t, i), xi.validate, { token = inv.token, record = r, now = NOW })
		case(("validate %s expires %d later"):format(t, i), xi.validate, { token = inv.token, record = r, now = xi.NEVER_EXPIRES })
		case(("validate %s expires %d sub"):format(t, i), xi.validate, { token = inv.token, record = r, contact_expires = e, inviter = "romeo", now = NOW })
		case(("validate %s contact_expires %d"):format(t, i), xi.validate, { token = inv.token, contact_expires = e, inviter = "romeo", now = NOW })
		case(("landing_link %s expires %d"):format(t, i), xi.landing_link, templates[2], HOST, r)
	end
end
do
	local acc = made_of("account")
	local r = copy(acc.record)
	r.expires = math.huge
	local ok, v = pcall(xi.validate, { token = acc.token, record = r, now = NOW })
	check(ok and v and v.expires == xi.NEVER_EXPIRES and v.record.expires == xi.NEVER_EXPIRES, "math.huge reads as never expiring", v)
	local roster = made_of("account-and-contact")
	ok, v = pcall(xi.validate, { token = roster.token, contact_expires = math.huge, inviter = "romeo", now = NOW })
	check(ok and v and v.expires == xi.NEVER_EXPIRES, "a math.huge user-level entry reads as never expiring", v)
	for _, bad in ipairs({ -math.huge, 0 / 0 }) do
		r.expires = bad
		eq(select(2, xi.validate{ token = acc.token, record = r, now = NOW }), "invalid-record", "expires " .. tostring(bad) .. " is invalid")
	end
end

-- datetime: one whole number takes the fast path; the rest the slow one.
for i, args in ipairs {
	{ NOW }, { 0 }, { -1 }, { NOW + 0.0 }, { NOW + 0.5 }, { 253402300799 }, { 253402300800 },
	{ -62135596800 }, { -62135596801 }, { math.huge }, { -math.huge }, { 0 / 0 }, { 2 ^ 63 },
	{ "1795268421" }, { "x" }, {}, { nil }, { NOW, 1 }, { {} }, { true },
} do
	case(("datetime %d"):format(i), xi.datetime, (table.unpack or unpack)(args, 1, #args))
end
case("datetime nil", xi.datetime, nil)
case("datetime extra nil", xi.datetime, NOW, nil)

-- The validated invite object: methods and the registration gate.
local v = assert(xi.validate{ token = bound.token, record = base_record, now = NOW })
local p = xi.policy{ host = HOST }
for i, bad in ipairs({ false, 1, "x", {}, print, p, io.stdout }) do
	case(("use_changes self %d"):format(i), v.use_changes, bad)
end
case("use_changes no self", v.use_changes)
case("use_changes nil self", v.use_changes, nil)
case("gate with the invite", xi.registration_gate, { invite = v, username = "juliet" })
case("gate with another user", xi.registration_gate, { invite = v, username = "mallory" })
case("gate with a policy", xi.registration_gate, { invite = p, username = "juliet" })
case("gate with a file", xi.registration_gate, { invite = io.stdout, username = "juliet" })
case("index a number key", function() return v[1], v[true], v.use_changes == v.use_changes end)
case("assign a field", function() v.token = "x" end)

-- Child mode: print the outcomes and stop.
if arg[1] == "--dump" then
	if xi.fast_path ~= false then
		io.stderr:write("the child runs with XMPP_INVITES_LUA_SLOW_PATH=1 and still has fast_path\n")
		os.exit(1)
	end
	io.write(table.concat(lines, "\n"), "\n")
	os.exit(0)
end

eq(xi.fast_path, true, "fast_path")

-- The slow path's outcomes, from a child process.
local interpreter = arg[-1]
local script = debug.getinfo(1, "S").source:match("^@(.*)$")
local cmd = ("XMPP_INVITES_LUA_SLOW_PATH=1 XI_MODULE_DIR=%q %q %q --dump"):format(os.getenv("XI_MODULE_DIR"), interpreter, script)
local pipe = assert(io.popen(cmd, "r"))
local slow = {}
for line in pipe:lines() do slow[#slow + 1] = line end
pipe:close()
eq(#slow, #lines, "as many outcomes on the slow path")
for i, line in ipairs(lines) do
	if not eq(slow[i], line, "fast and slow paths agree") then break end
end
check(#lines > 1000, "cases ran", #lines)

-- What the Prosody modules call per invite stays on the fast path.
do
	local script = debug.getinfo(1, "S").source:match("^@(.*)$")
	local pipe = assert(io.popen(("XMPP_INVITES_LUA_FAST_ONLY=1 XI_MODULE_DIR=%q %q %q --fast-only 2>&1"):format(os.getenv("XI_MODULE_DIR"), arg[-1], script), "r"))
	local out = pipe:read("*a")
	pipe:close()
	check(out:find("fast: 19\n", 1, true), "the modules' calls take the fast path", out)
	check(out:find("XMPP_INVITES_LUA_FAST_ONLY: the fast path of 'create' handed this call on", 1, true), "with XMPP_INVITES_LUA_FAST_ONLY a call handed on raises", out)
end

-- Fast and slow in this process: the same keys in the same order.
local function key_order(t)
	local ks = {}
	for k in pairs(t) do ks[#ks + 1] = tostring(k) end
	return table.concat(ks, ",")
end
for _, opts in ipairs({
	{ type = "account", host = HOST },
	{ type = "account", host = HOST, user = "juliet", landing_page = "https://x/{invite.token}" },
	{ type = "password-reset", host = HOST, user = "romeo" },
	{ type = "account-and-contact", host = HOST, user = "romeo", roles = { "a", "b" }, source = "s", note = "n", max_uses = 2, reusable = true },
	{ type = "account", host = HOST, roles = { "a" }, roles_form = "set", hash_at_rest = true },
	{ type = "group", host = HOST, groups = { "g" }, ttl = "1 day" },
	{ type = "contact-only", host = HOST, user = "romeo" },
	{ type = "account", host = HOST, additional_data = { roles = { "prosody:admin" }, groups = { "g" }, source = "s", note = "n" } },
	{ type = "account", host = HOST, additional_data = { roles = { ["prosody:admin"] = true } }, note = "n" },
}) do
	local fast = assert(xi.create(opts))
	local slow_opts = copy(opts)
	slow_opts.token_format = "base64url" -- a rare option: the slow path
	local slow_inv = assert(xi.create(slow_opts))
	eq(key_order(fast), key_order(slow_inv), "result keys in order: " .. opts.type)
	eq(key_order(fast.record), key_order(slow_inv.record), "record keys in order: " .. opts.type)
	if fast.record.additional_data then
		eq(key_order(fast.record.additional_data), key_order(slow_inv.record.additional_data), "additional_data keys in order: " .. opts.type)
	end
	eq(#fast.changes, #slow_inv.changes, "as many changes: " .. opts.type)
	for i, c in ipairs(fast.changes) do
		eq(key_order(c), key_order(slow_inv.changes[i]), "change keys in order: " .. opts.type)
		if type(c.value) == "table" then
			eq(key_order(c.value), key_order(slow_inv.changes[i].value), "stored record keys in order: " .. opts.type)
		end
	end
end

-- A validation in a coroutine, and many in a row under a full collection.
local co = coroutine.wrap(function()
	local inv = assert(xi.create{ type = "account", host = HOST, now = NOW })
	coroutine.yield(xi.validate{ token = inv.token, record = inv.record, now = NOW })
end)
check(co().type == "account", "validate in a coroutine")
for _ = 1, 2000 do
	local inv = xi.create{ type = "account", host = HOST }
	local ok = xi.validate{ token = inv.token, record = inv.record }
	check(ok and ok.type == "account", "create and validate in a loop")
end
collectgarbage()
collectgarbage()
check(v.bound_username == "juliet", "an invite kept across collections keeps its fields")

h.summary()
