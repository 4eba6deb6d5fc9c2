"""Checks shared by the test modules (importable because pytest puts ``tests/`` on the path for its conftest)."""


def one_line_error(result, *fragments):
    """A command that failed as bad input must: exit status 2 and one line ``error: ...`` holding ``fragments``."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
