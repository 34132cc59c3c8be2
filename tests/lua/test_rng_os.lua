-- The OS generator behind the default "os" selection: the kernel's
-- getrandom through the vDSO where the kernel has it, the system call
-- where it has not, or where a thread's vDSO state cannot be mapped.
-- Run without XI_TEST_VDSO, this file runs itself in a child interpreter
-- once per case, with tests/lua/madvise_shim.c (built by run.sh,
-- XI_MADVISE_SHIM) preloaded to hide the vDSO or refuse its state.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local h = require "harness"
local check, eq = h.check, h.eq

local NOW = 1700000000
local case = os.getenv("XI_TEST_VDSO")

if not case then
	h.run_preloaded("XI_TEST_VDSO", { "present", "absent", "unmappable" }, "the OS generator, vDSO")
	h.summary()
end

-- Where the vDSO must serve: x86_64 (glibc names its vDSO linux-vdso.so.1)
-- on Linux 6.11 or later.
local function vdso_expected()
	local f = io.open("/proc/sys/kernel/osrelease")
	local release = f and f:read("*l") or ""
	if f then f:close() end
	local major, minor = release:match("^(%d+)%.(%d+)")
	local p = io.popen("uname -m")
	local machine = p and p:read("*l")
	if p then p:close() end
	major, minor = tonumber(major) or 0, tonumber(minor) or 0
	return machine == "x86_64" and (major > 6 or (major == 6 and minor >= 11))
end

local xi = require "xmpp_invites"
local selected, backend = xi.selected_rng()
eq(selected, "os", "the OS generator by default")
if case == "present" then
	if vdso_expected() then
		eq(backend, "vdso", "the kernel's getrandom in the vDSO")
	else
		check(backend == "vdso" or backend == "syscall", "a backend", backend)
	end
elseif case == "absent" or case == "unmappable" then
	eq(backend, "syscall", "the system call, vDSO " .. case)
else
	error("unknown XI_TEST_VDSO: " .. case)
end
-- Whichever serves, tokens and invites come, all different.
local seen, repeated, bad = {}, 0, 0
for _ = 1, 500 do
	for _, t in ipairs { xi.generate_token(), xi.create { type = "account", host = "example.com", now = NOW }.token } do
		if seen[t] then repeated = repeated + 1 end
		if xi.check_token(t) ~= true or #t ~= 24 then bad = bad + 1 end
		seen[t] = true
	end
end
eq(repeated, 0, "tokens are all different")
eq(bad, 0, "tokens are well-formed")
eq(#xi.generate_token("alphanumeric", 40), 40, "an alphanumeric token")
eq(select(2, xi.selected_rng()), backend, "the backend stays")
h.summary()
