"""Re-drives dead letters through the projection's sink, each at most once."""

from __future__ import annotations

from dataclasses import dataclass, field

from projections.dead_letters import DeadLetter
from projections.decoding import Decoder, UndecodableEvent
from projections.model import Sink


@dataclass
class RedriveReport:
    """What a redrive did with each dead letter."""

    applied: list[DeadLetter] = field(default_factory=list)
    already_done: list[DeadLetter] = field(default_factory=list)
    failed: list[tuple[DeadLetter, str]] = field(default_factory=list)


def redrive(sink: Sink, decoder: Decoder, letters: list[DeadLetter]) -> RedriveReport:
    """Decode and apply each letter in dead-letter order; the sink's pending marker makes a
    second redrive of the same letter a no-op. A letter that still fails stays pending."""
    report = RedriveReport()
    for letter in letters:
        try:
            event = decoder.decode_raw(letter.raw, letter.source)
            applied = sink.redrive(event)
        except UndecodableEvent as error:
            report.failed.append((letter, f"still undecodable: {error}"))
            continue
        except Exception as error:
            report.failed.append((letter, f"{type(error).__name__}: {error}"))
            continue
        (report.applied if applied else report.already_done).append(letter)
    return report
