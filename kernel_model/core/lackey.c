/* lackey.c - lackey log parser feeding the cachegrind simulator (see lackey.h). */
#include "lackey.h"

static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "addr,size" from s to end; returns 0 and the column of the problem on failure. */
static int parse_access(const char *s, const char *end, uint64_t *addr, uint32_t *size, uint32_t *bad)
{
	const char *p = s;
	uint64_t a = 0;
	uint32_t n = 0;
	int digits = 0, v;

	while (p < end && (v = hexval(*p)) >= 0 && digits < 16) {
		a = (a << 4) | (uint64_t)v;
		p++;
		digits++;
	}
	if (!digits || p >= end || *p != ',') {
		*bad = (uint32_t)(p - s);
		return 0;
	}
	p++;
	digits = 0;
	while (p < end && *p >= '0' && *p <= '9' && digits < 4) {
		n = n * 10 + (uint32_t)(*p - '0');
		p++;
		digits++;
	}
	if (!digits || !n || n > 64 || (p < end && *p != '\r')) {
		*bad = (uint32_t)(p - s);
		return 0;
	}
	*addr = a;
	*size = n;
	return 1;
}

static int parse_line(struct cg_sim *s, const char *l, const char *end, uint32_t *col)
{
	uint64_t addr;
	uint32_t size, bad = 0;
	size_t n = (size_t)(end - l);

	if (n == 0 || (n == 1 && l[0] == '\r'))
		return 1;
	if (n >= 2 && ((l[0] == '=' && l[1] == '=') || (l[0] == '-' && l[1] == '-')))
		return 1;   /* valgrind's own messages */
	if (n > 3 && l[0] == 'I' && l[1] == ' ' && l[2] == ' ') {
		if (!parse_access(l + 3, end, &addr, &size, &bad))
			goto fail;
		cg_instr(s, addr, size);
		return 1;
	}
	if (n > 3 && l[0] == ' ' && l[2] == ' ') {
		if (!parse_access(l + 3, end, &addr, &size, &bad))
			goto fail;
		switch (l[1]) {
		case 'L':
		case 'M':   /* a modify is one read for cachegrind */
			cg_read(s, addr, size);
			return 1;
		case 'S':
			cg_write(s, addr, size);
			return 1;
		}
		bad = 1;
		*col = 2;
		return 0;
	}
	*col = 1;
	return 0;
fail:
	*col = bad + 4;
	return 0;
}

size_t lackey_feed(struct lackey_parser *p, struct cg_sim *s, const char *buf, size_t len, int final)
{
	size_t pos = 0;

	if (p->error_line)
		return 0;
	while (pos < len) {
		size_t eol = pos;

		while (eol < len && buf[eol] != '\n')
			eol++;
		if (eol == len && !final)
			break;   /* an incomplete line: wait for more */
		p->line++;
		if (!parse_line(s, buf + pos, buf + eol, &p->error_column)) {
			p->error_line = p->line;
			return pos;
		}
		pos = eol < len ? eol + 1 : eol;
	}
	return pos;
}
