-- The shared vectors in tests/vectors/, through the Lua module: the same
-- answers as the Rust core, byte for byte.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local h = require "harness"
local xi = require "xmpp_invites"
local check, eq = h.check, h.eq

-- URIs ------------------------------------------------------------------------
local uris = h.vectors("uris.json")
for _, case in ipairs(uris.build) do
	local uri, err = xi.build_uri{ localpart = case.localpart, host = case.host, action = case.action, token = uris.token, ibr = case.ibr }
	eq(uri, case.uri, "build " .. case.name .. " " .. tostring(err))
	local back = xi.parse_uri(case.uri)
	check(back and xi.build_uri{ localpart = back.localpart, host = back.host, action = back.action, token = back.token, ibr = back.ibr } == case.uri, "rebuild " .. case.name)
end
for _, case in ipairs(uris.build_errors) do
	local uri, err = xi.build_uri{ localpart = case.localpart, host = case.host, action = case.action, token = uris.token, ibr = case.ibr }
	check(uri == nil, "build error " .. case.name)
	eq(err, case.error, "build error code " .. case.name)
end
for _, case in ipairs(uris.parse) do
	local got, err, msg = xi.parse_uri(case.uri)
	if case.ok then
		check(got, "parse " .. case.uri, err, msg)
		if got then
			eq(got.localpart, case.ok.localpart, "localpart of " .. case.uri)
			eq(got.host, case.ok.host, "host of " .. case.uri)
			eq(got.action, case.ok.action, "action of " .. case.uri)
			eq(got.token, case.ok.token, "token of " .. case.uri)
			eq(got.ibr, case.ok.ibr, "ibr of " .. case.uri)
		end
	else
		check(got == nil and type(msg) == "string" and #msg > 0, "parse error " .. case.uri)
		eq(err, case.error, "parse error code " .. case.uri)
	end
end

-- Templates ---------------------------------------------------------------------
local templates = h.vectors("templates.json")
for _, case in ipairs(templates.cases) do
	eq(xi.render_template(case.template, templates.values), case.output, "template " .. case.template)
end

-- Periods -----------------------------------------------------------------------
for _, case in ipairs(h.vectors("periods.json").cases) do
	local got, err = xi.parse_period(case.input)
	if case.seconds then
		eq(got, case.seconds, "period " .. case.input)
	elseif case.never then
		eq(got, math.huge, "period never " .. case.input)
	else
		check(got == nil, "period error " .. case.input)
		eq(err, case.error, "period error code " .. case.input)
	end
end

-- Policy ------------------------------------------------------------------------
for _, case in ipairs(h.vectors("policy.json").cases) do
	local p = case.policy
	local policy = xi.policy{
		preset = p.preset, host = p.host,
		allow_user_invites = p.allow_user_invites, allow_contact_invites = p.allow_contact_invites,
		allow_user_invites_by_roles = p.allow_user_invites_by_roles, deny_user_invites_by_roles = p.deny_user_invites_by_roles,
	}
	local who = { admin = case.requester.admin, roles = case.requester.roles, may_invite_users = case.requester.may_invite_users }
	local label = h.json.encode(case)
	if case.type == "contact-command" then
		local created, reason, text = policy:contact_invite(case.requester.jid, who)
		eq(created ~= false, case.allowed, "allowed " .. label)
		if case.allowed then eq(created, case.creates, "creates " .. label) end
		eq(reason, case.reason, "reason " .. label)
		check(type(text) == "string" and #text > 0, "reason text " .. label)
	else
		local allowed, reason = policy:decide(case.requester.jid, case.type, who)
		eq(allowed, case.allowed, "allowed " .. label)
		eq(reason, case.reason, "reason " .. label)
	end
end

-- Validation and the gate ---------------------------------------------------------
-- The vectors name the ops as the Rust test writes them.
local op_names = { ["delete-record"] = "delete-record", ["delete-contact"] = "delete-contact-expiry", ["put-record"] = "put-record" }

local function check_gate(invite, attempt, invite_only, label)
	local adm, err, msg = xi.registration_gate{
		invite = invite, invite_only = invite_only, username = attempt.username,
		account_exists = attempt.account_exists, reserved = attempt.reserved,
	}
	local want = attempt.expect
	if want.error then
		check(adm == nil and type(msg) == "string" and #msg > 0, "gate refuses " .. label)
		eq(err, want.error, "gate error " .. label)
	else
		check(adm, "gate admits " .. label, err, msg)
		if not adm then return end
		eq(adm.kind, want.admission, "admission " .. label)
		if want.username then eq(adm.username, want.username, "username " .. label) end
		if want.admission == "new-account" then
			eq(adm.inviter, want.inviter, "inviter " .. label)
			check(h.deep_equal(adm.roles, want.roles), "roles " .. label)
			check(h.deep_equal(adm.groups or {}, want.groups), "groups " .. label)
		end
	end
end

for _, case in ipairs(h.vectors("validation.json").cases) do
	local inviter = type(case.redemption) == "table" and case.redemption.subscription or nil
	local valid, err = xi.validate{
		token = case.presented, record = case.record, contact_expires = case.contact_expires,
		inviter = inviter, now = case.now,
	}
	if case.expect.ok then
		check(valid, "valid: " .. case.name, err)
		if valid then
			eq(valid.type, case.expect.ok.type, "type: " .. case.name)
			eq(valid.inviter, case.expect.ok.inviter, "inviter: " .. case.name)
			local changes = valid:use_changes()
			eq(#changes, #case.expect.ok.use_changes, "change count: " .. case.name)
			for i, want in ipairs(case.expect.ok.use_changes) do
				local c = changes[i] or {}
				eq(c.op, op_names[want.op], "op " .. i .. ": " .. case.name)
				eq(c.key, want.token, "key " .. i .. ": " .. case.name)
				eq(c.user, want.user, "user " .. i .. ": " .. case.name)
				if want.uses then eq(type(c.value) == "table" and c.value.uses, want.uses, "uses: " .. case.name) end
			end
		end
	else
		check(valid == nil, "refused: " .. case.name)
		eq(err, case.expect.error, "error: " .. case.name)
	end
	for _, attempt in ipairs(case.gate or {}) do
		check_gate(valid, attempt, true, case.name .. " as " .. attempt.username)
	end
	for _, attempt in ipairs(case.gate_without_invite or {}) do
		check_gate(nil, attempt, attempt.invite_only, "no invite, " .. attempt.username)
	end
end

h.summary()
