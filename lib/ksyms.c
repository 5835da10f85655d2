/* Symbol lookup over the table tools/gen_ksyms.awk emits: sorted by address, binary-searched. */
#include "lib/ksyms.h"
#include "lib/printk.h"

const char *ksym_lookup(u64 pc, u64 *offset, u64 *len)
{
	u64 lo = 0, hi = ksyms_count;

	while (lo < hi) {
		u64 mid = (lo + hi) / 2;
		if (ksyms_table[mid].addr <= pc) lo = mid + 1;
		else hi = mid;
	}
	if (lo == 0) return NULL;
	const struct ksym *s = &ksyms_table[lo - 1];
	u64 size = s->size;
	if (!size && lo < ksyms_count) size = ksyms_table[lo].addr - s->addr;
	if (pc - s->addr >= size) return NULL;
	*offset = pc - s->addr;
	*len = size;
	return ksyms_names + s->name;
}

int ksym_format(u64 pc, char *buf, size_t size)
{
	u64 off, len;
	const char *name = ksym_lookup(pc, &off, &len);
	if (!name) return snprintf(buf, size, "0x%lx", pc);
	return snprintf(buf, size, "%s+0x%lx/0x%lx", name, off, len);
}
