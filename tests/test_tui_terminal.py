"""memsim interactive as a person sees it: the real command in a tmux pane (send-keys types,
capture-pane reads the screen), and after `q` a shell whose terminal is back in cooked mode.
tmux comes with `make test` (the Makefile's system-deps); this test is never skipped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEMSIM = Path(sys.executable).parent / "memsim"
PROMPT = "READY$ "


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True, timeout=10).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, pattern: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = screen(session)
        if re.search(pattern, text, re.M):
            return text
        assert time.monotonic() < deadline, f"no {pattern!r} on screen:\n{text}"
        time.sleep(0.1)


def records(text: str) -> int:
    return int(re.search(r"records\s+([\d,]+) /", text).group(1).replace(",", ""))


def test_the_real_command_in_a_terminal_and_a_clean_shell_after_q(tmp_path):
    session = f"memsim-test-{os.getpid()}"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TERM": "xterm-256color", "PS1": PROMPT,
           "LANG": "C.UTF-8"}
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "110", "-y", "34", "-c", str(tmp_path),
                    "env", "-i", *(f"{k}={v}" for k, v in env.items()), "bash", "--norc", "--noprofile"],
                   check=True, timeout=10)
    try:
        wait_for(session, re.escape(PROMPT.strip()))
        tmux("send-keys", "-t", session, f"{MEMSIM} interactive {REPO}/scenarios/fragmentation.toml --speed 10000",
             "Enter")
        first = wait_for(session, r"^ records\s+[1-9][\d,]* /")
        assert "Free memory per node" in first and "fragmentation" in first
        assert re.search(r"^ node 0\s+free\s+[\d,]+ / 32,768 pages", first, re.M)
        assert "space pause" in first and "q quit" in first           # the footer lists the keys
        time.sleep(1.0)
        assert records(screen(session)) > records(first)               # it updates live
        tmux("send-keys", "-t", session, "2")
        buddy = wait_for(session, r"^\s+node 0 Movable(\s+[\d,]+){11}\s*$")
        assert "Free blocks per order" in buddy and "Unusable free index" in buddy
        tmux("send-keys", "-t", session, "e")
        time.sleep(0.5)
        tmux("send-keys", "-t", session, "q")
        after = wait_for(session, re.escape(PROMPT.strip()) + r"\s*$")
        assert "saved out/memsim-fragmentation-grouping-on-buddy-1.svg" in after
        assert (tmp_path / "out" / "memsim-fragmentation-grouping-on-buddy-1.svg").exists()
        tmux("send-keys", "-t", session, "stty -a; echo status=$?", "Enter")
        modes = wait_for(session, r"status=0")
        assert re.search(r"(^|\s)icanon(\s|$)", modes, re.M) and re.search(r"(^|\s)echo(\s|$)", modes, re.M)
        assert "-icanon" not in modes and " -echo " not in modes and "-isig" not in modes
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)
