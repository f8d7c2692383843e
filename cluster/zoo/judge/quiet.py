"""Silence the ML libraries for the length of a zoo step, and put their settings back."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

# Libraries that log through the standard logging module rather than transformers': with no
# handler configured, Python prints their warnings to stderr.
_LOGGERS = ("trl", "peft", "accelerate", "datasets")


@contextmanager
def quiet() -> Iterator[None]:
    """Mute the libraries' bars, notices and warnings, then put their settings back:
    `fleet zoo build --quiet` prints nothing, and callers keep their own settings."""
    import datasets
    from transformers.utils import logging as transformers_logging

    bars = transformers_logging.is_progress_bar_enabled()
    verbosity = transformers_logging.get_verbosity()
    dataset_bars = datasets.is_progress_bar_enabled()
    dataset_verbosity = datasets.utils.logging.get_verbosity()
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    datasets.disable_progress_bars()
    datasets.utils.logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        transformers_logging.set_verbosity(verbosity)
        if bars:
            transformers_logging.enable_progress_bar()
        datasets.utils.logging.set_verbosity(dataset_verbosity)
        if dataset_bars:
            datasets.enable_progress_bars()
