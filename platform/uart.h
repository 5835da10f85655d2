/* The ns16550a UART: polled output for the console, received bytes for the input ring. */
#ifndef PLATFORM_UART_H
#define PLATFORM_UART_H

#include "lib/types.h"

void uart_init(void *base, u32 reg_shift, u32 io_width);
void uart_putc(char c);

#endif
