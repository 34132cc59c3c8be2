-- The module under Lua finalisers: finalisers that raise inside its calls,
-- and a validated invite's __gc called while the module reads the invite.
-- These tests depend on where the collector's cycles end, so they run in a
-- file of their own: what other suites leave alive (test_api.lua keeps a
-- 1 MiB string) would change the heap each cycle goes through, and with it
-- whether a cycle ends inside a call.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local h = require "harness"
local xi = require "xmpp_invites"
local check, eq = h.check, h.eq

local NOW = 1795268421

-- A finaliser written in Lua that raises, run by a collection step one of
-- the module's allocations starts. Lua 5.1 to 5.3 and LuaJIT re-raise its
-- error from that allocation (LuaJIT as an unwinding exception, which a
-- Rust panic guard would turn into an abort); Lua 5.4 makes it a warning.
-- Every call ends, failed or not, and the module keeps working. The
-- finalisers raise only while one of the calls runs.

-- Leaves n unreachable objects whose finaliser is fin, for the collector to
-- find in the steps that follow.
local function garbage_with_finaliser(n, fin)
	collectgarbage("stop")
	for _ = 1, n do
		if newproxy then -- Lua 5.1 and LuaJIT: tables have no __gc
			getmetatable(newproxy(true)).__gc = fin
		else
			setmetatable({}, { __gc = fin })
		end
	end
	collectgarbage("restart")
end

do
	local armed = false
	local function boom() if armed then error("finaliser error") end end
	local inv = assert(xi.create{ type = "account", host = "example.com", now = NOW,
		additional_data = { note = "x", extra = { 1, 2, 3 } } })
	local vopts = { token = inv.token, record = inv.record, now = NOW }
	local v = assert(xi.validate(vopts))
	local copts = { type = "account", host = "example.com", landing_page = "https://example.com/{invite.token}" }
	local uopts = { host = "example.com", action = "register", token = inv.token }
	local gopts = { invite = v, username = "romeo" }
	local calls = {
		function() return xi.create(copts) end,
		function() return xi.validate(vopts) end,
		function() return xi.datetime(NOW) end,
		function() return xi.build_uri(uopts) end,
		function() return xi.landing_link(copts.landing_page, "example.com", inv.record) end,
		function() return xi.registration_gate(gopts) end,
		function() return v.token end,
		function() return v.additional_data end,
		function() return v:use_changes() end,
	}
	local ran, raised, other = 0, 0, {}
	for _ = 1, 40 do
		garbage_with_finaliser(50, boom)
		for _ = 1, 200 do
			for _, f in ipairs(calls) do
				armed = true
				local ok, err = pcall(f)
				armed = false
				ran = ran + 1
				if not ok then
					if tostring(err):find("finaliser error", 1, true) then
						raised = raised + 1
					else
						other[#other + 1] = tostring(err)
					end
				end
			end
		end
	end
	collectgarbage()
	eq(#other, 0, "finaliser errors: no other failure", other[1])
	if _VERSION == "Lua 5.4" then
		eq(raised, 0, "Lua 5.4: finaliser errors are warnings")
	else
		check(raised > 0, "finaliser errors reached the module's calls and came back as errors", ran, raised)
	end
	local after = assert(xi.create(copts))
	eq(#after.token, 24, "finaliser errors: the module still works")
end

-- The debug library can reach a validated invite's __gc and call it while
-- the module is reading the invite, here from finalisers that the read's
-- own allocations run. The read returns the invite's data whole, or finds
-- it gone when the call came before the read began; never anything else.
do
	local roles = {}
	for i = 1, 2000 do roles[i] = ("role-%04d-"):format(i) .. ("x"):rep(40) end
	local function same_roles(list)
		if type(list) ~= "table" or #list ~= #roles then return false end
		for i = 1, #roles do if list[i] ~= roles[i] then return false end end
		return true
	end
	-- Each read: the call, made while the finalisers are armed (its
	-- arguments made before), and the check of what it returned.
	local reads = {
		additional_data = { function(v) return v.additional_data end,
			function(d) return same_roles(d.roles) end },
		record = { function(v) return v.record end,
			function(r) return same_roles(r.additional_data.roles) end },
		registration_gate = { function(_, opts) return xi.registration_gate(opts) end,
			function(adm) return adm.kind == "new-account" and same_roles(adm.roles) end },
		use_changes = { function(v) return v:use_changes() end,
			function(c) return #c == 1 and c[1].op == "delete-record" end },
	}
	-- A cycle that starts at once and runs fast ends inside the read. With
	-- the default pacing Lua 5.1 ends none there and Lua 5.3 ends some or
	-- none, by the heap and the order of pairs. Each try starts from a full
	-- collection of this file's small heap, so the cycle goes through the
	-- same objects every time.
	local pause = collectgarbage("setpause", 100)
	local stepmul = collectgarbage("setstepmul", 1000)
	for name, read in pairs(reads) do
		local whole, gone, wrong, killed_whole = 0, 0, {}, 0
		for _ = 1, 30 do
			local inv = assert(xi.create{ type = "account", host = "example.com", roles = roles, now = NOW })
			local v = assert(xi.validate{ token = inv.token, record = inv.record, now = NOW })
			local opts = { invite = v, username = "romeo" }
			local gc = debug.getmetatable(v).__gc
			local armed = false
			local function kill() if armed then gc(v) end end
			collectgarbage()
			garbage_with_finaliser(20, kill)
			armed = true
			local ok, got = pcall(read[1], v, opts)
			armed = false
			local killed = v.token == nil
			if ok and got ~= nil and read[2](got) then
				whole = whole + 1
				if killed then killed_whole = killed_whole + 1 end
			elseif killed and (got == nil or tostring(got):find("validated invite", 1, true)) then
				gone = gone + 1
			else
				wrong[#wrong + 1] = tostring(got)
			end
		end
		eq(#wrong, 0, "__gc called during " .. name .. ": whole or gone", wrong[1])
		if name ~= "use_changes" then
			check(killed_whole > 0, "__gc was called during " .. name .. " and the read stayed whole", whole, gone)
		end
	end
	collectgarbage("setpause", pause)
	collectgarbage("setstepmul", stepmul)
end

-- The same reads failing: a finaliser raises during additional_data on an
-- invite that only __index's frame holds (a tail call), and the next one
-- runs a full collection and makes invites of the same size while the
-- error is on its way out. The reader must be done before the invite can
-- go (LuaJIT unwinds the error through it); the new invites stay intact.
do
	local roles = {}
	for i = 1, 2000 do roles[i] = ("role-%04d-"):format(i) .. ("x"):rep(40) end
	local inv = assert(xi.create{ type = "account", host = "example.com", roles = roles, now = NOW })
	local vopts = { token = inv.token, record = inv.record, now = NOW }
	local index = debug.getmetatable(assert(xi.validate(vopts))).__index
	local state, fresh, broken = "idle", {}, 0
	local function fin()
		if state == "arm" then
			state = "collect"
			error("finaliser error")
		elseif state == "collect" then
			state = "done"
			collectgarbage()
			collectgarbage()
			for _ = 1, 50 do fresh[#fresh + 1] = xi.validate(vopts) end
		end
	end
	local function temporary()
		local v = xi.validate(vopts)
		state = "arm"
		return v
	end
	local function read() return index(temporary(), "additional_data") end
	for _ = 1, 100 do
		garbage_with_finaliser(40, fin)
		pcall(read)
		state = "idle"
		for _, f in ipairs(fresh) do
			if f.token ~= inv.token then broken = broken + 1 end
		end
		fresh = {}
		collectgarbage()
	end
	eq(broken, 0, "invites made while a failed read unwinds stay intact")
end

h.summary()
