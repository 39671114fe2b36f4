"""The scenarios a generated orchestrator's tests run (docs/saga.md, "The generated
tests"), computed here so the tests read as literals."""

from __future__ import annotations

from typing import Any

from evtgen.model import Saga, snake


def saga_scenarios(saga: Saga) -> list[dict[str, Any]]:
    """What the generated tests run: the happy path, a failure at each step that can
    fail, a timeout at each step. `outcomes` is how each participant answers, in
    step order ("success", "failure" or "silent", which ends it); `sent` is the
    names of what the orchestrator must send, in order. `broker` marks the few also
    run against a real broker: the happy path and the last failure and timeout,
    which undo the most."""
    names = [step.command.name for step in saga.steps]
    scenarios = [
        {
            "id": "happy-path",
            "outcomes": ["success"] * len(saga.steps),
            "sent": names + ([saga.completed] if saga.completed else []),
            "broker": True,
        }
    ]
    for ending in ("failure", "silent"):
        ends = [
            (i, step) for i, step in enumerate(saga.steps) if ending == "silent" or step.failure
        ]
        for index, step in ends:
            undone = [s.compensation.name for s in reversed(saga.steps[:index]) if s.compensation]
            scenarios.append(
                {
                    "id": f"{'failure' if ending == 'failure' else 'timeout'}-at-"
                    + snake(step.name).replace("_", "-"),
                    "outcomes": ["success"] * index + [ending],
                    "sent": names[: index + 1] + undone + ([saga.failed] if saga.failed else []),
                    "broker": (index, step) == ends[-1],
                }
            )
    return scenarios
