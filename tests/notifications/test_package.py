import subprocess
import sys


def test_package_stays_free_of_the_app() -> None:
    code = (
        "import sys, notifications; "
        "bad = [m for m in ('flask', 'sqlalchemy', 'sqlmodel', 'pro_app') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
