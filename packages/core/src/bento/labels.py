"""Label rules and the label-selector grammar of BentoML 0.13 (SPEC §5)."""
from __future__ import annotations

import re
from typing import Mapping, Optional, Sequence

import attrs

from .exceptions import InvalidArgument

__all__ = ["validate_labels", "validate_name", "validate_version", "is_label_word", "is_name", "Requirement",
           "parse_selector", "matches"]

# Rules for whole strings, always applied with fullmatch: `$` also matches before a last newline.
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
OPERATORS = ("=", "!=", "In", "NotIn", "Exists", "DoesNotExist")


def _shown(value: object) -> str:
    """A rejected value as quoted in an error: long ones cut, so a message stays one readable line."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}... ({len(str(value))} characters)"


def is_label_word(value: object) -> bool:
    """A label key or value, and every word named by the same rule (deployment names, registry
    words): up to 63 letters, digits and -_. with a letter or digit at both ends."""
    return isinstance(value, str) and _LABEL.fullmatch(value) is not None


def is_name(value: object) -> bool:
    """A Python identifier of at most 128 ASCII characters: bundle, API and artifact names."""
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


def _check_label_part(what: str, value: object) -> str:
    if not is_label_word(value):
        raise InvalidArgument(
            f"invalid label {what} {_shown(value)}: up to 63 characters, letters or digits at both ends, "
            "only letters, digits and -_. between"
        )
    return value


def validate_labels(labels: Optional[Mapping[str, str]]) -> dict:
    """A copy of `labels` if every key and value follows the label rules, else InvalidArgument."""
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise InvalidArgument(f"labels must be a dict of str to str, got {type(labels).__name__}")
    return {_check_label_part("key", k): _check_label_part("value", v) for k, v in labels.items()}


def validate_name(name: str) -> str:
    if not is_name(name):
        raise InvalidArgument(f"invalid bundle name {_shown(name)}: a Python identifier of at most 128 characters")
    return name


def validate_version(version: str) -> str:
    if not isinstance(version, str) or not _VERSION.fullmatch(version) or ".." in version:
        raise InvalidArgument(
            f"invalid version {_shown(version)}: at most 128 letters, digits and ._- (starting with a letter or digit)"
        )
    return version


@attrs.frozen
class Requirement:
    key: str
    op: str
    values: tuple = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "Exists":
            return present
        if self.op == "DoesNotExist":
            return not present
        if self.op in ("=", "In"):
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values  # != and NotIn

    def __str__(self) -> str:
        if self.op in ("Exists", "DoesNotExist"):
            return f"{self.key} {self.op}"
        if self.op in ("=", "!="):
            return f"{self.key}{self.op}{self.values[0]}"
        return f"{self.key} {self.op} ({', '.join(self.values)})"


_TOKEN = re.compile(r"\s*(?:(?P<op>!=|=|\(|\)|,)|(?P<word>[A-Za-z0-9._-]+))")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                self.fail(pos + (len(text[pos:]) - len(text[pos:].lstrip())), "unexpected character")
            kind = "op" if m.group("op") else "word"
            start = m.start(kind)
            self.tokens.append((kind, m.group(kind), start))
            pos = m.end()
        self.i = 0

    def fail(self, pos: int, why: str) -> None:
        near = self.text[pos:pos + 12] or "<end>"
        raise InvalidArgument(f"malformed label selector {self.text!r}: {why} at position {pos + 1} (near {near!r})")

    def peek(self) -> Optional[tuple]:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple:
        tok = self.peek()
        if tok is None:
            self.fail(len(self.text), "unexpected end")
        self.i += 1
        return tok  # type: ignore[return-value]

    def requirement(self) -> Requirement:
        kind, key, pos = self.take()
        if kind != "word":
            self.fail(pos, f"expected a label key, got {key!r}")
        if not is_label_word(key):
            self.fail(pos, f"invalid label key {key!r}")
        tok = self.peek()
        if tok is None or tok[1] == ",":
            return Requirement(key, "Exists")
        kind, word, pos = self.take()
        if word in ("=", "!="):
            vkind, value, vpos = self.take()
            if vkind != "word" or not is_label_word(value):
                self.fail(vpos, f"invalid label value {value!r}")
            return Requirement(key, word, (value,))
        op = {o.lower(): o for o in OPERATORS}.get(word.lower()) if kind == "word" else None
        if op in ("Exists", "DoesNotExist"):
            return Requirement(key, op)
        if op in ("In", "NotIn"):
            return Requirement(key, op, self.value_list())
        self.fail(pos, f"expected =, !=, In, NotIn, Exists or DoesNotExist after {key!r}, got {word!r}")
        raise AssertionError  # unreachable: fail raises

    def value_list(self) -> tuple:
        kind, word, pos = self.take()
        if word != "(":
            self.fail(pos, "expected '(' to open a value list")
        values: list[str] = []
        while True:
            kind, word, pos = self.take()
            if word == ")" and not values:
                self.fail(pos, "empty value list")
            if kind != "word" or not is_label_word(word):
                self.fail(pos, f"expected a label value, got {word!r}")
            values.append(word)
            kind, word, pos = self.take()
            if word == ")":
                return tuple(values)
            if word != ",":
                self.fail(pos, "expected ',' or ')' in value list")

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        if not self.tokens:
            self.fail(0, "empty selector")
        while True:
            reqs.append(self.requirement())
            tok = self.peek()
            if tok is None:
                break
            if tok[1] != ",":
                self.fail(tok[2], f"expected ',' between requirements, got {tok[1]!r}")
            self.take()
        return reqs


def parse_selector(text: str) -> list[Requirement]:
    """Requirements from `key=value, key In (a, b), key Exists, ...`; a later `key=value`
    for the same key replaces an earlier one."""
    reqs = _Parser(text).parse()
    out: list[Requirement] = []
    for r in reqs:
        if r.op == "=":
            out = [x for x in out if not (x.key == r.key and x.op == "=")]
        out.append(r)
    return out


def matches(requirements: Sequence[Requirement], labels: Mapping[str, str]) -> bool:
    return all(r.matches(labels) for r in requirements)
