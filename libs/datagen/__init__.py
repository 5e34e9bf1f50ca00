"""Deterministic synthetic retail world: stores, products, customers, transactions, anomaly labels."""

from libs.datagen.config import WorldConfig
from libs.datagen.io import TABLE_FILES, write_world
from libs.datagen.world import World, generate_world

__all__ = ["TABLE_FILES", "World", "WorldConfig", "generate_world", "write_world"]
