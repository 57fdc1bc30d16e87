/* ftrace.c - Linux ftrace text to op records (see ftrace.h). */
#include "ftrace.h"

const char *const ft_event_names[FT_NR_EVENTS] = {
	[FT_EV_OTHER] = "",
	[FT_EV_PAGE_ALLOC] = "mm_page_alloc",
	[FT_EV_PAGE_FREE] = "mm_page_free",
	[FT_EV_KMALLOC] = "kmalloc",
	[FT_EV_KFREE] = "kfree",
	[FT_EV_CACHE_ALLOC] = "kmem_cache_alloc",
	[FT_EV_CACHE_FREE] = "kmem_cache_free",
};

const char *const ft_field_names[FT_F_CPU + 1] = {
	[FT_F_CALL_SITE] = "call_site", [FT_F_PTR] = "ptr", [FT_F_BYTES_REQ] = "bytes_req",
	[FT_F_BYTES_ALLOC] = "bytes_alloc", [FT_F_NODE] = "node", [FT_F_NAME] = "name", [FT_F_PFN] = "pfn",
	[FT_F_ORDER] = "order", [FT_F_MIGRATETYPE] = "migratetype", [FT_F_GFP_FLAGS] = "gfp_flags",
	[FT_F_TIMESTAMP] = "timestamp", [FT_F_CPU] = "CPU",
};

const char *const ft_skip_names[FT_NR_SKIPS] = {
	[FT_SKIP_PAGE_ALLOC] = "page alloc (highatomic/CMA or failed)",
	[FT_SKIP_PAGE_FREE] = "page free of a page allocated before the trace",
	[FT_SKIP_KMALLOC_FAILED] = "kmalloc that failed",
	[FT_SKIP_CACHE_ALLOC_FAILED] = "kmem_cache_alloc that failed",
	[FT_SKIP_FREE_NULL] = "kfree(NULL)",
	[FT_SKIP_KFREE_UNKNOWN] = "kfree of an object allocated before the trace",
	[FT_SKIP_CACHE_FREE_UNKNOWN] = "kmem_cache_free of an object allocated before the trace",
};

#define FT_FIRST_BYTES 4096u     /* a table's first buffer */
#define FT_SATURATE (1ull << 40) /* decimal fields stop growing here: far beyond every range */
/* n elements of `size` bytes, capped at half the address space */
#define FT_LIMIT(n, size) ((uint64_t)(n) < (~(size_t)0 / 2) / (size) ? (size_t)(n) * (size) : ~(size_t)0 / 2)

/* ---- bytes ---- */

/* Blanks as C's isspace and Python's bytes \s: space, \t \n \v \f \r. */
static inline int is_ws(uint8_t c)
{
	return c == ' ' || (uint8_t)(c - '\t') <= '\r' - '\t';
}

static inline int is_digit(uint8_t c)
{
	return (uint8_t)(c - '0') < 10;
}

static inline int is_word(uint8_t c)
{
	return is_digit(c) || (uint8_t)((c | 0x20) - 'a') < 26 || c == '_';
}

static inline int hexval(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	c |= 0x20;
	return (uint8_t)(c - 'a') < 6 ? c - 'a' + 10 : -1;
}

static int same(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	while (n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

static int same_str(const uint8_t *a, uint32_t n, const char *s)
{
	while (n && *s && *a == (uint8_t)*s) {
		a++;
		s++;
		n--;
	}
	return !n && !*s;
}

static inline uint32_t ctz64(uint64_t x)
{
	/* two 32-bit halves: the 32-bit build has no 64-bit ctz without libgcc */
	return (uint32_t)x ? (uint32_t)__builtin_ctz((uint32_t)x) : 32 + (uint32_t)__builtin_ctz((uint32_t)(x >> 32));
}

/* The first '\n' in [p, end), or end: eight bytes at a time. */
static const uint8_t *find_newline(const uint8_t *p, const uint8_t *end)
{
	const uint64_t ones = 0x0101010101010101ull, nl = ones * '\n';

	while (end - p >= 8) {
		uint64_t v;

		__builtin_memcpy(&v, p, 8);
		v ^= nl;
		v = (v - ones) & ~v & (ones << 7);
		if (v)
			return p + (ctz64(v) >> 3);
		p += 8;
	}
	while (p < end && *p != '\n')
		p++;
	return p;
}

/* Well-formed UTF-8 as Unicode's table 3-7 (and Python's strict decoder) has it. */
static int utf8_ok(const uint8_t *s, uint32_t n)
{
	uint32_t i = 0, need, j;

	while (i < n) {
		uint8_t c = s[i], lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		else
			return 0;
		if (n - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (j = 2; j <= need; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		i += need + 1;
	}
	return 1;
}

/* ---- tables ---- */

static inline uint32_t key_hash(uint64_t key)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32);
}

static struct ft_slot *map_find(const struct ft_map *m, uint64_t key)
{
	uint32_t i = key_hash(key) & m->mask;

	while (m->slot[i].key != key) {
		if (!m->slot[i].key)
			return 0;
		i = (i + 1) & m->mask;
	}
	return &m->slot[i];
}

/* Insert or overwrite (an allocation of a key still live replaces it, as a dict would). */
static void map_put(struct ft_map *m, uint64_t key, uint32_t id, uint32_t val)
{
	uint32_t i = key_hash(key) & m->mask;

	while (m->slot[i].key && m->slot[i].key != key)
		i = (i + 1) & m->mask;
	if (!m->slot[i].key)
		m->count++;
	m->slot[i].key = key;
	m->slot[i].id = id;
	m->slot[i].val = val;
}

/* Remove key, returning its id and value; later slots of the run shift back into the hole. */
static int map_take(struct ft_map *m, uint64_t key, uint32_t *id, uint32_t *val)
{
	struct ft_slot *s = map_find(m, key);
	uint32_t i, j, home;

	if (!s)
		return 0;
	*id = s->id;
	*val = s->val;
	i = j = (uint32_t)(s - m->slot);
	for (;;) {
		j = (j + 1) & m->mask;
		if (!m->slot[j].key)
			break;
		home = key_hash(m->slot[j].key) & m->mask;
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->slot[i] = m->slot[j];
			i = j;
		}
	}
	m->slot[i].key = 0;
	m->count--;
	return 1;
}

static uint32_t str_hash(const uint8_t *s, uint32_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *s++) * 16777619u;
	return h;
}

static uint32_t strtab_find(const struct ft_strtab *t, const uint8_t *s, uint32_t n, uint32_t h)
{
	uint32_t i = h & t->hash_mask, e;

	while ((e = t->hash[i])) {
		const struct ft_str *x = &t->ent[e - 1];

		if (x->len == n && same(t->bytes + x->off, s, n))
			return e - 1;
		i = (i + 1) & t->hash_mask;
	}
	return FT_NONE;
}

static void strtab_index(struct ft_strtab *t, uint32_t h, uint32_t e)
{
	uint32_t i = h & t->hash_mask;

	while (t->hash[i])
		i = (i + 1) & t->hash_mask;
	t->hash[i] = e + 1;
	t->hash_used++;
}

/* Entry e's string becomes s (stored after the others). */
static void strtab_set(struct ft_strtab *t, uint32_t e, const uint8_t *s, uint32_t n, uint32_t h)
{
	uint8_t *d = t->bytes + t->bytes_len;
	uint32_t k;

	for (k = 0; k < n; k++)
		d[k] = s[k];
	t->ent[e].off = (uint32_t)t->bytes_len;
	t->ent[e].len = n;
	t->bytes_len += n;
	strtab_index(t, h, e);
}

static uint32_t strtab_add(struct ft_strtab *t, const uint8_t *s, uint32_t n, uint32_t h)
{
	t->ent[t->nr].tag = 0;
	t->ent[t->nr].count = 0;
	strtab_set(t, t->nr, s, n, h);
	return t->nr++;
}

/* Ask for table t to grow from `have` bytes to at least `min` bytes (doubling). */
static int ask(struct ft_parser *p, uint32_t t, size_t have, size_t min, size_t limit)
{
	size_t want = have ? have : FT_FIRST_BYTES;

	while (want < min && want <= limit / 2)
		want *= 2;
	if (want < min) {
		p->error = FT_ERR_LIMIT;
		p->error_line = p->line + 1;
		return 0;
	}
	p->need = t + 1;
	p->need_bytes = want;
	return 0;
}

static int strtab_room(struct ft_parser *p, struct ft_strtab *t, uint32_t tables, uint32_t strings, size_t bytes)
{
	size_t hash_bytes = (size_t)(t->hash_mask + (t->hash ? 1 : 0)) * sizeof(uint32_t);

	if (t->bytes_len + bytes > t->bytes_cap)
		return ask(p, tables, t->bytes_cap, t->bytes_len + bytes, FT_LIMIT(0xffffffffu, 1));
	if (t->nr + strings > t->ent_cap)
		return ask(p, tables + 1, (size_t)t->ent_cap * sizeof(struct ft_str),
			   ((size_t)t->nr + strings) * sizeof(struct ft_str), FT_LIMIT(0x7fffffffu, sizeof(struct ft_str)));
	if (!t->hash || 2 * ((size_t)t->hash_used + strings) > (size_t)t->hash_mask + 1)
		return ask(p, tables == FT_T_SITE_BYTES ? FT_T_SITE_HASH : FT_T_EVENT_HASH, hash_bytes,
			   hash_bytes + 1, FT_LIMIT(0x80000000u, sizeof(uint32_t)));
	return 1;
}

static int map_room(struct ft_parser *p, const struct ft_map *m, uint32_t t)
{
	size_t bytes = m->slot ? ((size_t)m->mask + 1) * sizeof(struct ft_slot) : 0;

	if (m->slot && 2 * ((size_t)m->count + 1) <= (size_t)m->mask + 1)
		return 1;
	return ask(p, t, bytes, bytes + 1, FT_LIMIT(0x80000000u, sizeof(struct ft_slot)));
}

/* Room for everything one line of len bytes can add: three records, one live entry
 * per map, one freed id, two names (a call site and a cache placeholder or name), one
 * event name, one cache. False with need (or error) set otherwise. */
static int room(struct ft_parser *p, size_t len)
{
	if (p->nr_rec + 3 > p->rec_cap)
		return ask(p, FT_T_RECORDS, p->rec_cap * sizeof(struct mm_op), (p->nr_rec + 3) * sizeof(struct mm_op),
			   FT_LIMIT(~(size_t)0, sizeof(struct mm_op)));
	if (p->nr_free + 1 > p->free_cap)
		return ask(p, FT_T_FREE_IDS, (size_t)p->free_cap * 4, ((size_t)p->nr_free + 1) * 4, FT_LIMIT(0xffffffffu, 4));
	if (p->next_id >= MM_NO_ID - 2 || p->nr_caches + 1 > 0x7fffffffu) {
		p->error = FT_ERR_LIMIT;
		p->error_line = p->line + 1;
		return 0;
	}
	if (p->nr_caches + 1 > p->caches_cap)
		return ask(p, FT_T_CACHES, (size_t)p->caches_cap * sizeof(struct ft_cache),
			   ((size_t)p->nr_caches + 1) * sizeof(struct ft_cache), FT_LIMIT(0x7fffffffu, sizeof(struct ft_cache)));
	return map_room(p, &p->pages, FT_T_PAGES) && map_room(p, &p->objs, FT_T_OBJS) &&
	       map_room(p, &p->cache_map, FT_T_CACHE_MAP) &&
	       strtab_room(p, &p->sites, FT_T_SITE_BYTES, 2, 2 * len + 64) &&
	       strtab_room(p, &p->events, FT_T_EVENT_BYTES, 1, len);
}

static void map_adopt(struct ft_map *m, void *mem, size_t bytes)
{
	struct ft_map old = *m;
	uint32_t i;

	m->slot = mem;
	m->mask = (uint32_t)(bytes / sizeof(struct ft_slot)) - 1;
	m->count = 0;
	for (i = 0; old.slot && i <= old.mask; i++)
		if (old.slot[i].key)
			map_put(m, old.slot[i].key, old.slot[i].id, old.slot[i].val);
}

static void strtab_reindex(struct ft_strtab *t, void *mem, size_t bytes)
{
	uint32_t e;

	t->hash = mem;
	t->hash_mask = (uint32_t)(bytes / sizeof(uint32_t)) - 1;
	t->hash_used = 0;
	for (e = 0; e < t->nr; e++)
		strtab_index(t, str_hash(t->bytes + t->ent[e].off, t->ent[e].len), e);
}

void ft_adopt(struct ft_parser *p, uint32_t t, void *mem, size_t bytes)
{
	switch (t) {
	case FT_T_RECORDS:
		p->rec = mem;
		p->rec_cap = bytes / sizeof(struct mm_op);
		break;
	case FT_T_FREE_IDS:
		p->free_ids = mem;
		p->free_cap = (uint32_t)(bytes / 4);
		break;
	case FT_T_SITE_BYTES:
	case FT_T_EVENT_BYTES:
		(t == FT_T_SITE_BYTES ? &p->sites : &p->events)->bytes = mem;
		(t == FT_T_SITE_BYTES ? &p->sites : &p->events)->bytes_cap = bytes;
		break;
	case FT_T_SITES:
	case FT_T_EVENTS:
		(t == FT_T_SITES ? &p->sites : &p->events)->ent = mem;
		(t == FT_T_SITES ? &p->sites : &p->events)->ent_cap = (uint32_t)(bytes / sizeof(struct ft_str));
		break;
	case FT_T_CACHES:
		p->caches = mem;
		p->caches_cap = (uint32_t)(bytes / sizeof(struct ft_cache));
		break;
	case FT_T_PAGES:
		map_adopt(&p->pages, mem, bytes);
		break;
	case FT_T_OBJS:
		map_adopt(&p->objs, mem, bytes);
		break;
	case FT_T_CACHE_MAP:
		map_adopt(&p->cache_map, mem, bytes);
		break;
	case FT_T_SITE_HASH:
		strtab_reindex(&p->sites, mem, bytes);
		break;
	case FT_T_EVENT_HASH:
		strtab_reindex(&p->events, mem, bytes);
		break;
	}
	p->need = 0;
}

/* ---- one line's fields ---- */

struct ft_fields {
	const uint8_t *v[FT_NR_FIELDS], *end[FT_NR_FIELDS];   /* v NULL: absent */
};

static int fail(struct ft_parser *p, uint32_t error, uint32_t field)
{
	p->error = error;
	p->error_field = field;
	return 0;
}

/* Fields are KEY=VALUE: KEY a maximal run of word characters, VALUE the non-blank
 * run after '='; the last of a repeated key counts. Unknown keys are ignored. */
static void scan_fields(const uint8_t *s, const uint8_t *end, struct ft_fields *f)
{
	uint32_t k;

	for (k = 0; k < FT_NR_FIELDS; k++)
		f->v[k] = 0;
	while (s < end) {
		const uint8_t *key = s, *v;
		uint32_t n;

		if (!is_word(*s)) {
			s++;
			continue;
		}
		while (s < end && is_word(*s))
			s++;
		if (end - s < 2 || *s != '=' || is_ws(s[1]))
			continue;
		n = (uint32_t)(s - key);
		v = ++s;
		while (s < end && !is_ws(*s))
			s++;
		for (k = 0; k < FT_NR_FIELDS; k++) {
			if (same_str(key, n, ft_field_names[k])) {
				f->v[k] = v;
				f->end[k] = s;
				break;
			}
		}
	}
}

/* A decimal "-?[0-9]+" in lo..hi. */
static int parse_dec(struct ft_parser *p, const uint8_t *s, const uint8_t *e, uint32_t field,
		     int64_t lo, int64_t hi, int64_t *out)
{
	int neg = s < e && *s == '-';
	uint64_t v = 0;
	int64_t x;

	s += neg;
	if (s == e)
		return fail(p, FT_ERR_SYNTAX, field);
	for (; s < e; s++) {
		if (!is_digit(*s))
			return fail(p, FT_ERR_SYNTAX, field);
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > FT_SATURATE)
			v = FT_SATURATE;
	}
	x = neg ? -(int64_t)v : (int64_t)v;
	if (x < lo || x > hi)
		return fail(p, FT_ERR_RANGE, field);
	*out = x;
	return 1;
}

static int field_dec(struct ft_parser *p, const struct ft_fields *f, uint32_t k, int64_t lo, int64_t hi, int64_t *out)
{
	if (!f->v[k])
		return fail(p, FT_ERR_MISSING, k);
	return parse_dec(p, f->v[k], f->end[k], k, lo, hi, out);
}

/* A hexadecimal "(0x)?[0-9a-f]+" (either case) below 2^64. */
static int field_hex(struct ft_parser *p, const struct ft_fields *f, uint32_t k, uint64_t *out)
{
	const uint8_t *s = f->v[k], *e = f->end[k];
	uint64_t v = 0;
	int x, over = 0;

	if (!s)
		return fail(p, FT_ERR_MISSING, k);
	if (e - s > 2 && s[0] == '0' && (s[1] | 0x20) == 'x')
		s += 2;
	for (; s < e; s++) {
		if ((x = hexval(*s)) < 0)
			return fail(p, FT_ERR_SYNTAX, k);
		over |= (v >> 60) != 0;
		v = v << 4 | (uint64_t)x;
	}
	if (over)
		return fail(p, FT_ERR_RANGE, k);
	*out = v;
	return 1;
}

/* A name for the trace's string table: UTF-8, and no NUL (which separates the names there). */
static int check_name(struct ft_parser *p, uint32_t field, const uint8_t *s, uint32_t n)
{
	uint32_t k;

	for (k = 0; k < n; k++)
		if (!s[k])
			return fail(p, FT_ERR_NUL, field);
	return utf8_ok(s, n) || fail(p, FT_ERR_UTF8, field);
}

/* The site index of a name, added (once checked) if new. */
static int intern(struct ft_parser *p, uint32_t field, const uint8_t *s, uint32_t n, uint32_t *site)
{
	uint32_t h = str_hash(s, n), i = strtab_find(&p->sites, s, n, h);

	if (i == FT_NONE) {
		if (!check_name(p, field, s, n))
			return 0;
		i = strtab_add(&p->sites, s, n, h);
	}
	*site = i;
	return 1;
}

/* Field k as a site: call_site= by its function (up to '+'); a missing gfp_flags= is site 0. */
static int field_site(struct ft_parser *p, const struct ft_fields *f, uint32_t k, uint32_t *site)
{
	const uint8_t *s = f->v[k], *e = f->end[k], *plus = s;

	if (!s) {
		*site = 0;
		return k == FT_F_GFP_FLAGS ? 1 : fail(p, FT_ERR_MISSING, k);
	}
	if (k == FT_F_CALL_SITE) {
		while (plus < e && *plus != '+')
			plus++;
		e = plus;
	}
	return intern(p, k, s, (uint32_t)(e - s), site);
}

/* ---- what the events become ---- */

static int emit(struct ft_parser *p, uint8_t op, uint8_t flags, uint16_t cpu, uint32_t site, uint32_t id,
		uint32_t arg0, uint64_t arg1)
{
	struct mm_op *r = &p->rec[p->nr_rec++];

	r->op = op;
	r->flags = flags;
	r->cpu = cpu;
	r->site = site;
	r->id = id;
	r->arg0 = arg0;
	r->arg1 = arg1;
	if (cpu >= p->nr_cpus)
		p->nr_cpus = cpu + 1u;
	return 1;
}

static int skip(struct ft_parser *p, uint32_t why)
{
	if (!p->skipped[why]++)
		p->skip_order[p->nr_skip_kinds++] = (uint8_t)why;
	return 1;
}

static uint32_t new_id(struct ft_parser *p)
{
	return p->nr_free ? p->free_ids[--p->nr_free] : p->next_id++;
}

/* A live allocation ends: its id is free for the next one (last freed, first reused). */
static int take(struct ft_parser *p, struct ft_map *m, uint64_t key, uint32_t *id, uint32_t *val)
{
	if (!key || !map_take(m, key, id, val))
		return 0;
	p->free_ids[p->nr_free++] = *id;
	return 1;
}

static uint32_t put_u32(uint8_t *d, uint32_t v)
{
	uint8_t tmp[10];
	uint32_t n = 0, k;

	do {
		tmp[n++] = (uint8_t)('0' + v % 10);
		v /= 10;
	} while (v);
	for (k = 0; k < n; k++)
		d[k] = tmp[n - 1 - k];
	return n;
}

/* The kmem_cache of kmem_cache_alloc's (bytes_req, bytes_alloc): created on first use, with a
 * placeholder name "kmem_cache-REQ/ALLOC" until a kmem_cache_free's name= gives the real one. */
static uint32_t cache_for(struct ft_parser *p, uint16_t cpu, uint32_t req, uint32_t alloc)
{
	static const char prefix[] = "kmem_cache-";
	uint64_t key = ((uint64_t)req << 32 | alloc) + 1;
	struct ft_slot *s = map_find(&p->cache_map, key);
	struct ft_cache *c;
	uint8_t name[40];
	uint32_t n = 0, site;

	if (s)
		return s->val;
	while (prefix[n]) {
		name[n] = (uint8_t)prefix[n];
		n++;
	}
	n += put_u32(name + n, req);
	name[n++] = '/';
	n += put_u32(name + n, alloc);
	c = &p->caches[p->nr_caches];
	c->id = new_id(p);
	intern(p, FT_F_NAME, name, n, &site);
	c->placeholder = site;
	map_put(&p->cache_map, key, c->id, p->nr_caches);
	emit(p, OP_CACHE_CREATE, 0, cpu, site, c->id, alloc, 8);
	return p->nr_caches++;
}

/* A kmem_cache_free's name= names its cache, if still unnamed and the name is not taken. */
static int name_cache(struct ft_parser *p, const struct ft_fields *f, struct ft_cache *c)
{
	const uint8_t *s = f->v[FT_F_NAME];
	uint32_t n, h;

	if (!s || c->placeholder == FT_NONE)
		return 1;
	n = (uint32_t)(f->end[FT_F_NAME] - s);
	h = str_hash(s, n);
	if (strtab_find(&p->sites, s, n, h) != FT_NONE)
		return 1;
	if (!check_name(p, FT_F_NAME, s, n))
		return 0;
	strtab_set(&p->sites, c->placeholder, s, n, h);
	c->placeholder = FT_NONE;
	return 1;
}

/*
 * The import's policy, in one place: what each handled event emits, and what is skipped
 * (counted by reason). Allocations get the lowest free id; a free ends its allocation's
 * life (pages by pfn, objects by ptr) and frees its id. The trace says what was asked,
 * not where: the model places everything itself. Fields are parsed, range-checked and
 * named in errors in the order given here (the reference importer's order). The skips of
 * frees of what the trace did not see allocated are where a machine imported from /proc
 * would free its own pre-trace pages and objects instead.
 */
static int ft_event(struct ft_parser *p, uint32_t ev, uint16_t cpu, const struct ft_fields *f)
{
	uint64_t key;
	int64_t mt, order, node = -1, req, alloc;
	uint32_t site, id, val;
	struct ft_cache *c;

	switch (ev) {
	case FT_EV_PAGE_ALLOC:
		if (!field_dec(p, f, FT_F_MIGRATETYPE, 0, FT_LINUX_MIGRATE_TYPES - 1, &mt) ||
		    !field_hex(p, f, FT_F_PFN, &key))
			return 0;
		if (mt >= MIGRATE_PCPTYPES || !key)   /* highatomic/CMA/isolate, or failed */
			return skip(p, FT_SKIP_PAGE_ALLOC);
		if (!field_dec(p, f, FT_F_ORDER, 0, MAX_PAGE_ORDER, &order) || !field_site(p, f, FT_F_GFP_FLAGS, &site))
			return 0;
		id = new_id(p);
		map_put(&p->pages, key, id, (uint32_t)order);
		return emit(p, OP_PAGE_ALLOC, (uint8_t)mt, cpu, site, id, (uint32_t)order, MM_NO_NODE);
	case FT_EV_PAGE_FREE:
		if (!field_hex(p, f, FT_F_PFN, &key))
			return 0;
		if (!take(p, &p->pages, key, &id, &val))
			return skip(p, FT_SKIP_PAGE_FREE);
		return emit(p, OP_PAGE_FREE, 0, cpu, 0, id, val, 0);
	case FT_EV_KMALLOC:
	case FT_EV_CACHE_ALLOC:
		if (!field_hex(p, f, FT_F_PTR, &key))
			return 0;
		if (!key)
			return skip(p, ev == FT_EV_KMALLOC ? FT_SKIP_KMALLOC_FAILED : FT_SKIP_CACHE_ALLOC_FAILED);
		if ((f->v[FT_F_NODE] && !field_dec(p, f, FT_F_NODE, -1, MM_MAX_NODES - 1, &node)) ||
		    !field_site(p, f, FT_F_CALL_SITE, &site) ||
		    !field_dec(p, f, FT_F_BYTES_REQ, 0, FT_MAX_BYTES, &req))
			return 0;
		if (ev == FT_EV_KMALLOC) {
			id = new_id(p);
			map_put(&p->objs, key, id, 0);
			return emit(p, OP_KMALLOC, 0, cpu, site, id, (uint32_t)req, node < 0 ? MM_NO_NODE : (uint64_t)node);
		}
		if (!field_dec(p, f, FT_F_BYTES_ALLOC, 0, FT_MAX_BYTES, &alloc))
			return 0;
		id = new_id(p);
		val = cache_for(p, cpu, (uint32_t)req, (uint32_t)alloc);
		map_put(&p->objs, key, id, val + 1);
		return emit(p, OP_CACHE_ALLOC, 0, cpu, site, id, 0, p->caches[val].id);
	case FT_EV_KFREE:
	case FT_EV_CACHE_FREE:
		if (!field_hex(p, f, FT_F_PTR, &key))
			return 0;
		if (!key)
			return skip(p, FT_SKIP_FREE_NULL);
		if (!take(p, &p->objs, key, &id, &val))
			return skip(p, ev == FT_EV_KFREE ? FT_SKIP_KFREE_UNKNOWN : FT_SKIP_CACHE_FREE_UNKNOWN);
		if (!val)   /* a kmalloc'd object, whichever free the trace shows */
			return field_site(p, f, FT_F_CALL_SITE, &site) && emit(p, OP_KFREE, 0, cpu, site, id, 0, 0);
		c = &p->caches[val - 1];
		return name_cache(p, f, c) && field_site(p, f, FT_F_CALL_SITE, &site) &&
		       emit(p, OP_CACHE_FREE, 0, cpu, site, id, 0, c->id);
	}
	return 1;
}

/* ---- one line ---- */

struct ft_head {
	const uint8_t *cpu, *cpu_end, *ts, *ts_end, *event, *event_end, *body;
};

/* "SECONDS.FRACTION: EVENT:" then at most one blank before the body. */
static int match_ts_event(const uint8_t *s, const uint8_t *end, struct ft_head *h)
{
	const uint8_t *p = s, *f, *e;

	while (p < end && is_digit(*p))
		p++;
	if (p == s || p == end || *p != '.')
		return 0;
	f = ++p;
	while (p < end && is_digit(*p))
		p++;
	if (p == f || end - p < 2 || *p != ':' || !is_ws(p[1]))
		return 0;
	h->ts = s;
	h->ts_end = p;
	for (p++; p < end && is_ws(*p); p++)
		;
	for (e = p; p < end && is_word(*p); p++)
		;
	if (p == e || p == end || *p != ':')
		return 0;
	h->event = e;
	h->event_end = p++;
	h->body = p < end && is_ws(*p) ? p + 1 : p;
	return 1;
}

/* After "[CPU]": blanks, then the timestamp directly or after one FLAGS word. */
static int match_after_cpu(const uint8_t *s, const uint8_t *end, struct ft_head *h)
{
	const uint8_t *p = s;

	if (p == end || !is_ws(*p))
		return 0;
	while (p < end && is_ws(*p))
		p++;
	if (match_ts_event(p, end, h))
		return 1;
	while (p < end && !is_ws(*p))
		p++;
	if (p == end)
		return 0;
	while (p < end && is_ws(*p))
		p++;
	return match_ts_event(p, end, h);
}

/* TASK is everything before the first " [CPU]" (after a non-blank) that the rest of the
 * line matches. Each candidate looks a bounded number of words ahead, so this is linear. */
static int parse_head(const uint8_t *p, const uint8_t *end, struct ft_head *h)
{
	while (p < end) {
		while (p < end && !is_ws(*p))
			p++;
		while (p < end && is_ws(*p))
			p++;
		if (p < end && *p == '[') {
			const uint8_t *d = p + 1, *q = d;

			while (q < end && is_digit(*q))
				q++;
			if (q > d && q < end && *q == ']' && match_after_cpu(q + 1, end, h)) {
				h->cpu = d;
				h->cpu_end = q;
				return 1;
			}
		}
	}
	return 0;
}

/* Nanoseconds, the exact decimal rounded half to even; 0 if beyond FT_MAX_NS. */
static int parse_ns(const uint8_t *s, const uint8_t *end, uint64_t *ns)
{
	uint64_t sec = 0, frac = 0;
	uint32_t digits = 0, k, d;
	int sticky = 0;

	while (*s == '0' && s[1] != '.')
		s++;
	for (; *s != '.'; s++) {
		if (++digits > 10)
			return 0;
		sec = sec * 10 + (uint64_t)(*s - '0');
	}
	for (s++, k = 0; k < 9; k++)
		frac = frac * 10 + (s < end ? (uint64_t)(*s++ - '0') : 0);
	d = s < end ? (uint32_t)(*s++ - '0') : 0;
	for (; s < end; s++)
		sticky |= *s != '0';
	*ns = sec * 1000000000ull + frac;
	if (d > 5 || (d == 5 && (sticky || (*ns & 1))))
		(*ns)++;
	return *ns <= FT_MAX_NS;
}

static uint32_t event_index(struct ft_parser *p, const uint8_t *s, uint32_t n)
{
	struct ft_strtab *t = &p->events;
	uint32_t h = str_hash(s, n), i = strtab_find(t, s, n, h), k;

	if (i == FT_NONE) {
		i = strtab_add(t, s, n, h);
		for (k = 1; k < FT_NR_EVENTS; k++)
			if (same_str(s, n, ft_event_names[k]))
				t->ent[i].tag = k;
	}
	return i;
}

static int ft_line(struct ft_parser *p, const uint8_t *l, const uint8_t *end)
{
	struct ft_head h;
	struct ft_fields f;
	const uint8_t *s = l;
	uint64_t ns, cpu = 0;
	uint32_t ev, kind;

	if (l < end && *l == '#')
		return 1;
	while (s < end && is_ws(*s))
		s++;
	if (s == end)
		return 1;
	if (!parse_head(s, end, &h))
		return fail(p, FT_ERR_NOT_EVENT, 0);
	ev = event_index(p, h.event, (uint32_t)(h.event_end - h.event));
	p->events.ent[ev].count++;
	kind = p->events.ent[ev].tag;
	if (kind == FT_EV_OTHER)
		return 1;
	p->error_event = ev;
	if (!parse_ns(h.ts, h.ts_end, &ns))
		return fail(p, FT_ERR_RANGE, FT_F_TIMESTAMP);
	for (s = h.cpu; s < h.cpu_end && cpu < MM_MAX_CPUS; s++)
		cpu = cpu * 10 + (uint64_t)(*s - '0');
	if (cpu >= MM_MAX_CPUS)
		return fail(p, FT_ERR_RANGE, FT_F_CPU);
	if (p->have_ns && ns > p->last_ns)
		emit(p, OP_TIME, 0, (uint16_t)cpu, 0, MM_NO_ID, 0, ns - p->last_ns);
	if (!p->have_ns || ns > p->last_ns)
		p->last_ns = ns;
	p->have_ns = 1;
	scan_fields(h.body, end, &f);
	return ft_event(p, kind, (uint16_t)cpu, &f);
}

size_t ft_feed(struct ft_parser *p, const char *buf, size_t len, int final)
{
	const uint8_t *b = (const uint8_t *)buf, *end = b + len;
	size_t pos = 0;

	if (p->error || p->need)
		return 0;
	if (!p->sites.nr) {   /* site 0: the empty name, "no call site" */
		if (!room(p, 0))
			return 0;
		strtab_add(&p->sites, (const uint8_t *)"", 0, str_hash(0, 0));
	}
	while (pos < len) {
		const uint8_t *l = b + pos, *e = find_newline(l, end);
		size_t n = (size_t)(e - l);

		if (n > FT_MAX_LINE) {
			p->error = FT_ERR_LONG_LINE;
			p->error_line = p->line + 1;
			return pos;
		}
		if (e == end && !final)
			break;   /* an incomplete line: wait for more */
		if (!room(p, n))
			return pos;
		p->line++;
		if (!ft_line(p, l, e)) {
			p->error_line = p->line;
			return pos;
		}
		pos += n + (e < end);
	}
	return pos;
}

/* ---- gfp flags ---- */

uint32_t ft_gfp_zone_bits(const char *text, size_t len)
{
	static const struct {
		const char *name;
		uint32_t bits;
	} names[] = {
		{"GFP_DMA", 0x1}, {"__GFP_DMA", 0x1}, {"__GFP_HIGHMEM", 0x2}, {"GFP_DMA32", 0x4},
		{"__GFP_DMA32", 0x4}, {"__GFP_MOVABLE", 0x8}, {"GFP_HIGHUSER", 0x2}, {"GFP_HIGHUSER_MOVABLE", 0xa},
		{"GFP_TRANSHUGE_LIGHT", 0xa}, {"GFP_TRANSHUGE", 0xa},
	};
	const uint8_t *s = (const uint8_t *)text, *end = s + len;
	uint32_t bits = 0, k;

	while (s < end) {
		const uint8_t *t = s;

		while (s < end && *s != '|')
			s++;
		if (s - t > 2 && t[0] == '0' && (t[1] | 0x20) == 'x') {   /* bits without a name, in hex */
			const uint8_t *last = s - 1;

			bits |= hexval(*last) < 0 ? 0 : (uint32_t)hexval(*last) & 0xf;
		}
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (same_str(t, (uint32_t)(s - t), names[k].name))
				bits |= names[k].bits;
		s += s < end;
	}
	return bits;
}
