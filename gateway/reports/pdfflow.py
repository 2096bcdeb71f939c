"""Text that flows down A4 pages for the PDF reports: headings, paragraphs, tables of
text rows and figures, with a new page whenever the next block would not fit.

Matplotlib has no text layout engine, so this is the small one the agreement report
needs: positions in figure coordinates (0-1, origin bottom left), fixed line steps,
long cells wrapped by character count (DejaVu Sans averages ~0.55 em per character).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gateway.reports.render import A4_IN, new_figure

LEFT, RIGHT, TOP, BOTTOM = 0.06, 0.94, 0.965, 0.05
_PT_PER_WIDTH = A4_IN[0] * 72.0


def _chars(width: float, size: float) -> int:
    """How many characters of ``size`` points fit in ``width`` of the page."""
    return max(int(width * _PT_PER_WIDTH / (0.55 * size)), 4)


class Flow:
    """A growing list of A4 pages and the cursor ``y`` on the last one."""

    def __init__(self, footer: str, page_label: str = "page {i} of {n}") -> None:
        self.footer = footer
        self.page_label = page_label
        self.pages: list[Figure] = []
        self.y = 0.0
        self.new_page()

    @property
    def page(self) -> Figure:
        return self.pages[-1]

    def new_page(self) -> None:
        self.pages.append(new_figure(*A4_IN))
        self.y = TOP

    def need(self, height: float) -> None:
        """Start a new page unless ``height`` fits above the bottom margin."""
        if self.y - height < BOTTOM and self.y < TOP:
            self.new_page()

    def title(self, text: str) -> None:
        self.page.text(LEFT, self.y, text, fontsize=15, fontweight="bold", va="top")
        self.y -= 0.032

    def heading(
        self, text: str, *, keep: float = 0.08, size: float = 10.5, upper: bool = True
    ) -> None:
        """A section heading, kept on a page with at least ``keep`` of what follows."""
        step = size / 72.0 / A4_IN[1]
        self.need(3 * step + keep)
        self.y -= 0.008
        self.page.text(
            LEFT,
            self.y,
            text.upper() if upper else text,
            fontsize=size,
            fontweight="bold",
            va="top",
        )
        self.page.add_artist(_rule(self.page, self.y - 1.6 * step))
        self.y -= 2.3 * step

    def subheading(self, text: str) -> None:
        self.need(0.06)
        self.page.text(LEFT, self.y, text, fontsize=9, fontweight="bold", va="top")
        self.y -= 0.02

    def paragraph(
        self, text: str, *, size: float = 8.0, colour: str = "#222", indent: float = 0.0
    ) -> None:
        step = size / 72.0 / A4_IN[1] * 1.35
        for line in textwrap.wrap(text, _chars(RIGHT - LEFT - indent, size)) or [""]:
            self.need(step)
            self.page.text(LEFT + indent, self.y, line, fontsize=size, color=colour, va="top")
            self.y -= step
        self.y -= step * 0.3

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        *,
        size: float = 7.5,
        notes: Sequence[str] | None = None,
    ) -> None:
        """Rows of cells; a negative width right-aligns that column. ``notes`` (one per
        row, may be empty) are printed in grey under their row. The header repeats on
        each new page."""
        step = size / 72.0 / A4_IN[1] * 1.45

        def line(cells: Sequence[str], bold: bool) -> None:
            wrapped = [
                textwrap.wrap(c, _chars(abs(w), size)) or [""]
                for c, w in zip(cells, widths, strict=True)
            ]
            height = max(len(w) for w in wrapped) * step
            if self.need_page(height + step):
                line(header, True)
            x = LEFT
            for lines, w in zip(wrapped, widths, strict=True):
                right = w < 0
                for k, text in enumerate(lines):
                    self.page.text(
                        x + abs(w) if right else x,
                        self.y - k * step,
                        text,
                        fontsize=size,
                        va="top",
                        ha="right" if right else "left",
                        fontweight="bold" if bold else "normal",
                    )
                x += abs(w) + 0.012
            self.y -= height

        self.need(3 * step)
        line(header, True)
        for i, row in enumerate(rows):
            line(row, False)
            note = notes[i] if notes else ""
            if note:
                for text in textwrap.wrap(note, _chars(RIGHT - LEFT - 0.02, size - 0.5)):
                    self.need(step)
                    self.page.text(
                        LEFT + 0.02, self.y, text, fontsize=size - 0.5, color="#666", va="top"
                    )
                    self.y -= step
        self.y -= step * 0.6

    def need_page(self, height: float) -> bool:
        """Like :meth:`need`, returning whether a page was started."""
        before = len(self.pages)
        self.need(height)
        return len(self.pages) != before

    def figure(self, height: float, draw: Callable[[Axes], None], *, width: float = 0.5) -> None:
        """Axes of ``height`` (page fraction) and ``width`` at the left margin."""
        self.need(height + 0.01)
        ax = self.page.add_axes((LEFT + 0.07, self.y - height, width, height - 0.01))
        draw(ax)
        self.y -= height + 0.02

    def finish(self) -> list[Figure]:
        """The pages with their footers (``page i of n``)."""
        n = len(self.pages)
        for i, fig in enumerate(self.pages, start=1):
            fig.text(LEFT, 0.02, self.footer, fontsize=6.5, color="#666")
            fig.text(
                RIGHT,
                0.02,
                self.page_label.format(i=i, n=n),
                fontsize=6.5,
                color="#666",
                ha="right",
            )
        return self.pages


def _rule(fig: Figure, y: float) -> Line2D:
    return Line2D([LEFT, RIGHT], [y, y], transform=fig.transFigure, color="#444", lw=1.2)
