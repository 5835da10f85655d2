/* The per-hart allocator. Memory comes in chunks, each one vmalloc area of one unit per hart (Linux's
 * pcpu chunks backed by vmalloc): the object for hart h lies h units after hart 0's, so per_cpu_ptr is
 * an add. Inside a chunk space is carved upwards (a bump pointer) and counted back as objects are freed;
 * a chunk that empties goes back to vmalloc at once (so leak checks see nothing left over). Space
 * freed in the middle of a chunk is reused only once the whole chunk empties: objects that live together
 * die together in the patterns the kernel has (per-hart counters and caches made and torn down in sets),
 * and the bookkeeping stays a few words per chunk. Unit 0 starts with the chunk's header; units are
 * aligned to their size, so a free finds its chunk by masking.
 *
 * Each hart carves from a chunk of its own (its current chunk), so harts allocating at once neither
 * share a lock nor write into each other's cache lines: with one chunk for all, two harts' objects
 * interleaved in the same lines and every call took one lock, and two workers cost 1.2-1.6x one worker's
 * time per call. A chunk's state (bump pointer, live count, retired mark) changes only under its stripe
 * lock, one of PCPU_STRIPES chosen by its address, so a free from any hart can check and update it; a
 * free that empties some hart's current chunk takes it out of that hart's slot under the same lock, and
 * the owner re-reads its slot under the lock before carving. Invariants (asserted in VM_DEBUG builds): a
 * chunk in a slot holds at least one live object (its first object is carved before it is installed,
 * and the free that empties it takes it out of the slot); a live chunk out of its slot is retired (the
 * only other way out of a slot is being replaced when full, which retires it). */
#include "vm/pcpu_alloc.h"
#include "lib/bug.h"
#include "lib/irq_hold.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/vmalloc.h"

#define PCPU_MAGIC 0x70637075636b6e6bULL
#define HEADER_SIZE 64UL
#define PCPU_STRIPES 16
#define INV_CURRENT_LIVE "pcpu[current_live] a hart's current chunk holds a live object"
#define INV_RETIRED "pcpu[retired] a live chunk out of its hart's slot is retired"

struct pcpu_chunk {
	u64 magic;
	u64 next_free; /* offset of the first byte never handed out */
	u64 live;      /* objects handed out and not freed */
	u32 units;
	u32 owner;     /* the hart whose current chunk it is or was */
	u32 retired;   /* no longer its hart's current chunk: freed when it empties (for the VM_DEBUG check) */
};

static struct {
	spinlock_t lock;
} __attribute__((aligned(64))) stripes[PCPU_STRIPES];
static struct pcpu_chunk *current_chunk[MAX_HARTS];

static spinlock_t *stripe_of(const struct pcpu_chunk *c)
{
	/* Chunks start at unit boundaries, a few units apart: the multiplier spreads neighbours. */
	return &stripes[(((uptr)c / PCPU_UNIT_SIZE) * 0x9e3779b97f4a7c15ULL) >> 60].lock;
}
_Static_assert(PCPU_STRIPES == 16, "stripe_of takes the top four bits");

__noinline static struct pcpu_chunk *chunk_new(void)
{
	u32 units = __atomic_load_n(&nr_harts_online, __ATOMIC_ACQUIRE);
	struct pcpu_chunk *c = __vmalloc_node((u64)units * PCPU_UNIT_SIZE, PCPU_UNIT_SIZE, 0, NUMA_NO_NODE,
					      __builtin_return_address(0));
	if (!c) return NULL;
	c->magic = PCPU_MAGIC;
	c->next_free = HEADER_SIZE;
	c->live = 0;
	c->units = units;
	c->owner = 0;
	c->retired = 0;
	return c;
}

/* Carves from chunk c (its stripe lock held, or no one else knows it yet); NULL when it lacks room. */
static void *carve(struct pcpu_chunk *c, u64 size, u64 align)
{
	u64 off = ALIGN_UP(c->next_free, align);
	if (off + size > PCPU_UNIT_SIZE) return NULL;
	c->next_free = off + size;
	c->live++;
	return (u8 *)c + off;
}

/* This hart's current chunk with its stripe lock held, inside an interrupt hold-off section
 * (lib/irq_hold.h: no CSR write, which under QEMU costs more than the carve); NULL, in the section but
 * with no lock, when the hart has none. *me is the hart. The section keeps the task on this hart from
 * the slot's read to the carve; if the lock is contended the wait leaves the section, so the hart and
 * the slot are checked again once it is held (the task may have moved, or a free emptied the chunk). */
static struct pcpu_chunk *current_locked(u32 *me)
{
	irq_hold();
	for (;;) {
		u32 h = this_hart_index();
		struct pcpu_chunk *c = READ_ONCE(current_chunk[h]);
		*me = h;
		if (!c) return NULL;
		spinlock_t *l = stripe_of(c);
		if (unlikely(!spin_trylock(l))) spin_lock_held_wait(l);
		if (likely(this_hart_index() == h && READ_ONCE(current_chunk[h]) == c)) {
#ifdef VM_DEBUG
			BUG_UNLESS(c->live && c->owner == h, INV_CURRENT_LIVE);
#endif
			return c;
		}
		spin_unlock(l);
	}
}

/* The common case, kept apart so that it needs few registers: carves from this hart's current chunk
 * if its lock is free and it has room; NULL otherwise (carve_somewhere then does the rest). The
 * section keeps the task on this hart, so only the slot is checked again under the lock. */
static inline void *carve_current(u64 size, u64 align)
{
	void *p = NULL;
	irq_hold();
	u32 h = this_hart_index();
	struct pcpu_chunk *c = READ_ONCE(current_chunk[h]);
	if (likely(c)) {
		spinlock_t *l = stripe_of(c);
		if (likely(spin_trylock(l))) {
			if (likely(READ_ONCE(current_chunk[h]) == c)) p = carve(c, size, align);
			spin_unlock(l);
		}
	}
	irq_unhold();
	return p;
}

/* Carves from this hart's current chunk, waiting for its lock, and replaces the chunk with a new one
 * when it lacks room. NULL when no chunk can be had. */
__noinline static void *carve_somewhere(u64 size, u64 align)
{
	struct pcpu_chunk *fresh = NULL;
	void *fresh_p = NULL;
	for (;;) {
		u32 me;
		void *p = NULL;
		struct pcpu_chunk *c = current_locked(&me);
		if (c) {
			p = carve(c, size, align);
			if (!p && fresh) c->retired = 1; /* full: the fresh chunk takes its slot, its last free gives it back */
		}
		if (!p && fresh) {
			/* Under c's stripe lock when there is a c: a free emptying c tests the slot under it. */
			fresh->owner = me;
			WRITE_ONCE(current_chunk[me], fresh);
			p = fresh_p;
			fresh = NULL;
		}
		if (c) spin_unlock(stripe_of(c));
		irq_unhold();
		if (p) {
			if (fresh) vfree(fresh); /* another task on this hart installed a chunk with room meanwhile */
			return p;
		}
		/* A new chunk, made outside the section (vmalloc may wait for a purge). Its first object is
		 * carved before it is installed, so no slot ever holds an empty chunk; no lock is needed while
		 * no one else knows it. A fresh chunk fits any request. */
		if (!(fresh = chunk_new())) return NULL;
		fresh_p = carve(fresh, size, align);
	}
}

__noinline void *__alloc_percpu(size_t size, size_t align)
{
	if (!size || size > PCPU_MAX_ALLOC || !align || !is_pow2(align) || align > PAGE_SIZE) {
		printk("alloc_percpu: bad request (size %lu, align %lu) from %p\n", (u64)size, (u64)align,
		       __builtin_return_address(0));
		return NULL;
	}
	size = ALIGN_UP(size, 4); /* Linux's minimum unit of allocation */
	void *p = carve_current(size, align);
	if (unlikely(!p) && !(p = carve_somewhere(size, align))) return NULL;
	u32 units = ((struct pcpu_chunk *)((uptr)p & ~(PCPU_UNIT_SIZE - 1)))->units;
	for (u32 h = 0; h < units; h++) memset(per_cpu_ptr(p, h), 0, size);
	return p;
}

__noinline void free_percpu(void *p)
{
	if (!p) return;
	struct pcpu_chunk *c = (struct pcpu_chunk *)((uptr)p & ~(PCPU_UNIT_SIZE - 1));
	u64 off = (uptr)p - (uptr)c;
	spinlock_t *l = stripe_of(c);
	spin_lock_held(l);
	/* Under the stripe lock: a chunk is only ever given back by a free holding it, so it cannot vanish
	 * between this check and the reads of its header. */
	struct vmap_area *a = find_vm_area(c);
	if (!a || a->addr != (uptr)c || c->magic != PCPU_MAGIC || off < HEADER_SIZE || off >= c->next_free || !c->live) {
		spin_unlock_held(l);
		printk("free_percpu(%p) from %p: not a per-hart object; nothing changed\n", p,
		       __builtin_return_address(0));
		return;
	}
	bool current = READ_ONCE(current_chunk[c->owner]) == c;
#ifdef VM_DEBUG
	BUG_UNLESS(current || c->retired, INV_RETIRED);
#endif
	bool release = !--c->live;
	if (release) {
		/* Emptied: nothing of it is in use any more, so it is given back whole (a later allocation
		 * makes a new one); leak checks then see every chunk gone. A current chunk leaves its slot
		 * first, so its owner never carves from it again. */
		if (current) WRITE_ONCE(current_chunk[c->owner], NULL);
		c->magic = 0;
	}
	spin_unlock_held(l);
	if (release) vfree(c);
}
