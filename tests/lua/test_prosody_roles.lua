-- Who asks, as bindings/prosody/xmpp_invites_shared.lib.lua tells the
-- policy: Prosody 0.12's usermanager (is_admin, a set of roles) and 13's
-- (one role from get_jid_role; is_admin deprecated, and false for
-- operators under strict_deprecate_is_admin), and 13's permission check
-- (module:may) when a command passes its context. The tests/prosody suites
-- run both on a real Prosody (0.12.3, and 13.0.1 under prosody13.sh); this
-- suite loads the library against each interface, as the library calls
-- it, with cases a real server makes hard to set up.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local h = require "harness"
local check, eq = h.check, h.eq
local xi = require "xmpp_invites"

local HOST = "example.com"

-- Loads the library as Prosody would, with `usermanager` as core.usermanager.
-- `may`, if given, is the module's may (Prosody 13's permission check).
local function shared_with(usermanager, may)
	package.loaded["core.usermanager"] = usermanager
	package.loaded["util.dataforms"] = { new = function(layout) return layout end }
	local env = setmetatable({
		module = {
			host = HOST,
			may = may,
			require = function(_, name)
				assert(name == "xmpp_invites_loader", name)
				return xi
			end,
		},
	}, { __index = _G })
	local path = h.root .. "bindings/prosody/xmpp_invites_shared.lib.lua"
	local chunk
	if setfenv then -- Lua 5.1, LuaJIT
		chunk = assert(loadfile(path))
		setfenv(chunk, env)
	else
		chunk = assert(loadfile(path, "t", env))
	end
	return chunk()
end

-- Prosody 0.12: is_admin and a set of roles.
local v012 = shared_with({
	is_admin = function(jid, host) return host == HOST and jid == "root@example.com" end,
	get_roles = function(jid)
		if jid == "root@example.com" then return { ["prosody:admin"] = true } end
		if jid == "trusted@example.com" then return { trusted = true } end
	end,
})
local root = v012.who("root@example.com")
check(root.admin == true and root.roles[1] == "prosody:admin", "0.12: an admin")
local trusted = v012.who("trusted@example.com")
check(trusted.admin == false and trusted.roles[1] == "trusted", "0.12: a role")
check(v012.who("alice@example.com").admin == false, "0.12: a user")

-- Prosody 13: one role per JID; is_admin is deprecated and must not be called.
local roles13 = {
	["root@example.com"] = { name = "prosody:admin" },
	["op@example.com"] = { name = "prosody:operator" },
	["alice@example.com"] = { name = "prosody:member" },
}
local v13 = shared_with({
	is_admin = function() error("is_admin is deprecated in Prosody 13") end,
	get_jid_role = function(jid, host)
		assert(host == HOST, host)
		return roles13[jid]
	end,
})
for jid, want in pairs({ ["root@example.com"] = true, ["op@example.com"] = true, ["alice@example.com"] = false }) do
	local ok, w = pcall(v13.who, jid)
	check(ok and w.admin == want, "13: admin of " .. jid, w)
	if ok then eq(w.roles[1], roles13[jid].name, "13: the role of " .. jid) end
end
local ok, nobody = pcall(v13.who, "eve@evil.example")
check(ok and nobody.admin == false and #nobody.roles == 0, "13: no role", nobody)

-- Prosody 13 with a command's context: its permission decides, whatever
-- the role's name (custom roles, add_permissions).
local asked = {}
local granted = { ["alice@example.com"] = true }
local v13may = shared_with({
	is_admin = function() error("is_admin is deprecated in Prosody 13") end,
	get_jid_role = function(jid) return roles13[jid] end,
}, function(_, permission, context)
	asked[#asked + 1] = permission
	return granted[context.from] or false
end)
local context = { from = "alice@example.com" }
local w = v13may.who("alice@example.com", context, ":invite-users")
check(w.admin == true and w.roles[1] == "prosody:member", "13: a member granted the permission", w)
eq(asked[1], ":invite-users", "13: the permission asked")
context = { from = "root@example.com" }
check(v13may.who("root@example.com", context, ":invite-users").admin == false, "13: an admin refused the permission")
check(v13may.who("root@example.com").admin == true, "13: without a context, the role's name")
local refused = v13may.refusal(assert(xi.policy{ preset = "invites_adhoc", host = HOST }), "account",
	{ from = "alice@example.com" }, "urn:xmpp:invite#create-account")
check(refused == nil, "13: the command's permission makes an admin", refused)
eq(asked[#asked], "adhoc:urn:xmpp:invite#create-account", "13: the command's permission asked")

-- What the policy makes of them.
local policy = assert(xi.policy{ preset = "invites_adhoc", host = HOST })
eq(policy:decide("op@example.com", "account", v13.who("op@example.com")), true, "13: an operator may create account invites")
eq(policy:decide("alice@example.com", "account", v13.who("alice@example.com")), false, "13: a member may not")

package.loaded["core.usermanager"], package.loaded["util.dataforms"] = nil, nil
h.summary()
