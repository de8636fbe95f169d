"""What `runinput --help` imports: not the library, which it does not need."""

import subprocess
import sys

PROBE = """
import sys
import runinput_cli.main as main
sys.argv = ["runinput", "--help"]
try:
    main.main()
except SystemExit as exc:
    code = exc.code
print("exit", code, file=sys.stderr)
for name in ("runinput", "httpx", "pydantic", "jsonschema"):
    print(name, name in sys.modules, file=sys.stderr)
"""


def test_help_skips_library_import() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60
    )
    lines = set(result.stderr.splitlines())

    assert "exit 0" in lines
    assert "runinput False" in lines
    assert "httpx False" in lines
    assert "pydantic False" in lines
    assert "jsonschema False" in lines
