/* madvise for tests/lua/test_rng_madvise.lua, loaded with LD_PRELOAD ahead
 * of the C library, so that the module's calls bind to it. It answers as
 * the system that XI_TEST_MADVISE names, and as Linux itself (the real
 * system call) for the advice that system would take.
 *
 * dlopen and mmap for tests/lua/test_rng_os.lua: with XI_TEST_VDSO=absent
 * the vDSO is not found by name (as under musl, or a kernel before 6.11),
 * with XI_TEST_VDSO=unmappable a vDSO getrandom state (a MAP_DROPPABLE
 * mapping) cannot be mapped. Everything else goes to the C library. */
#define _GNU_SOURCE /* MADV_WIPEONFORK, RTLD_NEXT */
#include <dlfcn.h>
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

static int vdso_test(const char *what)
{
	const char *v = getenv("XI_TEST_VDSO");
	return v != NULL && strcmp(v, what) == 0;
}

void *dlopen(const char *file, int mode)
{
	static void *(*real)(const char *, int);
	if (file != NULL && strncmp(file, "linux-", 6) == 0 && vdso_test("absent"))
		return NULL;
	if (real == NULL)
		real = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
	return real(file, mode);
}

#define MAP_TYPE_BITS 0x0f
#define MAP_DROPPABLE_TYPE 0x08

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if ((flags & MAP_TYPE_BITS) == MAP_DROPPABLE_TYPE && vdso_test("unmappable")) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}
