"""Assertions several test modules share (importable: pytest puts tests/ on sys.path)."""


def assert_one_line_error(result, *fragments: str) -> None:
    """A CLI result that failed as bad input should: exit 2, one `error:` line, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
