/* ns16550a driver, output only and polled: the console must work from traps and with interrupts off,
 * and nothing reads the serial line (vmk drives no interrupt controller). */
#include "platform/uart.h"

#define THR 0
#define IER 1
#define FCR 2
#define LCR 3
#define LSR 5
#define LSR_THRE 0x20

static volatile u8 *uart_base;
static u32 uart_shift;
static u32 uart_width;

static inline u32 rd(u32 reg)
{
	volatile u8 *p = uart_base + (reg << uart_shift);
	return uart_width == 4 ? *(volatile u32 *)p : *p;
}

static inline void wr(u32 reg, u32 v)
{
	volatile u8 *p = uart_base + (reg << uart_shift);
	if (uart_width == 4) *(volatile u32 *)p = v;
	else *p = (u8)v;
}

void uart_init(void *base, u32 reg_shift, u32 io_width)
{
	uart_base = base;
	uart_shift = reg_shift;
	uart_width = io_width == 4 ? 4 : 1;
	wr(IER, 0);
	wr(LCR, 0x03); /* 8N1; QEMU ignores the divisor, real boards keep the firmware's */
	wr(FCR, 0x07); /* enable and clear FIFOs */
}

void uart_putc(char c)
{
	while (!(rd(LSR) & LSR_THRE)) {
	}
	wr(THR, (u8)c);
}
