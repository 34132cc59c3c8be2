-- The Lua path against stock Prosody, in one lua5.4 process: stock is
-- Prosody 0.12.3's own Lua (util.id, socket.url, util.interpolation,
-- util.datetime) doing what its mod_invites does per invite, storage left
-- out; ours is the xmpp_invites module doing the same. Prints ns/op for
-- both and the ratio (stock / ours: above 1 means ours is faster).
--
-- usage: benches/run.sh lua, which builds xmpp_invites.so and
-- xi_bench_floor.so (benches/lua/floor.c) into target/lua/lua54-release and
-- runs XI_MODULE_DIR=target/lua/lua54-release lua5.4 benches/lua/vs_stock.lua [--json]
local prosody = os.getenv("PROSODY_LIB") or "/usr/lib/prosody"
package.path = prosody .. "/?.lua;" .. package.path
package.cpath = (os.getenv("XI_MODULE_DIR") or "target/lua/lua54-release") .. "/?.so;" .. prosody .. "/?.so;" .. package.cpath

local id = require "util.id"
local url = require "socket.url"
local urlencode = require "util.http".urlencode
local datetime = require "util.datetime"
local render_url = require "util.interpolation".new("%b{}", urlencode, {
	urlescape = urlencode;
	noscheme = function (u) return (u:gsub("^[^:]+:", "")); end;
})
local xi = require "xmpp_invites"
-- benches/lua/floor.c: a lua_next walk of the options and the record and
-- a userdata result, nothing checked (the floor of a whole-record validate).
local floor_validate = require "xi_bench_floor"

local HOST = "example.com"
local TEMPLATE = "https://example.com/invite?{invite.token}"
local TTL = 7 * 86400

-- Stock: mod_invites 0.12.3's get_uri and create_invite, storage left out.
local function stock_uri(action, jid, token)
	return url.build({ scheme = "xmpp", path = jid, query = action .. ";preauth=" .. token });
end

local function stock_create()
	local token = id.medium();
	local created_at = os.time();
	local expires = created_at + TTL;
	local invite = {
		type = "register"; jid = HOST; token = token; allow_registration = true;
		uri = stock_uri("register", HOST, token); created_at = created_at; expires = expires;
	};
	invite.landing_page = render_url(TEMPLATE, { host = HOST, invite = invite });
	return invite, datetime.datetime(expires);
end

-- Stock get() for registration, given the record storage returned.
local valid_invite_mt = { __index = {} };
local function stock_validate(token_info, token)
	if not token then return nil, "no-token"; end
	local valid_until = token_info and token_info.expires;
	if not valid_until then return nil, "token-invalid"; end
	if os.time() > valid_until then return nil, "token-expired"; end
	return setmetatable({
		token = token; type = token_info.type; uri = token_info.uri;
		additional_data = token_info.additional_data; reusable = token_info.reusable;
	}, valid_invite_mt);
end

local create_opts = { type = "account", host = HOST, landing_page = TEMPLATE };
local function ours_create()
	local invite = xi.create(create_opts);
	return invite, xi.datetime(invite.expires);
end

local record = stock_create();
local token = record.token;
local validate_opts = { token = token, record = record };

local function bench(f, min_seconds)
	min_seconds = min_seconds or 0.5;
	for _ = 1, 1000 do f(); end -- warm up
	local n, elapsed = 1000, 0;
	while true do
		local t0 = os.clock();
		for _ = 1, n do f(); end
		elapsed = os.clock() - t0;
		if elapsed >= min_seconds then break; end
		n = n * 2;
	end
	return elapsed / n * 1e9;
end

-- require cost: each in a fresh interpreter, the median of several.
local function require_cost(module_name, cpath)
	local samples = {};
	for i = 1, 15 do
		local cmd = ("lua5.4 -e 'package.path=%q..package.path; package.cpath=%q..package.cpath; local t=os.clock(); require(%q); io.write((os.clock()-t)*1e9)'")
			:format(prosody .. "/?.lua;", cpath, module_name);
		local p = assert(io.popen(cmd));
		samples[i] = tonumber(p:read("a"));
		p:close();
	end
	table.sort(samples);
	return samples[8];
end

local rows = {
	{ "token", function() return id.medium(); end, function() return xi.generate_token(); end },
	{ "full create", stock_create, ours_create },
	{ "validate a stored record", function() return stock_validate(record, token); end,
		function() return xi.validate(validate_opts); end },
	-- Not ours: the C floor of any validate that reads the whole record
	-- and returns an object the caller cannot edit.
	{ "validate floor: walk + userdata (C)", function() return stock_validate(record, token); end,
		function() return floor_validate(validate_opts); end },
	{ "URI only", function() return stock_uri("register", HOST, token); end,
		function() return xi.build_uri{ host = HOST, action = "register", token = token }; end },
	{ "landing link only", function() return render_url(TEMPLATE, { host = HOST, invite = record }); end,
		function() return xi.landing_link(TEMPLATE, HOST, record); end },
	-- The same as rows 1 and 2 with ours opted in to the fork-safe userspace
	-- generator (xi.select_rng); stock is unchanged.
	{ "token, opt-in fork-safe generator", function() return id.medium(); end,
		function() return xi.generate_token(); end, rng = "fork-safe" },
	{ "full create, opt-in fork-safe generator", stock_create, ours_create, rng = "fork-safe" },
}

local results = {};
for _, row in ipairs(rows) do
	local stock = bench(row[2]);
	if row.rng then assert(xi.select_rng(row.rng)); end
	local ours = bench(row[3]);
	assert(xi.select_rng("os"));
	results[#results + 1] = { name = row[1], stock = stock, ours = ours };
end
results[#results + 1] = {
	name = "require (fresh interpreter)",
	stock = require_cost("util.id", prosody .. "/?.so;"),
	ours = require_cost("xmpp_invites", (os.getenv("XI_MODULE_DIR") or "target/lua/lua54-release") .. "/?.so;"),
};

if arg[1] == "--json" then
	local parts = {};
	for _, r in ipairs(results) do
		parts[#parts + 1] = ('{"name":%q,"stock_ns":%.1f,"ours_ns":%.1f}'):format(r.name, r.stock, r.ours);
	end
	print("[" .. table.concat(parts, ",") .. "]");
else
	print(("%-40s %14s %14s %10s"):format("operation", "stock ns/op", "ours ns/op", "stock/ours"));
	for _, r in ipairs(results) do
		print(("%-40s %14.0f %14.0f %9.2fx"):format(r.name, r.stock, r.ours, r.stock / r.ours));
	end
end
