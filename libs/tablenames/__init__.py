"""The column names an agent's table cannot use: standard library only, for the scaffolder too."""
