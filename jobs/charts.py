"""Charts drawn on the server as SVG: no script, nothing fetched, scaled to the screen by their viewBox.

Each chart is an `<svg role="img">` named by its `<title>` and described by its `<desc>`; the page shows
the same numbers in a table next to it. Colours come from classes styled in site.css (the
Content-Security-Policy refuses inline styles). Bar lengths are integer arithmetic on the values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Series:
    """One kind of bar: its name (the legend) and the CSS class that colours it."""

    name: str
    css_class: str
    values: Sequence[int]


def _length(value: int, largest: int, room: int) -> int:
    """How long a bar of `value` is when `largest` fills `room` (at least 1 for any value above zero)."""
    if value <= 0 or largest <= 0:
        return 0
    return max(1, value * room // largest)


def _frame(chart_id: str, title: str, desc: str, width: int, height: int, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart" id="{id}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title {id}-desc"'
        ' xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{title}</title>'
        '<desc id="{id}-desc">{desc}</desc>{body}</svg>',
        id=chart_id,
        w=width,
        h=height,
        title=title,
        desc=desc,
        body=body,
    )


def columns(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    axis_text: Callable[[int], str],
) -> SafeString:
    """Columns per category (e.g. a day), one per series side by side, with the largest value written
    on the axis and the first and last labels under it."""
    # As wide as the bar charts, so the text is as readable on a phone; a year of days makes thin columns.
    width, height, top, bottom, left = 360, 170, 24, 20, 4
    room = height - top - bottom
    largest = max((value for one in series for value in one.values), default=0)
    slot = (width - left) / max(1, len(labels))
    bar = max(0.5, slot * 0.8 / max(1, len(series)))
    parts = []
    for index in range(len(labels)):
        for order, one in enumerate(series):
            value = one.values[index]
            size = _length(value, largest, room)
            if not size:
                continue
            x = left + index * slot + slot * 0.1 + order * bar
            parts.append(
                format_html(
                    '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {} {}</title></rect>',
                    one.css_class,
                    f"{x:.1f}",
                    top + room - size,
                    f"{bar:.1f}",
                    size,
                    labels[index],
                    one.name,
                    axis_text(value),
                )
            )
    axis = format_html(
        '<line class="chart-axis" x1="{l}" y1="{b}" x2="{w}" y2="{b}"/>'
        '<text class="chart-label" x="{l}" y="14">max {top}</text>',
        l=left,
        b=top + room,
        w=width,
        top=axis_text(largest),
    )
    if labels:
        axis += format_html(
            '<text class="chart-label" x="{l}" y="{y}">{first}</text>'
            '<text class="chart-label" x="{w}" y="{y}" text-anchor="end">{last}</text>',
            l=left,
            w=width,
            y=height - 6,
            first=labels[0],
            last=labels[-1],
        )
    legend = format_html_join(
        "",
        '<rect class="{} chart-key" x="{}" y="4" width="10" height="10"/>'
        '<text class="chart-label" x="{}" y="14">{}</text>',
        (
            (one.css_class, width - 150 + 75 * n, width - 136 + 75 * n, one.name)
            for n, one in enumerate(series)
        ),
    )
    return _frame(chart_id, title, desc, width, height, mark_safe("".join(parts)) + axis + legend)  # noqa: S308 - built with format_html


def bars(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, int]],
    value_text: Callable[[int], str],
    css_class: str = "chart-bar",
) -> SafeString:
    """Horizontal bars, one per row: its label above, its value at its end."""
    width, row_height, label_room = 360, 34, 14
    room = width - 90
    largest = max((value for _, value in rows), default=0)
    parts = []
    for index, (label, value) in enumerate(rows):
        y = index * row_height
        size = _length(value, largest, room)
        parts.append(
            format_html(
                '<text class="chart-label" x="0" y="{ty}">{label}</text>'
                '<rect class="{cls}" x="0" y="{by}" width="{size}" height="14">'
                "<title>{label}: {text}</title></rect>"
                '<text class="chart-value" x="{vx}" y="{vy}">{text}</text>',
                ty=y + 11,
                label=label if len(label) <= 56 else label[:55] + "…",
                cls=css_class,
                by=y + label_room + 2,
                size=size,
                text=value_text(value),
                vx=size + 4,
                vy=y + label_room + 13,
            )
        )
    height = max(row_height, len(rows) * row_height)
    return _frame(chart_id, title, desc, width, height, mark_safe("".join(str(part) for part in parts)))  # noqa: S308 - built with format_html
