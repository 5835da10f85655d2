# Build, run, test and benchmark the kernel. `make run` and `make test` install what is missing first.
CROSS ?= riscv64-unknown-elf-
CC := $(CROSS)gcc
OBJCOPY := $(CROSS)objcopy
NM := $(CROSS)nm
BUILD ?= build
QEMU ?= qemu-system-riscv64
SMP ?= 1
MEM ?= 256M
MACHINE ?= virt
NUMA ?= 1
BOOTARGS ?= trace=all
DTB ?=
INITRD ?=
INIT ?=
QEMU_EXTRA ?=

ARCH_FLAGS := -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany
CFLAGS := $(ARCH_FLAGS) -O2 -g -ffreestanding -nostdlib -fno-builtin -fno-stack-protector -fno-pic \
	-fno-omit-frame-pointer -fno-common -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wmissing-prototypes -Wmissing-declarations -Wshadow -I. -Iinclude -MMD -MP \
	$(EXTRA_CFLAGS)
# Link-time optimisation over the whole kernel, as one partition (so both links below generate the same
# text): under QEMU every function return costs a translation-block lookup, and inlining small functions
# across files (page cache, node pool, busy map, stats) removes about a third of the returns on the
# vmalloc/vfree path (host instructions per fix_size loop -11%). Functions that name their caller with
# __builtin_return_address(0) are __noinline, or they would name their caller's caller. Fat objects keep
# ordinary code beside the LTO bytecode, so tools/layer_check.py reads their symbols and relocations as before.
LTO_FLAGS := -flto -flto-partition=one -ffat-lto-objects
CFLAGS += $(LTO_FLAGS)
# The link generates the code, so it needs the full -march (Zicsr); libgcc comes from the rv64imac/lp64
# multilib, which that -march would not select by itself. Deferred (=): on a fresh machine the compiler
# exists only once `deps` has run.
LDFLAGS := -nostdlib -static -Wl,-T,boot/kernel.ld -Wl,-z,max-page-size=4096
LIBGCC = $(shell $(CC) -march=rv64imac -mabi=lp64 -print-libgcc-file-name)

KSRC ?= $(wildcard boot/*.S boot/*.c kernel/*.S kernel/*.c vm/*.c platform/*.c lib/*.c tests/kernel/*.c)
KOBJ := $(patsubst %,$(BUILD)/k/%.o,$(KSRC))

HOST_CC ?= gcc
HOST_CFLAGS := -DHOST_TEST -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-Wall -Wextra -Werror -I. -Iinclude $(EXTRA_HOST_CFLAGS)

.PHONY: all kernel kernel-debug deps run run-prep test debug bench trace print-host-tests host-tests user-programs dtbs clean fuzz plugin
all: kernel

deps:
	@tools/ensure-deps.sh

kernel: $(BUILD)/kernel.bin

# The VM_DEBUG image (vm/vmalloc_check.h: the arena's invariants asserted), in its own build directory so
# that the normal image, which make run and make bench boot, is built exactly as without it. make test
# boots it for the vm suites (tests/boots.txt's `image=debug`).
kernel-debug:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/debug EXTRA_CFLAGS="$(EXTRA_CFLAGS) -DVM_DEBUG" kernel

# Each stamp holds the command line its objects were built with and is rewritten only when that changes,
# so changing CFLAGS (or the compiler) rebuilds exactly what it affects.
define flags_stamp
	@mkdir -p $(dir $@)
	@echo '$(1)' | cmp -s - $@ || echo '$(1)' > $@
endef
$(BUILD)/kernel.flags: FORCE
	$(call flags_stamp,$(CC) $(CFLAGS) $(LDFLAGS))
$(BUILD)/host.flags: FORCE
	$(call flags_stamp,$(HOST_CC) $(HOST_CFLAGS))
FORCE:

$(BUILD)/k/%.c.o: %.c $(BUILD)/kernel.flags
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/k/%.S.o: %.S $(BUILD)/kernel.flags
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) $(CFLAGS) -D__ASSEMBLER__ -c $< -o $@

# Two links: the first has an empty symbol table; the second adds the table at the end of rodata, which
# moves no text, so the addresses it records stay true.
$(BUILD)/ksyms0.o: tools/gen_ksyms.awk $(BUILD)/kernel.flags
	@mkdir -p $(BUILD)
	@awk -f tools/gen_ksyms.awk </dev/null > $(BUILD)/ksyms0.S
	@$(CC) $(CFLAGS) -c $(BUILD)/ksyms0.S -o $@

$(BUILD)/kernel.pass1.elf: $(KOBJ) $(BUILD)/ksyms0.o boot/kernel.ld $(BUILD)/kernel.flags
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(KOBJ) $(BUILD)/ksyms0.o $(LIBGCC)

$(BUILD)/ksyms.S: $(BUILD)/kernel.pass1.elf tools/gen_ksyms.awk
	@$(NM) -n -S --defined-only $< | awk -f tools/gen_ksyms.awk > $@

$(BUILD)/ksyms.o: $(BUILD)/ksyms.S
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/kernel.elf: $(KOBJ) $(BUILD)/ksyms.o boot/kernel.ld
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(KOBJ) $(BUILD)/ksyms.o $(LIBGCC)
	@$(NM) -n $(BUILD)/kernel.pass1.elf | grep -i ' t ' > $(BUILD)/.t1; $(NM) -n $@ | grep -i ' t ' > $(BUILD)/.t2; \
	  cmp -s $(BUILD)/.t1 $(BUILD)/.t2 || { echo "ksyms: text moved between links"; exit 1; }

$(BUILD)/kernel.bin: $(BUILD)/kernel.elf
	@$(OBJCOPY) -O binary $< $@

# Host unit tests: portable sources built natively with sanitizers.
HOST_TESTS := test_buddy test_bootargs test_va_index test_pt test_fdt test_elf_cpio test_hart_masks test_hart_masks_256
host_srcs_test_buddy := vm/buddy.c tests/host/buddy_random.c
host_srcs_test_bootargs := lib/bootargs.c
host_srcs_test_va_index := lib/rbtree.c vm/va_index.c vm/va_busy.c vm/node_pool.c tests/host/rbtree_node_pool.c \
	tests/host/va_index_model.c tests/host/va_index_cases.c tests/host/va_busy_cases.c
host_srcs_test_pt := vm/pt.c vm/pt_kr.c tests/host/pt_sim.c tests/host/pt_map.c tests/host/pt_modify.c tests/host/pt_random.c
host_srcs_test_fdt := platform/fdt.c platform/devtree.c lib/sort.c tests/host/fdt_diff_libfdt.c tests/host/fdt_semantics.c \
	tests/host/fdt_corrupt.c tests/host/fdt_mutate.c
host_libs_test_fdt := -lfdt
host_srcs_test_elf_cpio := kernel/elf.c kernel/cpio.c
host_srcs_test_hart_masks := lib/percpu.c
host_srcs_test_hart_masks_256 := lib/percpu.c
host_flags_test_hart_masks_256 := -DMAX_HARTS=256 # hart sets two words wider than the kernel's
HOST_BINS := $(foreach t,$(HOST_TESTS),$(if $(wildcard tests/host/$(t).c),$(BUILD)/host/$(t)))

host-tests: $(HOST_BINS)

print-host-tests:
	@echo $(foreach t,$(HOST_TESTS),$(if $(wildcard tests/host/$(t).c),$(t)))

.SECONDEXPANSION:
# Each binary also depends on every header its sources include: -MM over all of them writes
# build/host/<test>.d (one -MMD file per binary would keep only the last source's headers).
$(BUILD)/host/%: tests/host/%.c $$(host_srcs_$$*) $(BUILD)/host.flags
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(HOST_CC) $(HOST_CFLAGS) $(host_flags_$*) -MM -MP -MT $@ $< $(host_srcs_$*) > $@.d
	@$(HOST_CC) $(HOST_CFLAGS) $(host_flags_$*) -o $@ $< $(host_srcs_$*) $(host_libs_$*)

# libFuzzer target for the device-tree reader (clang), seeded with our DTBs: `make fuzz FUZZ_SECONDS=600`.
# Every run starts from the same place: the seeds are the DTBs built from the committed dts/ (read only),
# the corpus libFuzzer grows is emptied first, and the random seed is fixed (FUZZ_SEED=0: a new one).
FUZZ_SECONDS ?= 60
FUZZ_SEED ?= 1
$(BUILD)/host/fuzz_fdt: tests/host/fuzz_fdt.c platform/fdt.c platform/devtree.c lib/sort.c
	@mkdir -p $(dir $@)
	@echo "  CLANG   $@"
	@clang -DHOST_TEST -g -O1 -fsanitize=fuzzer,address,undefined -I. -Iinclude -o $@ $^

fuzz: deps $(BUILD)/host/fuzz_fdt dtbs
	@rm -rf $(BUILD)/fuzz-corpus && mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/host/fuzz_fdt -seed=$(FUZZ_SEED) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
		$(BUILD)/fuzz-corpus $(BUILD)/dtbs

# Device trees of our own test machines.
DTBS := $(patsubst dts/%.dts,$(BUILD)/dtbs/%.dtb,$(wildcard dts/*.dts))
dtbs: $(DTBS)
$(BUILD)/dtbs/%.dtb: dts/%.dts
	@mkdir -p $(dir $@)
	@dtc -q -I dts -O dtb -o $@ $<

# The per-hart instruction counter `make bench` loads into QEMU (tools/hart_insns.c): host code, a
# shared object QEMU opens with -plugin.
PLUGIN := $(BUILD)/tools/hart_insns.so
plugin: $(PLUGIN)
$(PLUGIN): tools/hart_insns.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(HOST_CC) -O2 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden -o $@ $<

user-programs: $(if $(wildcard user/build.mk),$(BUILD)/initrd.cpio)
-include $(wildcard user/build.mk)
-include $(KOBJ:.o=.d)
-include $(HOST_BINS:=.d)

# BOOTARGS (and INIT, appended as init=...) reach QEMU through the environment, untouched: $(value) keeps
# make from expanding a `$` in them, and "$$VMK_BOOTARGS" keeps the shell from splitting or expanding them,
# so quotes and `$` arrive as typed.
VMK_BOOTARGS := $(value BOOTARGS)
VMK_INIT := $(value INIT)
export VMK_BOOTARGS VMK_INIT
# DTB= may name a .dts: it is compiled on the fly (its directory on the include path, for qemu-virt.dtsi).
RUN_DTB = $(if $(filter %.dts,$(DTB)),$(BUILD)/run-dtb/$(notdir $(DTB:.dts=.dtb)),$(DTB))
QEMU_ARGS = $(shell tools/qemu-machine.sh '$(MACHINE)' '$(NUMA)' '$(SMP)' '$(MEM)') -bios default -nographic \
	-no-reboot -kernel $(BUILD)/kernel.bin $(if $(DTB),-dtb $(RUN_DTB)) $(if $(RUN_INITRD),-initrd $(RUN_INITRD)) \
	-append "$$VMK_BOOTARGS$${VMK_INIT:+ init=$$VMK_INIT}" $(QEMU_EXTRA)
RUN_INITRD = $(if $(INITRD),$(INITRD),$(if $(wildcard user/build.mk),$(BUILD)/initrd.cpio))

# Also checks MACHINE/NUMA/SMP/MEM first, so a bad combination stops here with the script's message.
run-prep:
	@tools/qemu-machine.sh '$(MACHINE)' '$(NUMA)' '$(SMP)' '$(MEM)' >/dev/null
	@$(if $(filter %.dts,$(DTB)),mkdir -p $(BUILD)/run-dtb && dtc -q -I dts -O dtb -i $(dir $(DTB)) -o $(RUN_DTB) $(DTB))

run: deps
	@$(MAKE) --no-print-directory kernel run-prep $(if $(RUN_INITRD),$(RUN_INITRD))
	$(QEMU) $(QEMU_ARGS)

# QEMU halted with a gdb stub on GDB_PORT; the printed gdb line loads the vmk-* helpers (tools/gdb/vmk.py).
GDB_PORT ?= 1234
debug: deps
	@$(MAKE) --no-print-directory kernel run-prep $(if $(RUN_INITRD),$(RUN_INITRD))
	@echo "QEMU is waiting for gdb. In another terminal run:"
	@echo "  gdb-multiarch $(BUILD)/kernel.elf -x tools/gdb/vmk.py -ex 'target remote localhost:$(GDB_PORT)'"
	@echo "then: vmk-vmallocinfo, vmk-areas-of TASK, vmk-pte ADDR [TASK], vmk-trace-ring, vmk-tasks (help vmk-...)"
	$(QEMU) $(QEMU_ARGS) -gdb tcp::$(GDB_PORT) -S

test: deps
	@tests/run.sh

bench: deps
	@[ "$(WALL)" = 0 ] || tools/ensure-deps.sh bench # the Linux peers' build (wall-clock sections)
	@tests/bench.sh
	@if [ -x tests/bench_trace.sh ]; then tests/bench_trace.sh; fi

trace: deps
	@tools/make-trace.sh

clean:
	rm -rf $(BUILD)
