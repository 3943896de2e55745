"""A small document model rendered to both Markdown and self-contained HTML (figures embedded)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


class Doc:
    """Blocks rendered to both Markdown and HTML."""

    def __init__(self, fig_dir: Path, fig_rel: str):
        self.blocks: list[tuple[str, object]] = []
        self.fig_dir, self.fig_rel = fig_dir, fig_rel

    def h(self, level: int, text: str) -> None:
        self.blocks.append(("h", (level, text)))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", (header, rows)))

    def figure(self, name: str, fig, caption: str) -> None:
        path = self.fig_dir / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=100, metadata={"Software": None})
        plt.close(fig)
        self.blocks.append(("fig", (name, caption)))

    def image(self, name: str, source: Path, caption: str) -> None:
        """A PNG file made elsewhere, copied in as figure ``name``."""
        (self.fig_dir / f"{name}.png").write_bytes(Path(source).read_bytes())
        self.blocks.append(("fig", (name, caption)))

    def media(self, items: list[tuple[str, str, str]]) -> None:
        """Players side by side: ``(kind, path, label)`` with ``kind`` ``audio`` or ``video`` and ``path``
        relative to the page (the files stay beside the report; the page links them)."""
        self.blocks.append(("media", items))

    def markdown(self) -> str:
        out = []
        for kind, v in self.blocks:
            if kind == "h":
                out.append("#" * v[0] + " " + v[1])
            elif kind == "p":
                out.append(v)
            elif kind == "table":
                header, rows = v
                out.append(
                    "| "
                    + " | ".join(header)
                    + " |\n|"
                    + "---|" * len(header)
                    + "\n"
                    + "\n".join("| " + " | ".join(r) + " |" for r in rows)
                )
            elif kind == "media":
                out.append(" · ".join(f"[{label}]({path})" for _, path, label in v))
            else:
                out.append(f"![{v[0]}]({self.fig_rel}/{v[0]}.png)\n\n*{v[1]}*")
        return "\n\n".join(out) + "\n"

    def html(self, title: str) -> str:
        out = [
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;"
            "text-align:right}th{background:#f2f2f2}td:first-child{text-align:left}"
            "figure{margin:1em 0}figcaption{font-size:13px;color:#444}</style></head><body>"
        ]
        for kind, v in self.blocks:
            if kind == "h":
                out.append(f"<h{v[0]}>{html.escape(v[1])}</h{v[0]}>")
            elif kind == "p":
                out.append(f"<p>{html.escape(v)}</p>")
            elif kind == "table":
                header, rows = v
                out.append(
                    "<table><tr>"
                    + "".join(f"<th>{html.escape(c)}</th>" for c in header)
                    + "</tr>"
                    + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
                    + "</table>"
                )
            elif kind == "media":
                cells = []
                for media_kind, path, label in v:
                    size = " width='240'" if media_kind == "video" else ""
                    cells.append(
                        f"<figure style='display:inline-block;margin:0 1em 1em 0'><{media_kind} controls preload='none'"
                        f"{size} src='{html.escape(path)}'></{media_kind}><figcaption>{html.escape(label)}</figcaption></figure>"
                    )
                out.append("<div>" + "".join(cells) + "</div>")
            else:
                data = base64.b64encode((self.fig_dir / f"{v[0]}.png").read_bytes()).decode()
                out.append(
                    f"<figure><img src='data:image/png;base64,{data}' style='max-width:100%'>"
                    f"<figcaption>{html.escape(v[1])}</figcaption></figure>"
                )
        return "\n".join(out) + "</body></html>\n"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def spread(values: list[float], *, pct: bool = True, digits: int = 1) -> str:
    """``mean ± std`` over runs (just the value for one run), in percent when ``pct``."""
    v = np.asarray(values, dtype=float) * (100 if pct else 1)
    if v.size == 1:
        return f"{v[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def ms_text(entry: dict, *, pct: bool = True, digits: int | None = None) -> str:
    """``mean ± std`` of a summary entry (just the mean for one run), in percent when ``pct``."""
    scale = 100 if pct else 1
    digits = (1 if pct else 0) if digits is None else digits
    text = f"{scale * entry['mean']:.{digits}f}"
    return text + (f" ± {scale * entry['std']:.{digits}f}" if entry.get("n", 1) > 1 else "")


def ci_text(interval: list[float], *, pct: bool = True) -> str:
    """``[low, high]`` of an interval, in percent when ``pct``."""
    scale, digits = (100, 1) if pct else (1, 0)
    return f"[{scale * interval[0]:.{digits}f}, {scale * interval[1]:.{digits}f}]"
