"""Before/after distributions as charts: Mermaid ``xychart-beta`` for the pull request (GitHub renders it
inline), inline SVG for the offline HTML report (no script, no CDN, opens anywhere).

Both draw the same ``Distribution`` (shares per bin or category for base and head): base as bars, head as a
line in Mermaid (xychart has no legend, so the title says which is which); grouped bars in SVG.
"""
from __future__ import annotations

from html import escape
from typing import Any, Sequence


def labels(dist: Any) -> list[str]:
    """Bin labels ("0.2–0.3") or the categories, in order."""
    if dist.categories:
        return [str(c) for c in dist.categories]
    edges = list(dist.edges or ())
    n = max(len(dist.base), len(dist.head))
    if len(edges) == n + 1:
        return [f"{_edge(a)}–{_edge(b)}" for a, b in zip(edges[:-1], edges[1:], strict=False)]
    return [str(i + 1) for i in range(n)]


def _edge(x: float) -> str:
    return f"{x:.3g}"


def _clean(text: str) -> str:
    """Mermaid strings cannot hold double quotes or newlines."""
    return text.replace('"', "'").replace("\n", " ")


def mermaid_xychart(dist: Any, title: str, base_label: str = "base", head_label: str = "head") -> str:
    """A ```mermaid block: shares in percent, base as bars and head as a line over the same x axis."""
    names = labels(dist)
    base = [round(v * 100, 2) for v in dist.base]
    head = [round(v * 100, 2) for v in dist.head]
    top = max([*base, *head, 1.0])
    top = min(100.0, float(int(top * 1.15) + 1))
    axis = ", ".join(f'"{_clean(n)}"' for n in names)
    lines = [
        "```mermaid",
        "xychart-beta",
        f'    title "{_clean(title)} (bars: {_clean(base_label)}, line: {_clean(head_label)})"',
        f"    x-axis [{axis}]",
        f'    y-axis "share of rows (%)" 0 --> {top:g}',
    ]
    if base:
        lines.append(f"    bar [{', '.join(f'{v:g}' for v in base)}]")
    if head:
        lines.append(f"    line [{', '.join(f'{v:g}' for v in head)}]")
    lines.append("```")
    return "\n".join(lines)


BASE_COLOUR = "#9aa5b1"
HEAD_COLOUR = "#2563eb"


def svg_bars(dist: Any, title: str, base_label: str = "base", head_label: str = "head",
             width: int = 640, height: int = 260) -> str:
    """Grouped bars (base grey, head blue) with percent axis, bin labels and hover titles, as inline SVG."""
    names = labels(dist)
    n = max(len(names), 1)
    base: Sequence[float] = dist.base or ()
    head: Sequence[float] = dist.head or ()
    top = max([*base, *head, 0.01])
    left, right, top_pad, bottom = 48, 12, 34, 58
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    group = plot_w / n
    bar = max(1.0, group * 0.38)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<rect x="{width - 210}" y="6" width="10" height="10" fill="{BASE_COLOUR}"/>'
        f'<text x="{width - 196}" y="15" font-size="11">{escape(base_label[:18])}</text>'
        f'<rect x="{width - 100}" y="6" width="10" height="10" fill="{HEAD_COLOUR}"/>'
        f'<text x="{width - 86}" y="15" font-size="11">{escape(head_label[:14])}</text>',
    ]
    for tick in range(5):
        value = top * tick / 4
        y = top_pad + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{value * 100:.0f}%</text>')
    for i, name in enumerate(names):
        x0 = left + i * group + group * 0.1
        for offset, values, colour, who in ((0.0, base, BASE_COLOUR, base_label), (bar, head, HEAD_COLOUR, head_label)):
            if i >= len(values):
                continue
            h = plot_h * values[i] / top
            y = top_pad + plot_h - h
            parts.append(f'<rect x="{x0 + offset:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                         f'<title>{escape(who)} {escape(name)}: {values[i] * 100:.2f}%</title></rect>')
        label_x = x0 + bar
        rotate = f' transform="rotate(35 {label_x:.1f} {top_pad + plot_h + 12})"' if n > 6 else ""
        parts.append(f'<text x="{label_x:.1f}" y="{top_pad + plot_h + 12}" font-size="10" '
                     f'text-anchor="{"start" if n > 6 else "middle"}"{rotate}>{escape(name[:16])}</text>')
    parts.append("</svg>")
    return "".join(parts)
