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


def test_every_job_holds_blas_to_its_declared_threads(tmp_path: Path) -> None:
    """setup_rule_logging (called by every adapter) limits numpy's and scipy's BLAS to the
    rule's threads for the whole job: figures drew different pixels with 1 and 2 BLAS threads."""
    code = (
        "import types, json\n"
        "from threadpoolctl import threadpool_info\n"
        "from forge.rules import setup_rule_logging\n"
        f"smk = types.SimpleNamespace(log=[{str(tmp_path / 'rule.log')!r}], threads=1)\n"
        "setup_rule_logging(smk, 'demo_rule')\n"
        "print(json.dumps([(i['internal_api'], i['filepath'], i['num_threads']) for i in threadpool_info()]))\n"
    )
    import json
    import os

    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    pools = json.loads(result.stdout.strip().splitlines()[-1])
    blas = [p for p in pools if p[0] in ("openblas", "mkl", "blis")]
    assert len(blas) >= 2  # numpy's and scipy's
    assert {threads for _, _, threads in blas} == {1}, pools


def test_every_job_logs_its_start_up_cost(tmp_path: Path) -> None:
    """The first log line says what the job cost before its work (the paper-scale benchmark sums it):
    CPU seconds so far, and the wall time since the process began, which includes a planted sleep."""
    import re

    from forge.rules import STARTUP_MESSAGE

    log_file = tmp_path / "rule.log"
    code = (
        "import time, types\n"
        "time.sleep(0.6)\n"  # wall time, not CPU
        "from forge.rules import setup_rule_logging\n"
        f"smk = types.SimpleNamespace(log=[{str(log_file)!r}], threads=1)\n"
        "setup_rule_logging(smk, 'demo_rule')\n"
    )
    started = __import__("time").monotonic()
    subprocess.run([sys.executable, "-c", code], check=True)
    elapsed = __import__("time").monotonic() - started
    pattern = re.escape(STARTUP_MESSAGE).replace(re.escape("%.3f"), r"([0-9.]+)")
    match = re.search(pattern, log_file.read_text())
    assert match, log_file.read_text()
    cpu, age = float(match.group(1)), float(match.group(2))
    assert 0.6 <= age <= elapsed + 0.05  # the sleep counts, and no more than the whole run
    assert 0 < cpu < age - 0.5  # the sleep is not CPU
