/*
 * span.h — the one check of a byte span for every test: [start, end) lies
 * within the len bytes it points into and covers exactly the text want.
 */
#ifndef PGFOLD_TESTS_SPAN_H
#define PGFOLD_TESTS_SPAN_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <string.h>

#define SPAN_EXPECT(bytes, len, sp, want) \
	do { \
		const char *bytes_ = (bytes); \
		size_t      len_ = (len); \
		size_t      start_ = (sp).start, end_ = (sp).end; \
		const char *want_ = (want); \
		bool        in_ = start_ <= end_ && end_ <= len_; \
		cr_expect(in_ && end_ - start_ == strlen(want_) \
				  && memcmp(bytes_ + start_, want_, end_ - start_) == 0, \
				  "%s [%zu,%zu) of %zu bytes is \"%.*s\", want \"%s\"", #sp, start_, end_, len_, \
				  in_ ? (int) (end_ - start_) : 0, bytes_ + (in_ ? start_ : 0), want_); \
	} while (0)

#endif
