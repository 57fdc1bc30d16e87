/*
 * bug.h - MM_BUG_ON: the invariants the core relies on, checked in the debug build.
 *
 * With MM_DEBUG (the sanitizer build, `make sanitize`) a condition that holds is a bug in
 * the core: the first one is recorded with its place (mm_bug_report), the replay stops
 * after the record it happened in, and the extension raises it as kernel_model._core.CoreBug
 * (a hosted test sees it; nothing aborts). Without MM_DEBUG (the release extension and the
 * firmware) the checks compile to nothing and their conditions are not evaluated.
 */
#ifndef MM_BUG_H
#define MM_BUG_H

#include <stdint.h>

#ifdef MM_DEBUG

#define MM_DEBUG_BUILD 1

struct mm_bug {
	const char *file;      /* 0: no bug since the last mm_bug_take */
	const char *cond;
	uint32_t line;
};

extern struct mm_bug mm_bug_report;
void mm_bug(const char *file, uint32_t line, const char *cond);

#define MM_BUG_ON(cond) \
	do { \
		if (__builtin_expect(!!(cond), 0)) \
			mm_bug(__FILE__, __LINE__, #cond); \
	} while (0)

static inline int mm_bugged(void)
{
	return mm_bug_report.file != 0;
}

/* The first failed check since the last call: 1 with its place (and cleared), or 0. */
static inline int mm_bug_take(const char **file, uint32_t *line, const char **cond)
{
	if (!mm_bug_report.file)
		return 0;
	*file = mm_bug_report.file;
	*line = mm_bug_report.line;
	*cond = mm_bug_report.cond;
	mm_bug_report.file = 0;
	return 1;
}

#else

#define MM_DEBUG_BUILD 0
#define MM_BUG_ON(cond) ((void)sizeof(!!(cond)))   /* type-checked, never evaluated */

static inline int mm_bugged(void)
{
	return 0;
}

static inline int mm_bug_take(const char **file, uint32_t *line, const char **cond)
{
	(void)file;
	(void)line;
	(void)cond;
	return 0;
}

#endif

#endif
