"""CI's script (.ci/run): a test run that collects nothing fails, whichever half it is."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO


def run_ci_tests(tmp_path: Path, statuses: dict[str, int]) -> subprocess.CompletedProcess[str]:
    """Run .ci/run's test part (after the install) with a fake ``pytest`` that exits as told.

    ``statuses`` maps "fast" (plain ``pytest``) and "slow" (``pytest -m slow``) to exit statuses.
    """
    script = (REPO / ".ci" / "run").read_text()
    install_end = script.index("pip install --quiet -e '.[test]'\n") + len("pip install --quiet -e '.[test]'\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pytest"
    fake.write_text(f"#!/usr/bin/env bash\necho \"pytest $*\" >> {tmp_path / 'calls'}\n"
                    f"if [ \"$*\" = \"-m slow\" ]; then exit {statuses['slow']}; else exit {statuses['fast']}; fi\n")
    fake.chmod(0o755)
    test_part = tmp_path / "ci_tests.sh"
    test_part.write_text("set -euo pipefail\n" + script[install_end:])
    return subprocess.run(["bash", str(test_part)], capture_output=True, text=True, timeout=60,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin"})


@pytest.mark.parametrize("fast, slow, passes", [
    (0, 0, True),
    (5, 0, False),  # the fast suite vanished
    (0, 5, False),  # no slow test collected: a marker lost or misspelt
    (1, 0, False),
    (0, 1, False),
])
def test_ci_fails_when_a_half_of_the_suite_fails_or_collects_nothing(tmp_path, fast, slow, passes):
    done = run_ci_tests(tmp_path, {"fast": fast, "slow": slow})
    assert (done.returncode == 0) == passes, done.stderr
    calls = [line.rstrip() for line in (tmp_path / "calls").read_text().splitlines()]
    assert calls[0] == "pytest" and (calls[1:] == ["pytest -m slow"] or fast != 0)


def test_slow_tests_exist_and_markers_are_strict():
    config = (REPO / "setup.cfg").read_text()
    assert "--strict-markers" in config
    assert "@pytest.mark.slow" in (REPO / "tests" / "test_training_robustness.py").read_text()
