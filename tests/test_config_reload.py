"""Hot reload: what changed, and a running config that only an applied, valid file replaces."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ari_app.config import ConfigError, load_config_text
from ari_app.config.reload import ConfigHolder, diff_configs

BASE = textwrap.dedent("""\
    defaults:
      wrapup: 10
    queues:
      sales:
        ring_timeout: 20
      support:
        wrapup: 30
    operators:
      anna:
        extension: 1001
        skills: {sales: 5}
      boris:
        extension: 1002
        skills: {support: 5}
    trunks:
      main: {host: 203.0.113.10}
    """)


def config(text: str = BASE):
    return load_config_text(text, "c.yaml")


def test_identical_configs_have_an_empty_diff():
    diff = diff_configs(config(), config())
    assert diff.empty
    assert diff.summary_lines() == ["no changes"]


def test_diff_reports_added_removed_and_changed_with_fields():
    new = config(
        BASE.replace("    ring_timeout: 20", "    ring_timeout: 25\n    title: Sales")
        .replace("  support:\n    wrapup: 30\n", "  billing:\n")
        .replace("skills: {sales: 5}", "skills: {sales: 5, billing: 3}")
        .replace("  boris:\n    extension: 1002\n    skills: {support: 5}\n",
                 "  vera:\n    extension: 1003\n")
        .replace("203.0.113.10", "203.0.113.20")
    )
    diff = diff_configs(config(), new)
    assert not diff.empty
    assert diff.queues.added == ("billing",)
    assert diff.queues.removed == ("support",)
    assert dict(diff.queues.changed) == {"sales": ("title", "ring_timeout")}
    assert diff.operators.added == ("vera",)
    assert diff.operators.removed == ("boris",)
    assert dict(diff.operators.changed) == {"anna": ("skills", "queues")}
    assert dict(diff.trunks.changed) == {"main": ("host",)}
    assert diff.defaults == ()
    assert diff.summary_lines() == [
        "queue billing added",
        "queue support removed",
        "queue sales changed: title, ring_timeout",
        "operator vera added",
        "operator boris removed",
        "operator anna changed: skills, queues",
        "trunk main changed: host",
    ]


def test_a_defaults_change_shows_in_the_queues_that_inherit_it():
    diff = diff_configs(config(), config(BASE.replace("  wrapup: 10", "  wrapup: 12")))
    assert diff.defaults == ("wrapup",)
    assert dict(diff.queues.changed) == {"sales": ("wrapup",)}  # support sets its own
    assert diff.summary_lines() == ["defaults changed: wrapup", "queue sales changed: wrapup"]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "switchboard.yaml"
    p.write_text(BASE, encoding="utf-8")
    return p


def test_holder_loads_the_file_and_refuses_to_start_on_a_bad_one(path: Path):
    assert set(ConfigHolder(path).current.queues) == {"sales", "support"}
    path.write_text("queues: [\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        ConfigHolder(path)


def test_valid_change_is_applied_and_callbacks_see_old_new_and_diff(path: Path):
    holder = ConfigHolder(path)
    old = holder.current
    seen = []
    holder.on_change(lambda o, n, d: seen.append((o, n, d)))
    path.write_text(BASE.replace("wrapup: 30", "wrapup: 45"), encoding="utf-8")
    result = holder.reload()
    assert result.applied and result.problems == () and result.error is None
    assert holder.current.queues["support"].wrapup == 45
    assert len(seen) == 1
    assert seen[0][0] is old and seen[0][1] is holder.current
    assert dict(seen[0][2].queues.changed) == {"support": ("wrapup",)}
    assert result.messages() == ["queue support changed: wrapup"]


def test_invalid_file_is_refused_and_the_running_config_stays(path: Path):
    holder = ConfigHolder(path)
    running = holder.current
    calls = []
    holder.on_change(lambda *args: calls.append(args))
    path.write_text(BASE.replace("wrapup: 30", "wrapup: soon"), encoding="utf-8")
    result = holder.reload()
    assert not result.applied
    assert result.diff is None
    assert [str(p) for p in result.problems] == [
        f"{path}:7:13: queues.support.wrapup: expected a number of seconds, got 'soon'"
    ]
    assert result.messages() == [str(p) for p in result.problems]
    assert holder.current is running
    assert calls == []


def test_deleted_file_is_refused_and_the_running_config_stays(path: Path):
    holder = ConfigHolder(path)
    running = holder.current
    path.unlink()
    result = holder.reload()
    assert not result.applied
    assert "cannot read the file" in result.problems[0].message
    assert holder.current is running


def test_failing_callback_refuses_the_reload_and_rolls_back_earlier_ones(path: Path):
    holder = ConfigHolder(path)
    running = holder.current
    log = []

    @holder.on_change
    def engine(old, new, diff):
        log.append(("engine", old.queues["support"].wrapup, new.queues["support"].wrapup))

    @holder.on_change
    def gateway(old, new, diff):
        raise RuntimeError("gateway is down")

    path.write_text(BASE.replace("wrapup: 30", "wrapup: 45"), encoding="utf-8")
    result = holder.reload()
    assert not result.applied
    assert "gateway" in result.error and "gateway is down" in result.error
    assert result.diff is not None and not result.diff.empty
    assert holder.current is running
    assert log == [("engine", 30, 45), ("engine", 45, 30)]  # applied, then undone


def test_unchanged_file_reloads_without_calling_back(path: Path):
    holder = ConfigHolder(path)
    calls = []
    holder.on_change(lambda *args: calls.append(args))
    result = holder.reload()
    assert result.applied and result.diff.empty
    assert calls == []


def test_changed_on_disk_follows_the_last_version_read(path: Path):
    holder = ConfigHolder(path)
    assert not holder.changed_on_disk()
    path.write_text(BASE + "# edited\n", encoding="utf-8")
    assert holder.changed_on_disk()
    holder.reload()
    assert not holder.changed_on_disk()
    path.write_text(BASE + "oops: [\n", encoding="utf-8")
    assert holder.changed_on_disk()
    assert not holder.reload().applied
    assert not holder.changed_on_disk()  # a refused version is not retried until edited again
