"""Rule adapters' shared logging: an uncaught exception lands in the job's log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path



def test_uncaught_exception_is_written_to_the_rule_log(tmp_path: Path) -> None:
    log_file = tmp_path / "rule.log"
    code = (
        "import types\n"
        "from forge.rules import setup_rule_logging\n"
        f"smk = types.SimpleNamespace(log=[{str(log_file)!r}])\n"
        "setup_rule_logging(smk, 'demo_rule').info('started')\n"
        "raise ValueError('counts.csv: column EGFR is not numeric')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert "ValueError: counts.csv: column EGFR is not numeric" in result.stderr  # still on stderr
    text = log_file.read_text()
    assert "demo_rule INFO started" in text
    assert "demo_rule failed: counts.csv: column EGFR is not numeric" in text
    assert "Traceback (most recent call last)" in text
