"""Figures that tests measure (fault recovery times), printed in pytest's terminal summary.

Under pytest-xdist the tests run in worker processes, whose terminal summary nobody sees: each
worker hands its figures to the controller at the end (tests/conftest.py), which prints them all.
"""

FIGURES: list[str] = []


def record_figure(case: str, seconds: float, **counts: object) -> None:
    """A measured figure, printed in the terminal summary (the note reports them)."""
    extra = ", ".join(f"{k}={v}" for k, v in counts.items())
    FIGURES.append(f"{case}: {seconds:6.1f}s" + (f" ({extra})" if extra else ""))
