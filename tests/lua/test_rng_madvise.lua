-- select_rng("fork-safe") where madvise cannot be trusted with the
-- generator's state page. Run without XI_TEST_MADVISE, this file runs
-- itself in a child interpreter once per system, with the madvise of
-- tests/lua/madvise_shim.c (built by run.sh, XI_MADVISE_SHIM) preloaded:
-- each process asks madvise once, when its thread maps its page.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local h = require "harness"
local check, eq = h.check, h.eq

local NOW = 1700000000
local system = os.getenv("XI_TEST_MADVISE")

if not system then
	h.run_preloaded("XI_TEST_MADVISE", { "linux", "ignores-all", "old-linux", "seccomp", "out-of-mappings" }, "madvise as")
	h.summary()
end

local xi = require "xmpp_invites"
local function refused(code, says)
	local ok, got, message = xi.select_rng("fork-safe")
	eq(ok, nil, "select_rng fails")
	eq(got, code, "its code")
	check(type(message) == "string" and message:find(says, 1, true), "its message carries the generator's", message)
	eq(xi.selected_rng(), "os", "the OS generator stays")
	-- Tokens and invites still come, from the OS.
	eq(xi.check_token(xi.generate_token()), true, "a token from the OS")
	check(xi.create { type = "account", host = "example.com", now = NOW }.token, "an invite from the OS")
end

if system == "linux" then
	eq(xi.select_rng("fork-safe"), true, "Linux 4.14 and later take it")
	eq(xi.selected_rng(), "fork-safe", "selected")
	eq(xi.check_token(xi.generate_token()), true, "a token from the fork-safe generator")
elseif system == "ignores-all" then
	refused("rng-unsupported", "cannot be trusted")
elseif system == "old-linux" then
	refused("rng-unsupported", "MADV_WIPEONFORK is not available (errno 22)")
elseif system == "seccomp" then
	refused("rng-unsupported", "MADV_WIPEONFORK is not available (errno 1)")
elseif system == "out-of-mappings" then
	refused("rng-failure", "could not be mapped (errno 12)")
else
	error("unknown XI_TEST_MADVISE: " .. system)
end
h.summary()
