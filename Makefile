# Build, run, test and benchmark the kernel. `make run` and `make test` install what is missing first.
CROSS ?= riscv64-unknown-elf-
CC := $(CROSS)gcc
OBJCOPY := $(CROSS)objcopy
NM := $(CROSS)nm
BUILD ?= build
QEMU ?= qemu-system-riscv64
SMP ?= 1
MEM ?= 256M
BOOTARGS ?= trace=all
DTB ?=
INITRD ?=
QEMU_EXTRA ?=

ARCH_FLAGS := -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany
CFLAGS := $(ARCH_FLAGS) -O2 -g -ffreestanding -nostdlib -fno-builtin -fno-stack-protector -fno-pic \
	-fno-omit-frame-pointer -fno-common -Wall -Wextra -Werror -Wno-unused-parameter -I. -Iinclude -MMD -MP \
	$(EXTRA_CFLAGS)
LDFLAGS := -march=rv64imac -mabi=lp64 -nostdlib -static -Wl,-T,boot/kernel.ld -Wl,--no-relax -Wl,-z,max-page-size=4096

KSRC ?= $(wildcard boot/*.S boot/*.c kernel/*.S kernel/*.c vm/*.c platform/*.c lib/*.c tests/kernel/*.c)
KOBJ := $(patsubst %,$(BUILD)/k/%.o,$(KSRC))

HOST_CC ?= gcc
HOST_CFLAGS := -DHOST_TEST -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-Wall -Wextra -Werror -I. -Iinclude

.PHONY: all kernel deps run test debug bench trace print-host-tests host-tests user-programs dtbs clean fuzz
all: kernel

deps:
	@tools/ensure-deps.sh

kernel: $(BUILD)/kernel.bin

$(BUILD)/k/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/k/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) $(CFLAGS) -D__ASSEMBLER__ -c $< -o $@

# Two links: the first has an empty symbol table; the second adds the table at the end of rodata, which
# moves no text, so the addresses it records stay true.
$(BUILD)/ksyms0.o: tools/gen_ksyms.awk
	@mkdir -p $(BUILD)
	@awk -f tools/gen_ksyms.awk </dev/null > $(BUILD)/ksyms0.S
	@$(CC) $(CFLAGS) -c $(BUILD)/ksyms0.S -o $@

$(BUILD)/kernel.pass1.elf: $(KOBJ) $(BUILD)/ksyms0.o boot/kernel.ld
	@echo "  LD      $@"
	@$(CC) $(filter-out -march=%,$(CFLAGS)) $(LDFLAGS) -o $@ $(KOBJ) $(BUILD)/ksyms0.o -lgcc

$(BUILD)/ksyms.S: $(BUILD)/kernel.pass1.elf tools/gen_ksyms.awk
	@$(NM) -n -S --defined-only $< | awk -f tools/gen_ksyms.awk > $@

$(BUILD)/ksyms.o: $(BUILD)/ksyms.S
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/kernel.elf: $(KOBJ) $(BUILD)/ksyms.o boot/kernel.ld
	@echo "  LD      $@"
	@$(CC) $(filter-out -march=%,$(CFLAGS)) $(LDFLAGS) -o $@ $(KOBJ) $(BUILD)/ksyms.o -lgcc
	@$(NM) -n $(BUILD)/kernel.pass1.elf | grep -i ' t ' > $(BUILD)/.t1; $(NM) -n $@ | grep -i ' t ' > $(BUILD)/.t2; \
	  cmp -s $(BUILD)/.t1 $(BUILD)/.t2 || { echo "ksyms: text moved between links"; exit 1; }

$(BUILD)/kernel.bin: $(BUILD)/kernel.elf
	@$(OBJCOPY) -O binary $< $@

# Host unit tests: portable sources built natively with sanitizers.
HOST_TESTS := test_page_alloc test_bootargs test_va_index test_pt test_fdt test_elf_cpio test_hart_masks
host_srcs_test_page_alloc := vm/page_alloc.c
host_srcs_test_bootargs := lib/bootargs.c
host_srcs_test_va_index := lib/rbtree.c vm/va_index.c vm/va_busy.c vm/node_pool.c tests/host/rbtree_node_pool.c \
	tests/host/va_index_model.c tests/host/va_index_cases.c tests/host/va_busy_cases.c
host_srcs_test_pt := vm/pt.c tests/host/pt_sim.c tests/host/pt_map.c tests/host/pt_modify.c tests/host/pt_random.c
host_srcs_test_fdt := platform/fdt.c platform/devtree.c tests/host/fdt_diff_libfdt.c tests/host/fdt_semantics.c \
	tests/host/fdt_corrupt.c tests/host/fdt_mutate.c
host_libs_test_fdt := -lfdt
host_srcs_test_elf_cpio := kernel/elf.c kernel/cpio.c
host_srcs_test_hart_masks := lib/percpu.c
HOST_BINS := $(foreach t,$(HOST_TESTS),$(if $(wildcard tests/host/$(t).c),$(BUILD)/host/$(t)))

host-tests: $(HOST_BINS)

print-host-tests:
	@echo $(foreach t,$(HOST_TESTS),$(if $(wildcard tests/host/$(t).c),$(t)))

.SECONDEXPANSION:
$(BUILD)/host/%: tests/host/%.c $$(host_srcs_$$*) tests/host/htest.h $$(wildcard tests/host/$$*.h)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(HOST_CC) $(HOST_CFLAGS) -o $@ $< $(host_srcs_$*) $(host_libs_$*)

# libFuzzer target for the device-tree reader (clang), seeded with our DTBs: `make fuzz FUZZ_SECONDS=600`.
FUZZ_SECONDS ?= 60
$(BUILD)/host/fuzz_fdt: tests/host/fuzz_fdt.c platform/fdt.c platform/devtree.c
	@mkdir -p $(dir $@)
	@echo "  CLANG   $@"
	@clang -DHOST_TEST -g -O1 -fsanitize=fuzzer,address,undefined -I. -Iinclude -o $@ $^

fuzz: deps $(BUILD)/host/fuzz_fdt dtbs
	@mkdir -p $(BUILD)/fuzz-corpus
	@cp $(BUILD)/dtbs/*.dtb $(BUILD)/fuzz-corpus/
	$(BUILD)/host/fuzz_fdt -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(BUILD)/fuzz-corpus

# Device trees of our own test machines.
DTBS := $(patsubst dts/%.dts,$(BUILD)/dtbs/%.dtb,$(wildcard dts/*.dts))
dtbs: $(DTBS)
$(BUILD)/dtbs/%.dtb: dts/%.dts
	@mkdir -p $(dir $@)
	@dtc -q -I dts -O dtb -o $@ $<

user-programs: $(if $(wildcard user/build.mk),$(BUILD)/initrd.cpio)
-include $(wildcard user/build.mk)
-include $(KOBJ:.o=.d)

QEMU_ARGS = -machine virt -bios default -nographic -no-reboot -smp $(SMP) -m $(MEM) -kernel $(BUILD)/kernel.bin \
	$(if $(DTB),-dtb $(DTB)) $(if $(RUN_INITRD),-initrd $(RUN_INITRD)) -append "$(BOOTARGS)" $(QEMU_EXTRA)
RUN_INITRD = $(if $(INITRD),$(INITRD),$(if $(wildcard user/build.mk),$(BUILD)/initrd.cpio))

run: deps
	@$(MAKE) --no-print-directory kernel $(if $(RUN_INITRD),$(RUN_INITRD))
	$(QEMU) $(QEMU_ARGS)

debug: deps
	@$(MAKE) --no-print-directory kernel
	@echo "QEMU is waiting for gdb. In another terminal run:"
	@echo "  gdb-multiarch $(BUILD)/kernel.elf -ex 'target remote localhost:1234'"
	$(QEMU) $(QEMU_ARGS) -s -S

test: deps
	@tests/run.sh

bench: deps
	@tests/bench.sh
	@if [ -x tests/bench_trace.sh ]; then tests/bench_trace.sh; fi

trace: deps
	@tools/make-trace.sh

clean:
	rm -rf $(BUILD)
