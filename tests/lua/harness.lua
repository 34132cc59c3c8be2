-- Shared helpers of the Lua suites: checks with a count, deep equality, the
-- shared vectors, and loading the built module from XI_MODULE_DIR.
local M = {}

local dir = os.getenv("XI_MODULE_DIR") or error("set XI_MODULE_DIR to the folder holding xmpp_invites.so")
package.cpath = dir .. "/?.so;" .. package.cpath

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
M.root = here .. "../../"

M.json = require "dkjson"
M.unpack = table.unpack or unpack

local passed, failed = 0, 0

function M.check(cond, what, ...)
	if cond then
		passed = passed + 1
	else
		failed = failed + 1
		local extra = select("#", ...) > 0 and (" | " .. table.concat((function(...)
			local t = {}
			for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end
			return t
		end)(...), ", ")) or ""
		io.stderr:write("FAIL: " .. tostring(what) .. extra .. "\n" .. debug.traceback("", 2) .. "\n")
	end
	return cond
end

-- Runs the calling test file again in a child interpreter once per value
-- of `values`, with the shim that run.sh builds (XI_MADVISE_SHIM) preloaded
-- and the environment variable `var` set to the value; each child must
-- exit 0. `what` names the check ("<what> <value>").
function M.run_preloaded(var, values, what)
	local shim = os.getenv("XI_MADVISE_SHIM") or error("set XI_MADVISE_SHIM to the built tests/lua/madvise_shim.c")
	local interpreter
	do
		local i = -1
		while arg[i - 1] ~= nil do i = i - 1 end
		interpreter = arg[i]
	end
	local function quote(s) return "'" .. s:gsub("'", [['\'']]) .. "'" end
	local me = debug.getinfo(2, "S").source:match("^@(.*)$")
	for _, value in ipairs(values) do
		local p = assert(io.popen(("env LD_PRELOAD=%s %s=%s %s %s 2>&1; echo \"status=$?\""):format(
			quote(shim), var, value, quote(interpreter), quote(me))))
		local out = p:read("*a")
		p:close()
		M.check(out:find("status=0\n", 1, true), what .. " " .. value, out)
	end
end

function M.eq(got, want, what)
	return M.check(got == want, what, "got " .. tostring(got), "want " .. tostring(want))
end

-- Deep equality of plain tables; numbers compare by value (5.1's floats and
-- 5.4's integers alike).
function M.deep_equal(a, b)
	if type(a) ~= type(b) then return false end
	if type(a) ~= "table" then return a == b end
	for k, v in pairs(a) do
		if not M.deep_equal(v, b[k]) then return false end
	end
	for k in pairs(b) do
		if a[k] == nil then return false end
	end
	return true
end

function M.read(path)
	local f = assert(io.open(M.root .. path, "rb"))
	local s = f:read("*a")
	f:close()
	return s
end

function M.vectors(name)
	local v, _, err = M.json.decode(M.read("tests/vectors/" .. name))
	assert(v, err)
	return v
end

-- A JSON null decodes to nil with dkjson's defaults.
function M.summary()
	print(("%d passed, %d failed"):format(passed, failed))
	os.exit(failed == 0 and passed > 0 and 0 or 1)
end

return M
