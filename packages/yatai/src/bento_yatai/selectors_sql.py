"""Label selectors (SPEC section 5) as SQL: one EXISTS / NOT EXISTS subquery on the indexed
label table per requirement, so the database filters and pages; no row is judged in Python."""
from __future__ import annotations

import operator
from functools import reduce
from typing import Any, Sequence

import peewee

from bento.labels import Requirement

__all__ = ["selector_condition"]

_POSITIVE = ("=", "In", "Exists")


def selector_condition(requirements: Sequence[Requirement], owner: Any, label: Any) -> Any:
    """A WHERE condition on `owner` (a model with a label table `label`: owner, key, value)
    that holds exactly when every requirement matches the owner's labels."""
    conditions = []
    for req in requirements:
        sub = label.select(peewee.SQL("1")).where((label.owner == owner.id) & (label.key == req.key))
        if req.op not in ("Exists", "DoesNotExist"):
            sub = sub.where(label.value.in_(list(req.values)))
        exists = peewee.fn.EXISTS(sub)
        conditions.append(exists if req.op in _POSITIVE else ~exists)
    return reduce(operator.and_, conditions) if conditions else peewee.SQL("1 = 1")
