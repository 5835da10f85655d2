/* Console UART drivers, ns16550a and sifive,uart0: output is polled (the console must work from traps
 * and with interrupts off); input raises an interrupt through the PLIC when enabled. */
#include "platform/uart.h"

/* ns16550a registers, in units of (1 << reg_shift) bytes. */
#define NS_RBR 0
#define NS_THR 0
#define NS_IER 1
#define NS_FCR 2
#define NS_LCR 3
#define NS_LSR 5
#define NS_LSR_DR 0x01
#define NS_LSR_THRE 0x20

/* sifive,uart0 registers, byte offsets of 32-bit words (FU540 manual, chapter 13). */
#define SF_TXDATA 0x00 /* bit 31: FIFO full */
#define SF_RXDATA 0x04 /* bit 31: FIFO empty */
#define SF_TXCTRL 0x08 /* bit 0: transmit enable */
#define SF_RXCTRL 0x0c /* bit 0: receive enable */
#define SF_IE 0x10     /* bit 1: receive watermark interrupt */
#define SF_FLAG 0x80000000U

static volatile u8 *uart_base;
static int uart_kind;
static u32 uart_shift;
static u32 uart_width;

static inline u32 ns_rd(u32 reg)
{
	volatile u8 *p = uart_base + (reg << uart_shift);
	return uart_width == 4 ? *(volatile u32 *)p : *p;
}

static inline void ns_wr(u32 reg, u32 v)
{
	volatile u8 *p = uart_base + (reg << uart_shift);
	if (uart_width == 4) *(volatile u32 *)p = v;
	else *p = (u8)v;
}

static inline u32 sf_rd(u32 off) { return *(volatile u32 *)(uart_base + off); }
static inline void sf_wr(u32 off, u32 v) { *(volatile u32 *)(uart_base + off) = v; }

void uart_init(int kind, void *base, u32 reg_shift, u32 io_width)
{
	uart_base = base;
	uart_kind = kind;
	uart_shift = reg_shift;
	uart_width = io_width == 4 ? 4 : 1;
	if (kind == UART_SIFIVE) {
		/* The firmware set the divisor for the board's clock; only the enables are ours. */
		sf_wr(SF_IE, 0);
		sf_wr(SF_TXCTRL, sf_rd(SF_TXCTRL) | 1);
		sf_wr(SF_RXCTRL, sf_rd(SF_RXCTRL) | 1);
		return;
	}
	ns_wr(NS_IER, 0);
	ns_wr(NS_LCR, 0x03); /* 8N1; QEMU ignores the divisor, real boards keep the firmware's */
	ns_wr(NS_FCR, 0x07); /* enable and clear FIFOs */
}

bool uart_present(void) { return uart_base != NULL; }

const char *uart_name(void) { return uart_kind == UART_SIFIVE ? "sifive,uart0" : "ns16550a"; }

void uart_putc(char c)
{
	if (uart_kind == UART_SIFIVE) {
		while (sf_rd(SF_TXDATA) & SF_FLAG) {
		}
		sf_wr(SF_TXDATA, (u8)c);
		return;
	}
	while (!(ns_rd(NS_LSR) & NS_LSR_THRE)) {
	}
	ns_wr(NS_THR, (u8)c);
}

int uart_getc(void)
{
	if (uart_kind == UART_SIFIVE) {
		u32 v = sf_rd(SF_RXDATA); /* one read pops the byte: look at the flag in the same word */
		return v & SF_FLAG ? -1 : (int)(v & 0xff);
	}
	return (ns_rd(NS_LSR) & NS_LSR_DR) ? (int)ns_rd(NS_RBR) : -1;
}

void uart_enable_rx_irq(void)
{
	if (uart_kind == UART_SIFIVE) sf_wr(SF_IE, 2);
	else ns_wr(NS_IER, 0x01);
}
