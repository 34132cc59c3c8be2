-- Throw-away helper for capture-records.sh: exposes the mod_invites API calls
-- that Prosody 0.12.3 has no prosodyctl command for.
--
--   prosodyctl --config CFG mod_invites_capture contact HOST USER yes|no [JSON]
--   prosodyctl --config CFG mod_invites_capture account HOST USER|- [JSON|-] [TTL]
--   prosodyctl --config CFG mod_invites_capture group   HOST GROUP[,GROUP] [TTL]
--
-- JSON is the additional_data table (decoded with util.json); "-" means nil.
-- Prints the invite URI on success.

local json = require "util.json";

function module.command(arg)
	local action, host = arg[1], arg[2];
	if not (action and host and prosody.hosts[host]) then
		print("usage: prosodyctl mod_"..module.name.." contact|account|group HOST ...");
		return 2;
	end

	local sm = require "core.storagemanager";
	local mm = require "core.modulemanager";
	sm.initialize_host(host);

	-- mod_invites only opens its store when loaded inside the server process,
	-- so pretend to be that while it is loaded on the host.
	local process_type = prosody.process_type;
	prosody.process_type = "prosody";
	local invites, err = mm.load(host, "invites");
	prosody.process_type = process_type;
	if not invites then
		print("cannot load mod_invites on "..host..": "..tostring(err));
		return 1;
	end

	local function opt(s)
		if s == nil or s == "-" then return nil; end
		return s;
	end
	local function data(s)
		s = opt(s);
		if s == nil then return nil; end
		local v = json.decode(s);
		if v == nil then error("bad JSON: "..s); end
		return v;
	end

	local invite, ierr;
	if action == "contact" then
		invite, ierr = invites.create_contact(arg[3], arg[4] == "yes", data(arg[5]));
	elseif action == "account" then
		invite, ierr = invites.create_account(opt(arg[3]), data(arg[4]), tonumber(opt(arg[5])));
	elseif action == "group" then
		local groups = {};
		for g in arg[3]:gmatch("[^,]+") do table.insert(groups, g); end
		invite, ierr = invites.create_group(groups, nil, tonumber(opt(arg[4])));
	else
		print("unknown action "..action);
		return 2;
	end
	if not invite then
		print("failed: "..tostring(ierr));
		return 1;
	end
	print(invite.uri);
	return 0;
end
