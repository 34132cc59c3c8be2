-- A pure-Lua walk through an invite's life with the xmpp_invites module:
-- an admin creates an account-and-contact invite, a client redeems it, the
-- server registers the account and spends the token. The "store" is a
-- plain table standing in for Prosody's module:open_store("invite_token", "map").
--
--   LUA_CPATH="target/lua/lua54/?.so;;" lua5.4 bindings/lua/example.lua
local xi = require "xmpp_invites"

local store = {} -- store[user or ""][key] = value, like a map store
local function apply(changes)
	for _, c in ipairs(changes) do
		local user = c.user or ""
		store[user] = store[user] or {}
		store[user][c.key] = c.value -- nil deletes
	end
end

-- 1. Romeo asks for an invite; the policy decides what he may create.
local policy = xi.policy{ preset = "invites_adhoc", host = "example.com", allow_user_invites = true }
local kind, reason = policy:contact_invite("romeo@example.com/laptop")
print("romeo may create: " .. tostring(kind) .. " (" .. reason .. ")")

local invite = assert(xi.create{
	type = kind, host = "example.com", user = "romeo",
	ttl = "2 days", landing_page = "https://example.com/invite?{invite.token}",
})
apply(invite.changes)
print("share: " .. invite.landing_page)
print("or:    " .. invite.uri)
print("valid until " .. xi.datetime(invite.expires))

-- 2. A client presents the token (<preauth/>): the server loads the record
-- by token and validates it.
local presented = xi.parse_uri(invite.uri).token
assert(xi.check_token(presented)) -- cheap shape check before any lookup
local valid = assert(xi.validate{ token = presented, record = store[""][presented] })

-- 3. Registration: the gate decides, the server creates the account, then
-- spends the token and makes Juliet and Romeo mutual contacts.
local admitted, code, message = xi.registration_gate{ invite = valid, username = "Juliet" }
assert(admitted, message)
print(admitted.kind .. ": " .. admitted.username .. ", contact of " .. tostring(admitted.inviter))
apply(valid:use_changes())
assert(store[""][presented] == nil and store.romeo[presented] == nil, "token spent")

-- 4. The same token again: refused, with Prosody's error name.
print(select(2, xi.validate{ token = presented, record = store[""][presented] }))
