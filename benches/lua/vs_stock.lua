-- The Lua path against stock Prosody, in one lua5.4 process: stock is
-- Prosody 0.12.3's own Lua (util.id, socket.url, util.interpolation,
-- util.datetime) doing what its mod_invites does per invite, storage left
-- out; ours is the xmpp_invites module doing the same. Prints ns/op for
-- both and the ratio (stock / ours: above 1 means ours is faster).
--
-- usage: benches/run.sh lua, which builds xmpp_invites.so and
-- xi_bench_floor.so (benches/lua/floor.c) into target/lua/lua54-release and
-- runs XMPP_INVITES_LUA_FAST_ONLY=1 XI_MODULE_DIR=target/lua/lua54-release
-- lua5.4 benches/lua/vs_stock.lua [--json] (benches/run.sh lua [--json]).
-- With XI_BENCH_SMOKE=1 (benches/run.sh lua-smoke, one of the test suites)
-- every row runs once, briefly: the script, the floors and their checks
-- work; the figures mean nothing.
local prosody = os.getenv("PROSODY_LIB") or "/usr/lib/prosody"
package.path = prosody .. "/?.lua;" .. package.path
local module_dir = os.getenv("XI_MODULE_DIR") or "target/lua/lua54-release";
package.cpath = module_dir .. "/?.so;" .. prosody .. "/?.so;" .. package.cpath

local id = require "util.id"
local url = require "socket.url"
local urlencode = require "util.http".urlencode
local datetime = require "util.datetime"
local render_url = require "util.interpolation".new("%b{}", urlencode, {
	urlescape = urlencode;
	noscheme = function (u) return (u:gsub("^[^:]+:", "")); end;
})
local xi = require "xmpp_invites"
-- benches/run.sh sets XMPP_INVITES_LUA_FAST_ONLY: a call of ours that the
-- module's fast path hands on raises rather than be timed on the slow one.
assert(xi.fast_path, "xmpp_invites has its fast path off (XMPP_INVITES_LUA_SLOW_PATH?)")
-- benches/lua/floor.c: not ours, the least a binding must do. validate: a
-- lua_next walk of the options and the record and a userdata result,
-- nothing checked (the floor of ours's design). create: stock's one table
-- and expiry text from one getrandom call per token (as ours where the
-- kernel has no vDSO getrandom), nothing prepared or checked;
-- create_buffered: the same with OS bytes read ahead into a 4 KiB buffer,
-- as stock's util.random reads /dev/urandom; create_vdso: with the bytes
-- from the vDSO's getrandom, as ours draws them by default where it can.
local floor = require "xi_bench_floor"
-- How ours gets the OS's bytes: "vdso" (the kernel's getrandom without a
-- system call, Linux 6.11+) or "syscall". The vDSO floor needs the former.
local os_backend = select(2, xi.selected_rng());
local vdso_floors = os_backend == "vdso" and { floor.create_vdso } or {};

local HOST = "example.com"
local TEMPLATE = "https://example.com/invite?{invite.token}"
local TTL = 7 * 86400

-- Stock: mod_invites 0.12.3's get_uri, create_invite (with the
-- additional_data table that `prosodyctl mod_invites generate` passes) and
-- get(), storage left out; the landing link as mod_invites_page's
-- invite-created hook renders it.
local function stock_uri(action, jid, token, params)
	return url.build({ scheme = "xmpp", path = jid, query = action .. ";preauth=" .. token .. (params and (";" .. params) or "") });
end

local function stock_create()
	local token = id.medium();
	local created_at = os.time();
	local expires = created_at + TTL;
	local invite = {
		type = "register"; jid = HOST; token = token; allow_registration = true;
		additional_data = { groups = {} }; -- generate's: { roles = nil, groups = {} }
		uri = stock_uri("register", HOST, token); created_at = created_at; expires = expires;
	};
	invite.landing_page = render_url(TEMPLATE, { host = HOST, invite = invite });
	return invite, datetime.datetime(expires);
end

-- Stock get(token) for registration, given the record storage returned.
local valid_invite_mt = { __index = {} };
local function stock_validate(token_info, token)
	if not token then return nil, "no-token"; end
	local valid_until, username, inviter;
	valid_until = token_info and token_info.expires;
	if token_info and token_info.type == "roster" then
		username = token_info.jid:match("^([^@]+)@");
		inviter = username;
	end
	if not valid_until then return nil, "token-invalid"; end
	if os.time() > valid_until then return nil, "token-expired"; end
	return setmetatable({
		token = token; username = username; inviter = inviter;
		type = token_info and token_info.type or "roster";
		uri = token_info and token_info.uri or stock_uri("roster", username .. "@" .. HOST, token);
		additional_data = token_info and token_info.additional_data or nil;
		reusable = token_info.reusable;
	}, valid_invite_mt);
end

-- Ours: what bindings/prosody/mod_invites.lua does per invite with
-- invites_page set, storage and events left out: create_account and
-- create_invite with the additional_data that `generate` passes (an empty
-- table), the invite-created hook's landing link (its fourth argument is
-- invites_page_supports, unset here), the redacted token the debug log
-- line is given (evaluated whatever the log level), and the expiry text.
local function module_create(x)
	local opts = { type = "account", user = nil, additional_data = {}, ttl = nil };
	opts.host = HOST;
	opts.hash_at_rest = false;
	if opts.ttl == nil and opts.type ~= "password-reset" then opts.ttl = TTL; end
	local created = assert(x.create(opts));
	local invite = created.record;
	if not invite.landing_page then
		local link = x.landing_link(TEMPLATE, HOST, invite, nil);
		if link then invite.landing_page = link; end
	end
	for _, change in ipairs(created.changes) do local _ = change.value; end
	local _ = x.redact_token(invite.token) or "(malformed)";
	return invite, x.datetime(invite.expires);
end
local function ours_create() return module_create(xi); end

-- Not ours: the same sequence of the module's Lua with every xi call a
-- stub that returns at once (create a table made in advance): what the
-- module costs around the calls, which no binding can remove.
local shell_create;
do
	local record = { token = ("x"):rep(24), expires = 0 };
	local created = { record = record, changes = { { value = record } }, type = "account" };
	local stub = {
		create = function() record.landing_page = nil; return created; end,
		landing_link = function() return "https://example.com/invite?x"; end,
		redact_token = function() return "xxxx…(24)"; end,
		datetime = function() return "1970-01-01T00:00:00Z"; end,
	};
	shell_create = function() return module_create(stub); end
end

-- Ours: mod_invites's get(token), given the record storage returned.
local ours_valid_mt = { __index = {} };
local function ours_validate(record, token)
	if not token then return nil, "no-token"; end
	local shaped, shape_err = xi.check_token(token);
	if not shaped then return nil, shape_err == "no-token" and "no-token" or "token-invalid"; end
	local now = os.time();
	local valid, err = xi.validate{ token = token, record = record, contact_expires = nil, inviter = nil, now = now };
	if not valid then return nil, err == "token-expired" and err or "token-invalid"; end
	local inviter = valid.inviter;
	return setmetatable({
		token = token;
		username = inviter;
		inviter = inviter;
		type = record and record.type or "roster";
		jid = record and record.jid or (inviter and inviter .. "@" .. HOST);
		uri = valid.uri or xi.build_uri{ localpart = inviter, host = HOST, action = "roster", token = token };
		additional_data = record and record.additional_data or nil;
		reusable = valid.reusable;
		expires = valid.expires;
		validated_at = now;
		_valid = valid;
	}, ours_valid_mt);
end

-- The floors' options.
local create_opts = { type = "account", host = HOST, landing_page = TEMPLATE };

local record = stock_create();
local token = record.token;
local validate_opts = { token = token, record = record, now = os.time() };
floor.size_like(assert(xi.validate(validate_opts)));

local SMOKE = os.getenv("XI_BENCH_SMOKE") == "1";

-- The sides of a row must do the same work. The create floor returns
-- stock's fields, with stock's values where they are not random.
do
	local function keys(t)
		local out = {};
		for k in pairs(t) do out[#out + 1] = k; end
		table.sort(out);
		return table.concat(out, ",");
	end
	-- The URI, landing link and expiry text stock makes for t's token and expiry.
	local function as_stock(t, expiry)
		assert(t.uri == stock_uri("register", HOST, t.token), t.uri);
		assert(t.landing_page == TEMPLATE:gsub("{invite.token}", t.token), t.landing_page);
		local want = datetime.datetime(t.expires);
		assert(expiry == want, expiry .. " is not " .. want);
	end
	for _, make in ipairs{ floor.create, floor.create_buffered, table.unpack(vdso_floors) } do
		local stock, stock_expiry = stock_create();
		local f, f_expiry = make(create_opts);
		assert(keys(f) == keys(stock), keys(f) .. " is not " .. keys(stock));
		assert(f.token:match("^[%w_-]+$") and #f.token == #stock.token, f.token);
		as_stock(f, f_expiry);
		assert(f.type == stock.type and f.jid == stock.jid and f.allow_registration == true);
		assert(math.abs(f.created_at - stock.created_at) <= 1 and f.expires - f.created_at == TTL);
		assert(#stock_expiry == #f_expiry, stock_expiry);
	end
	assert(floor.create(create_opts).token ~= floor.create(create_opts).token);
	assert(floor.create_buffered(create_opts).token ~= floor.create_buffered(create_opts).token);
	for _, make in ipairs(vdso_floors) do
		assert(make(create_opts).token ~= make(create_opts).token);
	end
	as_stock(ours_create());
	local ours, stock = assert(ours_validate(record, token)), assert(stock_validate(record, token));
	for _, k in ipairs{ "token", "username", "inviter", "type", "uri" } do
		assert(ours[k] == stock[k], k);
	end
	assert(not ours.reusable and not stock.reusable); -- false and nil
	local min = assert(floor.validate_min(record, token, os.time()));
	for _, k in ipairs{ "token", "username", "inviter", "type", "uri", "additional_data", "reusable" } do
		assert(min[k] == stock[k], k);
	end
	local other = token:sub(1, -2) .. (token:sub(-1) == "A" and "B" or "A");
	assert(floor.validate_min(record, other, os.time()) == nil, "another token passed");
	assert(select(2, floor.validate_min(record, token, record.expires + 1)) == "token-expired");
	assert(ours.additional_data == stock.additional_data and ours._valid.token == token);
end

-- The number of calls of f that take at least min_seconds.
local function calibrate(f, min_seconds)
	if SMOKE then return 100; end
	for _ = 1, 1000 do f(); end -- warm up
	local n = 1000;
	while true do
		local t0 = os.clock();
		for _ = 1, n do f(); end
		if os.clock() - t0 >= min_seconds then return n; end
		n = n * 2;
	end
end

-- ns per call of n calls of f, in CPU time (os.clock). Each batch starts
-- from a collected heap and pays for collecting its own garbage, so that
-- neither side's garbage is collected in the other's time.
local function time_calls(f, n)
	collectgarbage();
	local t0 = os.clock();
	for _ = 1, n do f(); end
	collectgarbage();
	return (os.clock() - t0) / n * 1e9;
end

local function median(xs)
	local s = { table.unpack(xs) };
	table.sort(s);
	return s[(#s + 1) // 2];
end

-- Stock and ours in alternating rounds of 0.1-0.2 s a side, so that a busy
-- neighbour slows both: the medians of each side's ns/op and of the
-- rounds' ratios.
local ROUNDS = SMOKE and 1 or 7;
local function compare(stock_f, ours_f, before_ours)
	before_ours = before_ours or function() end;
	local n_stock = calibrate(stock_f, 0.1);
	before_ours();
	local n_ours = calibrate(ours_f, 0.1);
	assert(xi.select_rng("os"));
	local stock, ours, ratios = {}, {}, {};
	for i = 1, ROUNDS do
		stock[i] = time_calls(stock_f, n_stock);
		before_ours();
		ours[i] = time_calls(ours_f, n_ours);
		assert(xi.select_rng("os"));
		ratios[i] = stock[i] / ours[i];
	end
	return median(stock), median(ours), median(ratios);
end

-- require cost: each in a fresh interpreter, the median of several. With
-- preload, that module is required first, untimed.
local function require_cost(module_name, cpath, preload)
	local samples = {};
	for i = 1, SMOKE and 1 or 15 do
		local cmd = ("lua5.4 -e 'package.path=%q..package.path; package.cpath=%q..package.cpath; %s local t=os.clock(); require(%q); io.write((os.clock()-t)*1e9)'")
			:format(prosody .. "/?.lua;", cpath, preload and ("require(%q);"):format(preload) or "", module_name);
		local p = assert(io.popen(cmd));
		local out = p:read("a");
		assert(p:close(), "require " .. module_name .. " failed in a fresh lua5.4");
		samples[i] = assert(tonumber(out), out);
	end
	return median(samples);
end

local rows = {
	{ "token", function() return id.medium(); end, function() return xi.generate_token(); end },
	{ "full create", stock_create, ours_create },
	{ "validate a stored record", function() return stock_validate(record, token); end,
		function() return ours_validate(record, token); end },
	-- Not ours: the C floor of any validate that reads the whole record
	-- and returns an object the caller cannot edit.
	{ "validate floor: walk + userdata (C)", function() return stock_validate(record, token); end,
		function() return floor.validate(validate_opts); end },
	-- Not ours: the C floor of a validate that reads what stock reads,
	-- checks the types of those fields and the token in constant time,
	-- and returns stock's plain table: any binding's least.
	{ "validate floor: stock's reads + checks (C)", function() return stock_validate(record, token); end,
		function() return floor.validate_min(record, token, os.time()); end },
	-- Not ours: the C floors of a create that returns what stock returns,
	-- with one getrandom system call per token and with OS bytes
	-- read ahead into a buffer (how stock reads /dev/urandom).
	{ "create floor: getrandom per token + one table (C)", stock_create,
		function() return floor.create(create_opts); end },
	{ "create floor: buffered OS bytes + one table (C)", stock_create,
		function() return floor.create_buffered(create_opts); end },
	-- ... and with the kernel's getrandom in the vDSO, as ours draws its
	-- OS bytes where the kernel has it (left out, and said so, elsewhere).
	os_backend == "vdso" and { "create floor: vDSO getrandom + one table (C)", stock_create,
		function() return floor.create_vdso(create_opts); end } or false,
	-- Not ours: the module's Lua around the calls, the calls stubbed.
	{ "create floor: the module's Lua, xi stubbed (Lua)", stock_create, shell_create },
	{ "URI only", function() return stock_uri("register", HOST, token); end,
		function() return xi.build_uri{ host = HOST, action = "register", token = token }; end },
	{ "landing link only", function() return render_url(TEMPLATE, { host = HOST, invite = record }); end,
		function() return xi.landing_link(TEMPLATE, HOST, record, nil); end },
	-- The same as rows 1 and 2 with ours opted in to the fork-safe userspace
	-- generator (xi.select_rng); stock is unchanged.
	{ "token, opt-in fork-safe generator", function() return id.medium(); end,
		function() return xi.generate_token(); end, rng = "fork-safe" },
	{ "full create, opt-in fork-safe generator", stock_create, ours_create, rng = "fork-safe" },
}

local results = {};
for _, row in ipairs(rows) do
	if row then
		local before_ours = row.rng and function() assert(xi.select_rng(row.rng)); end;
		local stock, ours, ratio = compare(row[2], row[3], before_ours);
		results[#results + 1] = { name = row[1], stock = stock, ours = ours, ratio = ratio };
	end
end
do
	local stock = require_cost("util.id", prosody .. "/?.so;");
	local ours = require_cost("xmpp_invites", module_dir .. "/?.so;");
	results[#results + 1] = { name = "require (fresh interpreter)", stock = stock, ours = ours, ratio = stock / ours };
end

-- Context, not a row: require in an interpreter that has loaded what every
-- Prosody process loads at start. util.encodings (nameprep, for every JID)
-- links ICU and with it libstdc++ and libgcc_s, the unwinder our object
-- links too, so the loader no longer pays for libgcc_s there.
local require_in_prosody = require_cost("xmpp_invites",
	module_dir .. "/?.so;" .. prosody .. "/?.so;", "util.encodings");

-- Context, not a row: the storage read before every validate in Prosody.
-- mod_invites's get() reads the invite_token map store, which the default
-- storage (internal, a keyval store under a map shim) keeps as one file per
-- host holding every pending invite, loaded whole through util.datamanager
-- for each get. Here the file holds one invite (the best case) in a
-- temporary data directory, in the page cache.
local store_read;
do
	local p = assert(io.popen("mktemp -d"));
	local dir = p:read("l");
	assert(p:close() and dir, "mktemp -d failed");
	local ok, err = pcall(function()
		local dm = require "util.datamanager";
		dm.set_data_path(dir);
		assert(dm.store(nil, HOST, "invite_token", { [token] = record }));
		local function read() return dm.load(nil, HOST, "invite_token")[token]; end
		assert(read().token == token, "the file store gave back another record");
		store_read = time_calls(read, calibrate(read, 0.3));
	end);
	assert(os.execute(("rm -r %q"):format(dir)));
	assert(ok, err);
end

for _, r in ipairs(results) do
	for _, x in ipairs{ r.stock, r.ours, r.ratio } do
		assert(x > 0 and x < math.huge, r.name .. ": no figure");
	end
end
assert(store_read > 0 and store_read < math.huge, "store read: no figure");
assert(require_in_prosody > 0 and require_in_prosody < math.huge, "require after util.encodings: no figure");

if arg[1] == "--json" then
	local parts = {};
	for _, r in ipairs(results) do
		parts[#parts + 1] = ('{"name":%q,"stock_ns":%.1f,"ours_ns":%.1f,"ratio":%.3f}'):format(r.name, r.stock, r.ours, r.ratio);
	end
	parts[#parts + 1] = ('{"name":"context: store read before validate, one pending invite","stock_ns":%.1f}'):format(store_read);
	parts[#parts + 1] = ('{"name":"context: require after util.encodings","ours_ns":%.1f}'):format(require_in_prosody);
	parts[#parts + 1] = ('{"name":"context: how ours draws the OS\'s bytes","backend":%q}'):format(os_backend);
	print("[" .. table.concat(parts, ",") .. "]");
else
	print(("%-50s %14s %14s %10s"):format("operation", "stock ns/op", "ours ns/op", "stock/ours"));
	for _, r in ipairs(results) do
		print(("%-50s %14.0f %14.0f %9.2fx"):format(r.name, r.stock, r.ours, r.ratio));
	end
	print(("context: Prosody's default store read before every validate, one pending\ninvite in the host's invite_token file (util.datamanager, page cache): %.0f ns"):format(store_read));
	print(("ours draws the OS's bytes through: %s%s"):format(os_backend,
		os_backend == "vdso" and "" or " (no vDSO getrandom here: the vDSO floor is left out)"));
	print(("context: require \"xmpp_invites\" after util.encodings, as in a Prosody process\n(ICU, libstdc++ and libgcc_s already loaded): %.0f ns"):format(require_in_prosody));
end
