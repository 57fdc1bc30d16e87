/* boot.S - multiboot v1 header and entry: a stack, then fw_main(magic, info). */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003            /* page-aligned modules, memory map */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .bss
	.align 16
	.globl fw_stack_bottom, fw_stack_top
fw_stack_bottom:
	.skip 65536
fw_stack_top:

	.section .text
	.globl _start
_start:
	cli
	cld
	mov $fw_stack_top, %esp
	push %ebx                       /* multiboot info */
	push %eax                       /* multiboot magic */
	call fw_main
1:	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
