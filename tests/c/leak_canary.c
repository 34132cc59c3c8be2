/* Leaks on purpose, to prove that the leak checkers of tests/c/run.sh see
 * memory the Rust library allocates: a string and a handle (with what it
 * owns) are dropped without their _free. run.sh expects this program to be
 * reported by LeakSanitizer and by valgrind; a clean run fails the suite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xmpp_invites.h>

#define T0 "AAECAwQFBgcICQoLDA0ODxAR"

static int __attribute__((noinline)) leak(void)
{
	/* The out-parameters live in a block that is freed at once, so that the
	 * only pointers to what the library allocated are gone. */
	struct {
		char *token;
		xi_record *record;
	} *out = calloc(1, sizeof *out);
	if (!out)
		return 0;
	int ok = xi_token_generate(XI_TOKEN_FORMAT_BASE64URL, 0, NULL, 0, &out->token) ==
		     XI_RESULT_OK &&
		 xi_record_from_json("{\"type\":\"register\",\"jid\":\"example.com\",\"token\":\"" T0
				     "\",\"allow_registration\":true,\"uri\":\"xmpp:example.com?"
				     "register;preauth=" T0 "\",\"expires\":1}",
				     &out->record) == XI_RESULT_OK;
	printf("leaking a token of %zu characters and a record\n",
	       out->token ? strlen(out->token) : 0);
	fflush(stdout);
	free(out);
	return ok;
}

/* Overwrites the dead stack frames of leak() and of the library calls it
 * made: the leak checkers run later from deeper frames and scan the stack
 * conservatively, so a stale pointer left there would hide the leak. */
static int __attribute__((noinline)) scrub(void)
{
	volatile char junk[256 * 1024];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)i;
	return junk[100];
}

int main(void)
{
	int ok = leak();
	scrub();
	return ok ? EXIT_SUCCESS : 2;
}
