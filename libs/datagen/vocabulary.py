"""The categorical values of the world; the schemas in ``libs.schemas.raw`` allow exactly these."""

REGIONS = ("north", "south", "east", "west")
CATEGORIES = ("grocery", "household", "electronics", "apparel")
SEGMENTS = ("budget", "regular", "premium")
