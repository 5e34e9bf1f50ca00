"""Monitoring for the continuous-training loop: prediction logs, drift against training, HTML reports.

Import from the modules, not from here: a service needs only ``libs.monitoring.prediction_log``
(pyarrow, DuckDB), and re-exporting ``drift`` (scipy) and ``report`` here would load them into
every serving process that logs predictions.
"""
