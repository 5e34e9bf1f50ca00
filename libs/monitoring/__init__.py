"""Monitoring for the continuous-training loop: drift against training, HTML reports, the retrain loop.

Import from the modules, not from here: re-exporting ``prediction_reader`` (DuckDB), ``drift`` (scipy)
or ``report`` here would load them wherever any one of them is needed. Services write prediction
logs with ``libs.predictionlog`` (standard library) and never import this package.
"""
