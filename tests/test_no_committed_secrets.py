"""No tracked file looks like a committed secret: private keys, cloud or API tokens, passwords in URLs."""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PATTERNS = {
    "private key": re.compile(rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key id": re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(rb"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(rb"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "OpenAI-style key": re.compile(rb"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}"),
    "Google API key": re.compile(rb"\bAIza[0-9A-Za-z_-]{35}\b"),
    "password in a URL": re.compile(rb"[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:[^\s@/'\"{}$<>]{6,}@[\w.-]+"),
}


def _tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [REPO / name for name in out.decode().split("\0") if name]


def test_the_patterns_catch_what_they_are_for():
    samples = {
        "private key": b"-----BEGIN OPENSSH " + b"PRIVATE KEY-----",
        "AWS access key id": b"key = AKIA" + b"ABCDEFGHIJKLMNOP",
        "GitHub token": b"ghp_" + b"a" * 36,
        "password in a URL": b"postgresql://admin:" + b"s3cretpass@db.example.com/x",
    }
    for name, sample in samples.items():
        assert PATTERNS[name].search(sample), name


def test_no_tracked_file_looks_like_a_secret():
    found = []
    for path in _tracked_files():
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        data = path.read_bytes()
        for name, pattern in PATTERNS.items():
            if pattern.search(data):
                found.append(f"{path.relative_to(REPO)}: {name}")
    assert not found, "possible committed secrets:\n" + "\n".join(found)
