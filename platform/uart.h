/* The console UARTs the device tree can name: ns16550a (QEMU virt) and sifive,uart0 (HiFive Unleashed,
 * QEMU sifive_u). Output is polled; received bytes can raise an interrupt through the PLIC. */
#ifndef PLATFORM_UART_H
#define PLATFORM_UART_H

#include "lib/types.h"

#define UART_NS16550 0
#define UART_SIFIVE 1

/* Takes over the UART at base (mapped). reg_shift and io_width apply to the ns16550 only; the SiFive
 * UART's registers are always 32-bit words. Boot hart, before the console switches to the UART. */
void uart_init(int kind, void *base, u32 reg_shift, u32 io_width);
bool uart_present(void);
const char *uart_name(void); /* "ns16550a" or "sifive,uart0", for the boot report */
/* Waits for room, then sends c; any context, interrupts on or off. */
void uart_putc(char c);
int uart_getc(void); /* -1 when nothing is waiting */
void uart_enable_rx_irq(void);

#endif
