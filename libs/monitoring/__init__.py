"""Monitoring for the continuous-training loop: prediction logs, drift against training, HTML reports.

Import from the modules, not from here: a service needs only ``libs.monitoring.prediction_log``
(standard library), and re-exporting ``prediction_reader`` (DuckDB), ``drift`` (scipy) or ``report`` here
would ship them in every service image and load them into every serving process.
"""
