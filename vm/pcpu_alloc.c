/* The per-hart allocator. Memory comes in chunks, each one vmalloc area of one unit per hart (Linux's
 * pcpu chunks backed by vmalloc): the object for hart h lies h units after hart 0's, so per_cpu_ptr is
 * an add. Inside a chunk space is carved upwards (a bump pointer) and counted back as objects are freed;
 * a chunk that empties goes back to vmalloc at once (so leak checks see nothing left over). Space
 * freed in the middle of a chunk is reused only once the whole chunk empties: objects that live together
 * die together in the patterns the kernel has (per-hart counters and caches made and torn down in sets),
 * and the bookkeeping stays two words per chunk. Unit 0 starts with the chunk's header; units are
 * aligned to their size, so a free finds its chunk by masking. */
#include "vm/pcpu_alloc.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/vmalloc.h"

#define PCPU_MAGIC 0x70637075636b6e6bULL
#define HEADER_SIZE 64UL

struct pcpu_chunk {
	u64 magic;
	u64 next_free; /* offset of the first byte never handed out */
	u64 live;      /* objects handed out and not freed */
	u32 units;
	u32 retired;   /* no longer the current chunk: freed when it empties */
};

static spinlock_t pcpu_lock = SPINLOCK_INIT;
static struct pcpu_chunk *current_chunk;
static u32 nr_chunks;


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
	c->retired = 0;
	return c;
}

/* Carves from the current chunk; NULL when it lacks room (or there is none). */
static void *carve(u64 size, u64 align)
{
	struct pcpu_chunk *c = current_chunk;
	if (!c) return NULL;
	u64 off = ALIGN_UP(c->next_free, align);
	if (off + size > PCPU_UNIT_SIZE) return NULL;
	c->next_free = off + size;
	c->live++;
	return (u8 *)c + off;
}

__noinline void *__alloc_percpu(size_t size, size_t align)
{
	if (!size || size > PCPU_MAX_ALLOC || !align || !is_pow2(align) || align > PAGE_SIZE) {
		printk("alloc_percpu: bad request (size %lu, align %lu) from %p\n", (u64)size, (u64)align,
		       __builtin_return_address(0));
		return NULL;
	}
	size = ALIGN_UP(size, 4); /* Linux's minimum unit of allocation */
	unsigned long f = spin_lock_irqsave(&pcpu_lock);
	void *p = carve(size, align);
	spin_unlock_irqrestore(&pcpu_lock, f);
	if (!p) {
		/* A new chunk, made outside the lock (vmalloc may wait for a purge). */
		struct pcpu_chunk *fresh = chunk_new(), *old = NULL;
		if (!fresh) return NULL;
		f = spin_lock_irqsave(&pcpu_lock);
		p = carve(size, align); /* another hart may have installed one meanwhile */
		if (!p) {
			old = current_chunk;
			current_chunk = fresh;
			nr_chunks++;
			fresh = NULL;
			if (old) {
				old->retired = 1;
				if (old->live) old = NULL; /* its last free gives it back */
			}
			p = carve(size, align);
		}
		spin_unlock_irqrestore(&pcpu_lock, f);
		if (fresh) vfree(fresh);
		if (old) {
			f = spin_lock_irqsave(&pcpu_lock);
			nr_chunks--;
			spin_unlock_irqrestore(&pcpu_lock, f);
			vfree(old);
		}
		if (!p) return NULL;
	}
	u32 units = ((struct pcpu_chunk *)((uptr)p & ~(PCPU_UNIT_SIZE - 1)))->units;
	for (u32 h = 0; h < units; h++) memset(per_cpu_ptr(p, h), 0, size);
	return p;
}

__noinline void free_percpu(void *p)
{
	if (!p) return;
	struct pcpu_chunk *c = (struct pcpu_chunk *)((uptr)p & ~(PCPU_UNIT_SIZE - 1));
	u64 off = (uptr)p - (uptr)c;
	unsigned long f = spin_lock_irqsave(&pcpu_lock);
	/* Under the lock: a chunk is only ever given back by a free holding it, so it cannot vanish between
	 * this check and the reads of its header. */
	struct vmap_area *a = find_vm_area(c);
	if (!a || a->addr != (uptr)c || c->magic != PCPU_MAGIC || off < HEADER_SIZE || off >= c->next_free || !c->live) {
		spin_unlock_irqrestore(&pcpu_lock, f);
		printk("free_percpu(%p) from %p: not a per-hart object; nothing changed\n", p,
		       __builtin_return_address(0));
		return;
	}
	bool release = false;
	if (!--c->live) {
		if (c == current_chunk) {
			/* Emptied: nothing of it is in use any more, so it is given back whole (a later
			 * allocation makes a new one); leak checks then see every chunk gone. */
			current_chunk = NULL;
		}
		c->magic = 0;
		nr_chunks--;
		release = true;
	}
	spin_unlock_irqrestore(&pcpu_lock, f);
	if (release) vfree(c);
}
