/* madvise for tests/lua/test_rng_madvise.lua, loaded with LD_PRELOAD ahead
 * of the C library, so that the module's calls bind to it. It answers as
 * the system that XI_TEST_MADVISE names, and as Linux itself (the real
 * system call) for the advice that system would take. */
#define _GNU_SOURCE /* MADV_WIPEONFORK */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int refuse(int error)
{
	errno = error;
	return -1;
}

int madvise(void *addr, size_t len, int advice)
{
	const char *sys = getenv("XI_TEST_MADVISE");
	if (sys == NULL)
		sys = "linux";
	if (strcmp(sys, "ignores-all") == 0) /* qemu-user: yes to everything, nothing done */
		return 0;
	if (strcmp(sys, "seccomp") == 0) /* a filter that forbids madvise */
		return refuse(EPERM);
	if (advice == MADV_WIPEONFORK) {
		if (strcmp(sys, "old-linux") == 0) /* before 4.14 */
			return refuse(EINVAL);
		if (strcmp(sys, "out-of-mappings") == 0)
			return refuse(ENOMEM);
	}
	return (int)syscall(SYS_madvise, addr, len, advice);
}
