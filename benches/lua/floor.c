/*
 * Floors for the Lua bench: C functions that do the least a binding must do
 * for a result, and nothing more. Built by benches/run.sh lua.
 *
 * validate(opts) walks the option table and opts.record with lua_next, as
 * xmpp_invites's validate does, and returns a userdata of the size of its
 * validated invite (set once by size_like(invite)) with a metatable. No key
 * is matched, no value checked, nothing validated: the floor of a validate
 * designed as ours is (read every field, return an object the caller cannot
 * edit), not of every possible validate.
 *
 * validate_min(record, token, now) does what stock's get() does with the
 * record storage returned, in C, and no more but checks: it reads the
 * fields stock reads (expires, type, uri, additional_data, reusable, and
 * jid for a contact invite), refuses one of the wrong type, compares the
 * presented token with the stored one in constant time, and returns a
 * table of stock's fields with a metatable. The floor of a validate that
 * checks only what it reads and returns a plain table.
 *
 * create(opts) returns what stock's create returns: one table with its
 * nine fields (type, jid, token, allow_registration, the additional_data
 * that `generate` passes, { groups = {} }, uri, created_at, expires,
 * landing_page) and the XEP-0082 expiry text. It reads only
 * opts.host and opts.landing_page, takes 18 bytes from one getrandom call
 * (one system call per token, as ours makes where the kernel has no vDSO
 * getrandom), writes them in
 * base64url, and builds the URI and the landing link by copying bytes: no
 * other option read, no host prepared, no template parsed (the first
 * "{invite.token}" is replaced and nothing else: enough for the bench's
 * template, which vs_stock.lua checks against stock's rendering), nothing
 * escaped or checked.
 *
 * create_buffered(opts) is the same with the bytes copied from a 4 KiB
 * buffer that getrandom refills: how stock gets its randomness on Debian,
 * where util.random reads /dev/urandom through stdio's 4 KiB buffer (one
 * read system call per 227 tokens), and the floor of any generator in
 * userspace. Like stock's, this buffer is not safe across fork.
 *
 * create_vdso(opts) is the same with the 18 bytes from the kernel's
 * getrandom in the vDSO (Linux 6.11 and later), as xmpp_invites draws
 * them by default where the kernel has it: the OS's bytes, fork-safe,
 * without the system call. It raises where there is no vDSO getrandom.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#define TOKEN_BYTES 18
#define TOKEN_CHARS 24
#define TTL (7 * 86400)

/* The size of xmpp_invites's validated invite, set by size_like. */
static size_t valid_invite_size = 0;

static int size_like(lua_State *L) {
	luaL_checktype(L, 1, LUA_TUSERDATA);
	valid_invite_size = lua_rawlen(L, 1);
	return 0;
}

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
	if (valid_invite_size == 0) {
		return luaL_error(L, "call size_like(invite) first");
	}
	lua_newuserdatauv(L, valid_invite_size, 0);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_setmetatable(L, -2);
	return 1;
}

static void os_bytes(lua_State *L, unsigned char *out) {
	if (getrandom(out, TOKEN_BYTES, 0) != TOKEN_BYTES) {
		luaL_error(L, "getrandom failed");
	}
}

static void buffered_bytes(lua_State *L, unsigned char *out) {
	static unsigned char pool[4096];
	static size_t used = sizeof pool;
	if (used + TOKEN_BYTES > sizeof pool) {
		/* Only requests of up to 256 bytes are never cut short. */
		for (size_t got = 0; got < sizeof pool;) {
			ssize_t n = getrandom(pool + got, sizeof pool - got, 0);
			if (n <= 0) {
				luaL_error(L, "getrandom failed");
			}
			got += (size_t)n;
		}
		used = 0;
	}
	memcpy(out, pool + used, TOKEN_BYTES);
	used += TOKEN_BYTES;
}

/* Equal in time that depends on the lengths only. */
static int same_token(const char *a, size_t a_len, const char *b, size_t b_len) {
	if (a_len != b_len) {
		return 0;
	}
	unsigned char diff = 0;
	for (size_t i = 0; i < a_len; i++) {
		diff |= (unsigned char)(a[i] ^ b[i]);
	}
	return diff == 0;
}

/* validate_min's refusal: nil, "token-invalid". */
static int invalid(lua_State *L) {
	lua_pushnil(L);
	lua_pushliteral(L, "token-invalid");
	return 2;
}

static int floor_validate_min(lua_State *L) {
	luaL_checktype(L, 1, LUA_TTABLE);
	size_t token_len, stored_len;
	const char *token = luaL_checklstring(L, 2, &token_len);
	lua_Integer now = luaL_checkinteger(L, 3);
	lua_settop(L, 3);
	int expires_ok = 0;
	lua_Integer expires = 0;
	if (lua_getfield(L, 1, "expires") == LUA_TNUMBER) { /* 4 */
		expires = lua_tointegerx(L, 4, &expires_ok);
	}
	int type = lua_getfield(L, 1, "type");               /* 5 */
	int stored = lua_getfield(L, 1, "token");            /* 6 */
	if (!expires_ok || type != LUA_TSTRING || stored != LUA_TSTRING) {
		return invalid(L);
	}
	const char *stored_token = lua_tolstring(L, 6, &stored_len);
	if (!same_token(token, token_len, stored_token, stored_len)) {
		return invalid(L);
	}
	int roster = strcmp(lua_tostring(L, 5), "roster") == 0;
	if (now > expires) {
		lua_pushnil(L);
		lua_pushliteral(L, "token-expired");
		return 2;
	}
	lua_createtable(L, 0, 7);
	lua_pushvalue(L, 2);
	lua_setfield(L, -2, "token");
	if (roster) {
		if (lua_getfield(L, 1, "jid") != LUA_TSTRING) {
			return invalid(L);
		}
		const char *jid = lua_tostring(L, -1);
		const char *at = strchr(jid, '@');
		if (at == NULL) {
			return invalid(L);
		}
		lua_pushlstring(L, jid, (size_t)(at - jid));
		lua_pushvalue(L, -1);
		lua_setfield(L, -4, "username");
		lua_setfield(L, -3, "inviter");
		lua_pop(L, 1);
	}
	lua_pushvalue(L, 5);
	lua_setfield(L, -2, "type");
	if (lua_getfield(L, 1, "uri") != LUA_TSTRING && !lua_isnil(L, -1)) {
		return invalid(L);
	}
	lua_setfield(L, -2, "uri");
	if (lua_getfield(L, 1, "additional_data") != LUA_TTABLE && !lua_isnil(L, -1)) {
		return invalid(L);
	}
	lua_setfield(L, -2, "additional_data");
	if (lua_getfield(L, 1, "reusable") != LUA_TBOOLEAN && !lua_isnil(L, -1)) {
		return invalid(L);
	}
	lua_setfield(L, -2, "reusable");
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_setmetatable(L, -2);
	return 1;
}

typedef ssize_t (*vgetrandom_fn)(void *, size_t, unsigned, void *, size_t);

static void vdso_bytes(lua_State *L, unsigned char *out) {
	static vgetrandom_fn vgetrandom;
	static void *state;
	static size_t state_len;
	if (state == NULL) {
		struct {
			uint32_t size, prot, flags, reserved[13];
		} params;
		void *vdso = dlopen("linux-vdso.so.1", RTLD_NOW | RTLD_NOLOAD);
		vgetrandom = vdso ? (vgetrandom_fn)dlsym(vdso, "__vdso_getrandom") : NULL;
		if (vgetrandom == NULL || vgetrandom(NULL, 0, 0, &params, ~(size_t)0) != 0) {
			luaL_error(L, "no vDSO getrandom here");
		}
		void *page = mmap(NULL, 4096, (int)params.prot, (int)params.flags, -1, 0);
		if (page == MAP_FAILED) {
			luaL_error(L, "cannot map a vDSO getrandom state");
		}
		state = page;
		state_len = params.size;
	}
	if (vgetrandom(out, TOKEN_BYTES, 0, state, state_len) != TOKEN_BYTES) {
		luaL_error(L, "vDSO getrandom failed");
	}
}

static void base64url(const unsigned char *in, char *out) {
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	for (int i = 0, o = 0; i < TOKEN_BYTES; i += 3, o += 4) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o] = alphabet[v >> 18 & 63];
		out[o + 1] = alphabet[v >> 12 & 63];
		out[o + 2] = alphabet[v >> 6 & 63];
		out[o + 3] = alphabet[v & 63];
	}
}

static char *put(char *at, const char *s, size_t n) {
	memcpy(at, s, n);
	return at + n;
}

static char *digits(char *at, long v, int width) {
	for (int i = width - 1; i >= 0; i--) {
		at[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return at + width;
}

static int floor_create_with(lua_State *L, void (*bytes)(lua_State *, unsigned char *)) {
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	size_t host_len, template_len;
	lua_getfield(L, 1, "host");
	const char *host = lua_tolstring(L, 2, &host_len);
	lua_getfield(L, 1, "landing_page");
	const char *template = lua_tolstring(L, 3, &template_len);
	if (host == NULL || template == NULL || host_len > 200 || template_len > 200) {
		return luaL_error(L, "host and landing_page: short strings");
	}

	unsigned char raw[TOKEN_BYTES];
	char token[TOKEN_CHARS];
	bytes(L, raw);
	base64url(raw, token);

	char uri[300], *end = uri;
	end = put(end, "xmpp:", 5);
	end = put(end, host, host_len);
	end = put(end, "?register;preauth=", 18);
	end = put(end, token, TOKEN_CHARS);
	size_t uri_len = (size_t)(end - uri);

	char link[300];
	size_t link_len = template_len;
	const char *hole = strstr(template, "{invite.token}");
	if (hole != NULL) {
		end = put(link, template, (size_t)(hole - template));
		end = put(end, token, TOKEN_CHARS);
		size_t rest = template_len - (size_t)(hole - template) - 14;
		end = put(end, hole + 14, rest);
		link_len = (size_t)(end - link);
	} else {
		memcpy(link, template, template_len);
	}

	time_t now = time(NULL);
	time_t expires = now + TTL;
	struct tm tm;
	if (gmtime_r(&expires, &tm) == NULL || tm.tm_year + 1900L > 9999) {
		return luaL_error(L, "expiry out of range");
	}
	char stamp[20];
	end = digits(stamp, tm.tm_year + 1900L, 4);
	*end++ = '-';
	end = digits(end, tm.tm_mon + 1, 2);
	*end++ = '-';
	end = digits(end, tm.tm_mday, 2);
	*end++ = 'T';
	end = digits(end, tm.tm_hour, 2);
	*end++ = ':';
	end = digits(end, tm.tm_min, 2);
	*end++ = ':';
	end = digits(end, tm.tm_sec, 2);
	*end = 'Z';

	lua_createtable(L, 0, 9);
	lua_pushliteral(L, "register");
	lua_setfield(L, -2, "type");
	lua_createtable(L, 0, 1); /* generate's additional_data: { groups = {} } */
	lua_newtable(L);
	lua_setfield(L, -2, "groups");
	lua_setfield(L, -2, "additional_data");
	lua_pushvalue(L, 2);
	lua_setfield(L, -2, "jid");
	lua_pushlstring(L, token, TOKEN_CHARS);
	lua_setfield(L, -2, "token");
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, "allow_registration");
	lua_pushlstring(L, uri, uri_len);
	lua_setfield(L, -2, "uri");
	lua_pushinteger(L, (lua_Integer)now);
	lua_setfield(L, -2, "created_at");
	lua_pushinteger(L, (lua_Integer)expires);
	lua_setfield(L, -2, "expires");
	lua_pushlstring(L, link, link_len);
	lua_setfield(L, -2, "landing_page");
	lua_pushlstring(L, stamp, sizeof stamp);
	return 2;
}

static int floor_create(lua_State *L) {
	return floor_create_with(L, os_bytes);
}

static int floor_create_buffered(lua_State *L) {
	return floor_create_with(L, buffered_bytes);
}

static int floor_create_vdso(lua_State *L) {
	return floor_create_with(L, vdso_bytes);
}

int luaopen_xi_bench_floor(lua_State *L) {
	lua_createtable(L, 0, 6);
	lua_pushcfunction(L, size_like);
	lua_setfield(L, -2, "size_like");
	lua_newtable(L);
	lua_pushcclosure(L, floor_validate, 1);
	lua_setfield(L, -2, "validate");
	lua_newtable(L);
	lua_pushcclosure(L, floor_validate_min, 1);
	lua_setfield(L, -2, "validate_min");
	lua_pushcfunction(L, floor_create);
	lua_setfield(L, -2, "create");
	lua_pushcfunction(L, floor_create_buffered);
	lua_setfield(L, -2, "create_buffered");
	lua_pushcfunction(L, floor_create_vdso);
	lua_setfield(L, -2, "create_vdso");
	return 1;
}
