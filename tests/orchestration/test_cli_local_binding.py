"""`segments ui` and `segments mlflow` listen on localhost unless told otherwise (no server is started)."""

import os
import subprocess

import pytest
from click.testing import CliRunner

from orchestration import cli


@pytest.fixture
def captured(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setenv("SEGMENTS_HOME", str(tmp_path))
    monkeypatch.setattr("ml.registry.ensure_tracking", lambda *a, **k: None)
    monkeypatch.setattr(os, "execv", lambda path, args: calls.append(list(args)))
    real_run = subprocess.run

    def run(args, *a, **k):  # only the server start is captured; other subprocesses run as usual
        if isinstance(args, list) and str(args[0]).endswith("mlflow"):
            return calls.append(list(args))
        return real_run(args, *a, **k)

    monkeypatch.setattr(subprocess, "run", run)
    return calls


def _host(args: list[str]) -> str:
    flag = "-h" if "-h" in args else "--host"
    return args[args.index(flag) + 1]


@pytest.mark.parametrize("command", ["ui", "mlflow"])
def test_the_ui_servers_bind_to_localhost_by_default(captured, command):
    result = CliRunner().invoke(cli.main, [command])
    assert result.exit_code == 0, result.output
    assert len(captured) == 1
    assert _host(captured[0]) == "127.0.0.1"
    assert "0.0.0.0" not in captured[0]
