"""evtgen: event-driven service repositories from event-storming models."""

__version__ = "0.1.0"
