-- Renders tests/vectors/templates.json with stock Prosody's own
-- util.interpolation, util.http.urlencode and mod_invites' filters, and
-- fails on any case whose output differs from the vector: the vectors say
-- what Prosody does, not what we think it does.
--
-- usage: lua5.4 tests/prosody/check_template_vectors.lua [PROSODY_LIB_DIR]
local prosody_dir = arg[1] or "/usr/lib/prosody"
package.path = prosody_dir .. "/?.lua;" .. package.path
package.cpath = prosody_dir .. "/?.so;" .. package.cpath

local json = require "util.json"
local urlencode = require "util.http".urlencode
local render = require "util.interpolation".new("%b{}", urlencode, {
	urlescape = urlencode;
	noscheme = function (url) return (url:gsub("^[^:]+:", "")); end;
})

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local f = assert(io.open(here .. "../vectors/templates.json"))
local vectors = assert(json.decode(f:read("a")))
f:close()

local checked, failed = 0, 0
for _, case in ipairs(vectors.cases) do
	if case.stock_checked ~= false then
		local got = render(case.template, vectors.values)
		checked = checked + 1
		if got ~= case.output then
			failed = failed + 1
			io.stderr:write(("MISMATCH %s\n  stock:  %s\n  vector: %s\n"):format(case.template, got, case.output))
		end
	end
end
print(("%d passed, %d failed"):format(checked - failed, failed))
os.exit(failed == 0 and checked > 0)
