"""Where the bundled Copier template lives."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled_template() -> Path:
    """The template shipped with evtgen: `template/` beside `generator/` in a checkout
    (an editable install), else the copy the wheel carries inside the package."""
    checkout = _PACKAGE.parent.parent / "template"
    if (checkout / "copier.yml").is_file():
        return checkout
    return _PACKAGE / "template"


def sample_model_path() -> Path:
    """The model `evtgen new service` uses when it is given none. It has no `service:`,
    so it takes the NAME it is created for; its comments speak to the generated repo,
    whose model.yaml it becomes."""
    return _PACKAGE / "data" / "sample-model.yaml"


def sample_saga_path() -> Path:
    """The model `evtgen new service --pattern orchestration` uses when given none (as
    `sample_model_path`, it has no `service:`)."""
    return _PACKAGE / "data" / "sample-saga.yaml"


DEFAULT_MODEL_FILE = "default-model.yml"
_DEFAULT_MODEL_HEADER = (
    "{# The `model` answer plain Copier uses: evtgen's view of the sample model.\n"
    "   Written by `python -m evtgen.templates`; do not edit by hand. #}\n"
)


def default_model_text() -> str:
    """The template's default `model` answer: the view of the sample model, as JSON
    (which is YAML) kept out of Jinja's way, since copier.yml includes it."""
    import json

    from evtgen.loader import load_model
    from evtgen.view import model_view

    view = model_view(load_model(sample_model_path(), service="orders"))
    return _DEFAULT_MODEL_HEADER + "{% raw %}\n" + json.dumps(view, indent=1) + "\n{% endraw %}\n"


if __name__ == "__main__":
    target = bundled_template() / DEFAULT_MODEL_FILE
    target.write_text(default_model_text(), encoding="utf-8")
    print(f"wrote {target}")


def sample_system_path() -> Path:
    """The system model `evtgen new system` uses when given none (docs/system.md)."""
    return _PACKAGE / "data" / "sample-system.yaml"
