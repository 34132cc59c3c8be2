/*
 * The floor of a validate that reads the whole record, for the Lua bench:
 * floor(opts) walks the option table and opts.record with lua_next, as
 * xmpp_invites's validate does, and returns a userdata of the size of its
 * validated invite with a metatable. No key is matched, no value checked,
 * nothing validated: what any binding that reads every field and returns
 * an object the caller cannot edit pays before doing any work.
 *
 * Built by benches/run.sh lua.
 */
#include <lauxlib.h>
#include <lua.h>

static int floor_validate(lua_State *L) {
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		lua_pop(L, 1);
	}
	if (lua_getfield(L, 1, "record") == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, 2) != 0) {
			lua_pop(L, 1);
		}
	}
	lua_newuserdatauv(L, 400, 0);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_setmetatable(L, -2);
	return 1;
}

int luaopen_xi_bench_floor(lua_State *L) {
	lua_newtable(L);
	lua_pushcclosure(L, floor_validate, 1);
	return 1;
}
