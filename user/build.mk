# User programs and the initrd: included by the top Makefile, which provides CROSS and BUILD.
# Every tests/user/*.c, user/demo_*.c, tests/gdb/*.c and $(PROGRAMS)/*.c becomes $(BUILD)/user/<name>, linked with the
# runtime below, and $(BUILD)/initrd.cpio holds them all as "/<name>" (plus "/not_elf" for the loader's
# error path). $(PROGRAMS) (default programs/) is where a user drops programs of their own.

# The C library is picolibc (Debian's picolibc-riscv64-unknown-elf) through its GCC specs file; our
# crt0 replaces picolibc's, and user/libc.c and user/malloc.c supply its console, _exit and heap hooks.
# Programs compile for rv64imac_zicsr (t_fault executes a CSR access on purpose) and link against
# picolibc's rv64imac/lp64 multilib, which the extension in -march would otherwise fail to select.
USER_CC := $(CROSS)gcc
USER_SPECS := --specs=picolibc.specs
USER_CFLAGS := -march=rv64imac_zicsr -mabi=lp64 -mcmodel=medany $(USER_SPECS) -O2 -g -fno-pic \
	-fno-stack-protector -fno-common -Wall -Wextra -Werror -I. -Iinclude -MMD -MP
# The runtime implements malloc and calloc: GCC must not turn their insides back into calls to them.
USER_RT_CFLAGS := $(USER_CFLAGS) -fno-builtin
USER_LDFLAGS := -march=rv64imac -mabi=lp64 $(USER_SPECS) -nostartfiles -static -T user/user.ld \
	-Wl,-z,max-page-size=4096 -Wl,--build-id=none
MKCPIO_CC ?= gcc

USER_RT_SRC := user/crt0.S user/sys.c user/libc.c user/sync.c user/malloc.c user/ktap.c
USER_RT_OBJ := $(patsubst %,$(BUILD)/user/rt/%.o,$(USER_RT_SRC))
USER_TEST_PROGS := $(patsubst tests/user/%.c,%,$(wildcard tests/user/*.c))
USER_DEMO_PROGS := $(patsubst user/%.c,%,$(wildcard user/demo_*.c))
USER_GDB_PROGS := $(patsubst tests/gdb/%.c,%,$(wildcard tests/gdb/*.c))
PROGRAMS ?= programs
USER_OWN_PROGS := $(patsubst $(PROGRAMS)/%.c,%,$(wildcard $(PROGRAMS)/*.c))
USER_CLASHES := $(filter $(USER_TEST_PROGS) $(USER_DEMO_PROGS) $(USER_GDB_PROGS) not_elf,$(USER_OWN_PROGS))
$(if $(USER_CLASHES),$(error $(PROGRAMS)/: $(USER_CLASHES) would replace a program of the same name \
	in the initrd; rename it))
USER_PROGS := $(USER_TEST_PROGS) $(USER_DEMO_PROGS) $(USER_GDB_PROGS) $(USER_OWN_PROGS)
USER_BINS := $(addprefix $(BUILD)/user/,$(USER_PROGS))

$(filter %.c.o,$(USER_RT_OBJ)): $(BUILD)/user/rt/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_RT_CFLAGS) -c $< -o $@

$(filter %.S.o,$(USER_RT_OBJ)): $(BUILD)/user/rt/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_RT_CFLAGS) -D__ASSEMBLER__ -c $< -o $@

$(patsubst %,$(BUILD)/user/obj/%.o,$(USER_TEST_PROGS)): $(BUILD)/user/obj/%.o: tests/user/%.c
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_CFLAGS) -c $< -o $@

$(patsubst %,$(BUILD)/user/obj/%.o,$(USER_DEMO_PROGS)): $(BUILD)/user/obj/%.o: user/%.c
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_CFLAGS) -c $< -o $@

$(patsubst %,$(BUILD)/user/obj/%.o,$(USER_GDB_PROGS)): $(BUILD)/user/obj/%.o: tests/gdb/%.c
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_CFLAGS) -c $< -o $@

$(patsubst %,$(BUILD)/user/obj/%.o,$(USER_OWN_PROGS)): $(BUILD)/user/obj/%.o: $(PROGRAMS)/%.c
	@mkdir -p $(dir $@)
	$(USER_CC) $(USER_CFLAGS) -c $< -o $@

$(USER_BINS): $(BUILD)/user/%: $(BUILD)/user/obj/%.o $(USER_RT_OBJ) user/user.ld
	$(USER_CC) $(USER_LDFLAGS) -o $@ $< $(USER_RT_OBJ)

$(BUILD)/user/not_elf:
	@mkdir -p $(dir $@)
	printf 'this is not an ELF file\n' > $@

$(BUILD)/mkcpio: tools/mkcpio.c
	@mkdir -p $(dir $@)
	$(MKCPIO_CC) -O2 -Wall -Wextra -Werror -o $@ $<

# The list of programs as a file that changes only when the list does, so removing a program from
# $(PROGRAMS) also rebuilds the initrd.
USER_LIST := $(BUILD)/user/programs.list
$(shell mkdir -p $(BUILD)/user && \
	{ echo '$(USER_PROGS)' | cmp -s - $(USER_LIST) || echo '$(USER_PROGS)' > $(USER_LIST); })

$(BUILD)/initrd.cpio: $(BUILD)/mkcpio $(USER_BINS) $(BUILD)/user/not_elf $(USER_LIST)
	$(BUILD)/mkcpio $@ $(foreach p,$(USER_PROGS),/$(p)=$(BUILD)/user/$(p)) /not_elf=$(BUILD)/user/not_elf

.PHONY: user initrd test-elf-cpio
user: $(USER_BINS)
initrd: $(BUILD)/initrd.cpio

# Host test of the ELF and cpio parsers, run against the real user programs.
$(BUILD)/host/test_elf_cpio: tests/host/test_elf_cpio.c kernel/elf.c kernel/cpio.c tools/mkcpio.c \
		kernel/elf.h kernel/cpio.h tests/host/htest.h
	@mkdir -p $(dir $@)
	$(MKCPIO_CC) -DHOST_TEST -O1 -g -fsanitize=address,undefined -Wall -Wextra -Werror -I. -Iinclude \
		-DMKCPIO_LIBRARY -o $@ tests/host/test_elf_cpio.c kernel/elf.c kernel/cpio.c tools/mkcpio.c

test-elf-cpio: $(BUILD)/host/test_elf_cpio $(USER_BINS)
	$(BUILD)/host/test_elf_cpio $(USER_BINS)

-include $(USER_RT_OBJ:.o=.d) $(patsubst %,$(BUILD)/user/obj/%.d,$(USER_PROGS))
