"""Warehouse analytics: pure polars/numpy functions over DataFrames (the store does the I/O).

``change_points(values)`` is the public entry point of the regression detector.
"""

from warehouse.analytics.changepoints import ChangePoint, DetectorConfig, change_points, detect

__all__ = ["ChangePoint", "DetectorConfig", "change_points", "detect"]
