"""One description of a condition: classes are the one-factor case, stored with every generator."""

import numpy as np
import pytest

from condgan.conditions import CONDITION_KINDS, ConditionSpec, Factor, condition_from_json
from condgan.errors import CondganError

DIGITS = ConditionSpec.classes([str(d) for d in range(10)])
TWO = ConditionSpec((Factor("digit", ("0", "1", "2")), Factor("colour", ("red", "blue"))))
ATTRS = ConditionSpec((Factor("Smiling", ("0", "1"), binary=True), Factor("Male", ("0", "1"), binary=True)))


def test_classes_are_one_categorical_factor():
    assert DIGITS.is_classes and DIGITS.dim == 10 and DIGITS.class_names == tuple("0123456789")
    assert DIGITS.condition(np.array([[7], [2]])).tolist() == [7, 2]  # class indices, not vectors
    assert DIGITS.condition(np.array([[7]])).dtype == np.int64
    assert DIGITS.describe() == "10 classes"
    none = ConditionSpec.classes(())
    assert none.dim == 0 and not none.is_classes and none.condition(np.zeros((3, 0), np.int64)) is None
    assert none.describe() == "unconditional"
    assert not TWO.is_classes and TWO.condition(np.array([[2, 1]])).tolist() == [[0, 0, 1, 0, 1]]


def test_requests_by_label_or_attrs():
    assert DIGITS.request(label="7").tolist() == [7]
    assert DIGITS.request(attrs="class=3").tolist() == [3]
    assert TWO.request(attrs="digit=1,colour=blue").tolist() == [1, 1]
    with pytest.raises(CondganError, match=r"takes --attrs \(factors: digit, colour\), not --label"):
        TWO.request(label="1")
    with pytest.raises(CondganError, match=r"label 12 out of range"):
        DIGITS.request(label="12")
    with pytest.raises(CondganError, match=r"unconditional"):
        ConditionSpec.classes(()).request(label="1")
    with pytest.raises(CondganError, match=r"give --label or --attrs, not both"):
        DIGITS.request(label="1", attrs="class=1")
    with pytest.raises(CondganError, match=r"--attrs names colour twice"):
        TWO.request(attrs="digit=1,colour=blue,colour=red")
    with pytest.raises(CondganError, match=r"--attrs names digit twice"):
        TWO.edit("digit=1, digit =2")


def test_every_condition_and_grid_layout():
    assert DIGITS.every_condition()[:, 0].tolist() == list(range(10))
    combos = TWO.every_condition()
    assert combos.tolist() == [[d, c] for d in range(3) for c in range(2)]
    assert ConditionSpec.classes(()).every_condition().shape == (1, 0)
    with pytest.raises(CondganError, match=r"binary attributes have too many combinations"):
        ATTRS.every_condition()
    codes, per_row = DIGITS.grid_codes()
    assert per_row == 1 and codes[:, 0].tolist() == list(range(10))  # a row per class, noise in the columns
    codes, per_row = TWO.grid_codes()
    assert per_row == 2 and codes.tolist() == combos.tolist()  # digits down, colours across
    codes, per_row = ATTRS.grid_codes()
    assert per_row == 1 and codes.tolist() == [[0, 0], [1, 0], [0, 1]]  # nothing on, then each alone


def test_json_round_trip_and_the_first_formats():
    for spec in (DIGITS, TWO, ATTRS, ConditionSpec.classes(())):
        assert condition_from_json(spec.to_json()) == spec
    assert DIGITS.to_json()["kind"] == "factors" and "factors" in CONDITION_KINDS
    assert condition_from_json(None, ["cat", "dog"]) == ConditionSpec.classes(["cat", "dog"])  # class_names only
    assert condition_from_json(TWO.to_json()["factors"]) == TWO  # a bare list of factors


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "conditions.factors must be a list of"),
        ({"kind": "factors", "factors": [{"values": ["a"]}]}, "needs a name and a list of values"),
        ({"kind": "factors", "factors": [{"name": "c", "values": ["a", "a"]}]}, "needs distinct values"),
        ({"kind": "pixels"}, "unknown condition kind 'pixels'; valid: factors"),
        ("classes", "conditions must be an object with a kind"),
    ],
)
def test_malformed_conditions_are_refused_naming_the_key(data, message):
    with pytest.raises(CondganError, match=message):
        condition_from_json(data)


def test_an_image_condition_keeps_its_background_and_refuses_a_bad_one():
    from condgan.conditions import ImageCondition

    white = ImageCondition(3, 32, "edit", background=(255, 255, 255))
    assert white.to_json()["background"] == [255, 255, 255]
    assert ImageCondition.from_json(white.to_json()) == white
    plain = ImageCondition(1, 28, "superres4")
    assert "background" not in plain.to_json() and ImageCondition.from_json(plain.to_json()).background is None
    for bad in ([255, 255], [0, 0, 256], "white", [True, 0, 0]):
        with pytest.raises(CondganError, match=r"conditions.background must be \[R, G, B\] of 0..255"):
            ImageCondition.from_json({**white.to_json(), "background": bad})
