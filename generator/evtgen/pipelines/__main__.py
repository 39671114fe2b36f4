"""`python -m evtgen.pipelines [--override FILE]... [--template DIR]`: render the
pipeline model (with a platform team's overrides) into a Copier template (default:
the bundled one)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from evtgen.errors import UsageError
    from evtgen.pipelines.model import load_pipeline_model
    from evtgen.pipelines.template import write_template
    from evtgen.templates import bundled_template

    parser = argparse.ArgumentParser(prog="python -m evtgen.pipelines", description=__doc__)
    parser.add_argument(
        "--override",
        type=Path,
        action="append",
        default=[],
        help="a YAML file merged over the model (repeatable, in order)",
    )
    parser.add_argument("--actions", type=Path, help="the action pins (default: bundled)")
    parser.add_argument(
        "--template",
        type=Path,
        default=None,
        help="the Copier template to write into (default: the bundled one)",
    )
    args = parser.parse_args(argv)
    template = args.template or bundled_template()
    if not (template / "copier.yml").is_file() and not (template / "copier.yaml").is_file():
        print(
            f"evtgen: error: {template} is not a Copier template (no copier.yml)", file=sys.stderr
        )
        return 2
    try:
        model = load_pipeline_model(args.override, actions=args.actions)
        written = write_template(model, template)
    except UsageError as err:
        print("\n".join(err.lines()), file=sys.stderr)
        return err.exit_code
    print(f"wrote {len(written)} pipeline files into {template}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
