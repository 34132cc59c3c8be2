/* xi_rng_select on systems whose madvise cannot be trusted with the
 * fork-safe generator's state page. This program defines its own madvise,
 * which the library's calls bind to instead of the C library's (the
 * executable's definition comes first, with the static library and with
 * the shared one alike), and which answers as the system under test. */
#define _GNU_SOURCE /* MADV_WIPEONFORK and MADV_DONTDUMP under -std=c11 */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>

#include "check.h"

enum system { LINUX, IGNORES_ALL, OLD_LINUX, OUT_OF_MAPPINGS };
static enum system sys = LINUX;

/* Linux 4.14 and later take MADV_WIPEONFORK and MADV_DONTDUMP and refuse
 * other advice the library gives (it asks for -1 to see a refusal). */
int madvise(void *addr, size_t len, int advice)
{
	(void)addr;
	(void)len;
	int known = advice == MADV_WIPEONFORK || advice == MADV_DONTDUMP;
	switch (sys) {
	case IGNORES_ALL: /* qemu-user: yes to everything, nothing done */
		return 0;
	case OLD_LINUX:
		if (advice == MADV_WIPEONFORK) {
			errno = EINVAL;
			return -1;
		}
		break;
	case OUT_OF_MAPPINGS:
		if (advice == MADV_WIPEONFORK) {
			errno = ENOMEM;
			return -1;
		}
		break;
	case LINUX:
		break;
	}
	if (known)
		return 0;
	errno = EINVAL;
	return -1;
}

struct attempt {
	xi_result result;
	char message[512];
};

/* xi_rng_select(XI_RNG_FORK_SAFE) from a new thread: each thread maps its
 * own state page, so each attempt asks madvise again. */
static void *select_fork_safe(void *arg)
{
	struct attempt *a = arg;
	a->result = xi_rng_select(XI_RNG_FORK_SAFE);
	snprintf(a->message, sizeof a->message, "%s", xi_last_error_message());
	return NULL;
}

static struct attempt attempt_on(enum system s)
{
	struct attempt a = { .result = XI_RESULT_OK };
	pthread_t t;
	sys = s;
	if (pthread_create(&t, NULL, select_fork_safe, &a) != 0 || pthread_join(t, NULL) != 0)
		a.result = XI_RESULT_PANIC;
	sys = LINUX;
	return a;
}

static void refused(enum system s, xi_result want, const char *says)
{
	struct attempt a = attempt_on(s);
	/* The result and its message are the attempt's thread's. */
	CHECK_STR(xi_result_name(a.result), xi_result_name(want));
	if (!CHECK(strstr(a.message, says) != NULL))
		fprintf(stderr, "     the message: %s\n", a.message);
	CHECK_INT(xi_rng_selected(), XI_RNG_OS);
	/* Tokens still come, from the OS. */
	char *token = NULL;
	CHECK_OK(xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, NULL, 0, &token));
	CHECK(token != NULL && strlen(token) == 24);
	xi_string_free(token);
}

int main(void)
{
	set_context("madvise accepts any advice (qemu-user)");
	refused(IGNORES_ALL, XI_RESULT_RNG_UNSUPPORTED, "cannot be trusted");

	set_context("madvise refuses MADV_WIPEONFORK (Linux before 4.14)");
	refused(OLD_LINUX, XI_RESULT_RNG_UNSUPPORTED, "MADV_WIPEONFORK is not available");

	set_context("madvise out of mappings (ENOMEM)");
	refused(OUT_OF_MAPPINGS, XI_RESULT_RNG_FAILURE, "could not be mapped");

	set_context("madvise as Linux 4.14 and later");
	struct attempt a = attempt_on(LINUX);
	CHECK_STR(xi_result_name(a.result), "ok");
	CHECK_INT(xi_rng_selected(), XI_RNG_FORK_SAFE);
	CHECK_OK(xi_rng_select(XI_RNG_OS));
	return check_finish();
}
