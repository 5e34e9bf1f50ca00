"""How every service and pipeline stage writes its log: for people (text) or machines (JSON)."""
