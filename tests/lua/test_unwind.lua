-- The unwinder the module links (crates/xmpp-invites-lua/build.rs): GCC's
-- static one in the Lua 5.3 and 5.4 builds, whose errors are longjmps, and
-- the shared libgcc_s in the LuaJIT build, whose errors are exceptions
-- that unwind through the module's frames, and in the Lua 5.1 build, which
-- LuaJIT loads too. Either way a panic inside the module is caught and
-- becomes a Lua error. Needs a debug build (the suites'):
-- XMPP_INVITES_LUA_TEST_PANIC makes its luaopen panic.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local h = require "harness"
local check = h.check

local dir = os.getenv("XI_MODULE_DIR")
-- The interpreter is at the lowest index of arg (options come after it).
local interpreter
do
	local i = -1
	while arg and arg[i - 1] ~= nil do i = i - 1 end
	interpreter = arg and arg[i] or error("run me as: <interpreter> tests/lua/test_unwind.lua")
end
local function quote(s) return "'" .. s:gsub("'", [['\'']]) .. "'" end
-- What command prints on stdout and stderr, then "status=<exit status>".
local function run(command)
	local p = assert(io.popen(command .. ' 2>&1; echo "status=$?"'))
	local out = p:read("*a")
	p:close()
	return out
end
-- A Lua chunk for `-e` that loads the module from the folder under test.
local function chunk(...)
	return quote(table.concat({ "package.cpath = " .. ("%q"):format(dir .. "/?.so;") .. " .. package.cpath", ... }, "; "))
end

-- The shared objects the module needs.
do
	local dynamic = run("readelf -d " .. quote(dir .. "/xmpp_invites.so"))
	check(dynamic:find("NEEDED", 1, true) and dynamic:find("status=0", 1, true), "readelf lists the module's needs", dynamic)
	check(dynamic:find("[libc.so.6]", 1, true), "the module needs libc", dynamic)
	local shared = dynamic:find("[libgcc_s.so.1]", 1, true) ~= nil
	if os.getenv("XMPP_INVITES_SHARED_LIBGCC") == "1" then
		check(shared, "XMPP_INVITES_SHARED_LIBGCC=1: the shared unwinder", dynamic)
	elseif jit or _VERSION == "Lua 5.1" then
		check(shared, "the " .. (jit and "LuaJIT" or _VERSION) .. " build keeps the shared unwinder", dynamic)
	else
		check(not shared, "the " .. _VERSION .. " build links the static unwinder (see the build's warnings if not)", dynamic)
	end
end

-- A panic in luaopen, in a child interpreter: require fails with a Lua
-- error that carries the panic's message, and the process goes on.
do
	local script = chunk(
		"local ok, err = pcall(require, 'xmpp_invites')",
		"print('require:', ok, tostring(err))",
		"print('still running')")
	local out = run("env XMPP_INVITES_LUA_TEST_PANIC=1 RUST_BACKTRACE=0 " .. quote(interpreter) .. " -e " .. script)
	if not check(not out:find("require:\ttrue", 1, true), "luaopen panicked (this needs a debug build)", out) then
		h.summary()
	end
	check(out:find("require:\tfalse\t[^\n]*XMPP_INVITES_LUA_TEST_PANIC is set"), "the panic is a Lua error", out)
	check(out:find("still running\n", 1, true) and out:find("status=0", 1, true), "the interpreter went on and exited with 0", out)
	check(out:find("panicked at", 1, true), "Rust's panic hook reported it", out)
	-- Without the variable the same child loads the module.
	local fine = run(quote(interpreter) .. " -e " .. script)
	check(fine:find("require:\ttrue", 1, true) and fine:find("status=0", 1, true), "the module loads without the variable", fine)
end

-- The Lua 5.1 build under LuaJIT, which loads it from the same folders on
-- Debian: an error the module raises unwinds through its frames (with the
-- static unwinder this aborted the process).
if _VERSION == "Lua 5.1" and not jit then
	local out = run("luajit -e " .. chunk(
		"local xi = require 'xmpp_invites'",
		"local ok, err = pcall(xi.parse_period, {})",
		"print('raised:', ok, tostring(err))"))
	check(out:find("raised:\tfalse\t[^\n]*bad argument") and out:find("status=0", 1, true),
		"the Lua 5.1 build raises errors under LuaJIT", out)
end

h.summary()
