/* Timer: a 100 Hz tick per hart through Sstc's stimecmp when the boot hart has shown it works, else the
 * SBI TIME call. */
#include "kernel/timer.h"
#include "kernel/kfault.h"
#include "lib/types.h"
#include "lib/percpu.h"
#include "lib/riscv.h"
#include "lib/spinlock.h"
#include "lib/trace.h"
#include "platform/sbi.h"

#define TICK_HZ 100
static u64 hz = 10000000;
static bool use_sstc;
static const char *source = "SBI TIME";

u64 timer_hz(void) { return hz; }
u64 timer_ticks_to_ns(u64 t) { return t / hz * 1000000000ULL + t % hz * 1000000000ULL / hz; }
u64 timer_now_ns(void) { return timer_ticks_to_ns(rdtime()); }

u64 timer_deadline_after_ns(u64 ns)
{
	/* Whole seconds and the rest apart, so that no product overflows; saturates at "never". */
	u64 secs = ns / 1000000000ULL, rest = ns % 1000000000ULL;
	u64 ticks = secs > ~0ULL / hz ? ~0ULL : secs * hz;
	u64 part = rest * hz / 1000000000ULL;
	ticks = ticks > ~0ULL - part ? ~0ULL : ticks + part;
	if (!ticks) ticks = 1;
	u64 now = rdtime();
	return ticks > ~0ULL - now ? ~0ULL : now + ticks;
}

#define CSR_STIMECMP 0x14d

/* Far in the future: the probe must not fire a tick before the handler is ready for one. */
static void write_stimecmp_max(void *arg) { __asm__ volatile("csrw %0, %1" ::"i"(CSR_STIMECMP), "r"(~0UL)); }

void timer_setup(u64 timebase_hz, bool sstc_listed)
{
	struct kfault_report r;

	if (timebase_hz) hz = timebase_hz;
	spin_set_timebase(hz);
	use_sstc = false;
	source = sbi_info.has_time ? "SBI TIME" : "SBI legacy set_timer";
	if (!sstc_listed) return;
	if (kfault_try(write_stimecmp_max, NULL, &r)) {
		source = sbi_info.has_time ? "SBI TIME (Sstc listed, but stimecmp faults: not enabled by the firmware)"
					   : "SBI legacy set_timer (Sstc listed, but stimecmp faults)";
		return;
	}
	use_sstc = true;
	source = "Sstc (stimecmp)";
}

const char *timer_source(void) { return source; }

static void arm(u64 when)
{
	if (use_sstc) __asm__ volatile("csrw %0, %1" ::"i"(CSR_STIMECMP), "r"(when));
	else sbi_set_timer(when);
}

static void tick_by_hand(void)
{
	this_hart()->ticks++;
	arm(rdtime() + hz / TICK_HZ);
}

void timer_init_hart(void)
{
	hart_tick_by_hand = tick_by_hand;
	arm(rdtime() + hz / TICK_HZ);
}

static void (*tick_hook)(void);

/* Tests run code in real interrupt context this way: the next tick on any hart calls fn once. */
void timer_run_in_irq_once(void (*fn)(void)) { store_release(tick_hook, fn); }

void timer_interrupt(void)
{
	/* Counted and re-armed first: a wait with interrupts masked in the hook takes a due tick by hand
	 * (hart_wait_step), and would count this one a second time while it is still pending. */
	this_hart()->ticks++;
	arm(rdtime() + hz / TICK_HZ);
	void (*fn)(void) = __atomic_load_n(&tick_hook, __ATOMIC_ACQUIRE);
	if (unlikely(fn) && __atomic_compare_exchange_n(&tick_hook, &fn, NULL, false, __ATOMIC_ACQ_REL,
							 __ATOMIC_RELAXED))
		fn();
	/* A hart busy in a task never idles: without this its trace ring would fill and drop events. The
	 * drain takes no allocator lock and gives way (trylock) if this hart's idle loop is draining. */
	trace_drain();
}
