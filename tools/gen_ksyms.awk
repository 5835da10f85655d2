# Turns `nm -n -S --defined-only` output into the assembly of the kernel's built-in symbol table
# (kernel/ksyms.c reads it): text symbols only, sorted by address, names in one string blob. Only
# symbols inside [_text_start, _text_end): LTO leaves weak markers named after source files at small
# addresses (`early_pt.c.78551ac1 W` at 0x64e42), and the last of them, stretched up to the kernel, would
# name any user pc. Addresses are nm's fixed-width hex, so they compare as strings.
$0 ~ / [tTW] / {
	if (NF == 4) { addr = $1; size = $2; name = $4 } else { addr = $1; size = "0"; name = $3 }
	if (name == "_text_start") text_start = addr
	if (name == "_text_end") text_end = addr
	if (name ~ /^\.L/ || name ~ /^\$/) next
	n++; A[n] = addr; S[n] = size; N[n] = name
}
END {
	m = 0
	for (i = 1; i <= n; i++)
		if (text_start != "" && A[i] >= text_start && A[i] < text_end) { m++; A[m] = A[i]; S[m] = S[i]; N[m] = N[i] }
	n = m
	print "\t.section .ksyms, \"a\""
	print "\t.balign 8"
	print "\t.globl ksyms_count"
	print "ksyms_count:\t.dword " (n + 0)
	print "\t.globl ksyms_table"
	print "ksyms_table:"
	off = 0
	for (i = 1; i <= n; i++) {
		print "\t.dword 0x" A[i]
		print "\t.word " off ", 0x" S[i]
		off += length(N[i]) + 1
	}
	print "\t.globl ksyms_names"
	print "ksyms_names:"
	for (i = 1; i <= n; i++) print "\t.asciz \"" N[i] "\""
}
