"""Checks on request times against a moving-window rate limit (GitHub's secondary limit)."""


def max_in_window(times: list[float], width: float) -> int:
    """The most times that fall in any window ``width`` seconds long."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + width) for i, start in enumerate(times))
