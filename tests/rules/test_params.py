"""Rule parameters from YAML: defaults, per-store overrides, and errors that name the file,
the store, the rule and the field."""

from pathlib import Path

import pytest

from rules.params import RulesConfig
from storesense.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sample_file_loads() -> None:
    config = RulesConfig.load(ROOT / "deploy" / "rules.yaml")
    assert config.params_for("flagship").member_arrived.tiers is None
    assert config.params_for("other").member_arrived.tiers == ["silver", "gold", "platinum"]
    assert config.params_for("flagship").traffic_surge.staff_on_shift == 4
    assert {rule.id for rule in config.custom_for("flagship")} == {
        "busy-fitting-rooms", "platinum-at-checkout"
    }  # fmt: skip


def test_no_file_means_built_in_defaults() -> None:
    params = RulesConfig.load(None).params_for("s1")
    assert params.member_returning.absent_days == 60 and params.timezone == "UTC"


def test_store_sections_override_defaults_field_by_field(tmp_path: Path) -> None:
    config = RulesConfig.load(write(tmp_path, """
defaults:
  traffic_surge: {factor: 3, min_entries: 20}
stores:
  s2:
    traffic_surge: {factor: 1.5}
"""))  # fmt: skip
    assert config.params_for("s1").traffic_surge.factor == 3
    s2 = config.params_for("s2").traffic_surge
    assert (s2.factor, s2.min_entries) == (1.5, 20)
    api = config.params_for("s2", {"traffic_surge": {"min_entries": 5}}).traffic_surge
    assert (api.factor, api.min_entries) == (1.5, 5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "stores:\n  flagship:\n    traffic_surge: {factor: -1}\n",
            ", store `flagship`, rule `traffic_surge`, field `factor`: "
            "Input should be greater than 1 (got -1)",
        ),
        (
            "defaults:\n  fitting_room_unattended: {after_minutes: 5}\n",
            ", defaults, rule `fitting_room_unattended`, field `after_minutes`: "
            "Extra inputs are not permitted",
        ),
        ("defaults:\n  no_such_rule: {}\n", ", defaults, field `no_such_rule`: Extra inputs"),
        ("defaults:\n  timezone: Mars/Olympus\n", "unknown time zone 'Mars/Olympus'"),
        (
            "custom:\n  - id: x\n    when: {type: rfid.tag}\n    title: {en: 'Hi $who', zh-CN: 'x'}\n"
            "    body: {en: b, zh-CN: b}\n",
            "custom rule #1, field `title.en`: Value error, unknown placeholders ['who']",
        ),
        (
            "custom:\n  - id: x\n    when: {fields: [{field: count, op: gt, value: many}]}\n"
            "    title: {en: t, zh-CN: t}\n    body: {en: b, zh-CN: b}\n",
            "custom rule #1, field `when.fields.0`: Value error, `gt` needs a number, got 'many'",
        ),
        ("defaults: [1, 2]\n", "field `defaults`: Input should be a valid dictionary"),
        ("defaults: {member_arrived: {tiers: [gold]}\n", "is not valid YAML"),
    ],
    ids=[
        "bad-value",
        "unknown-field",
        "unknown-rule",
        "timezone",
        "placeholder",
        "op-type",
        "shape",
        "yaml",
    ],
)
def test_errors_name_the_file_store_rule_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        RulesConfig.load(path)
    assert f"rules file {path}" in str(caught.value)
    assert message in str(caught.value)


def test_duplicate_custom_rule_ids_are_refused(tmp_path: Path) -> None:
    rule = (
        "  - id: twice\n    when: {}\n    title: {en: t, zh-CN: t}\n    body: {en: b, zh-CN: b}\n"
    )
    with pytest.raises(ConfigError, match=r"custom rule ids must be unique: \['twice'\]"):
        RulesConfig.load(write(tmp_path, "custom:\n" + rule + rule))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"rules file .*nope.yaml does not exist"):
        RulesConfig.load(tmp_path / "nope.yaml")
