/* cache.c - set-associative caches, hierarchies and TLBs (see cache.h). */
#include "cache.h"
#include "mm_math.h"

/*
 * A line is one 64-bit word: the block number in the low 60 bits, the dirty bit
 * at 63, SRRIP's 2-bit re-reference prediction at 61-62 and, under coherence, the
 * MESI Shared state at 60 (a clean line without it is Exclusive, a dirty one
 * Modified). An invalid line holds LINE_INVALID, a block number no address can have.
 */
#define LINE_BLOCK_MASK ((1ull << 60) - 1)
#define LINE_INVALID LINE_BLOCK_MASK
#define LINE_SHARED (1ull << 60)
#define LINE_DIRTY (1ull << 63)
#define RRPV_SHIFT 61
#define RRPV_MASK (3ull << RRPV_SHIFT)
#define RRPV_INSERT 2ull
#define RRPV_MAX 3ull
#define line_block(w) ((w) & LINE_BLOCK_MASK)

/*
 * LRU and FIFO sets of up to 16 ways keep their lines in fixed ways and the
 * recency (or age) order in one word: position k (bits 4k..4k+3) holds the way at
 * rank k, rank 0 the most recent. Invalid lines are always at the back.
 */

static inline uint64_t low_nibbles(uint32_t k)
{
	return ((1ull << (2 * k)) << (2 * k)) - 1;   /* two shifts: k = 16 gives all ones, no branch */
}

/* The rank of way w: the lowest nibble equal to w (exact for the lowest match). */
static inline uint32_t order_rank(uint64_t o, uint32_t w)
{
	uint64_t x = o ^ (0x1111111111111111ull * w);
	uint64_t zero = (x - 0x1111111111111111ull) & ~x & 0x8888888888888888ull;

	return mm_ctz64(zero) >> 2;
}

/* Move the way at rank p to the front. */
static inline uint64_t order_to_front(uint64_t o, uint32_t p)
{
	uint64_t w = (o >> (4 * p)) & 15;

	return (o & ~low_nibbles(p + 1)) | ((o & low_nibbles(p)) << 4) | w;
}

/* Move the way at rank p to the back of `ways` ranks. */
static inline uint64_t order_to_back(uint64_t o, uint32_t p, uint32_t ways)
{
	uint64_t w = (o >> (4 * p)) & 15, keep = o & low_nibbles(p);
	uint64_t above = (o >> 4) & ~low_nibbles(p) & low_nibbles(ways - 1);

	return keep | above | (w << (4 * (ways - 1)));
}

static inline uint32_t order_back(uint64_t o, uint32_t ways)
{
	return (uint32_t)(o >> (4 * (ways - 1))) & 15;
}

static inline int ordered(const struct cache *c)
{
	return c->policy == CACHE_LRU || c->policy == CACHE_FIFO;
}

/* The bytes of line `block` that [addr, addr + size) covers, as a mask (lines <= 64 bytes). */
static inline uint64_t byte_mask(const struct cache *c, uint64_t block, uint64_t addr, uint32_t size)
{
	uint64_t start = block << c->line_bits, end = start + (1ull << c->line_bits);
	uint64_t lo = addr > start ? addr : start, hi = addr + (size ? size : 1);
	uint32_t n;

	if (hi > end)
		hi = end;
	n = (uint32_t)(hi - lo);
	return (n >= 64 ? ~0ull : (1ull << n) - 1) << (lo - start);
}

/* Line utilisation: the CPU touched cur_mask of the line in (set, way). */
static inline void mark_use(struct cache *c, uint32_t set, uint32_t w)
{
	if (c->use)
		c->use[(uint64_t)set * c->ways + w] |= c->cur_mask;
}

/* The line in (set, way) leaves: count how much of it was used. */
static inline void retire_use(struct cache *c, uint64_t idx)
{
	if (c->use && c->tags[idx] != LINE_INVALID) {
		c->use_hist[mm_hweight64(c->use[idx])]++;
		c->use[idx] = 0;
	}
}

static inline void count_set_miss(struct cache *c, uint32_t set)
{
	if (c->set_misses)
		c->set_misses[set]++;
}

/* Ordered by an order word (up to 16 ways) rather than by shifting the lines. */
static inline int order_word(const struct cache *c)
{
	return ordered(c) && c->ways <= CACHE_ORDER_MAX_WAYS;
}

static inline uint32_t set_of(const struct cache *c, uint64_t block)
{
	return c->set_mask || c->sets == 1 ? (uint32_t)block & c->set_mask : (uint32_t)mm_mod64_u64(block, c->sets);
}

int cache_geometry_ok(uint32_t sets, uint32_t ways, uint32_t line_size, uint32_t policy)
{
	if (!sets || !ways || !mm_is_power_of_2(line_size) || policy >= NR_CACHE_POLICIES)
		return 0;
	if (policy == CACHE_PLRU && (!mm_is_power_of_2(ways) || ways > CACHE_PLRU_MAX_WAYS))
		return 0;
	return 1;
}

void cache_init(struct cache *c, uint32_t sets, uint32_t ways, uint32_t line_size, uint32_t policy,
		uint32_t write_back, uint32_t write_allocate, uint32_t inclusion, uint64_t seed,
		uint64_t *tags, uint64_t *plru)
{
	uint64_t i, n = (uint64_t)sets * ways;

	MM_BUG_ON(!cache_geometry_ok(sets, ways, line_size, policy) || inclusion >= NR_CACHE_INCLUSIONS);
	mm_memzero(c, sizeof(*c));
	c->sets = sets;
	c->ways = ways;
	c->line_bits = mm_ilog2(line_size);
	c->set_mask = (sets & (sets - 1)) ? 0 : sets - 1;
	c->policy = (uint8_t)policy;
	c->write_back = (uint8_t)write_back;
	c->write_allocate = (uint8_t)write_allocate;
	c->inclusion = (uint8_t)inclusion;
	c->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
	c->tags = tags;
	c->plru = plru;
	for (i = 0; i < n; i++)
		tags[i] = LINE_INVALID;
	if (plru) {
		uint64_t identity = 0;

		for (i = 0; i < ways && i < CACHE_ORDER_MAX_WAYS; i++)
			identity |= i << (4 * i);
		for (i = 0; i < sets; i++)
			plru[i] = order_word(c) ? identity : 0;
	}
}

void cache_link(struct cache *upper, struct cache *lower)
{
	upper->next = lower;
	if (lower->nr_upper < CACHE_MAX_UPPER)
		lower->upper[lower->nr_upper++] = upper;
}

/* ---- 3C: a fully associative LRU shadow and the set of blocks seen ------ */

static inline uint32_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x;
}

void cache_shadow_init(struct cache *c, struct cache_shadow *sh, uint32_t capacity, uint64_t *block,
		       uint32_t *prev, uint32_t *next, uint32_t *index, uint32_t index_size,
		       uint64_t *seen, uint64_t seen_size)
{
	uint64_t i;

	sh->capacity = capacity;
	sh->used = 0;
	sh->head = sh->tail = CACHE_NONE;
	sh->block = block;
	sh->prev = prev;
	sh->next = next;
	sh->index = index;
	sh->index_mask = index_size - 1;
	for (i = 0; i < index_size; i++)
		index[i] = 0;
	sh->seen = seen;
	sh->seen_mask = seen_size - 1;
	sh->seen_count = 0;
	for (i = 0; i < seen_size; i++)
		seen[i] = 0;
	c->shadow = sh;
}

int cache_shadow_needs_grow(const struct cache *c)
{
	return c->shadow && c->shadow->seen_count * 2 >= c->shadow->seen_mask;
}

/* Returns 1 if block was already in the set. */
static int seen_insert(struct cache_shadow *sh, uint64_t block)
{
	uint64_t i = hash64(block) & sh->seen_mask;

	while (sh->seen[i]) {
		if (sh->seen[i] == block + 1)
			return 1;
		i = (i + 1) & sh->seen_mask;
	}
	sh->seen[i] = block + 1;
	sh->seen_count++;
	return 0;
}

void cache_shadow_insert_seen(struct cache_shadow *sh, uint64_t block)
{
	seen_insert(sh, block);
}

static uint32_t index_find(const struct cache_shadow *sh, uint64_t block)
{
	uint32_t i = hash64(block) & sh->index_mask;

	while (sh->index[i] && sh->block[sh->index[i] - 1] != block)
		i = (i + 1) & sh->index_mask;
	return i;
}

/* Backward-shift deletion keeps linear probing without tombstones. */
static void index_remove(struct cache_shadow *sh, uint32_t slot)
{
	uint32_t j = slot;

	for (;;) {
		uint32_t home;

		j = (j + 1) & sh->index_mask;
		if (!sh->index[j])
			break;
		home = hash64(sh->block[sh->index[j] - 1]) & sh->index_mask;
		if ((j > slot && (home <= slot || home > j)) || (j < slot && home <= slot && home > j)) {
			sh->index[slot] = sh->index[j];
			slot = j;
		}
	}
	sh->index[slot] = 0;
}

static void lru_unlink(struct cache_shadow *sh, uint32_t n)
{
	if (sh->prev[n] != CACHE_NONE)
		sh->next[sh->prev[n]] = sh->next[n];
	else
		sh->head = sh->next[n];
	if (sh->next[n] != CACHE_NONE)
		sh->prev[sh->next[n]] = sh->prev[n];
	else
		sh->tail = sh->prev[n];
}

static void lru_push_front(struct cache_shadow *sh, uint32_t n)
{
	sh->prev[n] = CACHE_NONE;
	sh->next[n] = sh->head;
	if (sh->head != CACHE_NONE)
		sh->prev[sh->head] = n;
	sh->head = n;
	if (sh->tail == CACHE_NONE)
		sh->tail = n;
}

/* Access the shadow; returns 1 on a hit. */
static int shadow_access(struct cache_shadow *sh, uint64_t block)
{
	uint32_t slot = index_find(sh, block), n;

	if (sh->index[slot]) {
		n = sh->index[slot] - 1;
		lru_unlink(sh, n);
		lru_push_front(sh, n);
		return 1;
	}
	if (sh->used < sh->capacity) {
		n = sh->used++;
	} else {
		n = sh->tail;
		lru_unlink(sh, n);
		index_remove(sh, index_find(sh, sh->block[n]));
		slot = index_find(sh, block);
	}
	sh->block[n] = block;
	sh->index[slot] = n + 1;
	lru_push_front(sh, n);
	return 0;
}

static void classify_3c(struct cache *c, uint64_t block, int miss)
{
	int seen, shadow_hit;

	seen = seen_insert(c->shadow, block);
	shadow_hit = shadow_access(c->shadow, block);
	if (!miss)
		return;
	if (!seen)
		c->st.compulsory++;
	else if (shadow_hit)
		c->st.conflict++;
	else
		c->st.capacity++;
}

static inline void classify(struct cache *c, uint64_t block, int miss)
{
	if (c->shadow)
		classify_3c(c, block, miss);
}

/* ---- replacement ------------------------------------------------------ */

static inline uint32_t find_way(const struct cache *c, uint64_t base, uint64_t block)
{
	const uint64_t *set = &c->tags[base];
	uint32_t w;

	for (w = 0; w < c->ways; w++)
		if (line_block(set[w]) == block)
			return w;
	return CACHE_NONE;
}


static void plru_touch(struct cache *c, uint32_t set, uint32_t w)
{
	uint32_t levels = mm_ilog2(c->ways), node = 1, l;

	for (l = 0; l < levels; l++) {
		uint32_t bit = (w >> (levels - 1 - l)) & 1;

		/* point the node away from the way just used */
		if (bit)
			c->plru[set] &= ~(1ull << node);
		else
			c->plru[set] |= 1ull << node;
		node = 2 * node + bit;
	}
}

static uint32_t plru_victim(const struct cache *c, uint32_t set)
{
	uint32_t levels = mm_ilog2(c->ways), node = 1, w = 0, l;

	for (l = 0; l < levels; l++) {
		uint32_t bit = (uint32_t)(c->plru[set] >> node) & 1;

		w = (w << 1) | bit;
		node = 2 * node + bit;
	}
	return w;
}

/* A hit: update the policy's state. Returns the way the line is in afterwards. */
static uint32_t touch(struct cache *c, uint32_t set, uint64_t base, uint32_t w)
{
	uint64_t *s = &c->tags[base], line;

	switch (c->policy) {
	case CACHE_LRU:
		if (c->ways <= CACHE_ORDER_MAX_WAYS) {
			c->plru[set] = order_to_front(c->plru[set], order_rank(c->plru[set], w));
			return w;
		}
		line = s[w];
		for (; w > 0; w--)
			s[w] = s[w - 1];
		s[0] = line;
		return 0;
	case CACHE_PLRU:
		plru_touch(c, set, w);
		return w;
	case CACHE_SRRIP:
		s[w] &= ~RRPV_MASK;
		return w;
	default:   /* FIFO and random keep no recency */
		return w;
	}
}

static uint32_t pick_victim(struct cache *c, uint32_t set, uint64_t base)
{
	uint64_t *s = &c->tags[base];
	uint32_t w;

	for (w = 0; w < c->ways; w++)
		if (s[w] == LINE_INVALID)
			return w;
	switch (c->policy) {
	case CACHE_RANDOM:
		c->rng ^= c->rng << 13;
		c->rng ^= c->rng >> 7;
		c->rng ^= c->rng << 17;
		return (uint32_t)(c->rng >> 32) % c->ways;
	case CACHE_PLRU:
		return plru_victim(c, set);
	default:   /* SRRIP: the first distant line, ageing all until one is */
		for (;;) {
			for (w = 0; w < c->ways; w++)
				if ((s[w] & RRPV_MASK) >> RRPV_SHIFT == RRPV_MAX)
					return w;
			for (w = 0; w < c->ways; w++)
				s[w] += 1ull << RRPV_SHIFT;
		}
	}
}

/* Remove a line, keeping LRU/FIFO order with invalid lines at the back. Returns its dirty bit. */
static int remove_line(struct cache *c, uint32_t set, uint32_t w)
{
	uint64_t *s = &c->tags[(uint64_t)set * c->ways];
	int dirty = !!(s[w] & LINE_DIRTY);

	retire_use(c, (uint64_t)set * c->ways + w);
	if (c->ghost)
		c->ghost[(uint64_t)set * c->ways + w].block = 0;   /* an old ghost must not come back */
	if (order_word(c))
		c->plru[set] = order_to_back(c->plru[set], order_rank(c->plru[set], w), c->ways);
	else if (ordered(c))
		for (; w + 1 < c->ways; w++)
			s[w] = s[w + 1];
	s[w] = LINE_INVALID;
	return dirty;
}

/* Back-invalidation: drop [start, end) from c and everything above it. Returns 1 if a
 * dropped copy was dirty; *removed counts the lines dropped. */
static int invalidate_up(struct cache *c, uint64_t start, uint64_t end, uint64_t *removed)
{
	uint64_t block;
	uint32_t i;
	int dirty = 0;

	for (i = 0; i < c->nr_upper; i++)
		dirty |= invalidate_up(c->upper[i], start, end, removed);
	for (block = start >> c->line_bits; block <= (end - 1) >> c->line_bits; block++) {
		uint32_t set = set_of(c, block);
		uint32_t w = find_way(c, (uint64_t)set * c->ways, block);

		if (w != CACHE_NONE) {
			dirty |= remove_line(c, set, w);
			(*removed)++;
		}
	}
	return dirty;
}

static uint32_t install(struct cache *c, uint64_t block, int dirty);

/* A valid line leaves c: inclusion, write-back, or the exclusive lower level takes it. */
static void evict(struct cache *c, uint64_t victim, int dirty)
{
	uint32_t i;

	c->st.evictions++;
	if (c->inclusion == CACHE_INCLUSIVE)
		for (i = 0; i < c->nr_upper; i++)
			dirty |= invalidate_up(c->upper[i], victim << c->line_bits, (victim + 1) << c->line_bits,
					       &c->st.back_invalidations);
	if (c->next && c->next->inclusion == CACHE_EXCLUSIVE) {
		install(c->next, victim, dirty);   /* the victim cache takes every line we drop (same line size) */
		return;
	}
	if (dirty) {
		c->st.writebacks++;
		if (c->next)
			cache_access(c->next, victim << c->line_bits, 1u << c->line_bits, 1);
	}
}

static uint32_t install(struct cache *c, uint64_t block, int dirty)
{
	uint32_t set = set_of(c, block), w;
	uint64_t *s = &c->tags[(uint64_t)set * c->ways], victim;

	if (order_word(c)) {
		w = order_back(c->plru[set], c->ways);
		victim = s[w];
		c->plru[set] = order_to_front(c->plru[set], c->ways - 1);
	} else if (ordered(c)) {
		w = c->ways - 1;
		victim = s[w];
		for (; w > 0; w--)
			s[w] = s[w - 1];
	} else {
		w = pick_victim(c, set, (uint64_t)set * c->ways);
		victim = s[w];
	}
	retire_use(c, (uint64_t)set * c->ways + w);   /* (use is never kept with shifting sets) */
	s[w] = block | (dirty ? LINE_DIRTY : 0);
	if (c->policy == CACHE_PLRU)
		plru_touch(c, set, w);
	else if (c->policy == CACHE_SRRIP)
		s[w] |= RRPV_INSERT << RRPV_SHIFT;
	if (victim != LINE_INVALID)
		evict(c, line_block(victim), !!(victim & LINE_DIRTY));
	return w;
}

/* Bring block into c from below; returns the dirty bit an exclusive lower level handed up. */
static int fetch(struct cache *c, uint64_t block)
{
	struct cache *x = c->next;
	uint32_t set, w;

	if (!x)
		return 0;
	if (x->inclusion != CACHE_EXCLUSIVE) {
		cache_access(x, block << c->line_bits, 1u << c->line_bits, 0);   /* the whole line, in x's lines */
		return 0;
	}
	/* exclusive: a hit moves the line up, a miss goes further down without filling x */
	set = set_of(x, block);
	w = find_way(x, (uint64_t)set * x->ways, block);
	classify(x, block, w == CACHE_NONE);
	if (w != CACHE_NONE) {
		x->st.load_hits++;
		return remove_line(x, set, w);
	}
	x->st.load_misses++;
	count_set_miss(x, set);
	return fetch(x, block);
}

/*
 * The ways of a set (at most 16) holding `block`, as a bit mask. Four ways at a
 * time with GCC's generic vectors where the set is a multiple of four ways
 * (one compare instruction each with AVX2; plain scalar code on 32-bit guests).
 */
typedef uint64_t v4u64 __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) uint32_t match_ways(const uint64_t *s, uint64_t block, uint32_t ways)
{
	uint32_t w, hit = 0;

	if (ways & 3) {
		for (w = 0; w < ways; w++)
			hit |= (uint32_t)(line_block(s[w]) == block) << w;
		return hit;
	}
	{
		const v4u64 mask = { LINE_BLOCK_MASK, LINE_BLOCK_MASK, LINE_BLOCK_MASK, LINE_BLOCK_MASK };
		const v4u64 want = { block, block, block, block }, bit = { 1, 2, 4, 8 };
		v4u64 acc = { 0, 0, 0, 0 };

		for (w = 0; w < ways; w += 4) {
			v4u64 v;

			__builtin_memcpy(&v, s + w, sizeof(v));
			acc |= ((v4u64)((v & mask) == want) & bit) << w;
		}
		return (uint32_t)(acc[0] | acc[1] | acc[2] | acc[3]);
	}
}

/* match_ways with the way counts of common geometries as constants, so the compiler unrolls them. */
static inline uint32_t match_set(const uint64_t *s, uint64_t block, uint32_t ways)
{
	return ways == 16 ? match_ways(s, block, 16) : ways == 8 ? match_ways(s, block, 8) : match_ways(s, block, ways);
}

/*
 * LRU lookup for the fast paths. On a hit the line becomes the most recent. On a
 * miss the victim's way is emptied and made the most recent, *victim is what it
 * held and *way where the new line goes (lru_fill puts it there after the fetch).
 * Only used when no level below is inclusive (none can back-invalidate this one
 * while it fetches), since the way stays empty until the fill.
 */
static inline int lru_lookup(struct cache *c, uint32_t set, uint64_t block, uint64_t *victim, uint32_t *way)
{
	uint64_t *s = &c->tags[(uint64_t)set * c->ways], prev, cur;
	uint32_t w;

	if (c->ways <= CACHE_ORDER_MAX_WAYS) {
		uint64_t o = c->plru[set];
		uint32_t hit = match_set(s, block, c->ways);

		if (hit) {
			w = (uint32_t)__builtin_ctz(hit);
			c->plru[set] = order_to_front(o, order_rank(o, w));
			*way = w;
			return 1;
		}
		w = order_back(o, c->ways);
		c->plru[set] = order_to_front(o, c->ways - 1);
		*victim = s[w];
		retire_use(c, (uint64_t)set * c->ways + w);
		s[w] = LINE_INVALID;
		*way = w;
		return 0;
	}
	/* more ways: move-to-front while looking, in one pass */
	*way = 0;
	prev = s[0];
	if (line_block(prev) == block)
		return 1;
	for (w = 1; w < c->ways; w++) {
		cur = s[w];
		s[w] = prev;
		if (line_block(cur) == block) {
			s[0] = cur;
			return 1;
		}
		prev = cur;
	}
	*victim = prev;
	s[0] = LINE_INVALID;
	*way = 0;
	return 0;
}

static inline int fast_lru(const struct cache *c)
{
	return c->fast;
}

/* Finish a fast-LRU miss: the new line in its way, then the victim leaves. */
static inline void lru_fill(struct cache *c, uint64_t *line, uint64_t block, int dirty, uint64_t victim)
{
	*line = block | (dirty ? LINE_DIRTY : 0);
	if (c->use)
		c->use[line - c->tags] |= c->cur_mask;
	if (victim == LINE_INVALID)
		return;
	if (!(victim & LINE_DIRTY) && c->inclusion != CACHE_INCLUSIVE &&
	    (!c->next || c->next->inclusion != CACHE_EXCLUSIVE))
		c->st.evictions++;   /* a clean line simply goes */
	else
		evict(c, line_block(victim), !!(victim & LINE_DIRTY));
}

static void load_line(struct cache *c, uint64_t block)
{
	uint32_t set = set_of(c, block);
	uint64_t base = (uint64_t)set * c->ways, victim;
	uint32_t w;

	if (fast_lru(c)) {
		if (lru_lookup(c, set, block, &victim, &w)) {
			c->st.load_hits++;
			mark_use(c, set, w);
			return;
		}
		c->st.load_misses++;
		count_set_miss(c, set);
		lru_fill(c, &c->tags[base + w], block, fetch(c, block), victim);
		return;
	}
	w = find_way(c, base, block);
	classify(c, block, w == CACHE_NONE);
	if (w != CACHE_NONE) {
		c->st.load_hits++;
		mark_use(c, set, touch(c, set, base, w));
		return;
	}
	c->st.load_misses++;
	count_set_miss(c, set);
	mark_use(c, set, install(c, block, fetch(c, block)));
}

/* Write-through or no-write-allocate: the store goes on to the next level. */
static void store_through(struct cache *c, uint64_t block)
{
	if (c->next)
		cache_access(c->next, block << c->line_bits, 1u << c->line_bits, 1);
}

/* A store that hit the line in (set, w): dirty it, or write it through. */
static void store_hit(struct cache *c, uint32_t set, uint32_t w, uint64_t block)
{
	c->st.store_hits++;
	mark_use(c, set, w);
	if (c->write_back)
		c->tags[(uint64_t)set * c->ways + w] |= LINE_DIRTY;
	else
		store_through(c, block);
}

static void store_line(struct cache *c, uint64_t block)
{
	uint32_t set = set_of(c, block);
	uint64_t base = (uint64_t)set * c->ways, victim;
	uint32_t w;

	if (fast_lru(c) && c->write_allocate) {
		if (lru_lookup(c, set, block, &victim, &w)) {
			store_hit(c, set, w, block);
			return;
		}
		c->st.store_misses++;
		count_set_miss(c, set);
		lru_fill(c, &c->tags[base + w], block, fetch(c, block) | c->write_back, victim);
		if (!c->write_back)
			store_through(c, block);
		return;
	}
	w = find_way(c, base, block);
	classify(c, block, w == CACHE_NONE);
	if (w != CACHE_NONE) {
		store_hit(c, set, touch(c, set, base, w), block);
		return;
	}
	c->st.store_misses++;
	count_set_miss(c, set);
	if (!c->write_allocate) {
		store_through(c, block);
		return;
	}
	mark_use(c, set, install(c, block, fetch(c, block) | c->write_back));
	if (!c->write_back)
		store_through(c, block);
}

int cache_can_track_use(const struct cache *c)
{
	/* ordered sets wider than an order word keep their recency by moving lines between ways */
	return (1u << c->line_bits) <= CACHE_USE_MAX_LINE && !(ordered(c) && c->ways > CACHE_ORDER_MAX_WAYS);
}

void cache_track_use(struct cache *c, uint64_t *use, uint64_t *use_hist)
{
	MM_BUG_ON(!cache_can_track_use(c));
	c->use = use;
	c->use_hist = use_hist;
}

void cache_use_resident(const struct cache *c, uint64_t *hist)
{
	uint64_t i, n = (uint64_t)c->sets * c->ways;

	if (!c->use)
		return;
	for (i = 0; i < n; i++)
		if (c->tags[i] != LINE_INVALID)
			hist[mm_hweight64(c->use[i])]++;
}

uint32_t cache_access(struct cache *c, uint64_t addr, uint32_t size, int is_store)
{
	uint64_t block = addr >> c->line_bits, last = (addr + (size ? size : 1) - 1) >> c->line_bits;
	uint64_t before = c->st.load_misses + c->st.store_misses;

	for (; block <= last; block++) {
		if (c->use)
			c->cur_mask = byte_mask(c, block, addr, size);
		if (is_store)
			store_line(c, block);
		else
			load_line(c, block);
	}
	return (uint32_t)(c->st.load_misses + c->st.store_misses - before);
}

int cache_contains(const struct cache *c, uint64_t addr)
{
	uint64_t block = addr >> c->line_bits;

	return find_way(c, (uint64_t)set_of(c, block) * c->ways, block) != CACHE_NONE;
}

void cache_flush(struct cache *c)
{
	uint64_t i, n = (uint64_t)c->sets * c->ways;

	for (i = 0; i < n; i++) {
		if (c->tags[i] & LINE_DIRTY) {
			c->tags[i] &= ~LINE_DIRTY;
			c->st.writebacks++;
			if (c->next)
				cache_access(c->next, line_block(c->tags[i]) << c->line_bits, 1u << c->line_bits, 1);
		}
	}
}

/* ---- hierarchy ---------------------------------------------------------- */

/*
 * The iterative walk: every level of the chain non-inclusive LRU without 3C,
 * write-back and write-allocate with stores updating recency, and lines that do
 * not get smaller going down (one lookup per level). It does what the recursive
 * path does, in the same order: look up level by level until a hit, then fill
 * the missing levels from the deepest up, each writing its victim back below.
 */
#define MAX_CHAIN CACHE_MAX_CHAIN

static int chain_is_fast(const struct cache *c)
{
	uint32_t depth = 0;

	for (; c; c = c->next) {
		if (c->policy != CACHE_LRU || c->inclusion != CACHE_NINE || c->shadow || !c->write_back ||
		    !c->write_allocate || ++depth > MAX_CHAIN)
			return 0;
		if (c->next && (c->next->line_bits < c->line_bits || c->next->inclusion != CACHE_NINE))
			return 0;
	}
	return 1;
}

static void chain_access_line(struct cache *c, uint64_t addr, int store)
{
	struct cache *lv[MAX_CHAIN];
	uint64_t *line[MAX_CHAIN], victim[MAX_CHAIN];
	int n = 0, i, is_store = store;

	for (; c; c = c->next, is_store = 0) {   /* below the first level, a fetch is a load */
		uint64_t block = addr >> c->line_bits;
		uint32_t set = set_of(c, block), w;

		if (lru_lookup(c, set, block, &victim[n], &w)) {
			if (is_store) {
				c->st.store_hits++;
				c->tags[(uint64_t)set * c->ways + w] |= LINE_DIRTY;
			} else {
				c->st.load_hits++;
			}
			if (!n)
				mark_use(c, set, w);
			break;
		}
		if (is_store)
			c->st.store_misses++;
		else
			c->st.load_misses++;
		count_set_miss(c, set);
		lv[n] = c;
		line[n++] = &c->tags[(uint64_t)set * c->ways + w];
	}
	for (i = n - 1; i >= 0; i--)
		lru_fill(lv[i], line[i], addr >> lv[i]->line_bits, i == 0 && store, victim[i]);
}

/* cache_access for a fast chain: the lines of one access, each walked down. */
static void chain_access(struct cache *c, uint64_t addr, uint32_t size, int store)
{
	uint64_t block = addr >> c->line_bits, last = (addr + (size ? size : 1) - 1) >> c->line_bits;

	for (; block <= last; block++) {
		if (c->use)
			c->cur_mask = byte_mask(c, block, addr, size);
		chain_access_line(c, block << c->line_bits, store);
	}
}

/*
 * The lean walk: a fast chain whose levels all keep an order word (<= 16 ways),
 * have a power-of-two number of sets and track no line use. It is the iterative
 * walk above with every per-level field in one array and the tag compare done
 * four ways at a time; the hierarchy's results are the same.
 */
static int lean_chain(struct cache *c, struct cache_lean_chain *lc)
{
	lc->depth = 0;
	if (!c || !chain_is_fast(c))
		return 0;
	for (; c; c = c->next) {
		struct cache_lean_level *l = &lc->lv[lc->depth];

		if (c->ways > CACHE_ORDER_MAX_WAYS || (!c->set_mask && c->sets != 1) || c->use) {
			lc->depth = 0;
			return 0;
		}
		l->tags = c->tags;
		l->order = c->plru;
		l->set_misses = c->set_misses;
		l->ways = c->ways;
		l->order_mask = low_nibbles(c->ways);
		l->back_shift = 4 * (c->ways - 1);
		l->set_mask = c->set_mask;
		l->line_bits = c->line_bits;
		l->c = c;
		lc->depth++;
	}
	return 1;
}

/*
 * One line of a load or store (stores dirty the first level only; below, fetches
 * are loads). A missing level takes the line at once: only dirty victims touch
 * the levels below, so writing them back afterwards, deepest first, leaves every
 * level as the recursive path does.
 */
static inline __attribute__((always_inline)) void lean_access_line(const struct cache_lean_chain *lc,
								   uint64_t addr, int store)
{
	uint64_t dirty[MAX_CHAIN];
	uint32_t d, dirty_levels = 0;
	int is_store = store;

	for (d = 0; d < lc->depth; d++, is_store = 0) {
		const struct cache_lean_level *l = &lc->lv[d];
		uint64_t block = addr >> l->line_bits, *s, o, victim;
		uint32_t set = (uint32_t)block & l->set_mask, hit, w;

		s = &l->tags[(uint64_t)set * l->ways];
		o = l->order[set];
		w = (uint32_t)o & 15;   /* the most recent way first: nothing moves on a hit there */
		hit = line_block(s[w]) == block ? 1u << w : match_set(s, block, l->ways);
		if (hit) {
			w = (uint32_t)__builtin_ctz(hit);
			l->order[set] = order_to_front(o, order_rank(o, w));
			if (is_store) {
				l->c->st.store_hits++;
				s[w] |= LINE_DIRTY;
			} else {
				l->c->st.load_hits++;
			}
			break;
		}
		if (is_store)
			l->c->st.store_misses++;
		else
			l->c->st.load_misses++;
		if (l->set_misses)
			l->set_misses[set]++;
		w = (uint32_t)(o >> l->back_shift) & 15;   /* the least recent way moves to the front */
		l->order[set] = ((o << 4) & l->order_mask) | w;
		victim = s[w];
		s[w] = block | (is_store ? LINE_DIRTY : 0);
		if (victim & LINE_DIRTY) {
			dirty[d] = line_block(victim);
			dirty_levels |= 1u << d;
		} else if (victim != LINE_INVALID) {
			l->c->st.evictions++;
		}
	}
	while (dirty_levels) {
		d = mm_ilog2(dirty_levels);
		dirty_levels &= ~(1u << d);
		evict(lc->lv[d].c, dirty[d], 1);
	}
}

static inline void lean_access(const struct cache_lean_chain *lc, uint64_t addr, uint32_t size, int store)
{
	uint32_t bits = lc->lv[0].line_bits;
	uint64_t line = addr >> bits, last = (addr + (size ? size : 1) - 1) >> bits;

	for (; line <= last; line++)
		lean_access_line(lc, line << bits, store);
}

/* One-pass LRU needs LRU, no 3C, and no inclusive level anywhere below. */
static int lru_is_fast(const struct cache *c)
{
	const struct cache *x;

	if (c->policy != CACHE_LRU || c->shadow)
		return 0;
	for (x = c->next; x; x = x->next)
		if (x->inclusion == CACHE_INCLUSIVE)
			return 0;
	return 1;
}

void cache_hierarchy_prepare(struct cache_hierarchy *h)
{
	uint32_t l;

	for (l = 0; l < h->nr_levels; l++)
		h->levels[l]->fast = (uint8_t)lru_is_fast(h->levels[l]);
	h->fast_i = h->i1 && chain_is_fast(h->i1);
	h->fast_d = h->d1 && chain_is_fast(h->d1);
	lean_chain(h->i1, &h->lean_i);
	lean_chain(h->d1, &h->lean_d);
	if (h->coh) {   /* coherent accesses go line by line through the general path */
		h->fast_i = h->fast_d = 0;
		h->lean_i.depth = h->lean_d.depth = 0;
	}
}

static void translate(struct cache_hierarchy *h, uint64_t addr, int ifetch)
{
	struct cache *tlb = ifetch ? h->itlb : h->dtlb, *last;
	uint64_t before;
	uint32_t i;

	if (!tlb && !h->nr_huge)
		return;
	for (i = 0; i < h->nr_huge; i++) {
		if (addr >= h->huge_start[i] && addr < h->huge_end[i]) {
			tlb = ifetch ? h->itlb_huge : h->dtlb_huge;
			break;
		}
	}
	if (!tlb)
		return;
	for (last = tlb; last->next; last = last->next)
		;
	before = last->st.load_misses;
	cache_access(tlb, addr, 1, 0);
	h->page_walks += last->st.load_misses - before;   /* the walk follows a miss in the last TLB level */
}

static inline void first_level(struct cache_hierarchy *h, int ifetch, uint64_t addr, uint32_t size, int store)
{
	const struct cache_lean_chain *lc = ifetch ? &h->lean_i : &h->lean_d;

	if (lc->depth)
		lean_access(lc, addr, size, store);
	else if (ifetch ? h->fast_i : h->fast_d)
		chain_access(ifetch ? h->i1 : h->d1, addr, size, store);
	else
		cache_access(ifetch ? h->i1 : h->d1, addr, size, store);
}

static void coherent_line(struct cache_hierarchy *h, int ifetch, uint64_t addr, uint32_t size, int store,
			  uint64_t *served);
static uint32_t serving_level(const struct cache_hierarchy *h, int ifetch, uint64_t addr, int store);

/* One pass (the loads or the stores) of an access. Coherence and timing go line by line: the
 * level that will serve each line is found before its lookup (after the bus transaction). */
static void access_pass(struct cache_hierarchy *h, int ifetch, uint64_t addr, uint32_t size, int store,
			uint64_t *served)
{
	uint32_t bits;
	uint64_t end, line, last;

	if (!h->coh && !served) {
		first_level(h, ifetch, addr, size, store);
		return;
	}
	bits = (ifetch ? h->i1 : h->d1)->line_bits;
	end = addr + (size ? size : 1);
	last = (end - 1) >> bits;
	for (line = addr >> bits; line <= last; line++) {
		uint64_t start = line << bits, stop = (line + 1) << bits;
		uint64_t lo = addr > start ? addr : start, hi = end < stop ? end : stop;

		if (h->coh) {
			coherent_line(h, ifetch, lo, (uint32_t)(hi - lo), store, served);
		} else {
			served[serving_level(h, ifetch, lo, store)]++;
			first_level(h, ifetch, lo, (uint32_t)(hi - lo), store);
		}
	}
}

static void hierarchy_access(struct cache_hierarchy *h, uint64_t addr, uint32_t size, uint32_t kind,
			     uint64_t *served)
{
	translate(h, addr, kind == ACCESS_IFETCH);
	switch (kind) {
	case ACCESS_IFETCH:
		access_pass(h, 1, addr, size, 0, served);
		break;
	case ACCESS_LOAD:
		access_pass(h, 0, addr, size, 0, served);
		break;
	case ACCESS_STORE:
		access_pass(h, 0, addr, size, 1, served);
		break;
	default:   /* modify: a load, then a store */
		access_pass(h, 0, addr, size, 0, served);
		access_pass(h, 0, addr, size, 1, served);
		break;
	}
}

void cache_hierarchy_access(struct cache_hierarchy *h, uint64_t addr, uint32_t size, uint32_t kind)
{
	hierarchy_access(h, addr, size, kind, 0);
}

/* Start loading the sets an access will look up below the first level. */
static inline void prefetch_sets(const struct cache *c, uint64_t addr)
{
	for (c = c->next; c; c = c->next) {
		const uint64_t *s = &c->tags[(uint64_t)set_of(c, addr >> c->line_bits) * c->ways];

		__builtin_prefetch(s);
		if (c->ways > 8)
			__builtin_prefetch(s + 8);
	}
}

#define PREFETCH_AHEAD 8
#define CACHE_INVALID_BLOCK 0xffffffffffffffffull

/* An access within one line that hits the MRU way of a fast first level: nothing
 * moves, only the counters (and the dirty bit) change. Returns 1 if it was one. */
static inline int mru_hit(struct cache *c, uint64_t addr, uint32_t size, uint32_t kind)
{
	uint64_t block = addr >> c->line_bits;
	uint64_t *s;
	uint32_t set;

	if (((addr + (size ? size : 1) - 1) >> c->line_bits) != block || kind == ACCESS_MODIFY)
		return 0;
	set = set_of(c, block);
	s = &c->tags[(uint64_t)set * c->ways + (c->ways <= CACHE_ORDER_MAX_WAYS ? (c->plru[set] & 15) : 0)];
	if (line_block(*s) != block)
		return 0;
	if (c->use)
		c->use[s - c->tags] |= byte_mask(c, block, addr, size);
	if (kind == ACCESS_STORE) {
		c->st.store_hits++;
		*s |= LINE_DIRTY;
	} else {
		c->st.load_hits++;
	}
	return 1;
}

/* Start loading the sets below the first level that the access at addr will look up. */
static inline void lean_prefetch(const struct cache_lean_chain *lc, uint64_t addr)
{
	uint32_t d;

	for (d = 1; d < lc->depth; d++) {
		const struct cache_lean_level *l = &lc->lv[d];
		const uint64_t *s = &l->tags[(uint64_t)((uint32_t)(addr >> l->line_bits) & l->set_mask) * l->ways];

		__builtin_prefetch(s);
		if (l->ways > 8)
			__builtin_prefetch(s + 8);
	}
}

/* cache_replay when both chains are lean and no TLB is modelled. */
static void lean_replay(struct cache_hierarchy *h, const uint64_t *addr, const uint32_t *size,
			const uint8_t *kind, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		const struct cache_lean_chain *lc = kind[i] == ACCESS_IFETCH ? &h->lean_i : &h->lean_d;
		const struct cache_lean_level *l1 = &lc->lv[0];
		uint64_t block = addr[i] >> l1->line_bits;
		uint32_t set = (uint32_t)block & l1->set_mask;
		uint64_t *mru = &l1->tags[(uint64_t)set * l1->ways + (l1->order[set] & 15)];

		if (i + PREFETCH_AHEAD < n)
			lean_prefetch(kind[i + PREFETCH_AHEAD] == ACCESS_IFETCH ? &h->lean_i : &h->lean_d,
				      addr[i + PREFETCH_AHEAD]);
		/* a hit in the first level's most recent line within one line: only counters change */
		if (line_block(*mru) == block && kind[i] != ACCESS_MODIFY &&
		    ((addr[i] + (size[i] ? size[i] : 1) - 1) >> l1->line_bits) == block) {
			if (kind[i] == ACCESS_STORE) {
				l1->c->st.store_hits++;
				*mru |= LINE_DIRTY;
			} else {
				l1->c->st.load_hits++;
			}
			continue;
		}
		if (kind[i] == ACCESS_MODIFY)
			lean_access(lc, addr[i], size[i], 0);
		lean_access(lc, addr[i], size[i], kind[i] >= ACCESS_STORE);
	}
}

uint64_t cache_replay(struct cache_hierarchy *h, const uint64_t *addr, const uint32_t *size,
		      const uint8_t *kind, uint64_t n)
{
	uint64_t i, last_prefetch = CACHE_INVALID_BLOCK;
	uint32_t l, classified = 0;
	int shortcut = !h->itlb && !h->dtlb && !h->nr_huge;

	if (shortcut && h->lean_d.depth && h->lean_i.depth) {
		lean_replay(h, addr, size, kind, n);
		return n;
	}
	for (l = 0; l < h->nr_levels; l++)
		classified |= h->levels[l]->shadow != 0;
	for (i = 0; i < n; i++) {
		if (i + PREFETCH_AHEAD < n) {
			const struct cache *first = kind[i + PREFETCH_AHEAD] == ACCESS_IFETCH ? h->i1 : h->d1;
			uint64_t block = addr[i + PREFETCH_AHEAD] >> first->line_bits;

			if (block != last_prefetch) {
				prefetch_sets(first, addr[i + PREFETCH_AHEAD]);
				last_prefetch = block;
			}
		}
		if (classified)
			for (l = 0; l < h->nr_levels; l++)
				if (cache_shadow_needs_grow(h->levels[l]))
					return i;
		if (shortcut && (kind[i] == ACCESS_IFETCH ? h->fast_i : h->fast_d) &&
		    mru_hit(kind[i] == ACCESS_IFETCH ? h->i1 : h->d1, addr[i], size[i], kind[i]))
			continue;
		cache_hierarchy_access(h, addr[i], size[i], kind[i]);
	}
	return n;
}

/* ---- coherence (MESI) between the CPUs' private levels ---------------------------------- */

int cache_coherence_level_ok(const struct cache *c)
{
	/* ghosts are kept per way: lines must not move between ways; 3C knows nothing of other CPUs */
	return !(ordered(c) && c->ways > CACHE_ORDER_MAX_WAYS) && !c->shadow;
}

static uint32_t private_depth(const struct cache *c)
{
	uint32_t n = 0;

	for (; c && c->ghost && n < CACHE_MAX_CHAIN; c = c->next)
		n++;
	return n;
}

static void add_private(struct cache_hierarchy *h, struct cache *c, uint32_t depth)
{
	uint32_t i;

	for (; depth--; c = c->next) {
		for (i = 0; i < h->nr_priv && h->priv[i] != c; i++)
			;
		if (i == h->nr_priv && h->nr_priv < CACHE_MAX_CHAIN)
			h->priv[h->nr_priv++] = c;
	}
}

void cache_coherence_init(struct cache_coherence *coh, struct cache_hierarchy *h, uint32_t nr,
			  struct cache_c2c *c2c, uint32_t c2c_size)
{
	uint32_t k, i;
	struct cache *c;

	MM_BUG_ON(!mm_is_power_of_2(c2c_size));
	coh->cpu = h;
	coh->nr_cpus = nr;
	coh->c2c = c2c;
	coh->c2c_mask = c2c_size - 1;
	coh->c2c_used = 0;
	coh->c2c_dropped = 0;
	for (i = 0; i < c2c_size; i++)
		c2c[i].block = CACHE_C2C_FREE;
	for (k = 0; k < nr; k++) {
		struct cache_hierarchy *x = &h[k];

		x->coh = coh;
		x->cpu = k;
		x->nr_priv = 0;
		x->priv_i = private_depth(x->i1);
		x->priv_d = private_depth(x->d1);
		add_private(x, x->i1, x->priv_i);
		add_private(x, x->d1, x->priv_d);
		for (c = x->d1, i = 0; c && i < x->priv_d; c = c->next)
			i++;
		x->shared_d = c;
		cache_hierarchy_prepare(x);
	}
}

/* The valid line of c holding block, or 0. */
static uint64_t *line_of(struct cache *c, uint64_t block)
{
	uint64_t base = (uint64_t)set_of(c, block) * c->ways;
	uint32_t w = find_way(c, base, block);

	return w == CACHE_NONE ? 0 : &c->tags[base + w];
}

/* The ghost of block in c: a way a coherence invalidation emptied, not filled since. */
static struct cache_ghost *ghost_of(struct cache *c, uint64_t block)
{
	uint64_t base = (uint64_t)set_of(c, block) * c->ways;
	uint32_t w;

	for (w = 0; w < c->ways; w++)
		if (c->tags[base + w] == LINE_INVALID && c->ghost[base + w].block == block + 1)
			return &c->ghost[base + w];
	return 0;
}

#define SNOOP_HELD 1u
#define SNOOP_DIRTY 2u

/*
 * Another CPU's (o's) copies of block, for h's access to bytes [lo, hi) of it. A store
 * invalidates them, leaving ghosts; a load makes them Shared, a Modified copy first written
 * back to o's shared level. Returns SNOOP_HELD / SNOOP_DIRTY.
 */
static uint32_t snoop(struct cache_hierarchy *o, const struct cache_hierarchy *h, uint64_t block, int store,
		      uint32_t lo, uint32_t hi)
{
	uint32_t i, w, found = 0, bits = 0;

	for (i = 0; i < o->nr_priv; i++) {
		struct cache *c = o->priv[i];
		uint32_t set = set_of(c, block);
		uint64_t base = (uint64_t)set * c->ways;
		struct cache_ghost *g;

		if ((w = find_way(c, base, block)) == CACHE_NONE)
			continue;
		found |= SNOOP_HELD | (c->tags[base + w] & LINE_DIRTY ? SNOOP_DIRTY : 0);
		bits = c->line_bits;
		if (!store) {
			c->tags[base + w] = (c->tags[base + w] & ~LINE_DIRTY) | LINE_SHARED;
			continue;
		}
		remove_line(c, set, w);   /* a Modified copy's data goes to the storing CPU */
		c->st.coh_invalidations++;
		g = &c->ghost[base + w];
		g->block = block + 1;
		g->tag = h->tag;
		g->base = h->tag_base;
		g->cpu = h->cpu;
		g->lo = (uint16_t)lo;
		g->hi = (uint16_t)hi;
	}
	if (found && store)
		o->coh_st.invalidations_received++;
	if (!store && (found & SNOOP_DIRTY) && o->shared_d)
		cache_access(o->shared_d, block << bits, 1u << bits, 1);
	return found;
}

static inline uint64_t c2c_hash(uint64_t block, uint64_t t0, uint64_t t1, uint32_t cpus)
{
	uint64_t x = block * 0x9e3779b97f4a7c15ull ^ t0 * 0xff51afd7ed558ccdull ^ t1 * 0xc4ceb9fe1a85ec53ull ^ cpus;

	return x ^ (x >> 29);
}

/* A coherence miss of h on bytes [lo, hi) of block, whose copy g's store had invalidated. */
static void note_c2c(struct cache_hierarchy *h, uint64_t block, uint32_t lo, uint32_t hi, const struct cache_ghost *g)
{
	struct cache_coherence *coh = h->coh;
	int overlap = lo < g->hi && g->lo < hi;
	uint32_t i = (uint32_t)c2c_hash(block, h->tag ^ h->tag_base, g->tag ^ g->base, h->cpu << 16 ^ g->cpu) &
		     coh->c2c_mask;
	struct cache_c2c *e;

	h->coh_st.coherence_misses++;
	if (overlap)
		h->coh_st.true_sharing++;
	else
		h->coh_st.false_sharing++;
	for (;; i = (i + 1) & coh->c2c_mask) {
		e = &coh->c2c[i];
		if (e->block == CACHE_C2C_FREE)
			break;
		if (e->block == block && e->tag[0] == h->tag && e->base[0] == h->tag_base && e->cpu[0] == h->cpu &&
		    e->tag[1] == g->tag && e->base[1] == g->base && e->cpu[1] == g->cpu)
			goto found;
	}
	if ((uint64_t)(coh->c2c_used + 1) * 4 > (uint64_t)(coh->c2c_mask + 1) * 3) {
		coh->c2c_dropped++;   /* keep probes short: the table stays at most 3/4 full */
		return;
	}
	coh->c2c_used++;
	e->block = block;
	e->tag[0] = h->tag;
	e->base[0] = h->tag_base;
	e->cpu[0] = h->cpu;
	e->lo[0] = (uint16_t)lo;
	e->hi[0] = (uint16_t)hi;
	e->tag[1] = g->tag;
	e->base[1] = g->base;
	e->cpu[1] = g->cpu;
	e->lo[1] = g->lo;
	e->hi[1] = g->hi;
	e->true_sharing = e->false_sharing = 0;
found:
	if (lo < e->lo[0])
		e->lo[0] = (uint16_t)lo;
	if (hi > e->hi[0])
		e->hi[0] = (uint16_t)hi;
	if (g->lo < e->lo[1])
		e->lo[1] = g->lo;
	if (g->hi > e->hi[1])
		e->hi[1] = g->hi;
	if (overlap)
		e->true_sharing++;
	else
		e->false_sharing++;
}

/*
 * One line of a coherent load or store (bytes [addr, addr + size) within the line). Before
 * the lookup: the coherence misses it will take, and the bus transaction its state needs (a
 * load of a line this CPU does not hold asks the others, a store to a line it does not hold,
 * or holds Shared, invalidates them). Then the access itself, and this CPU's copies take their
 * new state: Shared after a load that found other copies (or hit a Shared one), else E or M.
 */
static void coherent_line(struct cache_hierarchy *h, int ifetch, uint64_t addr, uint32_t size, int store,
			  uint64_t *served)
{
	struct cache *first = ifetch ? h->i1 : h->d1, *path[CACHE_MAX_CHAIN], *c;
	struct cache_coherence *coh = h->coh;
	uint32_t n = 0, depth = ifetch ? h->priv_i : h->priv_d, i, found = 0, noted = 0;
	uint64_t block = addr >> first->line_bits, *line;
	uint32_t lo = (uint32_t)(addr - (block << first->line_bits)), hi = lo + (size ? size : 1);
	int held = 0, shared = 0;

	for (c = first; c && n < depth; c = c->next)
		path[n++] = c;
	for (i = 0; i < n; i++) {
		if ((line = line_of(path[i], block))) {
			held = 1;
			shared |= !!(*line & LINE_SHARED);
		}
	}
	for (i = 0; i < n && !line_of(path[i], block); i++) {   /* the levels the lookup will miss */
		struct cache_ghost *g = ghost_of(path[i], block);

		if (!g)
			continue;
		path[i]->st.coh_misses++;
		if (!noted++)
			note_c2c(h, block, lo, hi, g);
		g->block = 0;
	}
	if (n && (!held || (store && shared))) {
		for (i = 0; i < coh->nr_cpus; i++) {
			uint32_t s;

			if (&coh->cpu[i] == h)
				continue;
			s = snoop(&coh->cpu[i], h, block, store, lo, hi);
			if (store && s)
				h->coh_st.invalidations_sent++;
			if (s & SNOOP_DIRTY)
				h->coh_st.transfers++;
			found |= s;
		}
		if (store && held)
			h->coh_st.upgrades++;
	}
	if (served)
		served[serving_level(h, ifetch, addr, store)]++;
	cache_access(first, addr, size, store);
	shared = store ? 0 : held ? shared : !!(found & SNOOP_HELD);
	for (i = 0; i < n; i++)
		if ((line = line_of(path[i], block)))
			*line = shared ? *line | LINE_SHARED : *line & ~LINE_SHARED;
}

/* ---- latency ------------------------------------------------------------------------------- */

uint32_t cache_latency_bucket(uint64_t ps)
{
	uint64_t v = mm_div64_u64(ps, CACHE_LAT_UNIT_PS);
	uint32_t e, b;

	if (v < CACHE_LAT_EXACT)
		return (uint32_t)v;
	e = mm_fls64(v) - 1;   /* >= 3: CACHE_LAT_EXACT is 2^3 */
	b = CACHE_LAT_EXACT + (e - 3) * CACHE_LAT_SUB + (uint32_t)((v >> (e - 2)) & (CACHE_LAT_SUB - 1));
	return b < CACHE_LAT_BUCKETS ? b : CACHE_LAT_BUCKETS - 1;
}

uint64_t cache_latency_bucket_floor(uint32_t bucket)
{
	uint32_t k = bucket - CACHE_LAT_EXACT;

	if (bucket < CACHE_LAT_EXACT)
		return (uint64_t)bucket * CACHE_LAT_UNIT_PS;
	return ((uint64_t)(CACHE_LAT_SUB + k % CACHE_LAT_SUB) << (1 + k / CACHE_LAT_SUB)) * CACHE_LAT_UNIT_PS;
}

/* The index on the access path of the level that serves a lookup of addr: the first holding
 * its line (the path's length: memory). A store missing a no-write-allocate first level is taken
 * there (it goes on below without a fetch to wait for). */
static uint32_t serving_level(const struct cache_hierarchy *h, int ifetch, uint64_t addr, int store)
{
	const struct cache *first = ifetch ? h->i1 : h->d1, *c;
	uint32_t n = 0;

	if (store && !first->write_allocate)
		return 0;
	for (c = first; c && n < CACHE_MAX_CHAIN; c = c->next, n++)
		if (cache_contains(c, addr))
			return n;
	return n;
}

uint64_t cache_hierarchy_access_timed(struct cache_hierarchy *h, uint64_t addr, uint32_t size, uint32_t kind,
				      uint32_t mem_node, uint64_t *served, uint32_t *depth)
{
	const struct cache *path[CACHE_MAX_CHAIN], *c;
	uint64_t ps = 0, cum = 0;
	uint32_t n = 0, i;

	for (c = kind == ACCESS_IFETCH ? h->i1 : h->d1; c && n < CACHE_MAX_CHAIN; c = c->next)
		path[n++] = c;
	for (i = 0; i <= n; i++)
		served[i] = 0;
	hierarchy_access(h, addr, size, kind, served);
	for (i = 0; i <= n; i++) {
		cum += i < n ? path[i]->hit_ps : h->mem_ps[mem_node];
		ps += served[i] * cum;
		h->lat.served[i] += served[i];
		h->lat.time_ps[i] += served[i] * cum;
	}
	h->lat.accesses++;
	h->lat.total_ps += ps;
	h->lat.hist[cache_latency_bucket(ps)]++;
	*depth = n;
	return ps;
}
