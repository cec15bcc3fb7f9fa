"""The benchmark's one table: measure, ours, baseline, ratio, growth, target, ok/MISSED."""

from .measures import Result

GROWTH_LIMIT = 1.5


def short(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def value(number: float | None, unit: str) -> str:
    if number is None:
        return "—"
    if unit == "ms":
        return f"{number:.1f} ms" if number >= 10 else f"{number:.2f} ms"
    if unit == "queries":
        return f"{number:.0f} q"
    return f"{number:,.0f}/s"


def growth_of(first: Result, last: Result) -> float | None:
    if not first.ours or not last.ours or first.size == last.size:
        return None
    return first.ours / last.ours if first.higher_is_better else last.ours / first.ours


def table(results: list[Result], *, vendor: str, repeat: int) -> str:
    sizes = sorted({result.size for result in results})
    header = ("measure", "ours", "baseline", "ratio", "growth", "target", "ok", "note")
    lines = []
    by_name: dict[str, list[Result]] = {}
    for result in results:
        by_name.setdefault(result.measure, []).append(result)
    for name, rows in by_name.items():
        rows.sort(key=lambda r: r.size)
        for result in rows:
            growth = growth_of(rows[0], result) if result is rows[-1] and len(rows) > 1 else None
            ok = result.target.met(result.ours) and not (result.target.flat and growth is not None
                                                        and growth > GROWTH_LIMIT)
            lines.append((
                f"{name} @{short(result.size)}", value(result.ours, result.unit), value(result.baseline, result.unit),
                f"{result.ratio:.1f}×" if result.ratio is not None else "—",
                f"{growth:.2f}×" if growth is not None else "—",
                result.target.text(result.unit if result.unit != "queries" else "queries"),
                "ok" if ok else "MISSED", result.note,
            ))
    widths = [max(len(str(row[i])) for row in (header, *lines)) for i in range(len(header) - 1)]
    title = (f"\n{vendor}, {' then '.join(short(s) for s in sizes)} subjects, medians of up to {repeat} "
             f"interleaved runs; ratio = how many times better than the baseline"
             + (f", growth = ours at {short(sizes[-1])} vs {short(sizes[0])} (1.0 = flat)" if len(sizes) > 1 else ""))
    out = [title]
    for row in (header, *lines):
        out.append("  ".join(str(cell).ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
                   + "  " + row[-1])
    return "\n".join(out)
