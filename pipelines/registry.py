"""Every model family, listed once.

Each family lives in ``pipelines/families/<name>/`` and declares its record
(:class:`pipelines.family.Family`) in ``family.py`` there. The DAG (:mod:`pipelines.dag`), the
summary, the model and ablation reports and ``make numbers`` loop over :data:`FAMILIES`; nothing
else spells a family's name. Adding a family is one folder and one line here (README: "Add a
model family"). Only the DAG and the cross-family stages import this module, so a family's
stages do not depend on the other families' code.
"""

from __future__ import annotations

from .config import runs
from .families.dance2music.family import FAMILY as DANCE2MUSIC
from .families.mclemcd.family import FAMILY as MCLEMCD
from .families.motionbeat.family import FAMILY as MOTIONBEAT
from .families.retrieval.family import FAMILY as RETRIEVAL
from .family import Family

#: The model families, in report order (a family scored against another's models follows it).
FAMILIES: tuple[Family, ...] = (RETRIEVAL, MOTIONBEAT, MCLEMCD, DANCE2MUSIC)


def family(name: str) -> Family:
    """The family called ``name``."""
    for f in FAMILIES:
        if f.name == name:
            return f
    raise KeyError(f"no model family {name!r} (known: {', '.join(f.name for f in FAMILIES)})")


def check_params(params: dict, *, source: str = "params.yaml") -> dict:
    """Every family's cross-key checks (after the schema's, :func:`pipelines.config.load_params`).

    Raises
    ------
    ParamsError
        One line naming the file and the key.
    """
    for f in FAMILIES:
        if f.check_params is not None:
            f.check_params(params, source)
    return params


def scored_models(params: dict) -> tuple[str, ...]:
    """The models scored by the retrieval protocol, in family order (summary and report rows)."""
    return tuple(m for f in FAMILIES if f.scored_by_retrieval for m in f.models(params))


def model_runs(params: dict, model: str) -> list[dict]:
    """The training runs of any family's model (:func:`pipelines.config.runs`)."""
    deterministic = any(model in f.deterministic for f in FAMILIES)
    return runs(params, deterministic=deterministic)
