"""Reading a vmk UART log: the "@T" trace lines (grammar in docs/trace.md), the vmallocinfo dump and the
kernel's own vmalloc warnings. Everything here is defensive: a line that does not follow the grammar
becomes an entry in `problems`, never an exception, because logs are cut short, interleaved with other
console text and sometimes hostile."""
import re

PREFIX = "@T "
# key=value, the value either a quoted string (the kernel replaces '"' inside it) or a run of non-blanks.
TOKEN = re.compile(r'([a-z_][a-z0-9_]*)=("[^"]*"|[^\s"]*)(?: +|$)')

DEC, HEX, STR = "dec", "hex", "str"
# ev=purge's remote: the mechanism of the batch's remote fence (sbi, ipi; none when no other hart was
# online), or, in logs from before the mechanism was named, 1/0 for whether other harts were fenced.
REMOTE = "remote"
REMOTE_WORDS = ("sbi", "ipi", "none")
COMMON = {"seq": DEC, "hart": DEC, "t": DEC, "task": DEC, "caller": STR}
# Required fields per event; fields beyond these are accepted (the grammar only ever adds fields).
EVENTS = {
    "region": {"start": HEX, "end": HEX, "lazy_max_pages": DEC},
    "alloc": {"fn": STR, "addr": HEX, "size": DEC, "pages": DEC},
    "free": {"fn": STR, "addr": HEX, "size": DEC, "pages": DEC},
    "realloc": {"addr": HEX, "new": HEX, "old_size": DEC, "new_size": DEC, "mode": STR, "freed_pages": DEC},
    "fail": {"size": DEC, "align": DEC, "reason": STR},
    "purge": {"areas": DEC, "pages": DEC, "start": HEX, "end": HEX, "full": DEC, "remote": REMOTE},
    "lazy": {"addr": HEX, "purge": DEC},
    "fault": {"addr": HEX, "what": STR},
    "kill": {"tid": DEC, "addr": HEX, "pc": HEX, "why": STR},
    "spawn": {"tid": DEC, "name": STR, "parent": DEC},
    "shm": {"op": STR, "result": DEC},
    "mark": {"id": DEC, "label": STR},
}
# Second forms of an event, tried when a line does not fit the first: a kill by SYS_kill names the task
# that asked (its parent) instead of a fault's address, pc and reason.
ALTERNATIVE = {"kill": {"tid": DEC, "by": DEC}}
# Optional fields whose type is still checked when present.
OPTIONAL = {"pages": DEC, "huge": DEC, "node": DEC, "va_size": DEC, "block": HEX, "local_fences": DEC, "remote_fences": DEC, "remote_harts": DEC,
            "handle": HEX, "size": DEC, "max": DEC, "new_size": DEC, "first_seq": DEC, "last_seq": DEC, "id": DEC,
            "sys": STR, "sys_dt": DEC, "upc": HEX, "ucaller": HEX, "seals": DEC}
MAX_PROBLEMS = 10000  # malformed lines kept for the report; beyond that they are only counted
DROP = {"hart": DEC, "count": DEC, "total": DEC}

DUMP_ROW = re.compile(r"^0x([0-9a-f]{1,16})-0x([0-9a-f]{1,16}) +(\d+) (\S+) pages=(\d+) (\S+)((?: [a-z_]+)*) "
                      r"N(-?\d+)=(\d+)$")
BAD_POINTER = re.compile(r"^vmalloc: (\w+)\(([^)]*)\) from (\S+): (.*); nothing changed")
REDZONE = re.compile(r"^vmalloc: redzone overwritten, found at (\w+) by (\S+): (.*)")
TIMEBASE = re.compile(r"timebase (\d+) Hz")


HEX_VALUE = re.compile(r"0x[0-9a-fA-F]{1,16}")
DEC_VALUE = re.compile(r"-?\d{1,20}")


def convert(kind, text):
    """The field's value, or None when it is not of its kind."""
    if kind == STR:
        return text[1:-1] if len(text) >= 2 and text[0] == '"' and text[-1] == '"' else text
    if kind == HEX:
        return int(text[2:], 16) if HEX_VALUE.fullmatch(text) else None
    if text.isascii() and text.isdigit() and len(text) <= 20:
        return int(text)  # the common case, without a regex
    return int(text) if DEC_VALUE.fullmatch(text) else None


KEY = re.compile(r"[a-z_][a-z0-9_]*")
ODD_SPACE = re.compile(r"[^\S ]")


_GOOD_KEYS = set()  # keys already seen to be well formed: a set lookup instead of a regex per field


def _good_key(key):
    if not KEY.fullmatch(key):
        return False
    if len(_GOOD_KEYS) < 4096:
        _GOOD_KEYS.add(key)
    return True


def tokenize(body):
    """Fields of a trace line after the prefix, in order; None if the text is not all key=value pairs."""
    if '"' not in body and not body.startswith(" ") and not ODD_SPACE.search(body):
        # Most lines: no quoted value, so the fields are what lies between spaces. First in one go, for
        # lines whose keys are all known good and given once; else field by field.
        parts = body.split(" ")
        try:
            fields = dict(part.split("=", 1) for part in parts)
        except ValueError:  # a part without '='
            fields = None
        if fields is not None and len(fields) == len(parts) and _GOOD_KEYS.issuperset(fields):
            return fields, None
        fields = {}
        for part in body.split(" "):
            if not part:
                continue
            key, eq, value = part.partition("=")
            if not eq or key in fields or (key not in _GOOD_KEYS and not _good_key(key)):
                break  # let the exact reader below say what is wrong
            fields[key] = value
        else:
            return fields, None
    fields, pos = {}, 0
    while pos < len(body):
        m = TOKEN.match(body, pos)
        if not m or m.end() == pos:
            return None, "not a key=value list at column %d" % (pos + len(PREFIX))
        key = m.group(1)
        if key in fields:
            return None, "field '%s' given twice" % key
        fields[key] = m.group(2)
        pos = m.end()
    return fields, None


def _dec(text):
    if text.isdigit() and text.isascii() and len(text) <= 20:
        return int(text)
    return convert(DEC, text)


def _remote(text):
    return text if text in REMOTE_WORDS else _dec(text)


CONVERT = {DEC: _dec, HEX: lambda text: convert(HEX, text), STR: lambda text: convert(STR, text), REMOTE: _remote}
KIND_NAME = {DEC: "decimal", HEX: "hexadecimal", REMOTE: "sbi, ipi, none or decimal"}
_SCHEMAS = {}


def _schema(schema):
    """(key, kind, converter) per field of a schema, made once per schema."""
    key = id(schema)
    if key not in _SCHEMAS:
        _SCHEMAS[key] = (schema, tuple((k, kind, CONVERT[kind]) for k, kind in schema.items()))
    return _SCHEMAS[key][1]


def check_fields(fields, schema, optional):
    out = {}
    for key, kind, conv in _schema(schema):
        raw = fields.get(key)
        if raw is None:
            return None, "missing field '%s'" % key
        # The common forms inline (a converter call per field is most of the parse), the rest below.
        if kind == DEC:
            if raw.isdigit() and raw.isascii() and len(raw) <= 20:
                out[key] = int(raw)
                continue
        elif kind == STR:
            out[key] = raw[1:-1] if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"' else raw
            continue
        elif kind == HEX and HEX_VALUE.fullmatch(raw):
            out[key] = int(raw[2:], 16)
            continue
        val = conv(raw)
        if val is None:
            return None, "field '%s' is not %s: %r" % (key, KIND_NAME[kind], raw)
        out[key] = val
    if len(out) == len(fields):
        return out, None  # no field beyond the schema: the usual line
    for key, raw in fields.items():
        if key in out:
            continue
        kind = optional.get(key, STR)
        val = CONVERT[kind](raw)
        if val is None:
            return None, "field '%s' is not %s: %r" % (key, "hexadecimal" if kind == HEX else "decimal", raw)
        out[key] = val
    return out, None


# The schema of each event, built once: check_fields caches its converters by the dict's identity.
FULL = {ev: dict(COMMON, ev=STR, **fields) for ev, fields in EVENTS.items()}
ALTERNATIVE_FULL = {ev: dict(COMMON, ev=STR, **fields) for ev, fields in ALTERNATIVE.items()}
DROP_FULL = dict(DROP, ev=STR)
COMMON_FULL = dict(COMMON, ev=STR)


def parse_trace_line(text):
    """(event dict, None) or (None, reason). Event dicts carry every field, converted."""
    fields, why = tokenize(text[len(PREFIX):].rstrip(" "))
    if fields is None:
        return None, why
    ev = fields.get("ev")
    if ev is None:
        return None, "no 'ev' field"
    if ev == "drop":
        return check_fields(fields, DROP_FULL, OPTIONAL)
    if ev not in EVENTS:
        out, why = check_fields(fields, COMMON_FULL, OPTIONAL)
        return (None, why) if out is None else (None, "unknown event '%s'" % ev)
    out, why = check_fields(fields, FULL[ev], OPTIONAL)
    if out is None and ev in ALTERNATIVE_FULL:
        alt, _ = check_fields(fields, ALTERNATIVE_FULL[ev], OPTIONAL)
        if alt is not None:
            return alt, None
    return out, why


class Log:
    """Everything found in one log, in the order it was found."""

    def __init__(self):
        self.lines = 0
        self.trace_lines = 0
        self.events = []      # trace events, each with "line" (1-based) added
        self.drops = []       # drop markers
        self.problems = []    # (line, reason, excerpt), the first MAX_PROBLEMS of them
        self.problem_count = 0
        self.dumps = []       # [(begin_line, end_line or None, rows)]
        self.kernel_warnings = []  # (line, text)
        self.timebase = None
        self.interleaved = 0  # "@T " inside a console line: not a kernel record (a task's text, say), ignored


def read_log(stream, sink=None, on_listing=None):
    """Reads the whole log. Trace events go to sink(ev) as they are read when a sink is given (the log then
    keeps none of them: memory stays bounded), else into log.events. on_listing(line) is called when a
    vmallocinfo listing begins, before anything after it is read."""
    log = Log()
    dump = None

    def problem(entry):
        log.problem_count += 1
        if len(log.problems) < MAX_PROBLEMS:
            log.problems.append(entry)
    for number, raw in enumerate(stream, 1):
        log.lines = number
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        line = raw.rstrip("\r\n").replace("\r", "")
        if dump is not None:
            if line.startswith("vmallocinfo: end"):
                log.dumps.append((dump[0], number, dump[1]))
                dump = None
                continue
            m = DUMP_ROW.match(line)
            if m:
                dump[1].append({"start": int(m.group(1), 16), "end": int(m.group(2), 16), "size": int(m.group(3)),
                                "caller": m.group(4), "pages": int(m.group(5)), "kind": m.group(6),
                                "flags": m.group(7).split(), "line": number})
                continue
            # Trace lines and console text may land inside the listing: handled below as usual.
        if line.startswith("vmallocinfo: begin"):
            if dump is not None:
                problem((dump[0], "vmallocinfo listing never ended", ""))
            dump = (number, [])
            if on_listing:
                on_listing(number)
            continue
        # The kernel starts every trace line on a console line of its own, and a task's line that begins
        # with '@' gets a backslash first (lib/printk.c): "@T " anywhere else is not a kernel record.
        if not line.startswith(PREFIX):
            if line.rstrip() == "@T":
                problem((number, "empty trace line", "@T"))
                continue
            if PREFIX in line:
                log.interleaved += 1
            note_console(log, number, line)
            continue
        at = 0
        log.trace_lines += 1
        ev, why = parse_trace_line(line[at:])
        if ev is None:
            problem((number, why, printable(line[at:at + 120])))
            continue
        ev["line"] = number
        if ev["ev"] == "drop":
            log.drops.append(ev)
        elif sink:
            sink(ev)
        else:
            log.events.append(ev)
    if dump is not None:
        log.dumps.append((dump[0], None, dump[1]))
        problem((dump[0], "vmallocinfo listing never ended (log cut short?)", ""))
    log.problems.sort(key=lambda p: p[0])
    return log


def printable(text):
    """An excerpt safe to print in a report: hostile bytes become '?'."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)


def note_console(log, number, line):
    m = BAD_POINTER.search(line)
    if m:
        log.kernel_warnings.append((number, "kernel rejected %s(%s) from %s: %s" % m.groups()))
        return
    m = REDZONE.search(line)
    if m:
        log.kernel_warnings.append((number, "kernel found a redzone overwritten at %s by %s" % m.groups()[:2]))
        return
    m = TIMEBASE.search(line)
    if m and log.timebase is None and int(m.group(1)) > 0:
        log.timebase = int(m.group(1))
