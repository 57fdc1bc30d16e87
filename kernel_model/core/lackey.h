/*
 * lackey.h - streaming parser of `valgrind --tool=lackey --trace-mem=yes` logs:
 * "I  0401ab70,3", " L addr,size", " S addr,size", " M addr,size" (hex address,
 * decimal size). Lines of valgrind's own ("==pid== ...", "--pid-- ...") and
 * empty lines are skipped; anything else is an error with its line number.
 */
#ifndef MM_LACKEY_H
#define MM_LACKEY_H

#include "cachegrind.h"

struct lackey_parser {
	uint64_t line;           /* lines consumed so far */
	uint64_t error_line;     /* first bad line (1-based), 0 if none */
	uint32_t error_column;
};

/* Feed buf[0..len): every complete line is parsed and simulated. With final set the
 * last line may lack its newline. Returns the bytes consumed (the caller keeps the
 * rest for the next call); stops at the first bad line (error_line set). */
size_t lackey_feed(struct lackey_parser *p, struct cg_sim *s, const char *buf, size_t len, int final);

#endif
