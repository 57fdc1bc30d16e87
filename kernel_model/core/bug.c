/* bug.c - where MM_BUG_ON reports (see bug.h); empty without MM_DEBUG. */
#include "bug.h"

#ifdef MM_DEBUG
struct mm_bug mm_bug_report;

void mm_bug(const char *file, uint32_t line, const char *cond)
{
	if (mm_bug_report.file)
		return;   /* the first one is the cause; later ones follow from it */
	mm_bug_report.cond = cond;
	mm_bug_report.line = line;
	mm_bug_report.file = file;
}
#endif
