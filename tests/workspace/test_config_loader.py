"""YAML -> dataclass loading: types, nesting, overrides and clear errors."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import pytest

from vg4d_core.config import ConfigError, apply_overrides, from_dict, load_config, to_dict


@dataclass
class Inner:
    radius: float = 0.1
    widths: list[int] = field(default_factory=lambda: [1, 2])


@dataclass
class Outer:
    name: str = "x"
    mode: Literal["a", "b"] = "a"
    inner: Inner = field(default_factory=Inner)
    seed: Optional[int] = None
    flag: bool = False


def test_roundtrip_and_int_to_float():
    cfg = from_dict(Outer, {"inner": {"radius": 1, "widths": [3]}, "seed": 4})
    assert cfg.inner.radius == 1.0 and isinstance(cfg.inner.radius, float)
    assert from_dict(Outer, to_dict(cfg)) == cfg


def test_unknown_key_names_the_key_and_the_valid_ones():
    with pytest.raises(ConfigError, match=r"inner: unknown key\(s\) \['radus'\]"):
        from_dict(Outer, {"inner": {"radus": 0.2}})


@pytest.mark.parametrize("data, msg", [
    ({"mode": "c"}, "mode: 'c' is not one of"),
    ({"flag": "yes"}, "flag: expected true/false"),
    ({"inner": {"widths": [1, "two"]}}, r"inner.widths\[1\]: expected an integer"),
    ({"inner": 3}, "inner: expected a mapping"),
])
def test_type_errors_are_named(data, msg):
    with pytest.raises(ConfigError, match=msg):
        from_dict(Outer, data)


def test_load_with_overrides(tmp_path: Path):
    p = tmp_path / "c.yaml"
    p.write_text("name: base\ninner:\n  radius: 0.5\n")
    cfg = load_config(Outer, p, ["inner.radius=0.25", "seed=7", "mode=b"])
    assert (cfg.name, cfg.inner.radius, cfg.seed, cfg.mode) == ("base", 0.25, 7, "b")


def test_bad_yaml_and_missing_file(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(Outer, bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(Outer, tmp_path / "missing.yaml")
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(Outer, lst)


def test_override_syntax_error():
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["novalue"])


def test_exponent_notation_reaches_a_float_field():
    """YAML 1.1 reads ``1e-3`` (no dot) as a string: a float field still takes it; junk is still refused."""
    from dataclasses import dataclass

    @dataclass
    class Opt:
        lr: float = 0.1

    assert from_dict(Opt, {"lr": "1e-3"}).lr == 0.001
    assert from_dict(Opt, apply_overrides({}, ["lr=2e-4"])).lr == 0.0002
    with pytest.raises(ConfigError, match="expected a number, got 'fast'"):
        from_dict(Opt, {"lr": "fast"})
