"""params.yaml's comments are the one documentation of its keys; the schema's descriptions are their copy
(``python -m pipelines.tools.params_schema``)."""

import json
import re
import shutil
import subprocess
import sys

import pytest

from pipelines.config import REPO_ROOT, SCHEMA_PATH
from pipelines.tools.params_schema import main

PARAMS = REPO_ROOT / "params.yaml"


def schema_nodes(node):
    """Every subschema of ``node``, whatever keyword holds it."""
    if not isinstance(node, dict):
        return
    yield node
    for key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
        for sub in (node.get(key) or {}).values():
            yield from schema_nodes(sub)
    for key in ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"):
        yield from schema_nodes(node.get(key))
    for key in ("prefixItems", "allOf", "anyOf", "oneOf"):
        for sub in node.get(key) or []:
            yield from schema_nodes(sub)


def undescribed(schema: dict) -> list[str]:
    """Properties (under ``properties`` or ``patternProperties`` anywhere) without a non-empty description."""
    missing = []
    for node in schema_nodes(schema):
        for key in ("properties", "patternProperties"):
            for name, sub in (node.get(key) or {}).items():
                text = sub.get("description") if isinstance(sub, dict) else None
                if not (isinstance(text, str) and text.strip()):
                    missing.append(name)
    return missing


def without_property_descriptions(schema: dict) -> dict:
    """``schema`` with the descriptions of its properties dropped (what --write may change)."""
    schema = json.loads(json.dumps(schema))
    for node in schema_nodes(schema):
        for key in ("properties", "patternProperties"):
            for sub in (node.get(key) or {}).values():
                if isinstance(sub, dict):
                    sub.pop("description", None)
    return schema


@pytest.fixture
def copy(tmp_path):
    """params.yaml and the schema in a scratch folder; ``edit(old_line_regex, new_line)`` changes one line."""
    params, schema = tmp_path / "params.yaml", tmp_path / "params.schema.json"
    shutil.copy(PARAMS, params)
    shutil.copy(SCHEMA_PATH, schema)

    def edit(pattern: str, replacement: str | None) -> None:
        lines = params.read_text().split("\n")
        hits = [i for i, line in enumerate(lines) if re.fullmatch(pattern, line)]
        assert len(hits) == 1, (pattern, hits)
        if replacement is None:
            del lines[hits[0]]
        else:
            lines[hits[0]] = replacement
        params.write_text("\n".join(lines))

    return params, schema, edit


def run(mode: str, params, schema, capsys) -> tuple[int, str]:
    rc = main([mode, "--params", str(params), "--schema", str(schema)])
    return rc, capsys.readouterr().err.strip()


def test_check_passes_on_the_repository():
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.tools.params_schema", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""


def test_every_schema_property_has_a_description():
    schema = json.loads(SCHEMA_PATH.read_text())
    assert undescribed(schema) == []
    # the walk reaches properties below arrays and additionalProperties (windows[].frames, generate's sizes)
    assert len(list(schema_nodes(schema))) > 250


def test_undescribed_finds_missing_descriptions():
    schema = json.loads(SCHEMA_PATH.read_text())
    del schema["properties"]["windows"]["items"]["properties"]["stride"]["description"]
    schema["properties"]["audio"]["patternProperties"] = {"^x_": {"type": "number"}}
    assert sorted(undescribed(schema)) == ["^x_", "stride"]


@pytest.mark.parametrize(
    "pattern, replacement, key",
    [
        # a key's own inline comment
        (r"  n_mfcc: 20 +# .*", "  n_mfcc: 20", "audio.n_mfcc"),
        # the `# <key>: ...` line that documents a key inside a list's flow mappings
        (r"# stride: .*", None, "windows[].stride"),
        # ... and one inside a flow mapping
        (r"  # count: such windows per anchor", None, "motionbeat.tempo_negatives.count"),
    ],
)
def test_check_fails_naming_a_key_whose_comment_was_removed(copy, capsys, pattern, replacement, key):
    params, schema, edit = copy
    assert run("--check", params, schema, capsys) == (0, "")
    edit(pattern, replacement)
    rc, err = run("--check", params, schema, capsys)
    assert rc == 1
    assert len(err.splitlines()) == 1, err
    assert f" {key} has no comment" in err, err
    # --write refuses too, and leaves the schema alone
    before = schema.read_text()
    assert run("--write", params, schema, capsys)[0] == 1
    assert schema.read_text() == before


@pytest.mark.parametrize(
    "pattern, comment, key",
    [
        (r"(  n_mels: 96 +# ).*", "mel bands, changed", "audio.n_mels"),
        (r"(# stride: ).*", "frames between window starts, changed", "windows[].stride"),
        (r"(  # gamma: ).*", "smoothing, changed", "motionbeat.sral.gamma"),
    ],
)
def test_check_fails_naming_a_key_whose_comment_changed(copy, capsys, pattern, comment, key):
    params, schema, edit = copy
    line = next(line for line in params.read_text().split("\n") if re.fullmatch(pattern, line))
    edit(pattern, re.match(pattern, line)[1] + comment)
    rc, err = run("--check", params, schema, capsys)
    assert rc == 1
    assert len(err.splitlines()) == 1, err
    assert f": {key}: the schema's description differs" in err, err
    # --write copies the new comment, changes nothing but descriptions, and --check passes again
    old = json.loads(schema.read_text())
    assert run("--write", params, schema, capsys) == (0, "")
    new = json.loads(schema.read_text())
    assert without_property_descriptions(new) == without_property_descriptions(old)
    assert json.dumps(comment) in schema.read_text()
    assert run("--check", params, schema, capsys) == (0, "")


def test_write_changes_only_descriptions(copy, capsys):
    params, schema, _ = copy
    stripped = without_property_descriptions(json.loads(schema.read_text()))
    schema.write_text(json.dumps(stripped, indent=2) + "\n")
    rc, err = run("--check", params, schema, capsys)
    assert rc == 1 and ": dataset: the schema's description differs" in err, err
    assert run("--write", params, schema, capsys) == (0, "")
    assert schema.read_text() == SCHEMA_PATH.read_text()


def test_a_comment_that_documents_nothing_fails(copy, capsys):
    params, schema, edit = copy
    # a comment line directly above no key (indented deeper than the key below it)
    edit(r"  n_fft: 2048 +# FFT window, samples", "  n_fft: 2048  # FFT window, samples\n      # stray")
    rc, err = run("--check", params, schema, capsys)
    assert rc == 1 and "a comment that belongs to no key" in err, err
    # a `# <key>: ...` line above a section for a key of it that has a line of its own
    shutil.copy(PARAMS, params)
    line = next(line for line in params.read_text().split("\n") if line.startswith("audio:"))
    edit(re.escape(line), "# n_mels: mel bands\n" + line)
    rc, err = run("--check", params, schema, capsys)
    assert rc == 1 and "`# n_mels: ...` above audio documents no key" in err, err
