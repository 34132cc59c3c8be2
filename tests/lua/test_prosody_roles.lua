-- Who asks, as bindings/prosody/xmpp_invites_shared.lib.lua tells the
-- policy: Prosody 0.12's usermanager (is_admin, a set of roles) and 13's
-- (one role from get_jid_role; is_admin deprecated, and false for
-- operators under strict_deprecate_is_admin). Debian has 0.12 only, so the
-- tests/prosody suites run the first on a real Prosody; this suite loads
-- the library against each usermanager's interface, as the library calls it.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local h = require "harness"
local check, eq = h.check, h.eq
local xi = require "xmpp_invites"

local HOST = "example.com"

-- Loads the library as Prosody would, with `usermanager` as core.usermanager.
local function shared_with(usermanager)
	package.loaded["core.usermanager"] = usermanager
	package.loaded["util.dataforms"] = { new = function(layout) return layout end }
	local env = setmetatable({
		module = {
			host = HOST,
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

-- What the policy makes of them.
local policy = assert(xi.policy{ preset = "invites_adhoc", host = HOST })
eq(policy:decide("op@example.com", "account", v13.who("op@example.com")), true, "13: an operator may create account invites")
eq(policy:decide("alice@example.com", "account", v13.who("alice@example.com")), false, "13: a member may not")

package.loaded["core.usermanager"], package.loaded["util.dataforms"] = nil, nil
h.summary()
