"""Which oldest chat messages to drop so the prompt fits the context — in linear time.

Ollama's rule (``chatPrompt``) tries cut points from the oldest message on and renders and
tokenizes the whole remaining conversation at each one: quadratic in the number of messages, so
a 3,000-message body keeps a CPU busy for minutes. The same first fitting cut is found here from
an estimate: each message's content is tokenized once, plus the template's overhead for one turn,
and suffix sums give a candidate cut; real renders then move the cut forward while the window
does not fit and back while the previous cut still fits. Renders happen only near the answer,
where windows are about the size of the context, so the work grows with the conversation's
length plus the context, not with their product.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["first_fitting_cut"]


def first_fitting_cut(
    count: int,
    estimate: Callable[[int], int],
    fits: Callable[[int], bool],
    num_ctx: int,
) -> int:
    """The smallest cut ``i`` in ``0..count-1`` whose window ``fits``, else ``count - 1``.

    ``estimate(i)`` is message ``i``'s approximate token count; ``fits(i)`` renders and measures
    the window that starts at cut ``i`` (assumed to fit more often the later the cut).
    """
    last = count - 1
    if last <= 0:
        return 0
    cut, total = count, 0
    while cut > 0:
        size = estimate(cut - 1)
        if total + size > num_ctx:
            break
        total += size
        cut -= 1
    cut = min(cut, last)
    checked: dict[int, bool] = {}

    def fit(i: int) -> bool:
        if i not in checked:
            checked[i] = fits(i)
        return checked[i]

    while cut < last and not fit(cut):
        cut += 1
    while cut > 0 and fit(cut - 1):
        cut -= 1
    return cut
