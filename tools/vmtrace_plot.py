"""The arena over time, drawn from a replay (tools/vmtrace_replay.py): each area is a box from its alloc to
its free at its address range, solid while live and faint while freed but not yet purged (the range is not
reusable then); purges are vertical lines, drops red ticks. A lower panel plots live pages and the number of
free extents, so fragmentation can be read against the picture above it."""
import matplotlib

matplotlib.use("Agg")  # files only: no display on a build machine
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PatchCollection  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

MAX_KEYS = 12  # legend entries; the rest share one grey


def draw(r, log, path, colour_by):
    hz = log.timebase or 10000000
    t0 = r.first_t or 0
    t_end = r.last["t"] if r.last else t0
    sec = lambda t: (t - t0) / hz  # noqa: E731
    base = r.region[0] if r.region else 0
    areas = [a for a in r.history if not a.in_block]

    def key(a):
        return a.caller.split("+", 1)[0] if colour_by == "caller" else "%d %s" % (a.task, r.names.get(a.task, "?"))

    totals = {}
    for a in areas:
        totals[key(a)] = totals.get(key(a), 0) + a.va_size
    keys = sorted(totals, key=lambda k: (-totals[k], k))[:MAX_KEYS]
    # Distinct hues only: light/dark pairs would read like the faint "awaiting purge" boxes.
    palette = list(plt.get_cmap("tab10").colors) + list(plt.get_cmap("Dark2").colors)
    colours = {k: palette[i % len(palette)] for i, k in enumerate(keys)}

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    live, dead = [], []
    live_c, dead_c = [], []
    top_kib = 0
    for a in areas:
        y = (a.addr - base) / 1024
        h = a.va_size / 1024
        top_kib = max(top_kib, y + h)
        c = colours.get(key(a), (0.6, 0.6, 0.6, 1.0))
        x1 = sec(a.t_free if a.t_free is not None else t_end)
        live.append(Rectangle((sec(a.t_alloc), y), max(x1 - sec(a.t_alloc), 1e-9), h))
        live_c.append(c)
        if a.t_free is not None:
            x2 = sec(a.t_purge if a.t_purge is not None else t_end)
            dead.append(Rectangle((x1, y), max(x2 - x1, 1e-9), h))
            dead_c.append(c)
    top.add_collection(PatchCollection(dead, facecolor=dead_c, alpha=0.25, edgecolor="none"))
    top.add_collection(PatchCollection(live, facecolor=live_c, edgecolor="black", linewidth=0.2))
    for p in r.purges:
        top.axvline(sec(p["t"]), color="black", linestyle="--", linewidth=0.6)
    # A drop has no time of its own: mark it at the last event before the first lost sequence number.
    drop_times = []
    for d in log.drops:
        before = [e["t"] for e in log.events if e["seq"] < d.get("first_seq", 0)]
        drop_times.append(sec(max(before)) if before else 0.0)
    if drop_times:
        top.plot(drop_times, [0] * len(drop_times), "rv", markersize=7, clip_on=False)
    top.set_xlim(0, max(sec(t_end), 1e-6) * 1.02)
    top.set_ylim(0, max(top_kib * 1.05, 4))
    top.set_ylabel("offset in the vmalloc region (KiB from 0x%x)" % base)
    top.set_title("vmalloc arena over time: boxes live, faint = freed awaiting purge, dashed = purge")
    handles = [Rectangle((0, 0), 1, 1, color=colours[k]) for k in keys]
    labels = list(keys)
    if len(totals) > MAX_KEYS:
        handles.append(Rectangle((0, 0), 1, 1, color=(0.6, 0.6, 0.6, 1.0)))
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
