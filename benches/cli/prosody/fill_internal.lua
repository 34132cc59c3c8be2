-- Writes N pending account invites of HOST into Prosody's default file
-- storage (mod_storage_internal through storagemanager's map shim: one
-- keyval file DATA/<host>/invite_token.dat), exactly as Prosody writes it:
-- records shaped as mod_invites' create_invite() makes them for
-- `prosodyctl mod_invites generate HOST`, tokens from util.id.medium(), the
-- file rendered by util.serialization as util.datamanager.store() does.
-- Replaces the file. Prints SAMPLE tokens spread over the store, one a line.
--
--   lua5.4 fill_internal.lua DATA_DIR HOST N SAMPLE
package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath

local id = require "util.id"
local serialize = require "util.serialization".serialize
local url = require "socket.url"

local data_dir, host, n, sample = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4] or 0)
assert(data_dir and host and n, "usage: lua5.4 fill_internal.lua DATA_DIR HOST N [SAMPLE]")

-- util.datamanager's getpath(): host and store names %-encoded.
local function encode(s) return (s:gsub("%W", function(c) return string.format("%%%02x", c:byte()) end)) end
local dir = data_dir .. "/" .. encode(host)
os.execute("mkdir -p '" .. dir .. "'")

local now = os.time()
local data, tokens = {}, {}
for i = 1, n do
	local token = id.medium()
	data[token] = {
		type = "register";
		jid = host;
		token = token;
		allow_registration = true;
		additional_data = { groups = {} };
		uri = url.build({ scheme = "xmpp", path = host, query = "register;preauth=" .. token });
		created_at = now;
		expires = now + 86400 * 7;
	}
	if sample > 0 and (i - 1) % math.max(1, n // sample) == 0 and #tokens < sample then
		tokens[#tokens + 1] = token
	end
end

local path = dir .. "/invite_token.dat"
local f = assert(io.open(path .. "~", "w"))
assert(f:write("return " .. serialize(data) .. ";\n"))
assert(f:close())
assert(os.rename(path .. "~", path))
for _, t in ipairs(tokens) do print(t) end
