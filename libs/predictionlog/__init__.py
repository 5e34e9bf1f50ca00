"""Prediction logs: the file format (``records``), the never-blocking logger services use (``logger``)
and its child-process writer (``child_writer``). Standard library only, below both serving (which
writes logs) and monitoring (which reads them)."""
