/* SPDX-License-Identifier: ISC */
/*
 * What every libFuzzer harness of tests/fuzz shares: the entry point and
 * a copy of the input as a NUL-terminated string (fuzz_str), for the
 * parsers that take C strings.  A harness checks the contracts of the
 * code it drives (no crash, no leak, no undefined behaviour under
 * ASan/UBSan, and the properties it asserts with fuzz_check).
 */
#ifndef CORRAL_FUZZ_H
#define CORRAL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The input as a string (cut at its first NUL); the caller frees. */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	for (size_t i = 0; i < size; i++)
		s[i] = (char)data[i];
	s[size] = '\0';
	return s;
}

/* A property the code under test broke: a finding, with its reason. */
#define fuzz_check(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

#endif
