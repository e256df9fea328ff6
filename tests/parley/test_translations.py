"""The shipped French catalogs are complete and compiled: every string the code, templates
and static/js mark for translation has a French one, and each committed .mo says what its .po
says (a fresh clone serves French without gettext tools)."""

import ast
import gettext
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

LOCALE = Path(settings.BASE_DIR) / "locale"
DOMAINS = ("django", "djangojs")
# As `make messages`: the code Parley ships, not its tests, tools or vendored files.
IGNORE = [
    ".venv",
    "tests",
    "bench",
    "chaos",
    "scripts",
    "staticfiles",
    "node_modules",
    "static/vendor",
]


def read_po(path: Path) -> dict[str, dict]:
    """msgid (with "\\x04" context and "\\x00" plural joins, as gettext keys them) ->
    {"strings": [msgstr, ...], "fuzzy": bool}. The header (msgid "") is left out."""
    entries: dict[str, dict] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, list[str]] = {}
        current = None
        fuzzy = False
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and current:
                fields[current].append(ast.literal_eval(line))
            elif " " in line:
                current, value = line.split(" ", 1)
                fields[current] = [ast.literal_eval(value)]
        if not fields.get("msgid") or "".join(fields["msgid"]) == "":
            continue
        key = "".join(fields["msgid"])
        if "msgid_plural" in fields:
            key += "\x00" + "".join(fields["msgid_plural"])
        if "msgctxt" in fields:
            key = "".join(fields["msgctxt"]) + "\x04" + key
        strings = [
            "".join(value) for name, value in sorted(fields.items()) if name.startswith("msgstr")
        ]
        entries[key] = {"strings": strings, "fuzzy": fuzzy}
    return entries


def copy_sources(target: Path) -> None:
    """The files makemessages reads, copied: it writes each catalog next to the sources it
    scans (and its work files next to the templates), so it must never scan the real tree."""
    base = Path(settings.BASE_DIR)
    kept = {".py", ".html", ".txt", ".js"}

    def ignore(directory: str, names: list[str]) -> list[str]:
        return [
            name
            for name in names
            if name == "__pycache__"
            or ((Path(directory) / name).is_file() and Path(name).suffix not in kept)
        ]

    skipped = {*IGNORE, "locale"}
    for entry in base.iterdir():
        if entry.is_dir() and not entry.name.startswith(".") and entry.name not in skipped:
            shutil.copytree(entry, target / entry.name, ignore=ignore)
    shutil.copytree(base / "locale", target / "locale")


@pytest.mark.skipif(not shutil.which("xgettext"), reason="needs GNU gettext (xgettext)")
def test_every_marked_string_has_a_french_translation(tmp_path, monkeypatch):
    """Run makemessages over a copy of the sources and catalogs: a string marked since the
    last `make messages`, or left untranslated or fuzzy, is listed."""
    copy_sources(tmp_path)
    monkeypatch.chdir(tmp_path)

    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]):
        for domain in DOMAINS:
            call_command(
                "makemessages",
                locale=["fr"],
                domain=domain,
                ignore_patterns=[*IGNORE, "static/vendor/*"],
                no_obsolete=True,
                verbosity=0,
            )

    missing = {
        domain: sorted(
            msgid.split("\x00")[0]
            for msgid, entry in read_po(tmp_path / f"locale/fr/LC_MESSAGES/{domain}.po").items()
            if entry["fuzzy"] or not all(entry["strings"])
        )
        for domain in DOMAINS
    }
    assert missing == {"django": [], "djangojs": []}, (
        "Untranslated strings: run `make messages`, translate them in "
        "locale/fr/LC_MESSAGES/*.po, then `make messages` again to compile."
    )


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_compiled_catalog_says_what_its_source_says(domain):
    source = read_po(LOCALE / f"fr/LC_MESSAGES/{domain}.po")
    with open(LOCALE / f"fr/LC_MESSAGES/{domain}.mo", "rb") as compiled_file:
        compiled = gettext.GNUTranslations(compiled_file)._catalog

    expected = {}
    for msgid, entry in source.items():
        if entry["fuzzy"]:
            continue  # msgfmt leaves fuzzy entries out
        if "\x00" in msgid:
            for index, string in enumerate(entry["strings"]):
                expected[(msgid.split("\x00")[0], index)] = string
        else:
            expected[msgid] = entry["strings"][0]
    shipped = {key: value for key, value in compiled.items() if key != ""}
    assert shipped == expected, "Run `make messages` to compile the .mo files."
    assert len(expected) > {"django": 250, "djangojs": 50}[domain]


def test_the_javascript_catalog_speaks_french_to_a_french_agent(client, agent):
    from core.models import AgentProfile

    AgentProfile.objects.filter(user=agent).update(language="fr")
    client.force_login(agent)

    script = client.get("/jsi18n/").content.decode()

    assert '"Network error; try again": "Erreur r\\u00e9seau ; r\\u00e9essayez"' in script


def test_each_language_has_its_own_catalog_url_that_browsers_revalidate(client, agent):
    from core.models import AgentProfile

    AgentProfile.objects.filter(user=agent).update(language="fr")
    client.force_login(agent)

    page = client.get("/inbox/").content.decode()
    catalog = client.get("/jsi18n/?lang=fr")
    again = client.get("/jsi18n/?lang=fr", HTTP_IF_MODIFIED_SINCE=catalog["Last-Modified"])

    assert '<script src="/jsi18n/?lang=fr" defer></script>' in page
    assert "no-cache" in catalog["Cache-Control"] and "private" in catalog["Cache-Control"]
    assert again.status_code == 304
