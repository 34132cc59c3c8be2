-- A prosodyctl command for benches/cli: times stock mod_invites' own
-- get(token) -- the lookup a running Prosody does when a client presents a
-- token -- inside one prosodyctl process, so that the lookup is isolated
-- from Lua and prosodyctl start-up.
--
--   prosodyctl --config CFG mod_bench_invites get HOST TOKEN...
--
-- prints one line per token: "<seconds>\t<invite type or ->\t<error or ->".
--
-- With Prosody's default storage (internal) mod_invites' map store is
-- storagemanager's map shim over the keyval store, so get() is
-- datamanager.load() of DATA/<host>/invite_token.dat: the whole file is
-- read and run as Lua (Prosody keeps no cache), then indexed by token.
--
-- mod_invites opens its store only when it runs inside the server
-- (process_type "prosody"); prosodyctl's own `mod_invites generate` gets
-- round that by opening it itself. Here the host's instance of mod_invites
-- is loaded as the server loads it, then get() is called unchanged.

function module.command(arg)
	if arg[1] ~= "get" or not arg[2] or not arg[3] then
		print("usage: prosodyctl mod_bench_invites get HOST TOKEN...")
		return 2
	end
	local host = arg[2]
	assert(prosody.hosts[host], "Host " .. tostring(host) .. " does not exist")
	require "core.storagemanager".initialize_host(host)
	module.host = host -- luacheck: ignore 122/module

	local process_type = prosody.process_type
	prosody.process_type = "prosody"
	local invites = module:depends("invites")
	prosody.process_type = process_type

	local now = require "util.time".now
	for i = 3, #arg do
		local t0 = now()
		local invite, err = invites.get(arg[i])
		local dt = now() - t0
		print(string.format("%.9f\t%s\t%s", dt, invite and invite.type or "-", err or "-"))
	end
	return 0
end
