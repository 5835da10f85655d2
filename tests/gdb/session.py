"""Runs inside `gdb-multiarch -batch` for tests/gdb/run.sh: boots QEMU on gdb's own pipe (no TCP port, so
nothing to clash with), stops the kernel in vm_dump_areas when /gdb_state asks for its listing, runs every
vmk-* helper there, and writes their output and the state of the console log to a JSON file; then lets
the boot finish so the kernel prints its own listing of the same state. Paths come from the environment:
GDB_TEST_OUT (the JSON), GDB_TEST_UART (QEMU's console file), GDB_TEST_QEMU (the QEMU command line)."""
import json
import os
import re

import gdb

out_path, uart_path = os.environ["GDB_TEST_OUT"], os.environ["GDB_TEST_UART"]
result = {"stopped": False, "outputs": {}, "errors": {}}


def run(name, command):
    try:
        result["outputs"][name] = gdb.execute(command, to_string=True)
    except gdb.error as e:
        result["errors"][name] = str(e)


def save():
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)


gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("source tools/gdb/vmk.py")

# The helpers mirror kernel constants: compare them with the headers they come from.
drift = []
for header, names in (("vm/vmalloc_types.h", ("VM_MAP", "VM_MAP_RAM", "VM_HUGE", "VM_USER")),
                      ("vm/layout.h", ("DMAP_BASE",))):
    text = open(header).read()
    for name in names:
        m = re.search(r"#define %s (0x[0-9a-fA-F]+)" % name, text)
        if not m or int(m.group(1), 16) != globals()[name]:
            drift.append("%s in %s: header %s, tools/gdb/vmk.py 0x%x" % (name, header, m and m.group(1),
                                                                          globals()[name]))
result["drift"] = drift

gdb.execute("target remote | exec " + os.environ["GDB_TEST_QEMU"])
gdb.execute("break vm_dump_areas")
gdb.execute("continue")
frame = gdb.selected_frame()
if frame.name() == "vm_dump_areas":
    result["stopped"] = True
    with open(uart_path, "rb") as f:
        result["uart_at_stop"] = f.read().decode("ascii", "replace")
    m = re.search(r"gdb_state: tid=(\d+) child=(\d+) obj=(0x[0-9a-f]+) child_obj=(0x[0-9a-f]+) heap=(0x[0-9a-f]+) "
                  r"heap_size=(\d+)", result["uart_at_stop"])
    if m:
        tid, child, obj, child_obj = m.group(1), m.group(2), m.group(3), m.group(4)
        result["state"] = {"tid": int(tid), "child": int(child), "obj": int(obj, 16), "child_obj": int(child_obj, 16),
                           "heap": int(m.group(5), 16), "heap_size": int(m.group(6))}
        run("vmallocinfo", "vmk-vmallocinfo")
        run("tasks", "vmk-tasks")
        run("areas_parent", "vmk-areas-of " + tid)
        run("areas_child", "vmk-areas-of " + child)
        run("areas_by_name", "vmk-areas-of gdb_state")  # both tasks are /gdb_state: an error naming them
        run("areas_missing", "vmk-areas-of 9999")
        run("pte_current", "vmk-pte " + obj)
        run("pte_child", "vmk-pte %s %s" % (child_obj, child))
        run("pte_heap", "vmk-pte " + m.group(5))
        run("pte_unmapped", "vmk-pte 0x3000000000")
        run("trace_ring", "vmk-trace-ring")
        # The shared object's kernel address, from the helper's own listing (its only 3-page user area).
        kva = re.findall(r"^(0x[0-9a-f]+)-\S+ +\d+ \S+ pages=3 vmalloc user ",
                         result["outputs"].get("vmallocinfo", ""), re.M)
        if len(kva) == 1:
            run("pte_kernel", "vmk-pte " + kva[0])
save()
gdb.execute("delete")
try:
    gdb.execute("continue")  # to the power-off: QEMU exits and the pipe closes
except gdb.error:
    pass
save()
