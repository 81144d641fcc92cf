"""A campaign script's placeholders are checked against the contacts' fields when the
script or the contacts arrive (import, campaign edit), so that an operator never reads
an unfilled ``{ФИО}`` to a customer."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ari_app.campaigns.script import placeholders, script_warnings
from ari_app.cli import main
from center_support import settings_file
from test_cli_import import contacts
from tui.model import fill_script


def test_placeholders_are_listed_once_in_order_and_escaped_braces_are_none() -> None:
    assert placeholders("Hello {name}, {Город}! {{not one}} {name}") == ["name", "Город"]
    assert placeholders("Hello {name") is None


def test_the_built_in_fields_and_the_files_columns_raise_no_warning() -> None:
    assert script_warnings("Hello {name} ({phone}), {campaign}: {Город}", ["Город"]) == []
    assert script_warnings(None, []) == []


def test_a_column_read_as_the_name_is_named_with_what_to_write_instead() -> None:
    warnings = script_warnings("Hello {ФИО} from {Город}", ["Город"], {"ФИО": "name", "Телефон": "phone"})

    assert warnings == ["script placeholder {ФИО}: that column is the contact's name; write {name}"]


def test_an_unknown_placeholder_lists_the_fields_there_are() -> None:
    (warning,) = script_warnings("Hello {nmae}", ["Город"])

    assert "{nmae} matches no contact field" in warning
    assert "{name}, {phone}, {campaign}, {Город}" in warning


def test_a_stray_brace_is_reported_because_the_console_then_shows_the_script_unfilled() -> None:
    (warning,) = script_warnings("Hello {name", [])

    assert "stray" in warning
    assert fill_script("Hello {name", {"name": "Ivan"}) == "Hello {name"  # what the operator would see


def test_import_warns_about_a_placeholder_its_contacts_cannot_fill(tmp_path: Path) -> None:
    script = tmp_path / "script.md"
    script.write_text("Добрый день, {ФИО}! Вы из города {Город}? {Тариф}", encoding="utf-8")

    result = CliRunner().invoke(main, ["import", str(contacts(tmp_path)), "--campaign", "spring", "--script",
                                       str(script), "--server", str(settings_file(tmp_path))])

    assert result.exit_code == 0, result.output
    assert "warning: script placeholder {ФИО}: that column is the contact's name; write {name}" in result.output
    assert "{Тариф} matches no contact field" in result.output
    assert result.output.count("warning:") == 2  # {Город} is the file's column: filled


def test_campaign_edit_warns_about_the_new_scripts_unknown_placeholders(tmp_path: Path) -> None:
    server = str(settings_file(tmp_path))
    assert CliRunner().invoke(main, ["import", str(contacts(tmp_path)), "--campaign", "spring",
                                     "--server", server]).exit_code == 0
    script = tmp_path / "script.md"
    script.write_text("Hello {name} from {Город}, about {plan}", encoding="utf-8")

    result = CliRunner().invoke(main, ["campaign", "edit", "spring", "--script", str(script), "--server", server])

    assert result.exit_code == 0, result.output
    assert "script: replaced" in result.output
    assert result.output.count("warning:") == 1
    assert "{plan} matches no contact field (fields: {name}, {phone}, {campaign}, {Город})" in result.output
