"""The fleet page, as headless Chromium shows it: rows, sorting and filtering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import rendered_dom

from evtgen.fleet_page import FleetRow, LayerRow, fleet_page

BUNDLED = "evtgen:bundled"


def layer(
    version: str, newest: str, template: str = BUNDLED, answers: str = ".copier-answers.yml"
) -> LayerRow:
    return LayerRow(template=template, answers_file=answers, version=version, newest=newest)


FLEET = [
    FleetRow("/srv/orders", "up to date", [layer("v0.2.0", "v0.2.0")]),
    FleetRow(
        "/srv/payments",
        "behind",
        [
            layer("v0.1.0", "v0.2.0"),
            layer("v1.0", "v1.0", "https://git.acme/sec", ".copier-answers.sec.yml"),
        ],
    ),
    FleetRow(
        "/srv/<b>shipping</b>", "failed", detail="not a generated repo: no .copier-answers.yml"
    ),
    FleetRow(
        "/srv/billing",
        "drifted",
        [layer("v0.2.0", "v0.2.0")],
        ["changed: Dockerfile", "missing: README.md"],
    ),
]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fleet") / "fleet.html"
    path.write_text(fleet_page(FLEET), encoding="utf-8")
    return path


def repos_shown(dom: str) -> list[str]:
    body = dom.split('<tbody id="rows">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr[^>]*><td>([^<]*)</td>", body)


def test_every_repo_is_listed_with_its_layers_and_status(page: Path) -> None:
    dom = rendered_dom(page)
    assert repos_shown(dom) == [
        "/srv/orders",
        "/srv/payments",
        "/srv/&lt;b&gt;shipping&lt;/b&gt;",
        "/srv/billing",
    ]
    assert "4 of 4 shown" in dom
    assert "<code>v0.1.0</code> → <code>v0.2.0</code>" in dom
    assert "(.copier-answers.sec.yml)" in dom
    assert "not a generated repo" in dom
    table = dom.split('<tbody id="rows">', 1)[1].split("</tbody>", 1)[0]
    assert "<b>" not in table  # names are text, never markup
    assert "1 up to date · 1 behind · 1 drifted · 0 behind and drifted · 1 failed" in dom


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("status=behind", ["/srv/payments"]),
        ("q=dockerfile", ["/srv/billing"]),
        ("q=acme", ["/srv/payments"]),
        (
            "sort=repo",
            ["/srv/&lt;b&gt;shipping&lt;/b&gt;", "/srv/billing", "/srv/orders", "/srv/payments"],
        ),
        (
            "sort=drift&dir=desc",
            ["/srv/billing", "/srv/orders", "/srv/payments", "/srv/&lt;b&gt;shipping&lt;/b&gt;"],
        ),
        ("status=failed&q=orders", []),
    ],
)
def test_the_view_in_the_address_sorts_and_filters(
    page: Path, fragment: str, expected: list[str]
) -> None:
    dom = rendered_dom(page, fragment)
    assert repos_shown(dom) == expected
    assert f"{len(expected)} of 4 shown" in dom


def test_without_javascript_the_page_still_lists_every_repo() -> None:
    # the rows are in the page as written, before any script runs
    assert repos_shown(fleet_page(FLEET)) == [
        "/srv/orders",
        "/srv/payments",
        "/srv/&lt;b&gt;shipping&lt;/b&gt;",
        "/srv/billing",
    ]
