/* The ns16550a UART: polled output for the console, received bytes for the input ring. */
#ifndef PLATFORM_UART_H
#define PLATFORM_UART_H

#include "lib/types.h"

void uart_init(void *base, u32 reg_shift, u32 io_width);
bool uart_present(void);
void uart_putc(char c);
int uart_getc(void); /* -1 when nothing is waiting */
void uart_enable_rx_irq(void);

#endif
