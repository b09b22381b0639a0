/*
 * fuzz.h — shared by the fuzz targets (tests/fuzz/fuzz_*.c, one target a
 * file). Each builds two ways: with clang and libFuzzer (`make fuzz`,
 * ASan/UBSan) and with the project's compiler plus replay.c, a main that
 * feeds each given file or directory entry to the target once (`make
 * fuzz-replay`, part of `make check`). A broken invariant aborts either way.
 */
#ifndef PGFOLD_TESTS_FUZZ_H
#define PGFOLD_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pgfold/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant: on failure say which, then abort (libFuzzer keeps the input). */
#define FUZZ_CHECK(cond, ...)                                                  \
	do {                                                                       \
		if (!(cond))                                                           \
		{                                                                      \
			fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
			abort();                                                           \
		}                                                                      \
	} while (0)

/* pgfold's log lines on hostile input are expected: keep them off the
 * fuzzer's output unless PGFOLD_FUZZ_LOG is set. */
static inline void
fuzz_quiet(void)
{
	static int done;

	if (!done)
	{
		done = 1;
		if (getenv("PGFOLD_FUZZ_LOG") == NULL)
			log_set_level(LOG_FATAL);
	}
}

#endif
