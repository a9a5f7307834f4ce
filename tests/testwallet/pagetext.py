"""What a person sees on one of the wallet's pages: the text of its elements, whitespace collapsed."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self.open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self.open[-1] if self.open else None
        element = Element(tag, {name: value or "" for name, value in attrs}, parent)
        self.elements.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index].tag == tag:
                del self.open[index:]
                return

    def handle_data(self, data: str) -> None:
        for element in self.open:
            if element.tag not in ("style", "title", "head"):
                element.parts.append(data)


class Page:
    """A parsed page: find its elements by tag, class or id."""

    def __init__(self, html: str) -> None:
        collector = _Collector()
        collector.feed(html)
        self.elements = collector.elements

    def tags(self, tag: str) -> list[Element]:
        return [element for element in self.elements if element.tag == tag]

    def with_class(self, name: str) -> list[Element]:
        return [element for element in self.elements if name in element.classes]

    def texts(self, name: str) -> list[str]:
        """The text of every element with class ``name``, in document order."""
        return [element.text for element in self.with_class(name)]

    def by_id(self, element_id: str) -> Element | None:
        found = [element for element in self.elements if element.attrs.get("id") == element_id]
        return found[0] if found else None

    def inside(self, container: Element) -> list[Element]:
        """The elements within ``container``, in document order."""
        return [element for element in self.elements if _within(element, container)]

    def definitions(self, name: str) -> list[tuple[str, str]]:
        """The (term, description) pairs of the ``<dl>`` with class ``name``."""
        (dl,) = self.with_class(name)
        inside = [e for e in self.inside(dl) if e.tag in ("dt", "dd")]
        terms = [e.text for e in inside if e.tag == "dt"]
        descriptions = [e.text for e in inside if e.tag == "dd"]
        return list(zip(terms, descriptions, strict=True))


def _within(element: Element, container: Element) -> bool:
    parent = element.parent
    while parent is not None and parent is not container:
        parent = parent.parent
    return parent is container
