"""The pipeline model and its renderers to GitHub Actions and Tekton.

The template cannot call Python (it must stay plain Copier), so the renders are
written into the template ahead of time (`python -m evtgen.pipelines`): each
generated pipeline file becomes a template file in which only the service's own
values (its name, its Python version) are left to Copier, and files that differ
by broker are kept once per broker. `copier copy` and `evtgen new` therefore write
exactly what `render()` gives for the same answers (a test checks it).
"""

from __future__ import annotations

from evtgen.pipelines.context import Context
from evtgen.pipelines.model import PipelineModel, load_pipeline_model

CI_CHOICES = ("github", "tekton", "both", "none")
TARGETS = {"github": ("github",), "tekton": ("tekton",), "both": ("github", "tekton"), "none": ()}


def render(model: PipelineModel, ci: str, ctx: Context) -> dict[str, str]:
    """Every pipeline file for the `ci` answer: path in the repo -> text."""
    from evtgen.pipelines.github import render_github
    from evtgen.pipelines.tekton import render_tekton

    files: dict[str, str] = {}
    for target in TARGETS[ci]:
        files.update(render_github(model, ctx) if target == "github" else render_tekton(model, ctx))
    return files


__all__ = ["CI_CHOICES", "Context", "PipelineModel", "load_pipeline_model", "render"]
