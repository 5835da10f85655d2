"""KTAP output for the host-side checks (tools/layer_check.py, tools/abi_doc_check.py)."""


def report(cases):
    """Prints one KTAP case per (name, problems[, notes]), each problem and note as a '#' line before
    it (a note is information that does not fail the case); returns the exit status: 1 if any case has
    problems, else 0."""
    print("KTAP version 1\n1..%d" % len(cases))
    failed = 0
    for i, (name, problems, *notes) in enumerate(cases, 1):
        for p in (notes[0] if notes else []):
            print("# note: " + p)
        for p in problems:
            print("# " + p)
        print("%s %d %s" % ("not ok" if problems else "ok", i, name))
        failed += bool(problems)
    return 1 if failed else 0
