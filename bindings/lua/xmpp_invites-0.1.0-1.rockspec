rockspec_format = "3.0"
package = "xmpp_invites"
version = "0.1.0-1"

source = {
	url = "git+https://example.invalid/xmpp-invites.git",
	tag = "v0.1.0",
	-- The module crate lives in the workspace; cargo finds the workspace
	-- from there and builds only this member.
	dir = "xmpp-invites/crates/xmpp-invites-lua",
}

description = {
	summary = "XMPP invites (XEP-0401, XEP-0445, XEP-0379) for Prosody and Lua, in Rust",
	detailed = [[
Tokens, invite records in Prosody's shape, expiry, validation, the
registration gate, permission policy, quotas, RFC 5122 URIs and landing
pages, as the Lua module xmpp_invites.
]],
	license = "MIT OR Apache-2.0",
	labels = { "xmpp", "prosody", "invites" },
}

dependencies = {
	"lua >= 5.1",
	"luarocks-build-rust-mlua",
}

build = {
	type = "rust-mlua",
	-- Picks the feature of the Lua that builds it: lua54, lua53, lua51 or
	-- luajit; the crate's default (lua54) is turned off.
	default_features = false,
	target_path = "../../target",
	modules = { "xmpp_invites" },
}
