"""The schema's descriptions come from params.yaml's comments: ``python -m pipelines.tools.params_schema``.

``--write`` copies the comment of every key in ``params.yaml`` into the ``description`` of the
matching property of ``workflow/schemas/params.schema.json`` (nothing else in the schema
changes); ``--check`` exits 1 with one line naming the first key whose description differs from
its comment or that has no comment. The comments in ``params.yaml`` are the one place each key is
documented; the schema's descriptions are a copy.

Where a key's documentation is:

- A key written on its own line (block style) is documented by the comment on its line,
  preceded by the full-line comments directly above it (same indentation, no blank line between).
- A key with no line of its own -- inside a flow mapping ``{count: 2, weight: 1.0}``, inside the
  mappings of a list (``windows``) or of a free-named mapping (``sizes: {paper: {...}}``), or one
  the schema knows but ``params.yaml`` leaves out (``splits: {}``) -- is documented by a line
  ``# <key>: <text>`` among the comment lines directly above its nearest written ancestor (the
  first of them that has such a line). Those lines come after the ancestor's own description
  lines; a line that does not start with such a name continues the entry above it. One entry
  documents the key in every mapping below that ancestor (``# width: ...`` above ``sizes``
  serves ``sizes.paper.width`` and any other size).
- Every comment belongs to a key (the file's opening comment block excepted), every entry line
  documents at least one key, and every property of the schema gets a description.

Properties are the values under ``properties`` at any depth: inside ``items``,
``additionalProperties``, ``patternProperties`` and ``allOf``/``anyOf``/``oneOf``/``not``/``if``/
``then``/``else`` too. Keys matched by ``additionalProperties``/``patternProperties`` (free names
such as ``sizes.paper``) may carry comments for the reader; the schema has no property to hold
them.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.tokens import CommentToken

from ..config import REPO_ROOT, SCHEMA_PATH
from ..files import atomic_file

PARAMS_PATH = REPO_ROOT / "params.yaml"
COMMAND = "python -m pipelines.tools.params_schema"
#: Path segments of a property below an array (``items``) and below ``additionalProperties``.
ITEMS, ANY = "[]", "*"
_ENTRY = re.compile(r"(?P<names>[^\s:,]+(?:,\s*[^\s:,]+)*):\s+(?P<text>\S.*)")

#: A schema property: names, with ITEMS and ANY where it sits below an array or additionalProperties.
Prop = tuple[str, ...]


def dotted(path: Prop) -> str:
    """``("windows", "[]", "frames")`` -> ``windows[].frames``."""
    out = ""
    for part in path:
        out += part if part == ITEMS or not out else "." + part
    return out


def schema_properties(node: dict, path: Prop = ()) -> Iterator[tuple[Prop, dict]]:
    """``(path, subschema)`` of every property below ``node``, depth first in schema order."""
    if not isinstance(node, dict):
        return
    for name, sub in (node.get("properties") or {}).items():
        yield (*path, name), sub
        yield from schema_properties(sub, (*path, name))
    for pattern, sub in (node.get("patternProperties") or {}).items():
        yield from schema_properties(sub, (*path, f"<{pattern}>"))
    if isinstance(node.get("additionalProperties"), dict):
        yield from schema_properties(node["additionalProperties"], (*path, ANY))
    items = node.get("items")
    for sub in [items] if isinstance(items, dict) else []:
        yield from schema_properties(sub, (*path, ITEMS))
    for sub in node.get("prefixItems") or []:
        yield from schema_properties(sub, (*path, ITEMS))
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(key) or []:
            yield from schema_properties(sub, path)
    for key in ("not", "if", "then", "else"):
        yield from schema_properties(node.get(key), path)


def _schema_at(schema: dict, ypath: tuple) -> dict | None:
    """The subschema of the value at a params.yaml path (names, and list indices as ints)."""
    node = schema
    for part in ypath:
        if not isinstance(node, dict):
            return None
        if isinstance(part, int):
            node = node.get("items")
        elif part in (node.get("properties") or {}):
            node = node["properties"][part]
        else:
            pattern = next((p for p in node.get("patternProperties") or {} if re.search(p, part)), None)
            node = node["patternProperties"][pattern] if pattern else node.get("additionalProperties")
    return node if isinstance(node, dict) else None


@dataclass
class Entry:
    """``# <name>[, <name>...]: <text>`` above a key: documents those keys where they have no line of their own."""

    names: list[str]
    line: int
    lines: list[str]
    used: set[str] = field(default_factory=set)

    @property
    def text(self) -> str:
        return " ".join(self.lines)


@dataclass
class Key:
    """A key written on its own line of params.yaml and the comments that belong to it."""

    path: tuple
    line: int
    own: list[str] = field(default_factory=list)
    entries: dict[str, Entry] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return " ".join(self.own)


@dataclass
class Issue:
    line: int
    message: str


def _comments(text: str) -> dict[int, tuple[int, str]]:
    """Line index -> (column of ``#``, text after it) of every comment ruamel's scanner finds."""
    found: set[str] = set()

    def collect(item) -> None:
        if isinstance(item, CommentToken):
            found.update(p.strip() for p in item.value.split("\n") if p.strip().startswith("#"))
        elif isinstance(item, list | tuple):
            for sub in item:
                collect(sub)

    for token in YAML().scan(text):
        collect(getattr(token, "_comment", None))
    out = {}
    for n, line in enumerate(text.splitlines()):
        for m in re.finditer(r"(?:^|(?<=\s))#", line):
            if line[m.start() :].strip() in found:
                out[n] = (m.start(), line[m.start() + 1 :].strip())
                break
    return out


def _block_keys(node, ypath: tuple = ()) -> Iterator[tuple[tuple, int, int]]:
    """``(path, line, column)`` of every key written on its own line (lists: int indices)."""
    if isinstance(node, CommentedMap):
        block = not node.fa.flow_style()
        for key in node:
            if block:
                line, col = node.lc.key(key)
                yield (*ypath, str(key)), line, col
            yield from _block_keys(node[key], (*ypath, str(key)))
    elif isinstance(node, CommentedSeq):
        for i, item in enumerate(node):
            yield from _block_keys(item, (*ypath, i))


def read_docs(text: str, schema: dict) -> tuple[dict[tuple, Key], list[Issue]]:
    """Every written key of params.yaml with its comments; comments that belong to no key are issues."""
    comments = _comments(text)
    lines = text.splitlines()
    data = YAML().load(text)
    keys: dict[tuple, Key] = {}
    issues: list[Issue] = []
    taken: set[int] = set()
    first_key = min((line for _, line, _ in _block_keys(data)), default=len(lines))
    for ypath, line, col in _block_keys(data):
        key = keys[ypath] = Key(ypath, line)
        above = []
        n = line - 1
        while n >= 0 and n in comments and comments[n][0] == col and not lines[n][:col].strip():
            above.insert(0, n)
            n -= 1
        sub = _schema_at(schema, ypath)
        names = {p[-1] for p, _ in schema_properties(sub)} if sub else set()
        entry = None
        for n in above:
            m = _ENTRY.fullmatch(comments[n][1])
            listed = re.split(r",\s*", m["names"]) if m else []
            if listed and set(listed) <= names:
                entry = Entry(listed, n, [m["text"]])
                for name in listed:
                    if name in key.entries:
                        issues.append(Issue(n, f"`# {name}: ...` a second time above {dotted(ypath)}"))
                    key.entries[name] = entry
            elif entry is not None:
                entry.lines.append(comments[n][1])
            else:
                key.own.append(comments[n][1])
        if line in comments:
            key.own.append(comments[line][1])
        taken.update(above)
        taken.add(line)
    for n in sorted(set(comments) - taken):
        if n >= first_key:
            issues.append(Issue(n, "a comment that belongs to no key: put it on its key's line or directly above it"))
    return keys, issues


def describe(schema: dict, text: str) -> tuple[dict[Prop, str], dict[Prop, int], list[Issue]]:
    """Each schema property's description from params.yaml's comments, the line it comes from, and what is wrong."""
    keys, issues = read_docs(text, schema)
    out: dict[Prop, str] = {}
    lines: dict[Prop, int] = {}
    for path, _ in schema_properties(schema):
        if path in lines:
            continue
        ancestors = [keys[path[:i]] for i in range(len(path) - 1, 0, -1) if path[:i] in keys]
        lines[path] = keys[path].line if path in keys else ancestors[0].line if ancestors else 0
        if path in keys:
            if keys[path].text:
                out[path] = keys[path].text
            else:
                issues.append(Issue(lines[path], f"{dotted(path)} has no comment (on its line or directly above it)"))
            continue
        entry = next((k.entries[path[-1]] for k in ancestors if path[-1] in k.entries), None)
        if entry is None:
            where = f"above {dotted(ancestors[0].path)}" if ancestors else "above its section"
            issues.append(
                Issue(
                    lines[path],
                    f"{dotted(path)} has no comment (a key without a line of its own is documented "
                    f"by a `# {path[-1]}: ...` line {where})",
                )
            )
            continue
        entry.used.add(path[-1])
        out[path] = entry.text
    for key in keys.values():
        for name, entry in key.entries.items():
            if name not in entry.used:
                issues.append(
                    Issue(
                        entry.line,
                        f"`# {name}: ...` above {dotted(key.path)} documents no key "
                        f"({name} has a line of its own, or a nearer entry documents it)",
                    )
                )
    return out, lines, issues


def with_descriptions(schema: dict, descriptions: dict[Prop, str]) -> dict:
    """A copy of ``schema`` whose properties carry ``descriptions`` (first key of each)."""
    schema = copy.deepcopy(schema)
    for path, sub in schema_properties(schema):
        if path in descriptions:
            rest = [(k, v) for k, v in sub.items() if k != "description"]
            sub.clear()
            sub["description"] = descriptions[path]
            sub.update(rest)
    return schema


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _first(params: Path, issues: list[Issue]) -> str:
    first = min(issues, key=lambda i: i.line)
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return f"{params.name}:{first.line + 1}: {first.message}{more}"


def check(params: Path, schema_path: Path) -> str | None:
    """None when every property's description is its key's comment, else one line naming the first that is not."""
    schema = json.loads(schema_path.read_text())
    descriptions, lines, issues = describe(schema, params.read_text())
    for path, sub in schema_properties(schema):
        if path in descriptions and sub.get("description") != descriptions[path]:
            message = f"{dotted(path)}: the schema's description differs from the comment (run {COMMAND} --write)"
            issues.append(Issue(lines[path], message))
    return _first(params, issues) if issues else None


def write(params: Path, schema_path: Path) -> str | None:
    """Write the descriptions into the schema; None, or the first issue (then nothing is written)."""
    schema = json.loads(schema_path.read_text())
    descriptions, _, issues = describe(schema, params.read_text())
    if issues:
        return _first(params, issues)
    text = render(with_descriptions(schema, descriptions))
    if text != schema_path.read_text():
        with atomic_file(schema_path) as fh:
            fh.write(text)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write the comments into the schema's descriptions")
    mode.add_argument("--check", action="store_true", help="exit 1 when a description differs from its comment")
    parser.add_argument("--params", type=Path, default=PARAMS_PATH)
    parser.add_argument("--schema", type=Path, default=SCHEMA_PATH)
    args = parser.parse_args(argv)
    problem = (write if args.write else check)(args.params, args.schema)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
