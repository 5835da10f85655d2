#!/usr/bin/env python3
"""The architecture check run by `make test`: every dependency edge must run down the layers of
tools/layers.txt. Checks, each printed as one KTAP case:
  include_graph  every #include of a kernel source or header names a file of the same or a lower layer
  symbol_graph   every undefined symbol of a kernel object is defined in the same or a lower layer (nm)
  no_weak        no weak symbol in the kernel objects: a missing definition is a link error, not a default
  no_extern_in_c no .c file declares another file's function or variable (`extern` or a bare prototype)
  no_uncalled    every global function in the kernel objects is called (or its address taken) somewhere
                 in the image: by a relocation from any object, or in its own file where the compiler
                 inlined it; functions only host tests call are compiled for them alone (HOST_TEST)
  caller_frames  every function that names its caller (__builtin_return_address(0), or a CALLER macro for
                 it) is __noinline: the kernel is built with LTO, and inlined it would name the wrong caller
  readme         README's layer sentence is the one generated from tools/layers.txt
  no_circles     no circle of files inside any layer, user/ included: a file (its .c/.S and .h together)
                 that reaches another through includes or symbol references must not be reached back.
                 A circle not yet broken is listed in tools/layers.txt as a `circle` line, printed here
                 and counted; a listed circle that changed (a file joined or left it) or is gone fails
  circles_bite   the circle check itself fails when one edge back is added to today's graph (a self-test)
Usage: layer_check.py BUILD_DIR [NM]   (objdump is found beside NM)   (BUILD_DIR holds k/<dir>/<file>.o from the kernel build)
"""
import os, re, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktap  # noqa: E402

BUILD = "build"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def layer_lines():
    with open(os.path.join(ROOT, "tools/layers.txt")) as f:
        return [l.split() for l in f if l.strip() and not l.startswith("#")]


def read_layers():
    """[[entry, ...] per layer, top first]; an entry is a directory or a file path without extension."""
    return [l for l in layer_lines() if l[0] != "circle"]


def read_circle_exceptions():
    """The circles tools/layers.txt admits for now, each a frozenset of files without extension."""
    return [frozenset(l[1:]) for l in layer_lines() if l[0] == "circle"]


LAYERS = read_layers()
RANK = {}  # entry -> rank, 0 = top
for i, entries in enumerate(LAYERS):
    for e in entries:
        RANK[e] = i
DIRS = [entries[0] for entries in LAYERS if len(entries) == 1 and "/" not in entries[0]]
PRODUCT = [d for d in DIRS if d != "tests"]


def readme_sentence():
    """The one README line the rule produces: the product layers, top to bottom."""
    return "Each directory is one layer and uses only the layers below it: " + " → ".join(
        "`%s/`" % ("include/vmk" if l == "include" else l) for l in PRODUCT) + "."


def layer_of(path):
    """The entry a path belongs to: its own file line if it has one, else its top directory."""
    stem = os.path.splitext(path)[0]
    if stem in RANK:
        return stem
    top = path.split("/", 1)[0]
    return top if top in RANK else None


def sources():
    for layer in DIRS:
        base = os.path.join(ROOT, layer if layer != "tests" else "tests/kernel")
        for dirpath, _, files in os.walk(base):
            for fn in sorted(files):
                if fn.endswith((".c", ".h", ".S")):
                    yield os.path.relpath(os.path.join(dirpath, fn), ROOT)


INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def check_includes():
    bad = []
    for src in sources():
        me = layer_of(src)
        with open(os.path.join(ROOT, src)) as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(2)
                if m.group(1) == "<":
                    if not target.startswith("vmk/"):
                        continue  # compiler headers: stdint.h, stdarg.h, ...
                    target = "include/" + target
                to = layer_of(target)
                if to is None:
                    bad.append("%s:%d includes %s, which is in no layer" % (src, n, target))
                elif RANK[to] < RANK[me]:
                    bad.append("%s:%d (%s) includes %s (%s): upward" % (src, n, me, target, to))
    return bad


def nm_objects(build, nm):
    """{object path relative to build/k: (defined {sym: type}, undefined set)}"""
    objs = {}
    kdir = os.path.join(build, "k")
    for dirpath, _, files in os.walk(kdir):
        for fn in files:
            path = os.path.join(dirpath, fn)
            if fn.endswith(".o") and os.path.exists(os.path.join(ROOT, os.path.relpath(path, kdir)[:-2])):
                out = subprocess.run([nm, path], capture_output=True, text=True, check=True).stdout
                defined, undefined = {}, set()
                for line in out.splitlines():
                    parts = line.split()
                    if len(parts) == 2 and parts[0] in ("U", "w", "v"):
                        undefined.add(parts[1])
                        if parts[0] in ("w", "v"):
                            defined[parts[1]] = parts[0]
                    elif len(parts) == 3:
                        defined[parts[2]] = parts[1]
                objs[os.path.relpath(path, kdir)[:-2]] = (defined, undefined)
    return objs


def check_symbols(objs):
    owner = {}
    for src, (defined, _) in objs.items():
        for sym, typ in defined.items():
            if typ.isupper() or typ in ("W", "V"):
                owner.setdefault(sym, src)
    bad = []
    for src, (_, undefined) in sorted(objs.items()):
        me = layer_of(src)
        for sym in sorted(undefined):
            to_src = owner.get(sym)
            if to_src is None:
                continue  # linker-script symbols (_text_start, ...) and libgcc
            to = layer_of(to_src)
            if me and to and RANK[to] < RANK[me]:
                bad.append("%s (%s) uses %s from %s (%s): upward" % (src, me, sym, to_src, to))
    return bad


def check_weak(objs):
    return ["%s: weak symbol %s" % (src, sym) for src, (defined, _) in sorted(objs.items())
            for sym, typ in sorted(defined.items()) if typ in ("W", "V", "w", "v")]


PROTO = re.compile(r"^(?!static\b|typedef\b|return\b)[A-Za-z_][\w \t\*]*\b[A-Za-z_]\w*\s*\([^;{]*\)\s*(__\w+\s*)*;")


def check_externs():
    """A declaration of something defined elsewhere belongs in that file's header, where the compiler
    checks it against the definition; one written in a .c file can silently disagree."""
    bad = []
    for src in sources():
        if not src.endswith(".c"):
            continue
        depth = 0
        with open(os.path.join(ROOT, src)) as f:
            for n, line in enumerate(f, 1):
                code = line.split("//")[0]
                if re.match(r"^\s*extern\b", code) or (depth == 0 and PROTO.match(code)):
                    bad.append("%s:%d: %s" % (src, n, line.strip()))
                depth += code.count("{") - code.count("}")
    return bad


def check_caller_frames():
    """Attribution (vmallocinfo's caller, trace events) reads __builtin_return_address(0): in a function
    the compiler inlined it is the caller's caller. Tracks the top-level definition each line is in."""
    bad = []
    for src in sources():
        if not src.endswith(".c"):
            continue
        depth, header, uses_caller = 0, "", False
        with open(os.path.join(ROOT, src)) as f:
            text = f.read()
        uses_caller_macro = re.search(r"#define CALLER __builtin_return_address\(0\)", text) is not None
        for n, line in enumerate(text.splitlines(), 1):
            code = line.split("//")[0]
            if depth == 0 and re.match(r"^[A-Za-z_].*\(", code) and not code.rstrip().endswith(";"):
                header = code
            if depth > 0 or "{" in code:
                named = "__builtin_return_address(0)" in code or (uses_caller_macro and re.search(r"\bCALLER\b", code)
                                                                 and not code.startswith("#define"))
                if named and "__noinline" not in header:
                    bad.append("%s:%d: %s names its caller but is not __noinline" % (src, n, header.strip()))
            depth += code.count("{") - code.count("}")
    return sorted(set(bad))


# Called by code the compiler writes, not by ours.
COMPILER_CALLED = {"memmove", "memcpy", "memset", "memcmp"}


def check_uncalled(objs, objdump):
    referenced = set()
    for src in objs:
        out = subprocess.run([objdump, "-r", os.path.join(BUILD, "k", src + ".o")], capture_output=True,
                             text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[1].startswith("R_"):
                referenced.add(re.sub(r"[+-]0x[0-9a-f]+$", "", parts[2]))
    bad = []
    for src, (defined, _) in sorted(objs.items()):
        for sym, typ in sorted(defined.items()):
            if typ != "T" or sym in referenced or sym in COMPILER_CALLED or sym == "_start":
                continue
            # Inlined into its own file's callers: the name appears there besides its definition.
            with open(os.path.join(ROOT, src)) as f:
                code = [l for l in f if not l.lstrip().startswith(("*", "/*", "//"))]
            uses = sum(len(re.findall(r"\b%s\b" % re.escape(sym), l)) for l in code)
            if uses < 2:
                bad.append("%s: %s is never called" % (src, sym))
    return bad


# ---- circles of files inside a layer ----
# A file here is a module: its .c (or .S) and its .h, named by the path without extension. An edge
# a -> b means a includes b's header or uses a symbol b defines. Edges across layers are the upward
# checks' business; a circle needs edges inside one layer, so only those are kept.
CIRCLE_LAYERS = ["tests", "boot", "kernel", "vm", "platform", "lib", "include", "user"]


def top_dir(stem):
    return stem.split("/", 1)[0]


def user_objects(build, nm):
    """{user/<file>: (defined, undefined)} from the user runtime's objects ($(BUILD)/user/rt/user/*.o)."""
    objs = {}
    rt = os.path.join(build, "user", "rt", "user")
    if not os.path.isdir(rt):
        return objs
    for fn in sorted(os.listdir(rt)):
        if fn.endswith(".o"):
            out = subprocess.run([nm, os.path.join(rt, fn)], capture_output=True, text=True, check=True).stdout
            defined, undefined = {}, set()
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] == "U":
                    undefined.add(parts[1])
                elif len(parts) == 3 and parts[1].isupper():
                    defined[parts[2]] = parts[1]
            objs["user/" + fn[:-2]] = (defined, undefined)
    return objs


def file_graph(objs):
    """{module: {module it reaches inside its own layer}} from includes and the objects' symbols."""
    edges = {}

    def add(a, b):
        if a != b and top_dir(a) == top_dir(b):
            edges.setdefault(a, set()).add(b)
        edges.setdefault(a, set())

    owner = {}
    for src, (defined, _) in objs.items():
        for sym, typ in defined.items():
            if typ.isupper():
                owner.setdefault(sym, src)
    for src, (_, undefined) in objs.items():
        for sym in undefined:
            if sym in owner:
                add(os.path.splitext(src)[0], os.path.splitext(owner[sym])[0])
    files = list(sources())
    for dirpath, _, names in os.walk(os.path.join(ROOT, "user")):
        files += [os.path.relpath(os.path.join(dirpath, n), ROOT) for n in sorted(names) if n.endswith((".c", ".h", ".S"))]
    for src in files:
        with open(os.path.join(ROOT, src)) as f:
            for line in f:
                m = INCLUDE.match(line)
                if m and m.group(1) == '"':
                    add(os.path.splitext(src)[0], os.path.splitext(m.group(2))[0])
                elif m:
                    add(os.path.splitext(src)[0], "include/" + os.path.splitext(m.group(2))[0])
    return edges


def circles(edges):
    """The strongly connected sets of two or more modules (Tarjan, iterative), each a frozenset."""
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, ())))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    x = stack.pop()
                    on.discard(x)
                    comp.add(x)
                    if x == node:
                        break
                if len(comp) > 1:
                    found.append(frozenset(comp))
    return found


def judge_circles(edges, allowed):
    """(problems, notes): a circle that is not exactly one listed in layers.txt is a problem, and so is
    a listed one that no longer exists; each listed circle still there is a note (printed, counted)."""
    problems, notes = [], []
    found = circles(edges)
    for comp in sorted(found, key=sorted):
        if comp in allowed:
            continue
        inside = ", ".join("%s -> %s" % (a, " ".join(sorted(edges[a] & comp))) for a in sorted(comp))
        problems.append("circle of %d files in %s/: %s" % (len(comp), top_dir(min(comp)), inside))
    for comp in allowed:
        if comp not in found:
            problems.append("layers.txt lists a circle that is not (or no longer exactly) there: %s; "
                            "update or remove its `circle` line" % " ".join(sorted(comp)))
    notes.append("%d circle%s of files in %s (%d listed in tools/layers.txt as known)"
                 % (len(found), "" if len(found) == 1 else "s", "/, ".join(CIRCLE_LAYERS) + "/", len(allowed)))
    for i, comp in enumerate(sorted((c for c in allowed if c in found), key=sorted), 1):
        notes.append("known circle %d of %d (listed in tools/layers.txt, still to break): %s"
                     % (i, len(allowed), " ".join(sorted(comp))))
    return problems, notes


def check_circles_bite(edges, allowed):
    """Adds, for each layer, one edge back against an edge that is in no circle, and checks that the
    circle check then fails naming that layer; and that a listed circle losing a member fails too."""
    bad = []
    in_circle = set().union(*circles(edges)) if circles(edges) else set()
    layers_tried = 0
    for layer in CIRCLE_LAYERS:
        pair = next(((a, b) for a in sorted(edges) if top_dir(a) == layer and a not in in_circle
                     for b in sorted(edges[a]) if b not in in_circle), None)
        if pair is None:
            continue
        layers_tried += 1
        a, b = pair
        trial = {k: set(v) for k, v in edges.items()}
        trial.setdefault(b, set()).add(a)
        problems, _ = judge_circles(trial, allowed)
        if not any(("in %s/:" % layer) in p and a in p and b in p for p in problems):
            bad.append("adding %s -> %s (against %s -> %s) was not reported as a circle" % (b, a, a, b))
    if layers_tried < 5:
        bad.append("only %d layers had an edge to turn back" % layers_tried)
    found = circles(edges)
    for comp in found:  # each circle there today, listed less one of its files, must fail
        smaller = [c for c in found if c != comp] + [frozenset(sorted(comp)[1:])]
        problems, _ = judge_circles(edges, smaller)
        if not problems:
            bad.append("a `circle` line missing %s still passed" % sorted(comp)[0])
    return bad


def check_readme():
    want = readme_sentence()
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    return [] if want in text else ["README.md lacks the generated layer sentence:\n  " + want]


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--sentence":
        print(readme_sentence())
        return 0
    global BUILD
    build = BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
    nm = sys.argv[2] if len(sys.argv) > 2 else "riscv64-unknown-elf-nm"
    objdump = nm[:-2] + "objdump"
    objs = nm_objects(build, nm)
    uobjs = user_objects(build, nm)
    edges = file_graph({**objs, **uobjs})
    allowed = read_circle_exceptions()
    circle_problems, circle_notes = judge_circles(edges, allowed)
    if not uobjs:
        circle_problems.append("no user runtime objects under %s/user/rt: build them (make user-programs)" % build)
    checks = [("include_graph", check_includes()), ("symbol_graph", check_symbols(objs) if objs else
              ["no kernel objects under %s/k" % build]), ("no_weak", check_weak(objs)),
              ("no_extern_in_c", check_externs()), ("no_uncalled", check_uncalled(objs, objdump)),
              ("caller_frames", check_caller_frames()), ("readme", check_readme()),
              ("no_circles", circle_problems, circle_notes), ("circles_bite", check_circles_bite(edges, allowed))]
    return ktap.report(checks)


if __name__ == "__main__":
    sys.exit(main())
