-- Loads the xmpp_invites core for the modules in this folder: from the
-- path in `xmpp_invites_library` when set, else with require (package.cpath,
-- e.g. /usr/local/lib/lua/5.4/xmpp_invites.so).
local path = module:get_option_string("xmpp_invites_library");
if path then
	local open, err = package.loadlib(path, "luaopen_xmpp_invites");
	if not open then
		error("xmpp_invites_library: cannot load "..path..": "..tostring(err));
	end
	return open();
end
local ok, xi = pcall(require, "xmpp_invites");
if not ok then
	error("cannot load the xmpp_invites module: install xmpp_invites.so on package.cpath or set xmpp_invites_library ("..tostring(xi)..")");
end
return xi;
