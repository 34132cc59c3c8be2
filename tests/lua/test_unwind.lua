-- The unwinder the module links (crates/xmpp-invites-lua/build.rs): GCC's
-- static one under Lua 5.1 to 5.4, whose errors are longjmps, and the
-- shared libgcc_s under LuaJIT, whose errors are exceptions that unwind
-- through the module's frames. Either way a panic inside the module is
-- caught and becomes a Lua error. Needs a debug build (the suites'):
-- XMPP_INVITES_LUA_TEST_PANIC makes its luaopen panic.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local h = require "harness"
local check = h.check

local dir = os.getenv("XI_MODULE_DIR")
local interpreter = arg and arg[-1] or error("run me as: <interpreter> tests/lua/test_unwind.lua")
local function quote(s) return "'" .. s:gsub("'", [['\'']]) .. "'" end
local function run(command)
	local p = assert(io.popen(command .. " 2>&1"))
	local out = p:read("*a")
	p:close()
	return out
end

-- The shared objects the module needs.
do
	local dynamic = run("readelf -d " .. quote(dir .. "/xmpp_invites.so"))
	check(dynamic:find("NEEDED", 1, true), "readelf lists the module's needs", dynamic)
	check(dynamic:find("[libc.so.6]", 1, true), "the module needs libc", dynamic)
	local shared = dynamic:find("[libgcc_s.so.1]", 1, true) ~= nil
	if jit then
		check(shared, "the LuaJIT build keeps the shared unwinder", dynamic)
	else
		check(not shared, "the " .. _VERSION .. " build links the static unwinder", dynamic)
	end
end

-- A panic in luaopen, in a child interpreter: require fails with a Lua
-- error that carries the panic's message, and the process goes on.
do
	local script = table.concat({
		"package.cpath = " .. ("%q"):format(dir .. "/?.so;") .. " .. package.cpath",
		"local ok, err = pcall(require, 'xmpp_invites')",
		"print('require:', ok, tostring(err))",
		"print('still running')",
	}, "; ")
	local out = run("env XMPP_INVITES_LUA_TEST_PANIC=1 RUST_BACKTRACE=0 " .. quote(interpreter)
		.. " -e " .. quote(script))
	check(out:find("require:\tfalse\t[^\n]*XMPP_INVITES_LUA_TEST_PANIC is set"), "the panic is a Lua error", out)
	check(out:find("still running", 1, true), "the interpreter went on after the panic", out)
	check(out:find("panicked at", 1, true), "Rust's panic hook reported it", out)
	-- Without the variable the same child loads the module.
	local fine = run(quote(interpreter) .. " -e " .. quote(script))
	check(fine:find("require:\ttrue", 1, true), "the module loads without the variable", fine)
end

h.summary()
