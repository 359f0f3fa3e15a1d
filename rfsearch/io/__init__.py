"""Files in and out: batch files of many stacks (CSV, JSON lines, NPZ, Parquet), safe output."""
