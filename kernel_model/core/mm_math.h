/*
 * mm_math.h - the core's bit and 64-bit arithmetic, in one place (Linux's bitops fls/__ffs/
 * hweight, log2.h, math64.h, get_order and int_sqrt).
 *
 * The same sources build for the 32-bit guest without libgcc: there a 64-bit divide,
 * remainder or population count would be a libgcc call, so they are done here by shift and
 * subtract (on 64-bit hosts by the instruction); bit scans of 64-bit words go through
 * 32-bit halves. Zeroing and word copies are written out for the same reason.
 */
#ifndef MM_MATH_H
#define MM_MATH_H

#include <stddef.h>
#include <stdint.h>

#include "bug.h"
#include "mm_types.h"

/* fls: the 1-based index of the most significant set bit, 0 for 0. */
static inline uint32_t mm_fls(uint32_t x)
{
	return x ? 32 - (uint32_t)__builtin_clz(x) : 0;
}

static inline uint32_t mm_fls64(uint64_t x)
{
	return (uint32_t)(x >> 32) ? 32 + mm_fls((uint32_t)(x >> 32)) : mm_fls((uint32_t)x);
}

/* The 0-based index of the least significant set bit of x != 0 (Linux's __ffs64). */
static inline uint32_t mm_ctz64(uint64_t x)
{
	MM_BUG_ON(!x);
	return (uint32_t)x ? (uint32_t)__builtin_ctz((uint32_t)x) : 32 + (uint32_t)__builtin_ctz((uint32_t)(x >> 32));
}

/* ilog2 of x != 0: floor(log2(x)). */
static inline uint32_t mm_ilog2(uint32_t x)
{
	MM_BUG_ON(!x);
	return mm_fls(x) - 1;
}

static inline int mm_is_power_of_2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* hweight64: set bits of x. */
static inline uint32_t mm_hweight64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (uint32_t)((uint32_t)(x >> 32) * 0x01010101u >> 24) + (uint32_t)((uint32_t)x * 0x01010101u >> 24);
}

/* get_order: the smallest order whose block holds size (> 0) bytes. */
static inline uint32_t mm_get_order(uint64_t size)
{
	MM_BUG_ON(!size);
	return mm_fls64((size - 1) >> PAGE_SHIFT);
}

/* n / d and n % d for d != 0 (div64_u64, div64_u64_rem). */
static inline uint64_t mm_div64_u64_rem(uint64_t n, uint64_t d, uint64_t *rem)
{
#if UINTPTR_MAX > 0xffffffffu
	MM_BUG_ON(!d);
	*rem = n % d;
	return n / d;
#else
	uint64_t q = 0, r = 0;
	int i;

	MM_BUG_ON(!d);
	for (i = 63; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= (uint64_t)1 << i;
		}
	}
	*rem = r;
	return q;
#endif
}

static inline uint64_t mm_div64_u64(uint64_t n, uint64_t d)
{
	uint64_t rem;

	return mm_div64_u64_rem(n, d, &rem);
}

static inline uint64_t mm_mod64_u64(uint64_t n, uint64_t d)
{
	uint64_t rem;

	mm_div64_u64_rem(n, d, &rem);
	return rem;
}

/* int_sqrt: floor(sqrt(x)), bit by bit (lib/math/int_sqrt.c). */
static inline uint32_t mm_int_sqrt(uint64_t x)
{
	uint64_t b, m, y = 0;

	if (x <= 1)
		return (uint32_t)x;
	m = (uint64_t)1 << ((mm_fls64(x) - 1) & ~1u);
	while (m != 0) {
		b = y + m;
		y >>= 1;
		if (x >= b) {
			x -= b;
			y += m;
		}
		m >>= 2;
	}
	return (uint32_t)y;
}

static inline void mm_memzero(void *p, size_t n)
{
	uint8_t *b = p;

	while (n--)
		*b++ = 0;
}

/* A 64-bit word at any alignment (the model's object bytes); a constant-size copy is one move. */
static inline uint64_t mm_get_u64(const void *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline void mm_put_u64(void *p, uint64_t v)
{
	__builtin_memcpy(p, &v, sizeof(v));
}

#endif
