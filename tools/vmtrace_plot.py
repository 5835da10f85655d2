"""The arena over time, drawn from a replay (tools/vmtrace_replay.py): each area is a box from its alloc to
its free at its address range, the pages it has mapped solid and the rest of its reserved range (guard,
alignment, what a shrink gave back) pale, then faint while freed but not yet purged (the range is not
reusable then); purges are vertical lines, drops red ticks. A lower panel plots live pages and the number of
free extents, so fragmentation can be read against the picture above it. Up to MAX_BOXES areas are drawn as
boxes; beyond that they are painted into an image of fixed size, so time and memory stay linear."""
import matplotlib

matplotlib.use("Agg")  # files only: no display on a build machine
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PatchCollection  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

MAX_KEYS = 12      # legend entries; the rest share one grey
MAX_BOXES = 20000  # beyond this, a raster: a vector file of a million boxes helps nobody
GREY = (0.6, 0.6, 0.6, 1.0)
PAGE = 4096


def areas_of(r, t_end):
    """(t_alloc, t_free or None, t_purge or None, addr, va_size, pages, caller, task) per area, finished
    ones from the replay's compact records, then the live and pending ones."""
    callers = {i: c for c, i in r.callers.items()}
    b, n = r.boxes, r.BOX_FIELDS
    for i in range(0, len(b), n):
        yield (b[i], b[i + 1], b[i + 2], int(b[i + 3]), int(b[i + 4]), int(b[i + 5]), callers[int(b[i + 6])],
               int(b[i + 7]))
    for a in list(r.live.values()) + list(r.pending.values()):
        if not a.in_block:
            yield (a.t_alloc, a.t_free, a.t_purge, a.addr, a.va_size, a.pages, a.caller, a.task)


def draw(r, log, path, colour_by):
    hz = log.timebase or 10000000
    t0 = r.first_t or 0
    t_end = r.last["t"] if r.last else t0
    sec = lambda t: (t - t0) / hz  # noqa: E731
    base = r.region[0] if r.region else 0

    def key(caller, task):
        return caller.split("+", 1)[0] if colour_by == "caller" else "%d %s" % (task, r.names.get(task, "?"))

    totals, count, top_kib = {}, 0, 0
    for a in areas_of(r, t_end):
        k = key(a[6], a[7])
        totals[k] = totals.get(k, 0) + a[4]
        count += 1
        top_kib = max(top_kib, (a[3] - base + a[4]) / 1024)
    keys = sorted(totals, key=lambda k: (-totals[k], k))[:MAX_KEYS]
    # Distinct hues only: light/dark pairs would read like the faint "awaiting purge" boxes.
    palette = list(plt.get_cmap("tab10").colors) + list(plt.get_cmap("Dark2").colors)
    colours = {k: palette[i % len(palette)] for i, k in enumerate(keys)}
    x_max = max(sec(t_end), 1e-6) * 1.02
    y_max = max(top_kib * 1.05, 4)

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    if count <= MAX_BOXES:
        boxes(top, r, t_end, sec, base, key, colours)
    else:
        raster(top, r, t_end, sec, base, key, colours, x_max, y_max)
    if len(r.purges.times):  # one collection of lines, however many purges
        top.vlines([sec(t) for t in r.purges.times], 0, 1, transform=top.get_xaxis_transform(), color="black",
                   linestyle="--", linewidth=0.6)
    # A drop has no time of its own: mark it at the last sample before its first lost sequence number.
    drop_times = []
    samples = r.frag
    j = 0
    for first in sorted(d.get("first_seq", 0) for d in log.drops):
        while j < len(samples) and samples[j][1] < first:
            j += 1
        drop_times.append(sec(samples[j - 1][0]) if j else 0.0)
    if drop_times:
        top.plot(drop_times, [0] * len(drop_times), "rv", markersize=7, clip_on=False)
    top.set_xlim(0, x_max)
    top.set_ylim(0, y_max)
    top.set_ylabel("offset in the vmalloc region (KiB from 0x%x)" % base)
    top.set_title("vmalloc arena over time: mapped pages solid, rest of the range pale, faint = freed awaiting "
                  "purge, dashed = purge", fontsize=10)
    handles = [Rectangle((0, 0), 1, 1, color=colours[k]) for k in keys]
    labels = list(keys)
    if len(totals) > MAX_KEYS:
        handles.append(Rectangle((0, 0), 1, 1, color=GREY))
        labels.append("other")
    if handles:
        top.legend(handles, labels, fontsize=7, loc="upper left", title="by " + colour_by, title_fontsize=8)

    if r.frag:
        xs = [sec(f[0]) for f in r.frag]
        bottom.step(xs, [f[4] for f in r.frag], where="post", label="live vmalloc pages")
        ax2 = bottom.twinx()
        ax2.step(xs, [f[2] for f in r.frag], where="post", color="tab:red", label="free extents")
        ax2.set_ylabel("free extents", color="tab:red")
    bottom.set_xlabel("time (s since the first event)")
    bottom.set_ylabel("live pages")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def boxes(top, r, t_end, sec, base, key, colours):
    mapped, reserved, dead = [], [], []
    mapped_c, reserved_c, dead_c = [], [], []
    for t_alloc, t_free, t_purge, addr, va_size, pages, caller, task in areas_of(r, t_end):
        y, h = (addr - base) / 1024, va_size / 1024
        m = min(pages * PAGE, va_size) / 1024
        c = colours.get(key(caller, task), GREY)
        x0 = sec(t_alloc)
        x1 = sec(t_free if t_free is not None else t_end)
        mapped.append(Rectangle((x0, y), max(x1 - x0, 1e-9), m))
        mapped_c.append(c)
        if h > m:
            reserved.append(Rectangle((x0, y + m), max(x1 - x0, 1e-9), h - m))
            reserved_c.append(c)
        if t_free is not None:
            x2 = sec(t_purge if t_purge is not None else t_end)
            dead.append(Rectangle((x1, y), max(x2 - x1, 1e-9), h))
            dead_c.append(c)
    top.add_collection(PatchCollection(dead, facecolor=dead_c, alpha=0.15, edgecolor="none"))
    top.add_collection(PatchCollection(reserved, facecolor=reserved_c, alpha=0.4, edgecolor="none"))
    top.add_collection(PatchCollection(mapped, facecolor=mapped_c, edgecolor="black", linewidth=0.2))


def raster(top, r, t_end, sec, base, key, colours, x_max, y_max):
    """Paints every area into a fixed-size RGBA image: one pass, memory independent of the log."""
    import numpy as np
    w, h = 1600, 900
    img = np.zeros((h, w, 4), dtype=np.uint8)  # transparent; 6 MB whatever the log

    rgba = {}

    def shade(c, alpha):
        k = (c, alpha)
        if k not in rgba:
            rgba[k] = tuple(int(round(v * 255)) for v in (c[0], c[1], c[2], alpha))
        return rgba[k]

    # The per-area work is the whole cost on a big log: the pixel arithmetic is inlined (sec and px as
    # one multiply each) and each area's three shades are looked up once per colour.
    kx = w / x_max
    ky = h / y_max
    shades = {}
    for t_alloc, t_free, t_purge, addr, va_size, pages, caller, task in areas_of(r, t_end):
        k = key(caller, task)
        sh = shades.get(k)
        if sh is None:
            c = tuple(colours.get(k, GREY))
            sh = shades[k] = (shade(c, 0.4), shade(c, 1.0), shade(c, 0.15))
        y = (addr - base) / 1024
        x0 = min(w - 1, max(0, int(sec(t_alloc) * kx)))
        x1 = min(w - 1, max(0, int(sec(t_free if t_free is not None else t_end) * kx)))
        y0 = min(h - 1, max(0, int(y * ky)))
        y1 = min(h - 1, max(0, int((y + va_size / 1024) * ky)))
        ym = min(h - 1, max(0, int((y + min(pages * PAGE, va_size) / 1024) * ky)))
        if ym < y1:  # a pale part shows (at this scale most areas are one row: solid only)
            img[ym + 1:y1 + 1, x0:x1 + 1] = sh[0]
        img[y0:ym + 1, x0:x1 + 1] = sh[1]
        if t_free is not None:
            x2 = min(w - 1, max(0, int(sec(t_purge if t_purge is not None else t_end) * kx)))
            if x2 > x1:
                img[y0:y1 + 1, x1 + 1:x2 + 1] = sh[2]
    top.imshow(img, origin="lower", extent=(0, x_max, 0, y_max), aspect="auto", interpolation="nearest")
