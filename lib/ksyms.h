/* The kernel's own symbol table, built into the image at link time, for symbol+offset in reports. */
#ifndef LIB_KSYMS_H
#define LIB_KSYMS_H

#include "lib/types.h"

/* Formats pc as "name+0xoff/0xlen", or "0x<pc>" when no text symbol contains it. */
int ksym_format(u64 pc, char *buf, size_t size);
/* Returns the symbol name containing pc and its offset, or NULL. */
const char *ksym_lookup(u64 pc, u64 *offset, u64 *len);

/* The table itself, emitted by tools/gen_ksyms.awk into .ksyms; the first link gets an empty table so
 * text is already final. */
struct ksym {
	u64 addr;
	u32 name; /* offset into ksyms_names */
	u32 size;
};
extern const u64 ksyms_count;
extern const struct ksym ksyms_table[];
extern const char ksyms_names[];

#endif
