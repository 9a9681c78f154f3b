"""params.yaml is read once into typed objects that refuse what they do not know, naming the full key."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest
import yaml

from risk.config import Params, load_params
from risk.exceptions import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def blocks(cls: type = Params, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every params block (a dataclass section), as a key path: (), ('simulate',), ('simulate', 'shock')..."""
    out = [prefix]
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            out += blocks(hints[f.name], (*prefix, f.name))
    return out


def write(tmp_path: Path, raw: dict) -> Path:
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


def committed() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def test_the_committed_params_load() -> None:
    load_params(ROOT / "params.yaml")


@pytest.mark.parametrize("path", blocks(), ids=lambda p: ".".join(p) or "top")
def test_a_typo_in_any_block_is_refused_by_its_full_key(tmp_path: Path, path: tuple[str, ...]) -> None:
    raw = committed()
    node = raw
    for key in path:
        node = node.setdefault(key, {})
    node["tpyo"] = 1
    with pytest.raises(ConfigError, match=r"\b" + ".".join((*path, "tpyo")).replace(".", r"\.")):
        load_params(write(tmp_path, raw))


def test_a_missing_params_file_is_an_error_not_the_defaults(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("capacity", {"lawyer_letter": 40}, r"score\.capacity\.lawyer_letter"),
        ("capacity", {"sms": "lots"}, r"score\.capacity\.sms: expected an integer"),
        ("uplift", {"call": "high"}, r"score\.uplift\.call: expected a number"),
    ],
)
def test_a_channel_mapping_refuses_unknown_channels_and_bad_values(tmp_path, section, value, message) -> None:
    raw = committed()
    raw["score"][section] = value
    with pytest.raises(ConfigError, match=message):
        load_params(write(tmp_path, raw))


def test_a_partial_channel_mapping_keeps_the_other_channels(tmp_path: Path) -> None:
    raw = committed()
    raw["score"]["capacity"] = {"call": 50}
    capacity = load_params(write(tmp_path, raw)).score.capacity
    assert capacity["call"] == 50 and capacity["sms"] == Params().score.capacity["sms"]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("train", "windows", "valid_months"), -3, r"train\.windows\.valid_months: must be > 0"),
        (("simulate", "shock", "end"), "2023-01-01", r"simulate\.shock: end 2023-01-01 is before start"),
        (("train", "cure", "max_depth"), 40, r"train\.cure: max_depth"),
        (("train", "pd", "learning_rate"), 5.0, r"train\.pd: learning_rate"),
    ],
)
def test_bad_values_are_refused_naming_their_block(tmp_path, path, value, message) -> None:
    raw = committed()
    node = raw
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=message):
        load_params(write(tmp_path, raw))
