/* fw.h - the firmware's few primitives: port I/O, debugcon output, exit, memory helpers. */
#ifndef FW_H
#define FW_H

#include <stddef.h>
#include <stdint.h>

#define FW_DEBUGCON 0xE9     /* QEMU's debugcon: one byte per outb */
#define FW_EXIT_PORT 0xF4    /* isa-debug-exit: QEMU exits with (value << 1) | 1 */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

void fw_puts(const char *s);
void fw_putx(uint32_t v);
void fw_exit(uint32_t status) __attribute__((noreturn));

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
