import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bento.deployer import validate_deployment_name
from bento.exceptions import InvalidArgument
from bento.labels import matches, parse_selector, validate_labels, validate_name, validate_version


@pytest.mark.parametrize("labels", [{"a": "b"}, {"framework": "sklearn", "stage": "prod-1.2_x"}, {"k" * 63: "v" * 63}])
def test_valid_labels_pass(labels):
    assert validate_labels(labels) == labels


@pytest.mark.parametrize("labels, bad", [
    ({"-a": "b"}, "-a"), ({"a": "b-"}, "b-"), ({"a b": "c"}, "a b"), ({"k" * 64: "v"}, "k" * 64),
    ({"a": ""}, "''"), ({"a": 1}, "1"), ({"ü": "x"}, "ü"), ({"a": "b\n"}, "b\\n"),
])
def test_invalid_labels_are_rejected_naming_the_bad_part(labels, bad):
    with pytest.raises(InvalidArgument, match="invalid label") as e:
        validate_labels(labels)
    assert bad.strip("'") in str(e.value)


def test_selector_grammar_covers_every_operator():
    labels = {"env": "prod", "team": "ml", "tier": "gold"}
    assert matches(parse_selector("env=prod"), labels)
    assert not matches(parse_selector("env!=prod"), labels)
    assert matches(parse_selector("env In (prod, qa), team notin (web)"), labels)
    assert matches(parse_selector("tier Exists, owner DoesNotExist"), labels)
    assert matches(parse_selector("tier"), labels)
    assert not matches(parse_selector("owner"), labels)
    assert matches(parse_selector("env IN (prod)"), labels)  # operators are case-insensitive


def test_later_equality_for_the_same_key_replaces_the_earlier_one():
    reqs = parse_selector("env=qa, env=prod")
    assert [str(r) for r in reqs] == ["env=prod"]
    assert matches(reqs, {"env": "prod"})


@pytest.mark.parametrize("text, where", [
    ("env In ()", "empty value list at position 9"),
    ("env=prod team=ml", "position 10"),
    ("env In (a", "unexpected end"),
    ("=prod", "position 1"),
    ("env ~ x", "unexpected character at position 5"),
    ("env Is prod", "expected =, !=, In, NotIn, Exists or DoesNotExist"),
    ("", "empty selector"),
])
def test_malformed_selector_points_at_the_bad_part(text, where):
    with pytest.raises(InvalidArgument, match="malformed label selector") as e:
        parse_selector(text)
    assert where in str(e.value)
    assert "\n" not in str(e.value)


def test_long_rejected_values_are_cut_in_messages():
    from bento.labels import validate_name, validate_version

    for check in (validate_name, validate_version, lambda v: validate_labels({v: "x"})):
        with pytest.raises(InvalidArgument) as e:
            check("a/" * 5000)
        assert len(str(e.value)) < 300 and "(10000 characters)" in str(e.value)


# Every word a user, an author or a registry client gives: its rule (as a full match) and its check.
_LABEL_RULE = r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"
_WORDS = {
    "label key": (_LABEL_RULE, lambda word: validate_labels({word: "v"})),
    "label value": (_LABEL_RULE, lambda word: validate_labels({"k": word})),
    "bundle name": (r"[A-Za-z_][A-Za-z0-9_]{0,127}", validate_name),
    "version": (r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", validate_version),
    "deployment name": (_LABEL_RULE, validate_deployment_name),
}


@pytest.mark.parametrize("kind", sorted(_WORDS))
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_a_word_that_passes_fails_with_a_newline_after_it(kind, data):
    """`$` also matches before a string's last newline: "v1\\n" must not pass as a version (it would
    name a folder of the repository), nor "ml\\n" as a label value stored by the registry."""
    rule, check = _WORDS[kind]
    word = data.draw(st.from_regex(rule, fullmatch=True).filter(lambda w: ".." not in w))
    check(word)
    for suffix in ("\n", "\r\n", " "):
        with pytest.raises(InvalidArgument):
            check(word + suffix)
