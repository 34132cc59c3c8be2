-- Records written by stock Prosody 0.12.3 (captured by
-- tests/prosody/capture/capture-records.sh): both the SQL rows (JSON) and
-- the internal storage files (Lua source) load as plain tables, validate,
-- and round trip through the module unchanged.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local h = require "harness"
local xi = require "xmpp_invites"
local check, eq = h.check, h.eq

local captured = h.vectors("prosody_records.json")

-- Loads a Prosody data file (`return { ... }`) with no access to anything.
local function load_data_file(source, name)
	local chunk, err
	if setfenv then
		chunk, err = loadstring(source, name)
		if chunk then setfenv(chunk, {}) end
	else
		chunk, err = load(source, name, "t", {})
	end
	assert(chunk, err)
	return chunk()
end

-- The record as Prosody's storage would hand it to a module: a plain table.
local function check_host_record(record, what)
	local token = record.token
	-- Round trip through the module: the same table comes back.
	local json, err = xi.record_to_json(record)
	check(json, "to_json " .. what, err)
	local back = json and xi.record_from_json(json)
	check(h.deep_equal(back, record), "round trip unchanged: " .. what, json)
	-- Valid at creation and at expiry, expired one second later.
	for _, now in ipairs({ record.created_at, record.expires }) do
		local valid, verr = xi.validate{ token = token, record = record, now = now }
		check(valid, "valid at " .. now .. ": " .. what, verr)
		if valid and record.type == "roster" then
			eq(valid.inviter, record.jid:match("^(.*)@"), "inviter: " .. what)
		end
	end
	-- Its URI as clients read it: stock's text where that is RFC 5122's
	-- already, written anew where stock left a byte unescaped.
	local valid = xi.validate{ token = token, record = record, now = record.created_at }
	local uri = valid and valid.uri
	local parsed, perr = xi.parse_uri(uri or "")
	check(parsed, "valid.uri parses: " .. what, perr)
	if parsed then
		local user, host = record.jid:match("^(.*)@(.*)$")
		eq(parsed.localpart, user, "URI's localpart: " .. what)
		eq(parsed.host, host or record.jid, "URI's host: " .. what)
		eq(parsed.action, record.type, "URI's action: " .. what)
		eq(parsed.token, token, "URI's token: " .. what)
		eq(parsed.ibr, record.type == "roster" and record.allow_registration == true, "URI's ibr: " .. what)
	end
	local plain = not record.jid:find("[?%%\128-\255]")
	eq(uri == record.uri, plain, "stock's URI kept exactly when it needs no escaping: " .. what .. " " .. tostring(uri))
	local late, lerr = xi.validate{ token = token, record = record, now = record.expires + 1 }
	check(late == nil and lerr == "token-expired", "expired after: " .. what, lerr)
	-- The module's idea of the type agrees with how the record was made.
	local t = xi.record_type(record)
	local want = what:find("--reset", 1, true) and "password-reset"
		or what:find("create_group", 1, true) and "group"
		or record.type == "roster" and "account-and-contact"
		or "account"
	eq(t, want, "type: " .. what)
end

local host_records, contact_entries = 0, 0
for _, row in ipairs(captured.sql_rows) do
	if row.user == "" then
		local record = xi.record_from_json(row.value)
		check(record, "sql row loads: " .. row.what)
		-- The table the module builds equals what a JSON decoder builds.
		local decoded = h.json.decode(row.value)
		check(h.deep_equal(record, decoded), "same table as the JSON: " .. row.what)
		if record then check_host_record(record, row.what) end
		host_records = host_records + 1
	else
		local expires = tonumber(row.value)
		local valid, err = xi.validate{ token = row.key, contact_expires = expires, inviter = row.user, now = expires }
		check(valid and valid.type == "contact-only" or valid and valid.type ~= nil, "contact entry validates: " .. row.what, err)
		contact_entries = contact_entries + 1
	end
end
check(host_records > 10 and contact_entries >= 4, "enough SQL rows")

local files = 0
for _, file in ipairs(captured.internal_files) do
	local data = load_data_file(file.content, file.path)
	files = files + 1
	if file.path:match("/invite_token%.dat$") then
		for token, record in pairs(data) do
			eq(record.token, token, "key is the token in " .. file.path)
			-- The capture says which call wrote each token: "TOKEN <- what; ...".
			local at = select(2, file.what:find(token .. " <- ", 1, true))
			local what = at and file.what:sub(at + 1):match("^[^;]*") or "?"
			check(what ~= "?", "capture names the call for " .. token)
			check_host_record(record, file.path .. " " .. token .. " (" .. what .. ")")
		end
	else
		local inviter = file.path:match("invite_token/(.-)%.dat$")
		-- File names are Prosody-encoded (%xx, lowercase).
		inviter = inviter:gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end)
		for token, expires in pairs(data) do
			local valid, err = xi.validate{ token = token, contact_expires = expires, inviter = inviter, now = expires }
			check(valid, "user-level entry of " .. inviter .. " validates", err)
			local late = xi.validate{ token = token, contact_expires = expires, inviter = inviter, now = expires + 1 }
			check(late == nil, "user-level entry expires")
		end
	end
end
check(files >= 3, "internal storage files read")

-- A fractional invite_expiry (1000/3): Prosody 0.12 on Lua 5.3 and later
-- stores os.time() + ttl as a float, in the host-level record and in the
-- inviter's user-level entry, and compares `os.time() > expires`. Read
-- with the fraction dropped, such an invite is valid to the same second.
do
	local created = 1795268421
	local expires = created + 1000 / 3 -- 1795268754.3333...
	local token = "Xb9sT2vR7qLm4KpZ8wYd1eFg"
	local record = {
		type = "roster", jid = "romeo@example.com", token = token, allow_registration = true,
		uri = "xmpp:romeo@example.com?roster;preauth=" .. token .. ";ibr=y",
		created_at = created, expires = expires,
	}
	for _, now in ipairs({ created, 1795268754 }) do
		local valid, err = xi.validate{ token = token, record = record, now = now }
		check(valid and valid.expires == 1795268754, "fractional expiry valid at " .. now, err)
		valid, err = xi.validate{ token = token, contact_expires = expires, inviter = "romeo", now = now }
		check(valid and valid.expires == 1795268754, "fractional user-level entry valid at " .. now, err)
	end
	local late, err = xi.validate{ token = token, record = record, now = 1795268755 }
	eq(err, "token-expired", "fractional expiry expired the second after")
	check(late == nil, "no invite after expiry")
	late, err = xi.validate{ token = token, contact_expires = expires, inviter = "romeo", now = 1795268755 }
	eq(err, "token-expired", "fractional user-level entry expired the second after")
	eq(xi.record_pending(record, 1795268754), true, "fractional record pending")
	-- The JSON Prosody's util.json writes for it (tostring of the float).
	local json = ('{"type":"roster","jid":"romeo@example.com","token":"%s","created_at":%d,"expires":%s,"allow_registration":true}')
		:format(token, created, ("%.14g"):format(expires))
	local from_json, jerr = xi.record_from_json(json)
	check(from_json and from_json.expires == 1795268754, "fractional expiry from JSON", jerr)
	for _, bad in ipairs({ 0 / 0, -math.huge, 1e300 }) do
		record.expires = bad
		local none, code = xi.validate{ token = token, record = record, now = created }
		check(none == nil and code == "invalid-record", "expires " .. tostring(bad) .. " is refused", code)
	end
end

-- Prosody 13's shell (invite create_contact JID --allow-registration=VALUE)
-- stores VALUE as a string. "no"/"false"/"0" read as no registration, as
-- the admin asked (stock reads every string as yes); other strings as yes.
do
	local token = "Ab9sT2vR7qLm4KpZ8wYd1eFg"
	local function record(value)
		return {
			type = "roster", jid = "romeo@example.com", token = token, allow_registration = value,
			uri = "xmpp:romeo@example.com?roster;preauth=" .. token, created_at = 1795268421, expires = 1795873221,
		}
	end
	for _, yes in ipairs({ "yes", "true", "1", "anything" }) do
		local valid, err = xi.validate{ token = token, record = record(yes), now = 1795268421 }
		check(valid and valid.inviter == "romeo", "allow_registration = " .. yes .. " registers", err)
		eq(xi.record_type(record(yes)), "account-and-contact", "type with " .. yes)
	end
	for _, no in ipairs({ "no", "False", "0", "" }) do
		local none, err = xi.validate{ token = token, record = record(no), now = 1795268421 }
		check(none == nil and err == "not-for-registration", "allow_registration = '" .. no .. "' does not register", err)
		-- The subscription half works either way.
		local valid, serr = xi.validate{ token = token, record = record(no), contact_expires = 1795873221, inviter = "romeo", now = 1795268421 }
		check(valid, "allow_registration = '" .. no .. "' still pre-approves", serr)
	end
	eq(xi.reserved_by("juliet", { record("yes") }, 1795268421), false, "an odd record does not break reservation")
end

-- Records the module writes read back in Prosody's shape.
local made = assert(xi.create{ type = "group", host = "example.com", groups = { "g1" }, ttl = 3600, now = 1795268422 })
eq(made.record.reusable, true, "group with ttl is reusable")
eq(made.record.type, "register", "group record type")
check(h.deep_equal(made.record.additional_data, { groups = { "g1" } }), "group additional_data")
eq(made.record.expires, 1795268422 + 3600, "expires")

h.summary()
