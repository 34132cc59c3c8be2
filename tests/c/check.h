/* A small assertion kit for the C tests of xmpp-invites.
 *
 * Every CHECK* counts one check. A failing check prints where it is, what
 * was expected and what came, and the current context (set_context: the
 * vector or flow being checked); the program goes on, so one run shows every
 * failure. check_finish() prints "N passed, M failed" and gives the exit
 * status (0 only when nothing failed). One translation unit per program. */
#ifndef XI_TESTS_CHECK_H
#define XI_TESTS_CHECK_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xmpp_invites.h>

static unsigned long check_passed;
static unsigned long check_failed;
static char check_context[512];

/* Says what the following checks are about (printed on failure). */
static inline void set_context(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(check_context, sizeof check_context, fmt, ap);
	va_end(ap);
}

static inline bool check_report(bool ok, const char *file, int line, const char *what,
				const char *detail)
{
	if (ok) {
		check_passed++;
		return true;
	}
	check_failed++;
	fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
	if (detail && *detail)
		fprintf(stderr, "     %s\n", detail);
	if (check_context[0])
		fprintf(stderr, "     while checking: %s\n", check_context);
	return false;
}

#define CHECK(cond) check_report((cond) ? true : false, __FILE__, __LINE__, #cond, NULL)

/* Two C strings, either of which may be NULL (NULL equals only NULL). */
static inline bool check_str(const char *got, const char *want, const char *file, int line,
			     const char *what)
{
	bool ok = (got == NULL || want == NULL) ? got == want : strcmp(got, want) == 0;
	char detail[1024] = "";
	if (!ok)
		snprintf(detail, sizeof detail, "got %s%.400s%s, want %s%.400s%s",
			 got ? "\"" : "", got ? got : "NULL", got ? "\"" : "", want ? "\"" : "",
			 want ? want : "NULL", want ? "\"" : "");
	return check_report(ok, file, line, what, detail);
}
#define CHECK_STR(got, want) check_str((got), (want), __FILE__, __LINE__, #got " == " #want)

static inline bool check_int(intmax_t got, intmax_t want, const char *file, int line,
			     const char *what)
{
	char detail[128] = "";
	if (got != want)
		snprintf(detail, sizeof detail, "got %jd, want %jd", got, want);
	return check_report(got == want, file, line, what, detail);
}
#define CHECK_INT(got, want) check_int((intmax_t)(got), (intmax_t)(want), __FILE__, __LINE__, #got " == " #want)

/* A call's result against the expected one. On a failure result the
 * thread's message must not be empty: every failure explains itself. */
static inline bool check_result(xi_result got, xi_result want, const char *file, int line,
				const char *what)
{
	const char *msg = xi_last_error_message();
	char detail[1024] = "";
	bool ok = got == want;
	if (!ok)
		snprintf(detail, sizeof detail, "got %s (%u: %.600s), want %s (%u)",
			 xi_result_name(got), (unsigned)got, msg ? msg : "(NULL message)",
			 xi_result_name(want), (unsigned)want);
	else if (got != XI_RESULT_OK && (msg == NULL || msg[0] == '\0')) {
		ok = false;
		snprintf(detail, sizeof detail, "%s came with an empty xi_last_error_message",
			 xi_result_name(got));
	} else if (got == XI_RESULT_OK && (msg == NULL || msg[0] != '\0')) {
		ok = false;
		snprintf(detail, sizeof detail, "ok, but xi_last_error_message is \"%.600s\"",
			 msg ? msg : "(NULL)");
	}
	return check_report(ok, file, line, what, detail);
}
#define CHECK_RESULT(call, want) check_result((call), (want), __FILE__, __LINE__, #call)
#define CHECK_OK(call) CHECK_RESULT(call, XI_RESULT_OK)

/* A call's result by its stable name ("ok", "token-expired", ...), as the
 * shared vectors write it. */
static inline bool check_result_name(xi_result got, const char *want, const char *file, int line,
				     const char *what)
{
	const char *name = xi_result_name(got);
	const char *msg = xi_last_error_message();
	char detail[1024] = "";
	bool ok = want != NULL && strcmp(name, want) == 0;
	if (!ok)
		snprintf(detail, sizeof detail, "got %s (%.600s), want %s", name, msg ? msg : "",
			 want ? want : "(no name)");
	else if (got != XI_RESULT_OK && (msg == NULL || msg[0] == '\0')) {
		ok = false;
		snprintf(detail, sizeof detail, "%s came with an empty xi_last_error_message", name);
	}
	return check_report(ok, file, line, what, detail);
}
#define CHECK_RESULT_NAME(call, name) check_result_name((call), (name), __FILE__, __LINE__, #call)

/* Prints the tally; the exit status of the program. */
static inline int check_finish(void)
{
	printf("%lu passed, %lu failed\n", check_passed, check_failed);
	fflush(stdout);
	return check_failed == 0 && check_passed > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* XI_TESTS_CHECK_H */
