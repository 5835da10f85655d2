/* The reference model of the vmalloc free space (a sorted array of extents, searched linearly) and the
 * random operation that drives the index and the model in lockstep for the test_va_index cases. */
#define HTEST_PART
#include "tests/host/test_va_index.h"

struct mext model[MODEL_MAX];
long model_n;
static u64 model_lo, model_hi, model_bytes;

void model_init(u64 lo, u64 hi)
{
	model_lo = lo;
	model_hi = hi;
	model[0] = (struct mext){ lo, hi };
	model_n = 1;
	model_bytes = hi - lo;
}

/* Linear scan in address order: the first extent where an aligned range fits inside [lo, hi). */
long model_find(u64 size, u64 align, u64 lo, u64 hi, u64 *addr)
{
	for (long i = 0; i < model_n; i++) {
		u64 s = MAX(model[i].start, lo), t = MIN(model[i].end, hi);
		if (model[i].start >= hi)
			break;
		unsigned __int128 a = ((unsigned __int128)s + align - 1) / align * align;
		if (s < t && a + size <= t) {
			*addr = (u64)a;
			return i;
		}
	}
	return -1;
}

bool model_carve_needs_node(long i, u64 a, u64 size)
{
	return a > model[i].start && a + size < model[i].end;
}

void model_carve(long i, u64 a, u64 size)
{
	struct mext e = model[i];
	model_bytes -= size;
	if (a == e.start && a + size == e.end) {
		memmove(&model[i], &model[i + 1], (model_n - i - 1) * sizeof(model[0]));
		model_n--;
	} else if (a == e.start) {
		model[i].start = a + size;
	} else if (a + size == e.end) {
		model[i].end = a;
	} else {
		memmove(&model[i + 2], &model[i + 1], (model_n - i - 1) * sizeof(model[0]));
		model[i].end = a;
		model[i + 1] = (struct mext){ a + size, e.end };
		model_n++;
	}
}

/* 0 if freeing is legal (*needs_node says whether it touches no free neighbour), else -EINVAL. */
int model_free_check(u64 addr, u64 size, bool *needs_node, long *pos)
{
	if (!size || (addr | size) % PAGE_SIZE || addr < model_lo || addr >= model_hi || size > model_hi - addr)
		return -EINVAL;
	long lo = 0, hi = model_n; /* first extent starting above addr */
	while (lo < hi) {
		long mid = (lo + hi) / 2;
		if (model[mid].start > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	bool prev = lo > 0, next = lo < model_n;
	if ((prev && model[lo - 1].end > addr) || (next && model[lo].start < addr + size))
		return -EINVAL;
	*needs_node = !(prev && model[lo - 1].end == addr) && !(next && model[lo].start == addr + size);
	*pos = lo;
	return 0;
}

void model_free(u64 addr, u64 size, long pos)
{
	bool jp = pos > 0 && model[pos - 1].end == addr;
	bool jn = pos < model_n && model[pos].start == addr + size;
	model_bytes += size;
	if (jp && jn) {
		model[pos - 1].end = model[pos].end;
		memmove(&model[pos], &model[pos + 1], (model_n - pos - 1) * sizeof(model[0]));
		model_n--;
	} else if (jp) {
		model[pos - 1].end = addr + size;
	} else if (jn) {
		model[pos].start = addr;
	} else {
		memmove(&model[pos + 1], &model[pos], (model_n - pos) * sizeof(model[0]));
		model[pos] = (struct mext){ addr, addr + size };
		model_n++;
	}
}

struct cmp_ctx {
	long i;
	bool ok;
};
static void cmp_extent(void *ctx, u64 s, u64 e)
{
	struct cmp_ctx *c = ctx;
	if (c->i >= model_n || model[c->i].start != s || model[c->i].end != e)
		c->ok = false;
	c->i++;
}

/* The index holds exactly the model's extents, totals agree and every invariant holds. */
bool index_matches_model(struct va_index *ix)
{
	struct cmp_ctx c = { 0, true };
	u64 bytes = 0, largest = 0;
	va_index_for_each(ix, cmp_extent, &c);
	for (long i = 0; i < model_n; i++) {
		bytes += model[i].end - model[i].start;
		largest = MAX(largest, model[i].end - model[i].start);
	}
	return c.ok && c.i == model_n && va_index_check(ix) && va_index_free_bytes(ix) == bytes &&
	       va_index_largest(ix) == largest && va_index_extents(ix) == (u64)model_n;
}

/* Cheap per-operation comparison of the totals; the full one runs periodically. */
static bool totals_match(struct va_index *ix)
{
	return va_index_extents(ix) == (u64)model_n && va_index_free_bytes(ix) == model_bytes;
}

struct area live[MAX_LIVE];
long nlive;
long node_refusals;

static u64 random_pages(void)
{
	u64 r = rnd_below(100);
	if (r < 70)
		return 1 + rnd_below(8);
	if (r < 95)
		return 1 + rnd_below(256);
	return 1 + rnd_below(1 << 14);
}

static u64 random_align(void)
{
	u64 r = rnd_below(100);
	if (r < 70)
		return PAGE_SIZE;
	if (r < 97)
		return PAGE_SIZE << rnd_below(11);
	if (r < 99) /* few enough aligned candidates in the region to be probed one by one */
		return PAGE_SIZE << (12 + rnd_below(8));
	return PAGE_SIZE << (18 + rnd_below(12)); /* up to larger than the region */
}

/*
 * One random operation on both the index and the model; returns false on any disagreement.
 * With `starved` (the index's pool, whose page supply is failing), an operation the model says
 * needs a node must fail with -ENOMEM whenever that pool has no object left (nodes freed by
 * merges go back to it and may be reused).
 */
bool random_op(struct va_index *ix, const struct node_pool *starved)
{
	bool nodes_fail = starved && node_pool_available(starved) == 0;
	u64 r = rnd_below(1000), a = 0;
	bool alloc = nlive == 0 || (nlive < MAX_LIVE - 1 && r < (nlive > 2000 ? 450 : 560));

	if (alloc) {
		u64 size = random_pages() * PAGE_SIZE, align = random_align(), lo = model_lo, hi = model_hi;
		bool windowed = rnd_below(10) == 0;
		if (windowed) {
			lo = model_lo + rnd_below((model_hi - model_lo) / PAGE_SIZE) * PAGE_SIZE;
			hi = lo + rnd_below(1 << 16) * PAGE_SIZE + PAGE_SIZE;
		}
		u64 ma;
		long i = model_find(size, align, lo, hi, &ma);
		int want = i < 0 ? -ENOMEM : 0;
		if (i >= 0 && nodes_fail && model_carve_needs_node(i, ma, size)) {
			want = -ENOMEM;
			node_refusals++;
		}
		int got = windowed ? va_index_alloc_in(ix, size, align, lo, hi, &a) : va_index_alloc(ix, size, align, &a);
		if (got != want || (got == 0 && a != ma))
			return false;
		if (got == 0) {
			model_carve(i, a, size);
			live[nlive++] = (struct area){ a, size };
		}
		return totals_match(ix);
	}
	if (r >= 980) {
		/* A free the model says is illegal: inside free space, overlapping it, outside, malformed. */
		u64 addr, size;
		long e = rnd_below(model_n + 1);
		switch (rnd_below(4)) {
		case 0: /* starts inside a free extent */
			if (e == model_n)
				return true;
			addr = model[e].start + rnd_below((model[e].end - model[e].start) / PAGE_SIZE) * PAGE_SIZE;
			size = random_pages() * PAGE_SIZE;
			break;
		case 1: { /* a live area stretched over a neighbour */
			struct area *l = &live[rnd_below(nlive)];
			u64 grow = (1 + rnd_below(4)) * PAGE_SIZE;
			addr = rnd_below(2) ? l->addr - grow : l->addr;
			size = l->size + grow;
			break;
		}
		case 2:
			addr = rnd_below(2) ? model_lo - PAGE_SIZE * (1 + rnd_below(4)) : model_hi + PAGE_SIZE * rnd_below(4);
			size = PAGE_SIZE * (1 + rnd_below(8));
			break;
		default:
			addr = live[rnd_below(nlive)].addr + (rnd_below(2) ? 0 : 1 + rnd_below(PAGE_SIZE - 1));
			size = rnd_below(3) * PAGE_SIZE + (addr % PAGE_SIZE ? 0 : rnd_below(PAGE_SIZE));
			break;
		}
		bool nn;
		long pos;
		if (model_free_check(addr, size, &nn, &pos) == 0)
			return true; /* happened to be legal: skip, it would free someone's live area */
		u64 before_bytes = va_index_free_bytes(ix), before_ext = va_index_extents(ix);
		return va_index_free(ix, addr, size) == -EINVAL && va_index_free_bytes(ix) == before_bytes &&
		       va_index_extents(ix) == before_ext;
	}
	/* Free a live area, sometimes only its head (the rest stays live). */
	long k = rnd_below(nlive);
	struct area ar = live[k];
	u64 size = ar.size;
	if (ar.size > PAGE_SIZE && rnd_below(10) == 0)
		size = (1 + rnd_below(ar.size / PAGE_SIZE - 1)) * PAGE_SIZE;
	bool nn = false;
	long pos = 0;
	if (model_free_check(ar.addr, size, &nn, &pos) != 0)
		return false; /* the model disagrees with our own bookkeeping */
	int want = nodes_fail && nn ? -ENOMEM : 0;
	node_refusals += want != 0;
	if (va_index_free(ix, ar.addr, size) != want)
		return false;
	if (want == 0) {
		model_free(ar.addr, size, pos);
		if (size == ar.size)
			live[k] = live[--nlive];
		else
			live[k] = (struct area){ ar.addr + size, ar.size - size };
	}
	return totals_match(ix);
}
